"""Certificate lifecycle: find, revoke, renew; the plain data the CLI and API print.

Issuing is in renkei.pki.issuance, the CA in renkei.pki.ca, the CRL and OCSP in renkei.pki.crl and
renkei.pki.ocsp. Who may do what:
- issue, renew: staff who may add records (admin, analyst) of the certificate's organization;
- revoke: staff who may change records (admin, analyst);
- the user a certificate is bound to sees it, nothing more; auditors see everything, change
  nothing. The CLI acts as the operator (no user)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.core.errors import NotAllowed
from renkei.core.models import staff_may
from renkei.core.permissions import CHANGE
from renkei.pki import issuance
from renkei.pki.choices import RevocationReason
from renkei.pki.crl import generate_crl
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate


def normalize_serial(text: str) -> str | None:
    """A serial as typed (hex, any case, with or without colons or 0x) -> the stored form."""
    cleaned = text.strip().replace(":", "").replace(" ", "").lower().removeprefix("0x")
    if not cleaned or len(cleaned) > 42:
        return None
    try:
        number = int(cleaned, 16)
    except ValueError:
        return None
    from renkei.pki.ca import serial_hex

    return serial_hex(number)


def find_by_serial(serial: str, queryset: Any = None) -> Certificate:
    normalized = normalize_serial(serial)
    queryset = Certificate.objects.all() if queryset is None else queryset
    cert = (
        queryset.filter(serial=normalized).select_related("ca", "organization", "user").first()
        if normalized
        else None
    )
    if cert is None:
        raise PkiError(_("No certificate has the serial number %(serial)s.") % {"serial": serial})
    return cert


def revoke(actor: Actor, cert: Certificate, reason: str) -> Certificate:
    """Revoke CERT at once (OCSP answers from the database) and publish a new CRL, in one
    transaction with the audit entry."""
    if reason not in RevocationReason.values:
        raise PkiError(
            _("Unknown revocation reason %(reason)s (reasons: %(reasons)s).")
            % {"reason": reason, "reasons": ", ".join(RevocationReason.values)}
        )
    if actor.user is not None and not staff_may(actor.user, cert.organization_id, CHANGE):
        raise NotAllowed(_("You may not revoke certificates of this organization."))
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().select_related("ca").get(pk=cert.pk)
        if locked.revoked_at is not None:
            raise PkiError(
                _("The certificate %(serial)s was already revoked on %(date)s.")
                % {
                    "serial": locked.serial,
                    "date": timezone.localtime(locked.revoked_at).strftime("%Y-%m-%d %H:%M"),
                }
            )
        locked.revoked_at = timezone.now()
        locked.revocation_reason = reason
        locked.revoked_by = actor.user
        locked.save(update_fields=["revoked_at", "revocation_reason", "revoked_by"])
        record(
            actor,
            AuditEntry.Action.UPDATE,
            locked,
            {"revoked_at": None, "revocation_reason": ""},
            {"revoked_at": locked.revoked_at.isoformat(), "revocation_reason": reason},
        )
        generate_crl(locked.ca)
    return locked


def renewal_of(cert: Certificate) -> Certificate | None:
    """The live certificate that renewed CERT, if any."""
    return cert.renewals.filter(revoked_at__isnull=True).order_by("-created_at").first()


def renew_request(actor: Actor, cert: Certificate) -> issuance.Request:
    """The request for a replacement of CERT: same organization, user, profile and device."""
    if cert.revoked_at is not None:
        raise PkiError(_("A revoked certificate is not renewed; issue a new one."))
    if cert.user is None:
        raise PkiError(_("The certificate is no longer bound to a user; issue a new one."))
    existing = renewal_of(cert)
    if existing is not None:
        raise PkiError(
            _("The certificate was already renewed (serial %(serial)s).") % {"serial": existing.serial}
        )
    return issuance.prepare(actor, cert.organization, cert.user, cert.profile, cert.device_name)


def renew_from_csr(actor: Actor, cert: Certificate, csr_data: bytes) -> Certificate:
    return issuance.issue_from_csr(actor, renew_request(actor, cert), csr_data, renewed_from=cert)


def renew_pkcs12(
    actor: Actor, cert: Certificate, password: str, *, legacy: bool = False
) -> tuple[Certificate, bytes]:
    request = renew_request(actor, cert)
    return issuance.issue_pkcs12(
        actor, request, password, legacy=legacy, key_type=cert.key_type, renewed_from=cert
    )


def expiring(queryset: Any, days: int, now: datetime.datetime | None = None) -> Any:
    """Live certificates of QUERYSET that expire within DAYS days."""
    now = now or timezone.now()
    return queryset.live(now).filter(not_after__lte=now + datetime.timedelta(days=days))


def issued_data(cert: Certificate) -> dict[str, str]:
    """What `renkei pki issue --json` prints."""
    return {
        "serial": cert.serial,
        "not_after": cert.not_after.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "fingerprint_sha256": cert.fingerprint_sha256,
    }


def certificate_data(cert: Certificate) -> dict[str, Any]:
    """One certificate as plain data (CLI list)."""
    return {
        "serial": cert.serial,
        "organization": cert.organization.slug,
        "profile": cert.profile,
        "method": cert.method,
        "subject": cert.subject,
        "user": cert.user.username if cert.user else None,
        "device": cert.device_name,
        "subject_alt_names": cert.subject_alt_names,
        "key_type": cert.key_type,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "fingerprint_sha256": cert.fingerprint_sha256,
        "state": cert.state(),
        "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else None,
        "revocation_reason": cert.revocation_reason,
        "renewed_from": cert.renewed_from.serial if cert.renewed_from_id else None,
    }
