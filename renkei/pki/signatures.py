"""Verifying detached CMS / PKCS#7 signatures (issue 7, item 7): a supplier's signed delivery, a
file signed with `openssl cms -sign` or `openssl smime -sign`, a `.p7s` from a mail.

    verify_detached(organization, data, signature, at=None, crls=None) -> Verification

is the stable entry point (the delivered-software checks of issue 8 call it). DATA is the signed
content (bytes, or a path, read in chunks); SIGNATURE a CMS SignedData, DER (BER is accepted) or
PEM (PKCS7 / CMS labels). The answer is never an exception: `valid`, and when not valid a
`reason` code and a message:

    malformed        the signature cannot be read (not CMS SignedData, several signers, no
                     signer certificate, unsupported or weak algorithms)
    digest_mismatch  the data is not the data that was signed (messageDigest differs)
    bad_signature    the signature value does not verify with the signer's key
    untrusted        no path from the signer to a trust anchor, or a certificate not meant for
                     signing, or a certificate under Renkei's CA that Renkei never issued
    revoked          a certificate on the path was revoked at AT
    expired          a certificate on the path was not valid at AT (expired or not yet valid)

Trust anchors: the organization's active root and issuing CA, and its TrustedCertificate rows —
a CA certificate (is_ca) anchors a chain, any other is pinned: that exact certificate is trusted
as a signer. Intermediate CA certificates may come with the signature.

Revocation: a certificate issued by the organization's CA is checked against Renkei's own records
(revoked at or before AT: revoked; not in the records: untrusted). An external certificate is
checked against the CRLs the caller passes (DER or PEM bytes, or loaded CRLs), used only when
signed by that certificate's issuer; without one it is not checked, and the result says so
(`revocation` per certificate: "renkei", "crl" or "not_checked"). Renkei fetches nothing.

Time: certificates must be valid at AT (default: now). The signingTime attribute is reported but
not trusted — the signer writes it, and a thief of the key can write any time. A caller that
knows when the signature really existed (a delivery received and recorded by Renkei) passes that
moment as AT; then a certificate that expired since still verifies, a revocation after AT does
not count.

Signer certificates: EKU, when present, must allow code signing, e-mail protection or any
purpose; key usage, when present, digital signature or non-repudiation. Digests: SHA-224 and
stronger (SHA-1 and MD5 are refused as bad_signature). One signer per signature.

asn1crypto reads the CMS structure (cryptography cannot parse signerInfos); cryptography checks
every signature."""

from __future__ import annotations

import base64
import binascii
import datetime
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa, utils
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.pki.ca import fingerprint, serial_hex
from renkei.pki.choices import CAStatus
from renkei.pki.models import Certificate, CertificateAuthority, TrustedCertificate

MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_PATH = 8
CHUNK = 1024 * 1024

MALFORMED = "malformed"
DIGEST_MISMATCH = "digest_mismatch"
BAD_SIGNATURE = "bad_signature"
UNTRUSTED = "untrusted"
REVOKED = "revoked"
EXPIRED = "expired"
REASONS = (MALFORMED, DIGEST_MISMATCH, BAD_SIGNATURE, UNTRUSTED, REVOKED, EXPIRED)

_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}
_SIGNING_EKUS = {
    ExtendedKeyUsageOID.CODE_SIGNING,
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}


@dataclass
class Verification:
    """The answer of verify_detached (as_dict is what the CLI prints with --json)."""

    valid: bool
    reason: str | None = None
    message: str = ""
    signer: dict[str, Any] | None = None
    chain: list[dict[str, Any]] = field(default_factory=list)
    signing_time: datetime.datetime | None = None
    digest_algorithm: str = ""
    checked_at: datetime.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "message": self.message,
            "signer": self.signer,
            "chain": self.chain,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "digest_algorithm": self.digest_algorithm,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }


class _Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def describe(cert: x509.Certificate) -> dict[str, Any]:
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": serial_hex(cert.serial_number),
        "fingerprint_sha256": fingerprint(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


# --- Reading ----------------------------------------------------------------------------------------

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----(.*?)-----END \1-----", re.S)
_PEM_LABELS = {b"PKCS7", b"CMS", b"PKCS #7 SIGNED DATA"}


def _signature_der(signature: bytes) -> bytes:
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise _Refused(
            MALFORMED,
            _("The signature is %(size)d bytes long; at most %(max)d bytes are accepted.")
            % {"size": len(signature), "max": MAX_SIGNATURE_BYTES},
        )
    if b"-----BEGIN" in signature[:1024]:
        blocks = _PEM.findall(signature)
        if len(blocks) != 1 or blocks[0][0] not in _PEM_LABELS:
            raise _Refused(MALFORMED, _("The signature is not one PEM block labelled PKCS7 or CMS."))
        try:
            return base64.b64decode(b"".join(blocks[0][1].split()), validate=True)
        except (binascii.Error, ValueError):
            raise _Refused(MALFORMED, _("The PEM signature is not valid base64.")) from None
    return signature


def _load_signed_data(der: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise _Refused(
                MALFORMED,
                _("The file is CMS %(type)s, not a signature (SignedData).")
                % {"type": info["content_type"].native},
            )
        signed = info["content"]
        signed.native  # noqa: B018 - parse everything now, so damage shows here and not later
    except _Refused:
        raise
    except (ValueError, TypeError, KeyError, OverflowError):
        raise _Refused(
            MALFORMED,
            _("The signature cannot be read: it is not a CMS/PKCS#7 signature in DER, BER or PEM form."),
        ) from None
    return signed


def _digest_of(data: bytes | str | os.PathLike[str], algorithm: hashes.HashAlgorithm) -> bytes:
    digest = hashes.Hash(algorithm)
    if isinstance(data, bytes | bytearray | memoryview):
        digest.update(bytes(data))
    else:
        with Path(data).open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return digest.finalize()


# --- Checking the signature value ------------------------------------------------------------------


def _hash_name(signer_info: cms.SignerInfo) -> str:
    name = signer_info["digest_algorithm"]["algorithm"].native
    if name not in _DIGESTS:
        raise _Refused(
            BAD_SIGNATURE if name in ("sha1", "md5", "md2") else MALFORMED,
            _("The signature uses the digest %(name)s, which is not accepted (use SHA-256 or stronger).")
            % {"name": name},
        )
    return name


def _check_value(
    public_key: Any, algorithm: Any, signed: bytes, value: bytes, hash_alg: Any, *, prehashed: bool
) -> None:
    """Verify VALUE over SIGNED (or over the digest SIGNED when PREHASHED); InvalidSignature."""
    name = algorithm.signature_algo
    hashed = utils.Prehashed(hash_alg) if prehashed else hash_alg
    if isinstance(public_key, rsa.RSAPublicKey) and name == "rsassa_pkcs1v15":
        public_key.verify(value, signed, padding.PKCS1v15(), hashed)
    elif isinstance(public_key, rsa.RSAPublicKey) and name == "rsassa_pss":
        params = algorithm["parameters"]
        salt = params["salt_length"].native
        pss_hash = _DIGESTS.get(params["hash_algorithm"]["algorithm"].native)
        if pss_hash is None or not isinstance(hash_alg, pss_hash):
            raise _Refused(MALFORMED, _("The RSA-PSS parameters do not match the digest algorithm."))
        public_key.verify(value, signed, padding.PSS(padding.MGF1(hash_alg), salt), hashed)
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and name == "ecdsa":
        public_key.verify(value, signed, ec.ECDSA(hashed))
    elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey) and name in (
        "ed25519",
        "ed448",
    ):
        if prehashed:
            raise _Refused(
                MALFORMED, _("Ed25519/Ed448 signatures without signed attributes are not supported.")
            )
        public_key.verify(value, signed)
    else:
        raise _Refused(
            MALFORMED,
            _("The signature algorithm %(name)s does not fit the signer's key.") % {"name": name},
        )


def _signed_attributes(signer_info: cms.SignerInfo) -> tuple[bytes | None, datetime.datetime | None]:
    """(messageDigest, signingTime) of the signed attributes."""
    found: dict[str, list[Any]] = {}
    for attribute in signer_info["signed_attrs"]:
        found.setdefault(attribute["type"].native, []).extend(attribute["values"])
    digests = found.get("message_digest", [])
    if len(digests) != 1:
        raise _Refused(MALFORMED, _("The signed attributes must hold exactly one message digest."))
    content_types = found.get("content_type", [])
    if len(content_types) != 1 or content_types[0].native != "data":
        raise _Refused(MALFORMED, _("The signed attributes must say the content type is data."))
    times = found.get("signing_time", [])
    signing_time = times[0].native if len(times) == 1 else None
    return digests[0].native, signing_time


# --- Certificates -----------------------------------------------------------------------------------


def _embedded(signed: cms.SignedData) -> list[x509.Certificate]:
    certs = []
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        try:
            certs.append(x509.load_der_x509_certificate(choice.chosen.dump()))
        except ValueError:
            raise _Refused(MALFORMED, _("A certificate inside the signature cannot be read.")) from None
    return certs


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def _is_signer(cert: x509.Certificate, sid: cms.SignerIdentifier) -> bool:
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        return (
            cert.serial_number == wanted["serial_number"].native
            and cert.issuer.public_bytes() == wanted["issuer"].dump()
        )
    return _ski(cert) == sid.chosen.native


def _own_signer(sid: cms.SignerIdentifier, anchors: _Anchors) -> x509.Certificate | None:
    """The signer's certificate from Renkei's records, when the signature does not carry it
    (`openssl cms -sign -nocerts`) and it names the organization's CA."""
    if sid.name != "issuer_and_serial_number":
        return None
    issuer = sid.chosen["issuer"].dump()
    serial = serial_hex(sid.chosen["serial_number"].native)
    for row, ca_cert in anchors.own.values():
        if ca_cert.subject.public_bytes() == issuer:
            found = Certificate.objects.filter(ca=row, serial=serial).first()
            if found is not None:
                return x509.load_pem_x509_certificate(found.certificate_pem.encode("ascii"))
    return None


@dataclass
class _Anchors:
    """What the organization trusts: its own CAs and its registered certificates."""

    own: dict[str, tuple[CertificateAuthority, x509.Certificate]]
    trusted_ca: dict[str, x509.Certificate]
    pinned: dict[str, x509.Certificate]

    def all_cas(self) -> list[x509.Certificate]:
        return [cert for _row, cert in self.own.values()] + list(self.trusted_ca.values())

    def is_anchor(self, cert: x509.Certificate) -> bool:
        fp = fingerprint(cert)
        return fp in self.own or fp in self.trusted_ca or fp in self.pinned


def _anchors(organization: Organization) -> _Anchors:
    own = {}
    for row in CertificateAuthority.objects.filter(organization=organization, status=CAStatus.ACTIVE).exclude(
        certificate_pem=""
    ):
        cert = x509.load_pem_x509_certificate(row.certificate_pem.encode("ascii"))
        own[fingerprint(cert)] = (row, cert)
    trusted_ca, pinned = {}, {}
    for row in TrustedCertificate.objects.filter(organization=organization):
        cert = x509.load_pem_x509_certificate(row.certificate_pem.encode("ascii"))
        (trusted_ca if row.is_ca else pinned)[fingerprint(cert)] = cert
    return _Anchors(own, trusted_ca, pinned)


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _may_sign_certificates(cert: x509.Certificate, below: int) -> bool:
    """CERT is a CA that may have BELOW intermediate CAs under it."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not constraints.ca or (constraints.path_length is not None and below > constraints.path_length):
        return False
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    except x509.ExtensionNotFound:
        return True


def _path(
    signer: x509.Certificate, anchors: _Anchors, extra: list[x509.Certificate]
) -> list[x509.Certificate]:
    """From SIGNER up to the first trust anchor (inclusive); _Refused(untrusted) if none."""
    path = [signer]
    current = signer
    for _depth in range(MAX_PATH):
        if anchors.is_anchor(current):
            return path
        candidates = [c for c in anchors.all_cas() if c.subject == current.issuer]
        candidates += [c for c in extra if c.subject == current.issuer and c not in path]
        below = len(path) - 1
        issuer = next(
            (
                c
                for c in candidates
                if c != current and _issued(current, c) and _may_sign_certificates(c, below)
            ),
            None,
        )
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    raise _Refused(
        UNTRUSTED,
        _(
            "The signer's certificate (%(subject)s) does not lead to a certificate the organization "
            "trusts (its CA, or one registered under trusted certificates)."
        )
        % {"subject": signer.subject.rfc4514_string()},
    )


def _check_purpose(signer: x509.Certificate) -> None:
    try:
        usages = set(signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        usages = None
    if usages is not None and not usages & _SIGNING_EKUS:
        raise _Refused(
            UNTRUSTED,
            _(
                "The signer's certificate is not meant for signing (its extended key usage allows neither "
                "code signing nor e-mail protection)."
            ),
        )
    try:
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise _Refused(UNTRUSTED, _("The signer's certificate does not allow digital signatures."))


def _check_revocation(
    path: list[x509.Certificate],
    anchors: _Anchors,
    crls: list[x509.CertificateRevocationList],
    at: datetime.datetime,
) -> list[str]:
    """How each certificate of PATH was checked for revocation; _Refused(revoked/untrusted)."""
    checked = []
    for index, cert in enumerate(path):
        issuer = path[index + 1] if index + 1 < len(path) else None
        own = anchors.own.get(fingerprint(issuer)) if issuer is not None else None
        if issuer is None:  # an anchor, or a pinned signer: trusted as registered
            checked.append("anchor")
            continue
        if own is not None and own[0].role != "root":
            row = Certificate.objects.filter(ca=own[0], serial=serial_hex(cert.serial_number)).first()
            if row is None or row.fingerprint_sha256 != fingerprint(cert):
                raise _Refused(
                    UNTRUSTED,
                    _(
                        "The certificate %(serial)s carries the organization's CA signature but is not in "
                        "Renkei's records."
                    )
                    % {"serial": serial_hex(cert.serial_number)},
                )
            if row.revoked_at is not None and row.revoked_at <= at:
                raise _Refused(
                    REVOKED,
                    _("The certificate %(serial)s was revoked on %(date)s (%(reason)s).")
                    % {
                        "serial": row.serial,
                        "date": timezone.localtime(row.revoked_at).strftime("%Y-%m-%d %H:%M"),
                        "reason": row.revocation_reason,
                    },
                )
            checked.append("renkei")
            continue
        crl = next(
            (c for c in crls if c.issuer == cert.issuer and _crl_signed_by(c, issuer)),
            None,
        )
        if crl is None:
            checked.append("not_checked")
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None and entry.revocation_date_utc <= at:
            raise _Refused(
                REVOKED,
                _("The certificate %(serial)s is on its issuer's CRL (revoked on %(date)s).")
                % {
                    "serial": serial_hex(cert.serial_number),
                    "date": timezone.localtime(entry.revocation_date_utc).strftime("%Y-%m-%d %H:%M"),
                },
            )
        checked.append("crl")
    return checked


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(issuer.public_key())
    except (TypeError, ValueError, UnsupportedAlgorithm):
        return False


def load_crls(items: list[Any] | None) -> list[x509.CertificateRevocationList]:
    """CRLs as given: loaded ones, or DER / PEM bytes (ValueError for anything else)."""
    loaded = []
    for item in items or []:
        if isinstance(item, x509.CertificateRevocationList):
            loaded.append(item)
        elif b"-----BEGIN" in item[:1024]:
            loaded.append(x509.load_pem_x509_crl(item))
        else:
            loaded.append(x509.load_der_x509_crl(item))
    return loaded


def _check_times(path: list[x509.Certificate], at: datetime.datetime) -> None:
    for cert in path:
        if at > cert.not_valid_after_utc:
            raise _Refused(
                EXPIRED,
                _("The certificate %(subject)s expired on %(date)s.")
                % {
                    "subject": cert.subject.rfc4514_string(),
                    "date": timezone.localtime(cert.not_valid_after_utc).strftime("%Y-%m-%d %H:%M"),
                },
            )
        if at < cert.not_valid_before_utc:
            raise _Refused(
                EXPIRED,
                _("The certificate %(subject)s is not valid before %(date)s.")
                % {
                    "subject": cert.subject.rfc4514_string(),
                    "date": timezone.localtime(cert.not_valid_before_utc).strftime("%Y-%m-%d %H:%M"),
                },
            )


# --- The entry point ---------------------------------------------------------------------------------


def verify_detached(
    organization: Organization,
    data: bytes | str | os.PathLike[str],
    signature: bytes,
    at: datetime.datetime | None = None,
    crls: list[Any] | None = None,
) -> Verification:
    """Whether SIGNATURE is a valid detached CMS signature of DATA by a signer the organization
    trusts, at AT (default now). See the module docstring for the reasons, anchors, revocation
    and time rules. CRLS: for external certificates (DER/PEM bytes or loaded CRLs)."""
    at = at or timezone.now()
    result = Verification(valid=False, checked_at=at)
    try:
        signed = _load_signed_data(_signature_der(bytes(signature)))
        signer_infos = list(signed["signer_infos"])
        if len(signer_infos) != 1:
            raise _Refused(
                MALFORMED,
                _("The signature has %(count)d signers; exactly one is supported.")
                % {"count": len(signer_infos)},
            )
        signer_info = signer_infos[0]
        hash_name = _hash_name(signer_info)
        result.digest_algorithm = hash_name
        hash_alg = _DIGESTS[hash_name]()
        anchors = _anchors(organization)
        embedded = _embedded(signed)
        sid = signer_info["sid"]
        pool = embedded + list(anchors.pinned.values()) + list(anchors.trusted_ca.values())
        signer = next((c for c in pool if _is_signer(c, sid)), None) or _own_signer(sid, anchors)
        if signer is None:
            raise _Refused(
                MALFORMED,
                _("The signer's certificate is neither inside the signature nor registered as trusted."),
            )
        result.signer = describe(signer)
        digest = _digest_of(data, hash_alg)
        attrs = signer_info["signed_attrs"]
        if attrs:
            message_digest, result.signing_time = _signed_attributes(signer_info)
            if message_digest != digest:
                raise _Refused(
                    DIGEST_MISMATCH,
                    _("The data is not what was signed: its %(hash)s digest differs from the signed one.")
                    % {"hash": hash_name.upper()},
                )
            # The signature covers the DER of the attributes as a SET OF (RFC 5652, 5.4).
            to_verify, prehashed = b"\x31" + attrs.dump()[1:], False
        else:
            to_verify, prehashed = digest, True
        try:
            _check_value(
                signer.public_key(),
                signer_info["signature_algorithm"],
                to_verify,
                signer_info["signature"].native,
                hash_alg,
                prehashed=prehashed,
            )
        except (InvalidSignature, ValueError):
            raise _Refused(
                DIGEST_MISMATCH if not attrs else BAD_SIGNATURE,
                _(
                    "The signature does not verify with the signer's key: the data or the signature "
                    "was altered."
                ),
            ) from None
        path = _path(signer, anchors, embedded)
        result.chain = [describe(cert) for cert in path]
        _check_purpose(signer)
        revocation = _check_revocation(path, anchors, load_crls(crls), at)
        for entry, how in zip(result.chain, revocation, strict=True):
            entry["revocation"] = how
        _check_times(path, at)
    except _Refused as refused:
        result.reason, result.message = refused.reason, refused.message
        return result
    except (OSError, ValueError) as exc:
        result.reason = MALFORMED
        result.message = _("The data or a CRL cannot be read: %(error)s") % {"error": exc}
        return result
    result.valid = True
    result.message = _("The signature is valid.")
    return result
