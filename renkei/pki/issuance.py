"""Issuing end-entity certificates: from a CSR (the key never leaves the device) or with a key
made here and delivered once as a password-protected PKCS#12 (the key is not kept).

Everything is checked before anything is signed or written: the profile, the user and their tie
to the organization, the caller's role, the names, the key. A refusal raises PkiError and leaves
no row, no audit entry and no file behind. The certificate and its audit entry are saved in one
transaction."""

from __future__ import annotations

import copy
import datetime
import functools
import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Membership, Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record, record_many
from renkei.core.errors import NotAllowed
from renkei.core.models import staff_may
from renkei.core.permissions import ADD
from renkei.pki import keystore
from renkei.pki.ca import BACKDATE, authority_key_id, endpoints, fingerprint, issuing_ca, serial_hex
from renkei.pki.choices import CAStatus, Method
from renkei.pki.csr import check_request, load_csr
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate, CertificateAuthority
from renkei.pki.profiles import PROFILES, Profile, get_profile, key_usage_for

MIN_P12_PASSWORD = 8
MAX_DEVICE_NAME = 100


@dataclass(frozen=True)
class Request:
    """What is to be issued, checked: who, under which profile, with which names."""

    organization: Organization
    user: Any
    profile: Profile
    device_name: str
    subject: x509.Name
    names: list[x509.GeneralName]
    email: str


def user_belongs(user: Any, organization: Organization) -> bool:
    """Staff of ORGANIZATION, or a contact with portal access of one of its suppliers."""
    from renkei.suppliers.models import Contact

    return (
        Membership.objects.filter(user_id=user.pk, organization_id=organization.pk).exists()
        or Contact.objects.filter(
            user_id=user.pk, portal_access=True, supplier__organization_id=organization.pk
        ).exists()
    )


def _clean_device(name: str) -> str:
    name = " ".join((name or "").split())
    if len(name) > MAX_DEVICE_NAME:
        raise PkiError(
            _("The device name is %(length)d characters long; at most %(max)d are allowed.")
            % {"length": len(name), "max": MAX_DEVICE_NAME}
        )
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise PkiError(_("The device name contains control characters."))
    return name


def prepare(
    actor: Actor, organization: Organization, user: Any, profile_name: str, device_name: str = ""
) -> Request:
    """Check everything about the request except the key; PkiError or NotAllowed otherwise."""
    profile = get_profile(profile_name)
    if profile is None:
        raise PkiError(
            _("There is no profile %(name)s (profiles: %(names)s).")
            % {"name": profile_name, "names": ", ".join(PROFILES)}
        )
    if actor.user is not None and not staff_may(actor.user, organization.pk, ADD):
        raise NotAllowed(_("You may not issue certificates for this organization."))
    if user is None or not user.is_active:
        raise PkiError(_("The user does not exist or is inactive."))
    if not user_belongs(user, organization):
        raise PkiError(
            _("The user %(user)s is neither staff of %(org)s nor a contact of one of its suppliers.")
            % {"user": user.username, "org": organization.slug}
        )
    device_name = _clean_device(device_name)
    if profile.device_required and not device_name:
        raise PkiError(_("The %(profile)s profile needs a device name.") % {"profile": profile.name})
    email = (user.email or "").strip()
    if profile.email_required and not email:
        raise PkiError(
            _(
                "The user %(user)s has no e-mail address, which the %(profile)s profile writes into the "
                "certificate."
            )
            % {"user": user.username, "profile": profile.name}
        )
    names: list[x509.GeneralName] = []
    if "email" in profile.san and email:
        try:
            names.append(x509.RFC822Name(email))
        except ValueError:
            raise PkiError(
                _(
                    "The e-mail address %(email)s cannot be written into a certificate (only ASCII "
                    "addresses can)."
                )
                % {"email": email}
            ) from None
    common_name = device_name if profile.subject_from == "device" else str(user)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization.name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, (common_name or user.username)[:64]),
        ]
    )
    return Request(organization, user, profile, device_name, subject, names, email)


@functools.lru_cache(maxsize=32)
def ca_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


# The issuing CA each organization's last certificate was signed with in this process.
_issuers: dict[int, CertificateAuthority] = {}


def _still_active(ca: CertificateAuthority) -> bool:
    """Whether CA's row is still active with the same certificate. Written out because it runs
    before every certificate and Django takes longer to build this one-row lookup than the
    database takes to answer it. Table and column names come from _meta, values are parameters."""
    meta = CertificateAuthority._meta
    quote = connection.ops.quote_name
    pk, status, fingerprint_column = (
        quote(meta.get_field(name).column) for name in ("id", "status", "fingerprint_sha256")
    )
    sql = (
        f"SELECT 1 FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {pk} = %s AND {status} = %s AND {fingerprint_column} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ca.pk, CAStatus.ACTIVE.value, ca.fingerprint_sha256])
        return cursor.fetchone() is not None


def current_issuer(organization: Organization) -> CertificateAuthority:
    """The organization's issuing CA. The row read for the previous certificate is reused once the
    database confirms it is still active with the same certificate (one primary-key lookup instead
    of the whole row with its PEM), so still no certificate under a CA that any process retired,
    revoked or replaced. Callers get a copy, so none shares relations cached on another's."""
    cached = _issuers.get(organization.pk)
    if cached is not None and _still_active(cached):
        return copy.copy(cached)
    _issuers.pop(organization.pk, None)
    ca = issuing_ca(organization)
    _issuers[organization.pk] = copy.copy(ca)
    return ca


def _key_usage(bits: frozenset[str]) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{name: name in bits for name in names})


def _sign(
    request: Request, ca: CertificateAuthority, public_key: Any, key_type: str, now: datetime.datetime
) -> x509.Certificate:
    ca_cert = ca_certificate(ca.certificate_pem)
    ca_key = keystore.load_key(ca.key_file)
    not_after = min(now + datetime.timedelta(days=request.profile.lifetime_days), ca_cert.not_valid_after_utc)
    if not_after <= now + datetime.timedelta(days=1):
        raise PkiError(_("The issuing CA expires too soon to issue certificates; renew the CA first."))
    urls = endpoints(request.organization)
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_usage_for(request.profile, key_type)), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(request.profile.extended_key_usage)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority_key_id(ca_cert), critical=False)
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(urls["crl"])],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(urls["ocsp"])
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(urls["ca_issuers"]),
                    ),
                ]
            ),
            critical=False,
        )
    )
    if request.names:
        builder = builder.add_extension(x509.SubjectAlternativeName(request.names), critical=False)
    return builder.sign(ca_key, keystore.signature_hash(ca_key))


def _describe_names(names: list[x509.GeneralName]) -> list[str]:
    from renkei.pki.csr import describe

    return [describe(name) for name in names]


def _accepted_key_type(request: Request, public_key: Any) -> str:
    key_type = keystore.key_type_of(public_key)
    if key_type not in request.profile.key_types:
        raise PkiError(
            _("The %(profile)s profile does not accept %(type)s keys.")
            % {"profile": request.profile.name, "type": key_type}
        )
    return key_type


def signed_row(
    actor: Actor,
    request: Request,
    ca: CertificateAuthority,
    public_key: Any,
    *,
    method: str,
    renewed_from: Certificate | None,
) -> Certificate:
    """The signed certificate as an unsaved row."""
    key_type = _accepted_key_type(request, public_key)
    cert = _sign(request, ca, public_key, key_type, timezone.now())
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Certificate(
        organization=request.organization,
        ca=ca,
        profile=request.profile.name,
        method=method,
        serial=serial_hex(cert.serial_number),
        subject=cert.subject.rfc4514_string(),
        common_name=cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
        subject_alt_names=_describe_names(request.names),
        user=request.user,
        device_name=request.device_name,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=fingerprint(cert),
        key_type=key_type,
        public_key_sha256=hashlib.sha256(spki).hexdigest(),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        renewed_from=renewed_from,
        issued_by=actor.user,
    )


def issue(
    actor: Actor, request: Request, public_key: Any, method: str, renewed_from: Certificate | None = None
) -> Certificate:
    """Sign PUBLIC_KEY under REQUEST and save the certificate with its audit entry."""
    ca = current_issuer(request.organization)
    row = signed_row(actor, request, ca, public_key, method=method, renewed_from=renewed_from)
    with transaction.atomic():
        row.save()
        record(actor, AuditEntry.Action.CREATE, row, None, audit_data(row))
    return row


def issue_many(actor: Actor, items: list[tuple[Request, bytes]]) -> list[Certificate]:
    """Certificates for many CSRs at once (bulk enrollment, MDM automation): every CSR is checked
    first — one bad item refuses the whole batch, naming it — then all are signed and saved with
    their audit entries in one transaction."""
    checked = []
    for number, (request, csr_data) in enumerate(items, 1):
        try:
            csr = load_csr(csr_data)
            check_request(csr, request.profile, request.names, request.email)
            _accepted_key_type(request, csr.public_key())
        except PkiError as exc:
            raise PkiError(
                _("Request %(number)d: %(message)s") % {"number": number, "message": exc.message}
            ) from exc
        checked.append((request, csr.public_key()))
    cas: dict[int, CertificateAuthority] = {}
    rows = []
    for request, public_key in checked:
        ca = cas.get(request.organization.pk) or current_issuer(request.organization)
        cas[request.organization.pk] = ca
        rows.append(signed_row(actor, request, ca, public_key, method=Method.CSR, renewed_from=None))
    with transaction.atomic():
        Certificate.objects.bulk_create(rows, batch_size=500)
        record_many(
            actor, [PendingEntry(AuditEntry.Action.CREATE, row, None, audit_data(row)) for row in rows]
        )
    return rows


def audit_data(cert: Certificate) -> dict[str, Any]:
    return {
        "serial": cert.serial,
        "profile": cert.profile,
        "method": cert.method,
        "subject": cert.subject,
        "user": cert.user_id,
        "device_name": cert.device_name,
        "not_after": cert.not_after.isoformat(),
        "fingerprint_sha256": cert.fingerprint_sha256,
        "renewed_from": cert.renewed_from_id,
    }


def issue_from_csr(
    actor: Actor, request: Request, csr_data: bytes, renewed_from: Certificate | None = None
) -> Certificate:
    csr = load_csr(csr_data)
    check_request(csr, request.profile, request.names, request.email)
    return issue(actor, request, csr.public_key(), Method.CSR, renewed_from)


def pkcs12_encryption(password: bytes, legacy: bool) -> serialization.KeySerializationEncryption:
    """AES-256-CBC with PBKDF2-SHA256 and a SHA-256 MAC; LEGACY: 3DES with a SHA-1 MAC, which
    older Windows and macOS importers need (weak: deliver such bundles over a protected channel)."""
    builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(
        100_000 if not legacy else 2048
    )
    if legacy:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(
            hashes.SHA1()  # noqa: S303 - what the legacy importers understand, by request only
        )
    else:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
    return builder.build(password)


def check_p12_password(password: str) -> bytes:
    if len(password) < MIN_P12_PASSWORD:
        raise PkiError(
            _("The PKCS#12 password must have at least %(count)d characters.") % {"count": MIN_P12_PASSWORD}
        )
    return password.encode("utf-8")


def issue_pkcs12(
    actor: Actor,
    request: Request,
    password: str,
    *,
    legacy: bool = False,
    key_type: str | None = None,
    renewed_from: Certificate | None = None,
) -> tuple[Certificate, bytes]:
    """A key made here, its certificate, and both as a PKCS#12 bundle with the CA chain. The key
    exists only in memory and in the returned bundle."""
    secret = check_p12_password(password)
    key_type = key_type or request.profile.default_key_type
    if key_type not in request.profile.key_types:
        raise PkiError(
            _("The %(profile)s profile does not accept %(type)s keys.")
            % {"profile": request.profile.name, "type": key_type}
        )
    key = keystore.generate_key(key_type)
    with transaction.atomic():  # no certificate without its bundle
        cert_row = issue(actor, request, key.public_key(), Method.PKCS12, renewed_from)
        ca = cert_row.ca
        chain = [ca_certificate(ca.certificate_pem)]
        if ca.parent is not None and ca.parent.certificate_pem:
            chain.append(ca_certificate(ca.parent.certificate_pem))
        bundle = pkcs12.serialize_key_and_certificates(
            name=cert_row.common_name.encode("utf-8"),
            key=key,
            cert=x509.load_pem_x509_certificate(cert_row.certificate_pem.encode("ascii")),
            cas=chain,
            encryption_algorithm=pkcs12_encryption(secret, legacy),
        )
    return cert_row, bundle
