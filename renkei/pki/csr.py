"""Reading a CSR, and refusing what the profile would not write.

A CSR is trusted for one thing only: its public key (and its signature proving the requester
holds the private key). The subject is replaced by the profile's. Extensions asked for are
checked: a name (SAN, or an e-mail address in the subject) the profile would not write, a CA
flag, key usage for signing certificates or CRLs, an extended key usage beyond the profile's, or
any other extension is refused with a message naming it — the requester should learn that the
certificate would not say what they asked for, not find out later.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.utils.translation import gettext as _

from renkei.pki.keystore import PkiError, key_type_of
from renkei.pki.profiles import Profile

MAX_CSR_BYTES = 16 * 1024

_EKU_NAMES = {
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
}


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Parse a PEM or DER CSR and check its signature and key; PkiError otherwise."""
    if len(data) > MAX_CSR_BYTES:
        raise PkiError(
            _("The CSR is %(size)d bytes long; at most %(max)d bytes are accepted.")
            % {"size": len(data), "max": MAX_CSR_BYTES}
        )
    if not data.strip():
        raise PkiError(_("The CSR is empty."))
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            csr = x509.load_pem_x509_csr(data)
        else:
            csr = x509.load_der_x509_csr(data)
    except ValueError:
        raise PkiError(
            _("The CSR could not be read: it is not a PEM or DER certificate signing request (PKCS#10).")
        ) from None
    try:
        public_key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise PkiError(_("This kind of key is not supported (use EC P-256, EC P-384 or RSA).")) from None
    key_type_of(public_key)
    try:
        valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        raise PkiError(_("The CSR's signature does not match its key: the CSR was altered or is broken."))
    return csr


def describe(name: x509.GeneralName) -> str:
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{name.value.rfc4514_string()}"
    return f"{type(name).__name__}"


def oid_text(oid: x509.ObjectIdentifier) -> str:
    known = getattr(oid, "_name", "Unknown OID")  # cryptography's name of well-known OIDs
    return oid.dotted_string if known == "Unknown OID" else f"{known} ({oid.dotted_string})"


def _names_text(names: list[x509.GeneralName]) -> str:
    return ", ".join(describe(n) for n in names) or _("no alternative names")


def check_request(
    csr: x509.CertificateSigningRequest, profile: Profile, names: list[x509.GeneralName], email: str
) -> None:
    """Refuse CSR if it asks for more than PROFILE writes; NAMES are the SANs it will write."""
    for attribute in csr.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS):
        if not email or str(attribute.value).lower() != email.lower():
            raise PkiError(
                _(
                    "The CSR's subject names the e-mail address %(email)s; the certificate can only name "
                    "the user's own address."
                )
                % {"email": attribute.value}
            )
    try:
        extensions = list(csr.extensions)
    except ValueError:
        raise PkiError(_("The CSR's extensions could not be read (duplicated or malformed).")) from None
    for extension in extensions:
        value = extension.value
        if isinstance(value, x509.SubjectAlternativeName):
            for name in value:
                if name not in names:
                    raise PkiError(
                        _(
                            "The CSR asks for the name %(name)s, which the %(profile)s profile does not "
                            "allow (it writes: %(allowed)s)."
                        )
                        % {"name": describe(name), "profile": profile.name, "allowed": _names_text(names)}
                    )
        elif isinstance(value, x509.BasicConstraints):
            if value.ca:
                raise PkiError(
                    _("The CSR asks for a CA certificate; only end-entity certificates are issued.")
                )
        elif isinstance(value, x509.KeyUsage):
            if value.key_cert_sign or value.crl_sign:
                raise PkiError(_("The CSR asks for key usage keyCertSign or cRLSign, which only CAs have."))
        elif isinstance(value, x509.ExtendedKeyUsage):
            extra = [oid for oid in value if oid not in profile.extended_key_usage]
            if extra:
                raise PkiError(
                    _(
                        "The CSR asks for the extended key usage %(usage)s, which the %(profile)s profile "
                        "does not allow."
                    )
                    % {
                        "usage": ", ".join(_EKU_NAMES.get(o, o.dotted_string) for o in extra),
                        "profile": profile.name,
                    }
                )
        elif not isinstance(value, x509.SubjectKeyIdentifier):
            raise PkiError(
                _("The CSR asks for the extension %(name)s, which the %(profile)s profile does not allow.")
                % {"name": oid_text(extension.oid), "profile": profile.name}
            )
