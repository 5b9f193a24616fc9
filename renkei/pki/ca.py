"""Each organization's CA: a root (10 years) and an issuing CA (5 years) made by `renkei pki init`,
or an issuing CA whose certificate an external, offline root signs (`--issuing-csr`, then
`renkei pki import-issuing`). The root's key is only needed to sign the issuing CA: keep a copy of
its file offline, or use an external root and never hold it here (docs/pki.md)."""

from __future__ import annotations

import datetime
import functools
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.pki import keystore
from renkei.pki.choices import CARole, CAStatus, KeyType
from renkei.pki.keystore import PkiError
from renkei.pki.models import CertificateAuthority

ROOT_DAYS = 3650
ISSUING_DAYS = 1825
CA_KEY_TYPES = (KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_3072, KeyType.RSA_4096)
BACKDATE = datetime.timedelta(minutes=5)  # tolerate clients whose clocks run a little behind


def serial_hex(number: int) -> str:
    """A serial as openssl prints it: upper-case hex, an even number of digits."""
    text = format(number, "X")
    return text if len(text) % 2 == 0 else "0" + text


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def ca_name(organization: Organization, what: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization.name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization.name[:40]} Renkei {what}"),
        ]
    )


def endpoints(organization: Organization) -> dict[str, str]:
    """The public addresses written into certificates (CRL distribution point and AIA)."""
    return dict(_endpoints(settings.RENKEI_PKI_BASE_URL, organization.slug))


@functools.lru_cache(maxsize=256)
def _endpoints(base: str, slug: str) -> tuple[tuple[str, str], ...]:
    return (
        ("crl", base + reverse("pki:crl-der", kwargs={"org": slug})),
        ("ocsp", base + reverse("pki:ocsp", kwargs={"org": slug})),
        ("ca_issuers", base + reverse("pki:ca-der", kwargs={"org": slug})),
    )


def authority_key_id(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The AKI pointing at CA_CERT: its own SKI when it has one (an external root may not have
    derived it from the key the usual way)."""
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        ski = x509.SubjectKeyIdentifier.from_public_key(ca_cert.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ski(public_key: keystore.PublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def _ca_certificate(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: keystore.PublicKey,
    signer: keystore.PrivateKey,
    issuer_public_key: keystore.PublicKey,
    days: int,
    path_length: int,
    now: datetime.datetime,
    not_after: datetime.datetime | None = None,
) -> x509.Certificate:
    end = now + datetime.timedelta(days=days)
    if not_after is not None:
        end = min(end, not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=path_length == 0,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(_ski(issuer_public_key)),
            critical=False,
        )
    )
    return builder.sign(signer, keystore.signature_hash(signer))


def current(organization: Organization, role: str = CARole.ISSUING) -> CertificateAuthority | None:
    # By id, not instance: this runs for every certificate issued and every OCSP answer, and the
    # ORM compiles an instance lookup noticeably slower.
    return (
        CertificateAuthority.objects.filter(
            organization_id=organization.pk, role=role, status=CAStatus.ACTIVE
        )
        .order_by("pk")
        .first()
    )


def issuing_ca(organization: Organization) -> CertificateAuthority:
    ca = current(organization)
    if ca is None:
        raise PkiError(
            _("The organization %(org)s has no CA yet: run `renkei pki init --organization %(org)s`.")
            % {"org": organization.slug}
        )
    return ca


def _refuse_existing(organization: Organization) -> None:
    existing = (
        CertificateAuthority.objects.filter(organization=organization)
        .exclude(status=CAStatus.RETIRED)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        raise PkiError(
            _("The organization %(org)s already has a CA (%(subject)s, %(status)s). Nothing was changed.")
            % {"org": organization.slug, "subject": existing.subject, "status": existing.get_status_display()}
        )


def _check_key_type(key_type: str) -> None:
    if key_type not in CA_KEY_TYPES:
        raise PkiError(_("A CA key must be one of: %(types)s.") % {"types": ", ".join(CA_KEY_TYPES)})


def _remove(relatives: list[str]) -> None:
    for relative in relatives:
        (keystore.pki_dir() / relative).unlink(missing_ok=True)


def _row(
    organization: Organization,
    role: str,
    cert: x509.Certificate,
    key_type: str,
    key_file: str,
    *,
    parent: CertificateAuthority | None = None,
    external: bool = False,
) -> CertificateAuthority:
    return CertificateAuthority(
        organization=organization,
        role=role,
        status=CAStatus.ACTIVE,
        parent=parent,
        subject=cert.subject.rfc4514_string(),
        serial=serial_hex(cert.serial_number),
        key_type=key_type,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        key_file=key_file,
        external=external,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=fingerprint(cert),
    )


def _save(actor: Actor, ca: CertificateAuthority) -> None:
    ca.save()
    record(
        actor,
        AuditEntry.Action.CREATE,
        ca,
        None,
        {
            "role": ca.role,
            "status": ca.status,
            "subject": ca.subject,
            "serial": ca.serial,
            "key_type": ca.key_type,
            "external": ca.external,
            "not_after": ca.not_after.isoformat() if ca.not_after else None,
        },
    )


def init_ca(
    actor: Actor, organization: Organization, key_type: str = KeyType.EC_P256
) -> tuple[CertificateAuthority, CertificateAuthority]:
    """A new root and issuing CA for ORGANIZATION, their keys encrypted under RENKEI_PKI_DIR."""
    from renkei.pki.crl import generate_crl

    _check_key_type(key_type)
    _refuse_existing(organization)
    keystore.passphrase()  # refuse before making anything
    now = timezone.now()
    root_key, issuing_key = keystore.generate_key(key_type), keystore.generate_key(key_type)
    root_name, issuing_name = ca_name(organization, "Root CA"), ca_name(organization, "Issuing CA")
    root_cert = _ca_certificate(
        subject=root_name,
        issuer=root_name,
        public_key=root_key.public_key(),
        signer=root_key,
        issuer_public_key=root_key.public_key(),
        days=ROOT_DAYS,
        path_length=1,
        now=now,
    )
    issuing_cert = _ca_certificate(
        subject=issuing_name,
        issuer=root_name,
        public_key=issuing_key.public_key(),
        signer=root_key,
        issuer_public_key=root_key.public_key(),
        days=ISSUING_DAYS,
        path_length=0,
        now=now,
        not_after=root_cert.not_valid_after_utc,
    )
    files = [keystore.write_key(root_key, organization.slug, "root")]
    try:
        files.append(keystore.write_key(issuing_key, organization.slug, "issuing"))
        with transaction.atomic():
            _refuse_existing(organization)
            root = _row(organization, CARole.ROOT, root_cert, key_type, files[0])
            _save(actor, root)
            issuing = _row(organization, CARole.ISSUING, issuing_cert, key_type, files[1], parent=root)
            _save(actor, issuing)
            generate_crl(issuing)
    except BaseException:
        _remove(files)
        raise
    return root, issuing


# --- An external (offline) root --------------------------------------------------------------------


def init_issuing_csr(actor: Actor, organization: Organization, key_type: str = KeyType.EC_P256) -> bytes:
    """Make the issuing CA's key and return its CSR (PEM) for an external root to sign. The CA
    waits (status pending) until `import_issuing` brings the signed certificate."""
    _check_key_type(key_type)
    _refuse_existing(organization)
    keystore.passphrase()
    key = keystore.generate_key(key_type)
    name = ca_name(organization, "Issuing CA")
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, keystore.signature_hash(key))
    )
    csr_pem = csr.public_bytes(serialization.Encoding.PEM)
    relative = keystore.write_key(key, organization.slug, "issuing")
    try:
        with transaction.atomic():
            _refuse_existing(organization)
            ca = CertificateAuthority(
                organization=organization,
                role=CARole.ISSUING,
                status=CAStatus.PENDING,
                subject=name.rfc4514_string(),
                key_type=key_type,
                key_file=relative,
                csr_pem=csr_pem.decode("ascii"),
            )
            _save(actor, ca)
    except BaseException:
        _remove([relative])
        raise
    return csr_pem


def _load_one_cert(data: bytes, what: str) -> x509.Certificate:
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
            if len(certs) != 1:
                raise ValueError
            return certs[0]
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise PkiError(_("%(what)s is not one PEM or DER certificate.") % {"what": what}) from None


def import_issuing(
    actor: Actor, organization: Organization, cert_data: bytes, root_data: bytes
) -> CertificateAuthority:
    """Activate the pending issuing CA with the certificate the external root signed."""
    from renkei.pki.crl import generate_crl

    cert = _load_one_cert(cert_data, _("The issuing CA certificate"))
    root_cert = _load_one_cert(root_data, _("The root certificate"))
    with transaction.atomic():
        pending = (
            CertificateAuthority.objects.select_for_update()
            .filter(organization=organization, role=CARole.ISSUING, status=CAStatus.PENDING)
            .first()
        )
        if pending is None:
            raise PkiError(
                _(
                    "The organization %(org)s has no issuing CA waiting for a certificate "
                    "(run `renkei pki init --issuing-csr FILE` first)."
                )
                % {"org": organization.slug}
            )
        key = keystore.load_key(pending.key_file)
        public_der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(*public_der) != key.public_key().public_bytes(*public_der):
            raise PkiError(_("The certificate is not for the key of the pending issuing CA."))
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            constraints = usage = None
        if (
            constraints is None
            or not constraints.ca
            or usage is None
            or not usage.key_cert_sign
            or not usage.crl_sign
        ):
            raise PkiError(
                _(
                    "The certificate does not allow signing certificates and CRLs "
                    "(basicConstraints CA, keyUsage keyCertSign and cRLSign are required)."
                )
            )
        try:
            cert.verify_directly_issued_by(root_cert)
        except (ValueError, TypeError, InvalidSignature):
            raise PkiError(_("The certificate was not signed by the given root certificate.")) from None
        now = timezone.now()
        if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
            raise PkiError(_("The certificate is not valid now."))
        root = _row(
            organization,
            CARole.ROOT,
            root_cert,
            keystore.key_type_of(root_cert.public_key()),
            "",
            external=True,
        )
        _save(actor, root)
        before = {"status": pending.status}
        filled = _row(organization, CARole.ISSUING, cert, pending.key_type, pending.key_file, parent=root)
        for field in (
            "status",
            "parent",
            "subject",
            "serial",
            "certificate_pem",
            "not_before",
            "not_after",
            "fingerprint_sha256",
        ):
            setattr(pending, field, getattr(filled, field))
        pending.save()
        record(
            actor,
            AuditEntry.Action.UPDATE,
            pending,
            before,
            {"status": pending.status, "serial": pending.serial},
        )
        generate_crl(pending)
    return pending


# --- Reading ------------------------------------------------------------------------------------------


def chain_pem(organization: Organization) -> str:
    """The issuing CA then the root, PEM: what relying parties (nginx, openssl) trust."""
    issuing = issuing_ca(organization)
    root = issuing.parent
    return issuing.certificate_pem + (root.certificate_pem if root is not None else "")


def load_certificate(ca: CertificateAuthority) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ca.certificate_pem.encode("ascii"))
