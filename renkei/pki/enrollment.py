"""Enrollment links (issue 7, item 3): a single-use, expiring link that lets one user fetch a
certificate, either as a PKCS#12 bundle whose key Renkei makes, or by uploading a CSR.

The token is 32 random bytes (URL-safe base64) and exists only in the link given to the user (the
e-mail, or the API's answer); the database keeps its SHA-256 (`EnrollmentLink.token_hash`), never
the token, so a database dump does not open any link. The audit trail does not get the hash either.

Who may do what:
- create and withdraw links: administrators of the organization (MANAGE); the CLI as operator;
- redeem: whoever holds the token (no login), for the user the link is bound to. Redeeming runs
  renkei.pki.issuance.prepare again, so a user who left the supplier in the meantime gets nothing.

Redeeming is one transaction: the link row is locked (select_for_update) and claimed by a
conditional UPDATE, the certificate is signed and saved, the link marked used and both audited.
A replayed or concurrent second use finds the link used and fails; a refusal (weak CSR, user no
longer belongs) rolls everything back and leaves the link usable for a corrected retry.

PKCS#12: the key is made in memory, put into the bundle encrypted with a random password, and
both are handed back to the caller (the page shows the password once and offers the bundle in the
same response); neither the key, the bundle nor the password is stored anywhere.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record, record_many, snapshot
from renkei.core.errors import NotAllowed
from renkei.core.models import staff_may
from renkei.core.permissions import MANAGE
from renkei.core.tokens import LinkState, find_by_token, link_state, new_token
from renkei.pki import issuance
from renkei.pki.ca import issuing_ca
from renkei.pki.choices import Method
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate, EnrollmentLink
from renkei.pki.profiles import PROFILES, Profile, get_profile

logger = logging.getLogger("renkei.pki")

LINK_DAYS = 7
MAX_LINK_DAYS = 30
MAX_BATCH_LABEL = 50
# The one-time PKCS#12 password: 4 groups of 4 from 56 characters that cannot be confused when
# read off a screen and typed on a phone (no 0/O, 1/l/I): about 93 bits.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS = 4


class LinkError(PkiError):
    """A link that cannot be redeemed. STATE is a LinkState value, or "unknown"."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


@dataclass(frozen=True)
class LinkRequest:
    """What one link will deliver, checked (create_link, bulk enrollment)."""

    user: Any
    profile: Profile
    method: str
    device_name: str
    key_type: str
    legacy: bool


# --- Small helpers --------------------------------------------------------------------------------


def enroll_path(token: str) -> str:
    return reverse("pki:enroll", args=[token])


def enroll_url(token: str) -> str:
    from renkei.accounts.services import absolute_url

    return absolute_url(enroll_path(token))


def in_state(queryset: QuerySet, state: str, now: datetime.datetime | None = None) -> QuerySet:
    now = now or timezone.now()
    if state == LinkState.USED:
        return queryset.filter(used_at__isnull=False)
    if state == LinkState.REVOKED:
        return queryset.filter(used_at__isnull=True, revoked_at__isnull=False)
    if state == LinkState.EXPIRED:
        return queryset.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
    if state == LinkState.ACTIVE:
        return queryset.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
    return queryset


def generate_password() -> str:
    groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(PASSWORD_GROUPS)]
    return "-".join(groups)


def _snapshot(link: EnrollmentLink) -> dict[str, Any]:
    data = snapshot(link)
    data.pop("token_hash", None)  # not even the hash goes to the audit trail
    return data


def require_manager(actor: Actor, organization: Organization) -> None:
    """Administrators of ORGANIZATION (and the CLI, which has no user) manage its links."""
    if actor.user is not None and not staff_may(actor.user, organization.pk, MANAGE):
        raise NotAllowed(_("Only administrators of the organization may manage enrollment links."))


def clean_days(days: Any) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= MAX_LINK_DAYS:
        raise PkiError(
            _("A link stays valid for 1 to %(max)d days.") % {"max": MAX_LINK_DAYS},
            errors={"days": _("Enter a number of days from 1 to %(max)d.") % {"max": MAX_LINK_DAYS}},
        )
    return value


def clean_batch(label: str) -> str:
    label = " ".join((label or "").split())
    if len(label) > MAX_BATCH_LABEL:
        message = _("The batch label may have at most %(max)d characters.") % {"max": MAX_BATCH_LABEL}
        raise PkiError(message, errors={"batch": message})
    return label


def _refuse(field: str, message: str) -> PkiError:
    return PkiError(message, errors={field: message})


def check_link(
    organization: Organization,
    user: Any,
    profile_name: str,
    method: str = Method.PKCS12,
    *,
    device_name: str = "",
    key_type: str = "",
    legacy: bool = False,
    belongs: bool | None = None,
    mailed: bool = True,
) -> LinkRequest:
    """Everything about one link that can be checked before it exists; PkiError whose `errors`
    names the field (user, profile, method, device, key_type, legacy). BELONGS: whether USER
    belongs to ORGANIZATION, when the caller already knows (bulk); MAILED: the link is to be
    e-mailed, so the user needs an address. Redeeming checks again (issuance.prepare)."""
    profile = get_profile(profile_name or "")
    if profile is None:
        raise _refuse(
            "profile",
            _("There is no profile %(name)s (profiles: %(names)s).")
            % {"name": profile_name, "names": ", ".join(PROFILES)},
        )
    if method not in Method.values:
        raise _refuse("method", _("Unknown method %(method)s (pkcs12 or csr).") % {"method": method})
    if user is None or not user.is_active:
        raise _refuse("user", _("The user does not exist or is inactive."))
    if belongs is None:
        belongs = issuance.user_belongs(user, organization)
    if not belongs:
        raise _refuse(
            "user",
            _("The user %(user)s is neither staff of %(org)s nor a contact of one of its suppliers.")
            % {"user": user.username, "org": organization.slug},
        )
    try:
        device_name = issuance._clean_device(device_name)
    except PkiError as exc:
        raise _refuse("device", exc.message) from None
    if profile.device_required and not device_name:
        raise _refuse("device", _("The %(profile)s profile needs a device name.") % {"profile": profile.name})
    email = (user.email or "").strip()
    if profile.email_required and not email:
        raise _refuse(
            "user",
            _(
                "The user %(user)s has no e-mail address, which the %(profile)s profile writes into the "
                "certificate."
            )
            % {"user": user.username, "profile": profile.name},
        )
    if "email" in profile.san and email:
        try:
            x509.RFC822Name(email)
        except ValueError:
            raise _refuse(
                "user",
                _(
                    "The e-mail address %(email)s cannot be written into a certificate (only ASCII "
                    "addresses can)."
                )
                % {"email": email},
            ) from None
    if mailed and not email:
        raise _refuse(
            "user",
            _("The user %(user)s has no e-mail address to send the link to.") % {"user": user.username},
        )
    key_type = key_type or ""
    if method == Method.CSR:
        if key_type:
            raise _refuse("key_type", _("The key type is chosen by the device when it makes the CSR."))
        if legacy:
            raise _refuse("legacy", _("The compatibility option applies to PKCS#12 links only."))
    elif key_type and key_type not in profile.key_types:
        raise _refuse(
            "key_type",
            _("The %(profile)s profile does not accept %(type)s keys.")
            % {"profile": profile.name, "type": key_type},
        )
    return LinkRequest(user, profile, method, device_name, key_type, bool(legacy))


# --- Creating, sending, withdrawing ----------------------------------------------------------------


def _new_link(
    actor: Actor, organization: Organization, request: LinkRequest, expires_at: datetime.datetime, batch: str
) -> tuple[EnrollmentLink, str]:
    token, digest = new_token()
    link = EnrollmentLink(
        organization=organization,
        user=request.user,
        profile=request.profile.name,
        method=request.method,
        device_name=request.device_name,
        key_type=request.key_type,
        legacy_pkcs12=request.legacy,
        token_hash=digest,
        batch=batch,
        sent_to=(request.user.email or "").strip(),
        expires_at=expires_at,
        created_by=actor.user,
    )
    return link, token


def create_link(
    actor: Actor,
    organization: Organization,
    user: Any,
    profile: str,
    method: str = Method.PKCS12,
    *,
    device_name: str = "",
    key_type: str = "",
    legacy: bool = False,
    days: int = LINK_DAYS,
    batch: str = "",
    mailed: bool = True,
) -> tuple[EnrollmentLink, str]:
    """A new link for USER (audited). Returns (link, token): the token is not stored anywhere, so
    this is the only time it exists; give it to the user (send_link) or to the caller (API)."""
    require_manager(actor, organization)
    issuing_ca(organization)  # no links that could never be redeemed
    request = check_link(
        organization,
        user,
        profile,
        method,
        device_name=device_name,
        key_type=key_type,
        legacy=legacy,
        mailed=mailed,
    )
    days = clean_days(days)
    batch = clean_batch(batch)
    link, token = _new_link(
        actor, organization, request, timezone.now() + datetime.timedelta(days=days), batch
    )
    with transaction.atomic():
        link.save()
        record(actor, AuditEntry.Action.CREATE, link, None, _snapshot(link))
    return link, token


def create_links(
    actor: Actor, organization: Organization, requests: list[LinkRequest], days: int, batch: str
) -> list[tuple[EnrollmentLink, str]]:
    """Links for REQUESTS (already checked: bulk.plan) in one transaction with their audit
    entries."""
    require_manager(actor, organization)
    issuing_ca(organization)
    expires_at = timezone.now() + datetime.timedelta(days=clean_days(days))
    batch = clean_batch(batch)
    made = [_new_link(actor, organization, request, expires_at, batch) for request in requests]
    with transaction.atomic():
        EnrollmentLink.objects.bulk_create([link for link, _token in made], batch_size=500)
        record_many(
            actor, [PendingEntry(AuditEntry.Action.CREATE, link, None, _snapshot(link)) for link, _t in made]
        )
    return made


def send_link(link: EnrollmentLink, token: str) -> bool:
    """E-mail the link to its user, in the user's language (Japanese by default). False if the
    mail server refused it (logged without the address or the token)."""
    from renkei.accounts.services import send_mail_to_user

    profile = get_profile(link.profile)
    context = {
        "organization": link.organization,
        "link": link,
        "url": enroll_url(token),
        "profile_label": profile.label if profile else link.profile,
        "is_csr": link.method == Method.CSR,
        "expires_at": timezone.localtime(link.expires_at),
    }
    try:
        return send_mail_to_user(
            link.user, "enrollment", context, template_dir="pki/email", what=f"enrollment link {link.pk}"
        )
    except ValueError:  # an address the mail library cannot write (stored before validation)
        logger.warning("enrollment link %s: the user's e-mail address is not usable", link.pk)
        return False


def deliver(actor: Actor, link: EnrollmentLink, token: str) -> EnrollmentLink:
    """Send LINK; if the mail cannot be sent, withdraw it again (nobody has its token) and say so."""
    if send_link(link, token):
        return link
    revoke_link(actor, link)
    raise PkiError(
        _(
            "The e-mail to %(user)s could not be sent, so the link was withdrawn. Check the mail "
            "server and the address, then try again."
        )
        % {"user": link.user.username}
    )


def revoke_link(actor: Actor, link: EnrollmentLink) -> EnrollmentLink:
    """Withdraw LINK (audited). Withdrawing twice changes nothing; a used link cannot be withdrawn
    (revoke its certificate instead)."""
    require_manager(actor, link.organization)
    with transaction.atomic():
        locked = EnrollmentLink.objects.select_for_update().get(pk=link.pk)
        if locked.used_at is not None:
            raise PkiError(_("The link was already used; revoke the certificate it delivered instead."))
        if locked.revoked_at is None:
            before = _snapshot(locked)
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record(actor, AuditEntry.Action.UPDATE, locked, before, _snapshot(locked))
    return locked


def link_data(link: EnrollmentLink) -> dict[str, Any]:
    """One link as plain data (CLI, API): never the token or its hash."""
    return {
        "id": link.pk,
        "organization": link.organization.slug,
        "user": link.user.username,
        "profile": link.profile,
        "method": link.method,
        "device": link.device_name,
        "legacy_pkcs12": link.legacy_pkcs12,
        "batch": link.batch,
        "state": link_state(link),
        "expires_at": link.expires_at.isoformat(),
        "used_at": link.used_at.isoformat() if link.used_at else None,
        "certificate": link.certificate.serial if link.certificate_id else None,
    }


# --- Redeeming ------------------------------------------------------------------------------------


def find_link(token: str) -> EnrollmentLink | None:
    """The link for TOKEN (any state) or None; looked up by hash, compared in constant time."""
    return find_by_token(EnrollmentLink.objects.select_related("organization", "user", "certificate"), token)


def refusal(link: EnrollmentLink | None, now: datetime.datetime | None = None) -> LinkError | None:
    """Why LINK cannot be redeemed (one clear message per case), or None if it can."""
    if link is None:
        return LinkError(
            _(
                "This enrollment link is not valid. Check that the whole address was copied, or ask "
                "your contact for a new link."
            ),
            "unknown",
        )
    state = link_state(link, now)
    if state == LinkState.USED:
        return LinkError(
            _(
                "This enrollment link was already used on %(date)s; a link works only once. If you did "
                "not use it, tell your contact at once and ask for a new link."
            )
            % {"date": timezone.localtime(link.used_at).strftime("%Y-%m-%d %H:%M")},
            state,
        )
    if state == LinkState.REVOKED:
        return LinkError(_("This enrollment link was withdrawn. Ask your contact for a new link."), state)
    if state == LinkState.EXPIRED:
        return LinkError(
            _("This enrollment link expired on %(date)s. Ask your contact for a new link.")
            % {"date": timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M")},
            state,
        )
    return None


def _claim(token: str, method: str) -> EnrollmentLink:
    """Inside a transaction: the usable link for TOKEN, locked and marked used (rolled back with
    the transaction if issuing fails); LinkError otherwise."""
    found = find_link(token)
    problem = refusal(found)
    if problem is not None:
        raise problem
    link = EnrollmentLink.objects.select_for_update().get(pk=found.pk)
    now = timezone.now()
    problem = refusal(link, now)
    if problem is None and link.method != method:
        problem = LinkError(_("This link is for a different way of enrollment."), "unknown")
    # The conditional UPDATE is the claim itself: of two concurrent redemptions only one
    # changes the row (PostgreSQL re-checks the condition after waiting for the lock).
    if problem is None and not EnrollmentLink.objects.filter(
        pk=link.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(used_at=now):
        link.refresh_from_db()
        problem = refusal(link) or LinkError(_("This enrollment link cannot be used."), "unknown")
    if problem is not None:
        raise problem
    link.organization, link.user = found.organization, found.user
    link.used_at = now
    return link


def _actor(link: EnrollmentLink, address: str) -> Actor:
    # Not the user: prepare() would then ask for a staff role. The link stands for the
    # administrator who made it; the label says which link was used.
    return Actor(user=None, address=address, label=f"enrollment link {link.pk} ({link.user.username})")


def _finish(actor: Actor, link: EnrollmentLink, cert: Certificate) -> None:
    before = {**_snapshot(link), "used_at": None, "certificate": None}
    link.certificate = cert
    link.save(update_fields=["used_at", "certificate"])
    # The certificate was authorized by whoever made the link.
    Certificate.objects.filter(pk=cert.pk).update(issued_by=link.created_by_id)
    cert.issued_by_id = link.created_by_id
    record(actor, AuditEntry.Action.UPDATE, link, before, _snapshot(link))


@dataclass(frozen=True)
class Bundle:
    """A redeemed PKCS#12 link: shown and handed over once, never stored."""

    certificate: Certificate
    data: bytes
    password: str
    legacy: bool

    @property
    def filename(self) -> str:
        name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.certificate.common_name)
        return f"{name.strip('-') or 'certificate'}-{self.certificate.serial[:8]}.p12"


def redeem_pkcs12(token: str, *, address: str = "", legacy: bool = False) -> Bundle:
    """Issue the certificate of a PKCS#12 link: a new key, a random password, the bundle. LEGACY
    (or the link's own option) encrypts it for older importers."""
    password = generate_password()
    with transaction.atomic():
        link = _claim(token, Method.PKCS12)
        actor = _actor(link, address)
        request = issuance.prepare(actor, link.organization, link.user, link.profile, link.device_name)
        legacy = legacy or link.legacy_pkcs12
        cert, data = issuance.issue_pkcs12(
            actor, request, password, legacy=legacy, key_type=link.key_type or None
        )
        _finish(actor, link, cert)
    return Bundle(cert, data, password, legacy)


def redeem_csr(token: str, csr_bytes: bytes, *, address: str = "") -> Certificate:
    """Issue the certificate of a CSR link for CSR_BYTES (PEM or DER), checked as always
    (renkei.pki.csr): a refused CSR issues nothing and leaves the link usable."""
    with transaction.atomic():
        link = _claim(token, Method.CSR)
        actor = _actor(link, address)
        request = issuance.prepare(actor, link.organization, link.user, link.profile, link.device_name)
        cert = issuance.issue_from_csr(actor, request, csr_bytes)
        _finish(actor, link, cert)
    return cert


def visible_links(user: Any, action: str) -> QuerySet:
    """Links of the organizations where USER's staff role allows ACTION (the lists are staff's:
    a holder does not manage its own links)."""
    from renkei.core.models import member_organization_ids

    if user is None or not user.is_authenticated or not user.is_active:
        return EnrollmentLink.objects.none()
    return EnrollmentLink.objects.for_user(user, action).filter(
        organization__in=member_organization_ids(user, action)
    )
