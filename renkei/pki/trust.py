"""Trusted external certificates (TrustedCertificate): the CA or signer certificates of suppliers
whose signatures the organization verifies (renkei.pki.signatures). Adding or removing one changes
what verifies, so only the organization's administrators may (or the CLI); audited."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.core.errors import NotAllowed
from renkei.core.models import staff_may
from renkei.core.permissions import MANAGE
from renkei.pki.ca import fingerprint
from renkei.pki.keystore import PkiError
from renkei.pki.models import TrustedCertificate

MAX_PEM_BYTES = 64 * 1024
MAX_NAME = 200


def parse_certificate(data: bytes) -> x509.Certificate:
    """Exactly one certificate, PEM or DER; PkiError otherwise."""
    if len(data) > MAX_PEM_BYTES:
        raise PkiError(
            _("The file is %(size)d bytes long; at most %(max)d bytes are accepted.")
            % {"size": len(data), "max": MAX_PEM_BYTES}
        )
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
            if len(certs) != 1:
                raise PkiError(
                    _("The file holds %(count)d certificates; register them one at a time.")
                    % {"count": len(certs)}
                )
            return certs[0]
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise PkiError(_("The file is not a certificate (PEM or DER).")) from None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def row_data(row: TrustedCertificate) -> dict[str, Any]:
    return {
        "name": row.name,
        "subject": row.subject,
        "fingerprint_sha256": row.fingerprint_sha256,
        "is_ca": row.is_ca,
        "not_after": row.not_after.isoformat(),
        "supplier": row.supplier_id,
    }


def add_trusted(
    actor: Actor,
    organization: Organization,
    data: bytes,
    name: str,
    *,
    supplier: Any = None,
    now: datetime.datetime | None = None,
) -> TrustedCertificate:
    """Register the certificate in DATA under NAME: checked (one certificate, not expired, not
    registered yet, the supplier the organization's own) before anything is written."""
    if actor.user is not None and not staff_may(actor.user, organization.pk, MANAGE):
        raise NotAllowed(_("Only an administrator of the organization may register trusted certificates."))
    name = " ".join((name or "").split())
    if not name:
        raise PkiError(_("Give the certificate a name."))
    if len(name) > MAX_NAME:
        raise PkiError(_("The name is longer than %(max)d characters.") % {"max": MAX_NAME})
    cert = parse_certificate(data)
    if cert.not_valid_after_utc <= (now or timezone.now()):
        raise PkiError(_("The certificate has expired; an expired certificate verifies nothing."))
    if supplier is not None and supplier.organization_id != organization.pk:
        raise PkiError(_("The supplier is not one of the organization's suppliers."))
    digest = fingerprint(cert)
    if TrustedCertificate.objects.filter(organization=organization, fingerprint_sha256=digest).exists():
        raise PkiError(_("This certificate is already registered (SHA-256 %(fp)s).") % {"fp": digest})
    row = TrustedCertificate(
        organization=organization,
        name=name,
        subject=cert.subject.rfc4514_string()[:500],
        certificate_pem=cert.public_bytes(Encoding.PEM).decode("ascii"),
        fingerprint_sha256=digest,
        is_ca=_is_ca(cert),
        not_after=cert.not_valid_after_utc,
        supplier=supplier,
        added_by=actor.user,
    )
    try:
        with transaction.atomic():
            row.save()
            record(actor, AuditEntry.Action.CREATE, row, None, row_data(row))
    except IntegrityError:
        message = _("This certificate is already registered (SHA-256 %(fp)s).") % {"fp": digest}
        raise PkiError(message) from None
    return row


def remove_trusted(actor: Actor, row: TrustedCertificate) -> None:
    if actor.user is not None and not staff_may(actor.user, row.organization_id, MANAGE):
        raise NotAllowed(_("Only an administrator of the organization may remove trusted certificates."))
    with transaction.atomic():
        record(actor, AuditEntry.Action.DELETE, row, row_data(row), None)
        row.delete()
