"""Mutual TLS (issue 7, item 5): the client certificate a request presents, checked against
Renkei's own records, and the organizations' policies that say where one is required.

Where the certificate comes from:
- `renkei serve --tls` asks for one (optional at the TLS layer) and cheroot puts the verified
  certificate in the WSGI environ as SSL_CLIENT_CERT (PEM). A client cannot set that key: request
  headers arrive as HTTP_*.
- behind nginx, the X-SSL-Client-Cert header (URL-encoded PEM, $ssl_client_escaped_cert) with
  X-SSL-Client-Verify, trusted only from the addresses in RENKEI_TRUSTED_PROXIES. From any other
  address both headers are ignored.

The check (`CertificateCheck`) is one indexed query by SHA-256 fingerprint, made at most once per
request and never cached across requests, so a revocation takes effect on the next request. The
certificate must be one Renkei issued (found by fingerprint: the exact DER we signed), bound to
the signed-in user, not revoked, within its validity and of a client-authentication profile.

Where one is required (`AccessPolicy`, one per organization): for the staff roles listed, for the
organization's supplier contacts, and for the API (token-authenticated requests and /api/ paths)
of anyone belonging to the organization. A user belonging to several organizations needs a
certificate if any of them requires one. Anonymous requests are never refused here (the login
page, password reset, health probes), nor the public PKI addresses, enrollment links, static
files or logging out.

Cost: the policies are mirrored into RENKEI_PKI_DIR/access-policies.json whenever they change
(and by `renkei serve` at start), so a request costs no query at all while no organization
requires anything and no certificate is presented; otherwise one query for "is a certificate
required for this user" and one for the certificate.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import ipaddress
import json
import logging
import os
import re
import ssl
import tempfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.x509.oid import ExtendedKeyUsageOID
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.core.errors import NotAllowed, ServiceError
from renkei.core.models import staff_may
from renkei.core.permissions import MANAGE, Role
from renkei.pki.keystore import pki_dir
from renkei.pki.models import AccessPolicy, Certificate
from renkei.pki.profiles import get_profile

logger = logging.getLogger(__name__)

# Last use is written at most this often per certificate (unless the address changes).
USAGE_INTERVAL = datetime.timedelta(minutes=1)
POLICY_FILE = "access-policies.json"
# nginx puts at most a few KiB here; anything longer is not a certificate we issued.
MAX_PEM_CHARS = 64 * 1024
PUBLIC_PKI = re.compile(r"^/pki/[-\w]+/(crl\.der|crl\.pem|ca\.der|chain\.pem|ocsp)(/|$)")


class Status(enum.StrEnum):
    OK = "ok"
    NONE = "none"  # no certificate presented
    UNKNOWN = "unknown"  # not issued by Renkei (or unreadable)
    NOT_YOURS = "not_yours"  # bound to another user, or to nobody
    REVOKED = "revoked"
    EXPIRED = "expired"  # outside its validity period
    WRONG_PROFILE = "wrong_profile"  # not a client-authentication certificate


# --- Where the certificate and the client's address come from ------------------------------------


@cache
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def from_trusted_proxy(request: HttpRequest) -> bool:
    proxies = tuple(getattr(settings, "RENKEI_TRUSTED_PROXIES", ()) or ())
    if not proxies:
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in _networks(proxies))


def client_address(request: HttpRequest) -> str:
    """The client's address: from a trusted proxy, X-Real-IP (what nginx sets itself, as the login
    lockout reads it) or else the last hop of X-Forwarded-For; otherwise REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not from_trusted_proxy(request):
        return remote
    candidates = [request.META.get("HTTP_X_REAL_IP", "")]
    candidates.append(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate.strip()))
        except ValueError:
            continue
    return remote


def presented_pem(request: HttpRequest) -> str:
    """The PEM of the certificate the client presented, or "" when none (or none we may trust)."""
    if from_trusted_proxy(request):
        verify = request.META.get("HTTP_X_SSL_CLIENT_VERIFY", "").strip().upper()
        escaped = request.META.get("HTTP_X_SSL_CLIENT_CERT", "").strip()
        # NONE: nginx saw no certificate (a header without one is nginx's, not the client's).
        if not escaped or verify in ("", "NONE") or len(escaped) > MAX_PEM_CHARS:
            return ""
        return urllib.parse.unquote(escaped)
    pem = request.META.get("SSL_CLIENT_CERT", "")
    return pem if isinstance(pem, str) and len(pem) <= MAX_PEM_CHARS else ""


def fingerprint_of(pem: str) -> str | None:
    """SHA-256 of the DER inside PEM, or None when it is not a PEM certificate."""
    try:
        der = ssl.PEM_cert_to_DER_cert(pem.strip())
    except (ValueError, TypeError):
        return None
    return hashlib.sha256(der).hexdigest() if der else None


# --- The check --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateCheck:
    status: Status
    certificate: Certificate | None = None

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    def message(self) -> str:
        """What is wrong, for the refusal page and the API's detail (active language)."""
        cert = self.certificate
        if self.status == Status.NONE:
            return _("Your browser or program did not present a client certificate.")
        if self.status == Status.UNKNOWN:
            return _("The client certificate presented was not issued by Renkei.")
        if self.status == Status.NOT_YOURS:
            return _("The client certificate presented belongs to another user, not to you.")
        assert cert is not None
        when = {"serial": cert.serial, "date": ""}
        if self.status == Status.REVOKED:
            when["date"] = timezone.localtime(cert.revoked_at).strftime("%Y-%m-%d %H:%M")
            return _("The client certificate presented (serial %(serial)s) was revoked on %(date)s.") % when
        if self.status == Status.EXPIRED:
            if cert.not_after <= timezone.now():
                when["date"] = timezone.localtime(cert.not_after).strftime("%Y-%m-%d %H:%M")
                return _("The client certificate presented (serial %(serial)s) expired on %(date)s.") % when
            when["date"] = timezone.localtime(cert.not_before).strftime("%Y-%m-%d %H:%M")
            return (
                _("The client certificate presented (serial %(serial)s) is not valid before %(date)s.") % when
            )
        return (
            _("The certificate presented (serial %(serial)s) is not a client-authentication certificate.")
            % when
        )


def allows_client_auth(profile_name: str) -> bool:
    profile = get_profile(profile_name)
    return profile is not None and ExtendedKeyUsageOID.CLIENT_AUTH in profile.extended_key_usage


def check_certificate(pem: str, user: Any, now: datetime.datetime | None = None) -> CertificateCheck:
    """Check PEM against Renkei's records for USER: one indexed query (unique fingerprint)."""
    if not pem:
        return CertificateCheck(Status.NONE)
    digest = fingerprint_of(pem)
    cert = Certificate.objects.filter(fingerprint_sha256=digest).first() if digest else None
    if cert is None:
        return CertificateCheck(Status.UNKNOWN)
    now = now or timezone.now()
    if user is None or not user.is_authenticated or cert.user_id != user.pk:
        return CertificateCheck(Status.NOT_YOURS, cert)
    if cert.revoked_at is not None:
        return CertificateCheck(Status.REVOKED, cert)
    if not cert.not_before <= now < cert.not_after:
        return CertificateCheck(Status.EXPIRED, cert)
    if not allows_client_auth(cert.profile):
        return CertificateCheck(Status.WRONG_PROFILE, cert)
    return CertificateCheck(Status.OK, cert)


# --- The policies, mirrored to a file so requests need no query to learn there are none ----------


def policy_file() -> Path:
    return pki_dir() / POLICY_FILE


def policy_data(policy: AccessPolicy) -> dict[str, Any]:
    return {"staff_roles": sorted(policy.staff_roles), "suppliers": policy.suppliers, "api": policy.api}


def _requiring(rows: Any) -> dict[int, dict[str, Any]]:
    return {
        row.organization_id: policy_data(row) for row in rows if row.staff_roles or row.suppliers or row.api
    }


def publish_policies() -> dict[int, dict[str, Any]]:
    """Write the policies that require something to RENKEI_PKI_DIR/access-policies.json (atomic
    replace), or remove the file when none does. Called after every change and at server start."""
    policies = _requiring(AccessPolicy.objects.all())
    path = policy_file()
    if not policies:
        path.unlink(missing_ok=True)
        return policies
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".policies-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"policies": {str(k): v for k, v in policies.items()}}, handle, sort_keys=True)
    os.replace(temporary, path)
    return policies


_loaded: tuple[Any, dict[int, dict[str, Any]]] = (None, {})


def current_policies() -> dict[int, dict[str, Any]]:
    """The requiring policies by organization id: a stat() per request, a read when the file
    changed. No file means nothing is required; a file that cannot be read falls back to the
    database (never to "nothing required")."""
    global _loaded  # noqa: PLW0603 - a per-process cache, replaced whole (thread-safe)
    path = policy_file()
    try:
        stat = path.stat()
    except FileNotFoundError:
        key: Any = (str(path), None)
    else:
        key = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    if _loaded[0] == key:
        return _loaded[1]
    if key[1] is None:
        policies: dict[int, dict[str, Any]] = {}
    else:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))["policies"]
            policies = {int(k): v for k, v in raw.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            logger.error("%s cannot be read; using the policies from the database", path)
            policies = _requiring(AccessPolicy.objects.all())
    _loaded = (key, policies)
    return policies


def certificate_required(user: Any, policies: dict[int, dict[str, Any]], *, api: bool) -> bool:
    """Whether any of POLICIES requires a certificate from USER (one query)."""
    from renkei.accounts.models import Membership, User
    from renkei.suppliers.models import Contact

    roles_by_org = {
        org: list(Role.values) if api and p["api"] else p["staff_roles"] for org, p in policies.items()
    }
    staff = [Q(organization_id=org, role__in=roles) for org, roles in roles_by_org.items() if roles]
    contact_orgs = [org for org, p in policies.items() if p["suppliers"] or (api and p["api"])]
    terms = []
    if staff:
        either = staff[0]
        for term in staff[1:]:
            either |= term
        terms.append(Exists(Membership.objects.filter(either, user=OuterRef("pk"))))
    if contact_orgs:
        terms.append(
            Exists(
                Contact.objects.filter(
                    user=OuterRef("pk"), portal_access=True, supplier__organization_id__in=contact_orgs
                )
            )
        )
    if not terms:
        return False
    condition = terms[0]
    for term in terms[1:]:
        condition |= term
    return User.objects.filter(pk=user.pk).filter(condition).exists()


# --- The middleware -------------------------------------------------------------------------------


@cache
def _exempt_prefixes() -> tuple[str, ...]:
    return (
        "/" + settings.STATIC_URL.lstrip("/"),
        reverse("login"),
        reverse("logout"),
        reverse("set_language"),
        "/pki/enroll/",
    )


def exempt(path: str) -> bool:
    """Paths a certificate is never required on: the way in and out, and the public PKI."""
    return path.startswith(_exempt_prefixes()) or bool(PUBLIC_PKI.match(path))


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.META.get("HTTP_AUTHORIZATION", "").startswith("Token ")


def _requester(request: HttpRequest) -> Any:
    """The user: from a DRF token when one is sent (DRF authenticates it only in the view),
    else the session's. A bad token is anonymous here; DRF then answers 401."""
    if request.META.get("HTTP_AUTHORIZATION", "").startswith("Token "):
        from rest_framework.authentication import TokenAuthentication
        from rest_framework.exceptions import AuthenticationFailed

        try:
            found = TokenAuthentication().authenticate(request)
        except AuthenticationFailed:
            return None
        return found[0] if found else None
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class ClientCertificateMiddleware:
    """Refuses requests that need a client certificate and lack a valid one; records last use."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if exempt(request.path):
            return self.get_response(request)
        pem = presented_pem(request)
        policies = current_policies()
        if not pem and not policies:
            return self.get_response(request)
        user = _requester(request)
        if user is None:
            return self.get_response(request)
        result = check_certificate(pem, user)
        request.client_certificate = result  # type: ignore[attr-defined] - for the policy page
        if policies and not result.ok and certificate_required(user, policies, api=is_api(request)):
            try:  # the page frame (navigation) reads it; a path that resolves nowhere is a 404 anyway
                request.resolver_match = resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
            return refusal(request, result)
        if result.ok:
            note_use(request, result.certificate, user)
        return self.get_response(request)


def refusal(request: HttpRequest, result: CertificateCheck) -> HttpResponse:
    code = f"client_certificate_{result.status.value}"
    if is_api(request):
        return JsonResponse({"detail": result.message(), "code": code}, status=403)
    context = {"problem": result.message(), "status": result.status.value}
    return render(request, "pki/mtls_refused.html", context, status=403)


def request_check(request: HttpRequest) -> CertificateCheck:
    """The check of this request's certificate (made by the middleware, or now)."""
    found = getattr(request, "client_certificate", None)
    if found is None:
        found = check_certificate(presented_pem(request), getattr(request, "user", None))
        request.client_certificate = found  # type: ignore[attr-defined]
    return found


# --- Last use and concurrent use -------------------------------------------------------------------


def concurrent_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.RENKEI_MTLS_CONCURRENT_WINDOW)


def note_use(request: HttpRequest, cert: Certificate, user: Any) -> None:
    """Record when and from where CERT was used: at most once a minute while the address stays the
    same. The same certificate from another address within RENKEI_MTLS_CONCURRENT_WINDOW is
    flagged (first time: with an audit entry)."""
    now = timezone.now()
    address = client_address(request)[:100]
    moved = bool(cert.last_used_from) and cert.last_used_from != address
    recent = cert.last_used_at is not None and now - cert.last_used_at < USAGE_INTERVAL
    if recent and not moved:
        return
    changes: dict[str, Any] = {"last_used_at": now, "last_used_from": address}
    flag = (
        moved
        and cert.last_used_at is not None
        and now - cert.last_used_at < concurrent_window()
        and cert.concurrent_use_at is None
    )
    if not flag:
        Certificate.objects.filter(pk=cert.pk).update(**changes)
        return
    changes.update(concurrent_use_at=now, concurrent_use_from=address)
    with transaction.atomic():
        updated = Certificate.objects.filter(pk=cert.pk, concurrent_use_at__isnull=True).update(**changes)
        if updated:  # another request may have flagged it a moment ago
            cert.concurrent_use_at, cert.concurrent_use_from = now, address
            record(
                Actor(user=user, address=address, label=str(user)),
                AuditEntry.Action.UPDATE,
                cert,
                {"concurrent_use_at": None, "concurrent_use_from": "", "last_used_from": cert.last_used_from},
                {
                    "concurrent_use_at": now.isoformat(),
                    "concurrent_use_from": address,
                    "last_used_from": address,
                },
            )
            logger.warning(
                "certificate %s presented from %s and %s", cert.serial, cert.last_used_from, address
            )


def clear_concurrent_use(actor: Actor, cert: Certificate) -> Certificate:
    """An administrator checked the flag and clears it (audited)."""
    if actor.user is not None and not staff_may(actor.user, cert.organization_id, MANAGE):
        raise NotAllowed(_("Only administrators of the organization may clear this flag."))
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=cert.pk)
        if locked.concurrent_use_at is None:
            return locked
        before = {
            "concurrent_use_at": locked.concurrent_use_at.isoformat(),
            "concurrent_use_from": locked.concurrent_use_from,
        }
        locked.concurrent_use_at, locked.concurrent_use_from = None, ""
        locked.save(update_fields=["concurrent_use_at", "concurrent_use_from"])
        after = {"concurrent_use_at": None, "concurrent_use_from": ""}
        record(actor, AuditEntry.Action.UPDATE, locked, before, after)
    return locked


# --- Setting a policy -----------------------------------------------------------------------------


def set_policy(
    actor: Actor,
    organization: Any,
    *,
    staff_roles: list[str],
    suppliers: bool,
    api: bool,
    check: CertificateCheck | None = None,
) -> AccessPolicy:
    """Save ORGANIZATION's policy (audited) and publish it to the running servers.

    Lockout protection, for a change made by a user (the web page): when the new policy would
    require a certificate from that user, the request making the change must itself present a
    valid certificate of theirs (CHECK) — otherwise saving would lock them out on the next page.
    The CLI (no user) is the way back in and is not checked."""
    unknown = sorted(set(staff_roles) - set(Role.values))
    if unknown:
        raise ServiceError(
            _("Unknown staff role %(roles)s (roles: %(all)s).")
            % {"roles": ", ".join(unknown), "all": ", ".join(Role.values)},
            {"staff_roles": _("Choose from the listed roles.")},
        )
    user = actor.user
    if user is not None and not staff_may(user, organization.pk, MANAGE):
        raise NotAllowed(_("Only administrators of the organization may change its certificate policy."))
    new = {"staff_roles": sorted(set(staff_roles)), "suppliers": bool(suppliers), "api": bool(api)}
    if user is not None and certificate_required(user, {organization.pk: new}, api=False):
        if check is None or not check.ok:
            raise ServiceError(
                _(
                    "This policy would require a client certificate from you, and this request did not "
                    "present a valid one of yours (%(problem)s) Install your certificate and open this "
                    "page with it first, or set the policy with `renkei pki policy` on the server."
                )
                % {"problem": (check or CertificateCheck(Status.NONE)).message()}
            )
    with transaction.atomic():
        policy, created = AccessPolicy.objects.select_for_update().get_or_create(organization=organization)
        before = None if created else policy_data(policy)
        policy.staff_roles, policy.suppliers, policy.api = new["staff_roles"], new["suppliers"], new["api"]
        policy.updated_by = user
        policy.save()
        record(
            actor,
            AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
            policy,
            before,
            policy_data(policy),
        )
        transaction.on_commit(publish_policies)
    return policy


def policy_of(organization: Any) -> dict[str, Any]:
    policy = AccessPolicy.objects.filter(organization=organization).first()
    return policy_data(policy) if policy else {"staff_roles": [], "suppliers": False, "api": False}


def affected_users(organization: Any, policy: dict[str, Any]) -> tuple[int, int]:
    """(users the policy requires a certificate from — on pages, or for the API when the policy
    covers it — and how many of them hold no live client certificate): what `renkei pki policy`
    reports, so an operator sees who would be refused."""
    from renkei.accounts.models import User

    everyone = Q(memberships__organization=organization) | Q(
        supplier_contacts__portal_access=True, supplier_contacts__supplier__organization=organization
    )
    if policy["api"]:
        condition = everyone
    else:
        condition = Q(memberships__organization=organization, memberships__role__in=policy["staff_roles"])
        if policy["suppliers"]:
            condition |= Q(
                supplier_contacts__portal_access=True, supplier_contacts__supplier__organization=organization
            )
    users = User.objects.filter(condition, is_active=True).distinct()
    client_profiles = [name for name in ("client", "device", "test") if allows_client_auth(name)]
    live = Certificate.objects.filter(profile__in=client_profiles).live().values("user_id")
    return users.count(), users.exclude(pk__in=live).count()
