"""Signed notices (S/MIME): the organization's notice-signing certificate, and signing a mail.

The notice signer is an end-entity certificate of the "smime" profile issued by the
organization's own issuing CA to the organization itself (no user), for the address notices are
sent from. Unlike every other end-entity key, Renkei keeps this one — it signs mail without
anyone at hand — encrypted like a CA key under RENKEI_PKI_DIR (renkei.pki.keystore). At most one
certificate per organization signs notices (Certificate.signs_notices); making a new one retires
the previous one: it stops signing and its key file is deleted, but it is not revoked, so mail it
signed still verifies until it expires (revoke it with `renkei pki revoke` after a compromise).

A signed mail (RFC 8551, 3.5) is multipart/signed with protocol="application/pkcs7-signature"
and micalg=sha-256: the first part is the original content (text, HTML alternative,
attachments) re-encoded as base64 so no mail server can alter it, the second a detached CMS
signature (with the issuing and root CA certificates). The first part is signed exactly as it is
transmitted: serialized once with CRLF line ends, then written out unchanged (SignedMail)."""

from __future__ import annotations

import base64
import contextlib
import email.utils
import secrets
from email import encoders, generator
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from io import BytesIO
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import MIMEMixin
from django.db import transaction
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.core.errors import NotAllowed
from renkei.core.models import staff_may
from renkei.core.permissions import MANAGE
from renkei.pki import issuance, keystore
from renkei.pki.ca import issuing_ca
from renkei.pki.choices import KeyType, Method
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate
from renkei.pki.profiles import get_profile

PROFILE = "smime"
# RSA by default: every mail client verifies RSA signatures; ECDSA S/MIME is still missing from
# some (older Outlook builds). EC keys can be asked for with key_type.
DEFAULT_KEY_TYPE = KeyType.RSA_3072
CRLF = b"\r\n"


# --- The notice signer ------------------------------------------------------------------------------


def notice_signer(organization: Organization | int) -> Certificate | None:
    """The organization's live notice-signing certificate (not revoked, not expired, with its
    key), or None: notices are then sent unsigned."""
    org_id = organization if isinstance(organization, int) else organization.pk
    return (
        Certificate.objects.live()
        .filter(organization_id=org_id, signs_notices=True)
        .exclude(key_file="")
        .select_related("ca__parent")
        .first()
    )


def _check_email(address: str) -> str:
    address = (address or "").strip()
    name, parsed = email.utils.parseaddr(address)
    if not parsed or parsed != address or "@" not in parsed:
        raise PkiError(_("%(email)s is not one e-mail address.") % {"email": address})
    try:
        x509.RFC822Name(parsed)
    except ValueError:
        raise PkiError(
            _("The e-mail address %(email)s cannot be written into a certificate (only ASCII addresses can).")
            % {"email": address}
        ) from None
    return parsed


def from_address() -> str:
    """The address notices are sent from (DEFAULT_FROM_EMAIL without its display name)."""
    return email.utils.parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def make_notice_signer(
    actor: Actor,
    organization: Organization,
    email_address: str,
    common_name: str = "",
    *,
    key_type: str = DEFAULT_KEY_TYPE,
) -> Certificate:
    """Issue the organization's notice-signing certificate for EMAIL_ADDRESS (the From address of
    its notices) with a key Renkei keeps encrypted, and make it the one that signs notices; the
    previous signer is retired (it stops signing, its key file is deleted). Audited. Needs an
    administrator of the organization (or the CLI)."""
    if actor.user is not None and not staff_may(actor.user, organization.pk, MANAGE):
        raise NotAllowed(_("Only an administrator of the organization may set up signed notices."))
    profile = get_profile(PROFILE)
    assert profile is not None
    address = _check_email(email_address)
    if key_type not in profile.key_types:
        raise PkiError(
            _("The %(profile)s profile does not accept %(type)s keys.")
            % {"profile": PROFILE, "type": key_type}
        )
    common_name = " ".join((common_name or organization.name).split())[:64]
    if not common_name:
        raise PkiError(_("The certificate needs a name."))
    keystore.passphrase()  # refuse before making anything
    ca = issuing_ca(organization)
    request = issuance.Request(
        organization=organization,
        user=None,
        profile=profile,
        device_name="",
        subject=x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization.name[:64]),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.EMAIL_ADDRESS, address),
            ]
        ),
        names=[x509.RFC822Name(address)],
        email=address,
    )
    key = keystore.generate_key(key_type)
    row = issuance.signed_row(actor, request, ca, key.public_key(), method=Method.PKCS12, renewed_from=None)
    relative = keystore.write_key(key, organization.slug, "notices")
    retired_files: list[str] = []
    try:
        with transaction.atomic():
            for old in Certificate.objects.select_for_update().filter(
                organization=organization, signs_notices=True
            ):
                retired_files.append(old.key_file)
                old.signs_notices = False
                old.key_file = ""
                old.save(update_fields=["signs_notices", "key_file"])
                record(
                    actor,
                    AuditEntry.Action.UPDATE,
                    old,
                    {"signs_notices": True},
                    {"signs_notices": False, "key_deleted": True},
                )
            row.key_file = relative
            row.signs_notices = True
            row.save()
            record(
                actor,
                AuditEntry.Action.CREATE,
                row,
                None,
                {**issuance.audit_data(row), "signs_notices": True, "email": address},
            )
    except BaseException:
        (keystore.pki_dir() / relative).unlink(missing_ok=True)
        raise
    for old_file in filter(None, retired_files):
        with contextlib.suppress(OSError):
            (keystore.pki_dir() / old_file).unlink(missing_ok=True)
    return row


def _chain(signer: Certificate) -> list[x509.Certificate]:
    chain = [issuance.ca_certificate(signer.ca.certificate_pem)]
    parent = signer.ca.parent
    if parent is not None and parent.certificate_pem:
        chain.append(issuance.ca_certificate(parent.certificate_pem))
    return chain


# --- Signing a mail -----------------------------------------------------------------------------------


def _base64_text(text: str, subtype: str) -> MIMEText:
    # utf-8 with base64 (the standard library's choice for utf-8): 7-bit safe, so no relay
    # re-encodes it and breaks the signature (RFC 8551, 3.1.2).
    part = MIMEText(text, subtype, "utf-8")
    del part["MIME-Version"]
    return part


def _attachment(item: Any, encoding: str) -> MIMEBase:
    """A Django attachment (a MIMEBase, or filename, content, mimetype) as a base64 part."""
    if isinstance(item, MIMEBase):
        return item
    filename, content, mimetype = item
    maintype, subtype = (mimetype or "application/octet-stream").split("/", 1)
    if maintype == "text" and isinstance(content, str):
        part: MIMEBase = _base64_text(content, subtype)
    else:
        if isinstance(content, str):
            content = content.encode(encoding)
        part = MIMENonMultipart(maintype, subtype)
        part.set_payload(content)
        encoders.encode_base64(part)
        del part["MIME-Version"]
    if filename:
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
    return part


def content_entity(message: EmailMessage) -> MIMEBase:
    """The body of MESSAGE as one MIME entity: its text, its alternatives (HTML), its attachments."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    if encoding.lower().replace("_", "-") != "utf-8":
        raise PkiError(_("Signed notices are sent in UTF-8 only."))
    body: MIMEBase = _base64_text(message.body, message.content_subtype)
    alternatives = getattr(message, "alternatives", None) or []
    if alternatives:
        mixed = MIMEMultipart("alternative")
        del mixed["MIME-Version"]
        mixed.attach(body)
        for alternative in alternatives:
            content, mimetype = alternative[0], alternative[1]
            maintype, subtype = mimetype.split("/", 1)
            if maintype != "text":
                raise PkiError(_("Only text alternatives can be signed (%(type)s).") % {"type": mimetype})
            mixed.attach(_base64_text(content, subtype))
        body = mixed
    if message.attachments:
        outer = MIMEMultipart(getattr(message, "mixed_subtype", "mixed"))
        del outer["MIME-Version"]
        outer.attach(body)
        for item in message.attachments:
            outer.attach(_attachment(item, encoding))
        body = outer
    return body


def canonical_bytes(entity: MIMEBase) -> bytes:
    """ENTITY serialized once with CRLF line ends: the exact bytes signed and transmitted."""
    out = BytesIO()
    generator.BytesGenerator(out, mangle_from_=False, policy=compat32).flatten(entity, linesep="\r\n")
    return out.getvalue()


def detached_signature(data: bytes, signer: Certificate) -> bytes:
    """A DER CMS SignedData over DATA (detached; SHA-256) by SIGNER, with the CA certificates."""
    key = keystore.load_key(signer.key_file)
    cert = x509.load_pem_x509_certificate(signer.certificate_pem.encode("ascii"))
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
    for ca_cert in _chain(signer):
        builder = builder.add_certificate(ca_cert)
    return builder.sign(
        serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    )


def _wrap(data: bytes, width: int = 76) -> bytes:
    encoded = base64.b64encode(data)
    return CRLF.join(encoded[i : i + width] for i in range(0, len(encoded), width))


class _SignedMIME(MIMEMixin, MIMEBase):
    """The outer multipart/signed: headers from the original message, the body pre-rendered
    (the signed part must reach the wire byte for byte)."""

    def __init__(self, boundary: str) -> None:
        super().__init__(
            "multipart",
            "signed",
            protocol="application/pkcs7-signature",
            micalg="sha-256",
            boundary=boundary,
        )

    def set_rendered(self, body: bytes) -> None:
        self._rendered = body
        # A str payload is written out as it is by the generator (email.generator, multipart).
        self.set_payload(body.decode("ascii"))

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self._with_linesep(linesep, lambda: super(_SignedMIME, self).as_bytes(unixfrom, linesep))

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self._with_linesep(linesep, lambda: super(_SignedMIME, self).as_string(unixfrom, linesep))

    def _with_linesep(self, linesep: str, render: Any) -> Any:
        # SMTP sends CRLF (as signed); a file or console backend asks for LF: mail stores keep
        # text with local line ends, and verifiers canonicalize back to CRLF.
        self.set_payload(self._rendered.decode("ascii").replace("\r\n", linesep))
        try:
            return render()
        finally:
            self.set_payload(self._rendered.decode("ascii"))


class SignedMail(EmailMessage):
    """A signed copy of a Django message: same sender, recipients, subject and headers; the
    body is the multipart/signed built by sign_message (`signed_content` is what was signed)."""

    def __init__(self, original: EmailMessage, signed_content: bytes, signature: bytes) -> None:
        super().__init__(
            subject=original.subject,
            body=original.body,
            from_email=original.from_email,
            to=list(original.to),
            bcc=list(original.bcc),
            connection=original.connection,
            headers=dict(original.extra_headers),
            cc=list(original.cc),
            reply_to=list(original.reply_to),
        )
        self.alternatives = list(getattr(original, "alternatives", []) or [])
        self.attachments = list(original.attachments)
        self.encoding = original.encoding
        self.signed_content = signed_content
        self.signature = signature

    def message(self) -> Any:
        plain = super().message()  # Django's headers: Subject (encoded), From, To, Date, Message-ID
        boundary = "=_renkei_signed_" + secrets.token_hex(12)
        outer = _SignedMIME(boundary)
        for name, value in plain.items():
            if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
                outer[name] = value
        marker = boundary.encode("ascii")
        body = (
            b"This is an S/MIME signed message." + CRLF + CRLF
            + b"--" + marker + CRLF
            + self.signed_content + CRLF
            + b"--" + marker + CRLF
            + b'Content-Type: application/pkcs7-signature; name="smime.p7s"' + CRLF
            + b"Content-Transfer-Encoding: base64" + CRLF
            + b'Content-Disposition: attachment; filename="smime.p7s"' + CRLF
            + b"Content-Description: S/MIME Cryptographic Signature" + CRLF + CRLF
            + _wrap(self.signature) + CRLF
            + b"--" + marker + b"--" + CRLF
        )  # fmt: skip
        outer.set_rendered(body)
        return outer


def sign_message(
    message: EmailMessage, organization: Organization | int, signer: Certificate | None = None
) -> SignedMail:
    """MESSAGE signed with the organization's notice signer (PkiError if it has none, or its key
    cannot be opened). Text, HTML alternative and attachments are kept; subject and body stay
    UTF-8. SIGNER: the organization's notice_signer() when the caller already has it."""
    signer = signer or notice_signer(organization)
    if signer is None:
        raise PkiError(_("The organization has no certificate for signing notices."))
    content = canonical_bytes(content_entity(message))
    return SignedMail(message, content, detached_signature(content, signer))
