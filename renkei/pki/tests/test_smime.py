"""Signed notices (S/MIME): the notice signer, and notices that reach a real SMTP server
(aiosmtpd) multipart/signed, checked with `openssl smime -verify` on the bytes as received."""

from __future__ import annotations

import datetime
import email
import io
import json
import re
from email import policy

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.core.management.base import CommandError

from renkei.accounts.services import invite_contact
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.errors import NotAllowed
from renkei.core.mail import NoticeSigningError, send_notice
from renkei.pki import keystore, smime
from renkei.pki.ca import fingerprint
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate
from renkei.pki.services import revoke
from renkei.pki.tests.helpers import SYSTEM, openssl
from renkei.suppliers.models import Contact

pytestmark = pytest.mark.django_db

FROM = "renkei@buyer.example.jp"


@pytest.fixture
def mailbox(smtp, settings):
    """The real SMTP server (conftest); it keeps each message's bytes for the signature checks."""
    settings.DEFAULT_FROM_EMAIL = f"連携 <{FROM}>"
    return smtp


@pytest.fixture
def signer(ca, world):
    return smime.make_notice_signer(SYSTEM, world.buyer, FROM)


def openssl_verify(path, chain_file):
    return openssl(
        "smime", "-verify", "-CAfile", str(chain_file), "-in", str(path), "-out", str(path) + ".out"
    )


def test_the_notice_signer_is_an_smime_certificate_whose_key_renkei_keeps_encrypted(
    signer, world, chain_file
):
    assert signer.signs_notices and signer.profile == "smime" and signer.user is None
    key_path = keystore.pki_dir() / signer.key_file
    assert key_path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert key_path.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(signer.certificate_pem.encode())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == [FROM]
    assert signer.key_type == "rsa3072"
    pem = key_path.parent.parent / "signer.pem"
    pem.write_text(signer.certificate_pem)
    check = openssl("verify", "-purpose", "smimesign", "-CAfile", str(chain_file), str(pem))
    assert check.returncode == 0, check.stdout + check.stderr
    entry = AuditEntry.objects.get(object_type="pki.certificate", object_id=str(signer.pk))
    assert entry.changes["signs_notices"] == [None, True] and entry.changes["email"] == [None, FROM]


def test_a_new_signer_retires_the_previous_one_without_revoking_it(signer, world):
    old_key = keystore.pki_dir() / signer.key_file
    new = smime.make_notice_signer(SYSTEM, world.buyer, FROM, "連携製作所 通知", key_type="ec-p256")
    signer.refresh_from_db()
    assert not signer.signs_notices and signer.key_file == "" and signer.revoked_at is None
    assert not old_key.exists()
    assert smime.notice_signer(world.buyer) == new
    assert new.common_name == "連携製作所 通知" and new.key_type == "ec-p256"
    assert AuditEntry.objects.filter(
        object_type="pki.certificate", object_id=str(signer.pk), action="update"
    ).exists()


def test_only_an_administrator_makes_the_notice_signer(ca, world):
    with pytest.raises(NotAllowed):
        smime.make_notice_signer(Actor(user=world.analyst), world.buyer, FROM)
    with pytest.raises(NotAllowed):
        smime.make_notice_signer(Actor(user=world.outsider), world.buyer, FROM)
    with pytest.raises(PkiError):
        smime.make_notice_signer(SYSTEM, world.buyer, "二人 <a@x.jp>, b@x.jp")
    with pytest.raises(PkiError):
        smime.make_notice_signer(SYSTEM, world.buyer, "通知@example.jp")
    assert not Certificate.objects.filter(signs_notices=True).exists()
    assert smime.make_notice_signer(Actor(user=world.admin), world.buyer, FROM).signs_notices


def test_portal_invitation_arrives_signed_and_openssl_verifies_the_received_bytes(
    signer, world, mailbox, chain_file, tmp_path
):
    contact = Contact.objects.create(supplier=world.s2, name="田中 三郎", email="tanaka@s2.example.jp")
    assert invite_contact(Actor(user=world.admin), contact).sent
    [raw] = mailbox.raw
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/signed"
    assert message.get_param("protocol") == "application/pkcs7-signature"
    assert message.get_param("micalg") == "sha-256"
    content, signature = message.get_payload()
    assert content.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in content.get_payload()] == ["text/plain", "text/html"]
    assert signature.get_content_type() == "application/pkcs7-signature"
    # The original stays readable: Japanese subject, text and HTML in UTF-8.
    mail = mailbox.messages[0]
    assert "連携製作所" in mail.subject
    assert "田中" in mail.text and "https://renkei.example.jp/" in mail.text and "<" in mail.html
    received = tmp_path / "received.eml"
    received.write_bytes(raw)
    result = openssl_verify(received, chain_file)
    assert result.returncode == 0 and "Verification successful" in result.stderr, result.stderr
    assert "text/html" in (tmp_path / "received.eml.out").read_text()
    # The signer's certificate travels with the issuing and root CA certificates.
    carried = pkcs7.load_der_pkcs7_certificates(signature.get_content())
    assert {fingerprint(c) for c in carried} == {
        signer.fingerprint_sha256,
        signer.ca.fingerprint_sha256,
        signer.ca.parent.fingerprint_sha256,
    }


def test_a_tampered_body_fails_verification(signer, world, mailbox, chain_file, tmp_path):
    contact = Contact.objects.create(supplier=world.s2, name="田中 三郎", email="tanaka@s2.example.jp")
    invite_contact(Actor(user=world.admin), contact)
    raw = mailbox.raw[0]
    # Change one base64 character of the text part: the content still decodes, the digest differs.
    text_part = re.search(rb"Content-Type: text/plain.*?\r\n\r\n([A-Za-z0-9+/]{8})", raw, re.S)
    start = text_part.start(1)
    original = raw[start : start + 4]
    forged = b"QUJD" if original != b"QUJD" else b"REVG"
    tampered = tmp_path / "tampered.eml"
    tampered.write_bytes(raw[:start] + forged + raw[start + 4 :])
    result = openssl_verify(tampered, chain_file)
    assert result.returncode != 0 and "Verification successful" not in result.stderr
    assert "digest failure" in result.stderr or "signature failure" in result.stderr, result.stderr


def test_campaign_invitation_is_signed(signer, world, mailbox, chain_file, tmp_path):
    from renkei.campaigns.services import create_campaign, send_invitations
    from renkei.questionnaires.models import Template

    template = Template.objects.get(key="scrm-sheet", organization__isnull=True)
    campaign = create_campaign(
        Actor(user=world.analyst), world.buyer, name="2030年度 点検", template=template,
        due_on=datetime.date(2030, 4, 30), selection={},
    ).campaign  # fmt: skip
    assert send_invitations(campaign.pk)["sent"] == 2
    assert len(mailbox.raw) == 2
    for number, raw in enumerate(mailbox.raw):
        path = tmp_path / f"campaign-{number}.eml"
        path.write_bytes(raw)
        assert b"multipart/signed" in raw.split(b"\r\n\r\n", 1)[0]
        result = openssl_verify(path, chain_file)
        assert result.returncode == 0, result.stderr
    assert "セキュリティ" in mailbox.messages[0].subject


def test_without_a_signer_the_notice_is_sent_unsigned(ca, world, mailbox):
    contact = Contact.objects.create(supplier=world.s2, name="田中 三郎", email="tanaka@s2.example.jp")
    assert invite_contact(Actor(user=world.admin), contact).sent
    message = email.message_from_bytes(mailbox.raw[0], policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert "田中" in mailbox.messages[0].text


def test_a_revoked_signer_signs_nothing(signer, world, mailbox):
    revoke(SYSTEM, signer, "keyCompromise")
    assert smime.notice_signer(world.buyer) is None
    message = EmailMultiAlternatives("件名", "本文", FROM, ["a@s1.example.jp"])
    send_notice(message, world.buyer)
    assert b"multipart/signed" not in mailbox.raw[0]


def test_a_signer_that_cannot_sign_sends_nothing(signer, world, mailbox, monkeypatch):
    keystore.forget_keys()
    monkeypatch.delenv("RENKEI_PKI_PASSPHRASE")
    message = EmailMultiAlternatives("件名", "本文", FROM, ["a@s1.example.jp"])
    with pytest.raises(NoticeSigningError):
        send_notice(message, world.buyer)
    # The callers treat it as a failed send (an SMTPException): logged, tried again later.
    contact = Contact.objects.create(supplier=world.s2, name="田中 三郎", email="tanaka@s2.example.jp")
    assert not invite_contact(Actor(user=world.admin), contact).sent
    assert mailbox.raw == []


def test_signed_message_keeps_text_html_and_attachments_with_lf_backends(signer, world, chain_file, tmp_path):
    message = EmailMultiAlternatives(
        "【連携】お知らせ",
        "日本語の本文です。\n二行目。\n",
        FROM,
        ["a@s1.example.jp"],
        cc=["b@s1.example.jp"],
    )
    message.attach_alternative("<p>日本語の本文です。</p>", "text/html")
    message.attach("一覧.csv", "コード,名前\nS1,東海\n", "text/csv")
    signed = smime.sign_message(message, world.buyer)
    assert signed.to == ["a@s1.example.jp"] and signed.cc == ["b@s1.example.jp"]
    # A file backend asks for LF line ends; verifiers canonicalize back to CRLF.
    path = tmp_path / "lf.eml"
    path.write_bytes(signed.message().as_bytes(linesep="\n"))
    assert b"\r\n" not in path.read_bytes()
    result = openssl_verify(path, chain_file)
    assert result.returncode == 0, result.stderr
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "【連携】お知らせ"
    assert parsed.get_body(preferencelist=("plain",)).get_content() == "日本語の本文です。\n二行目。\n"
    [attachment] = [part for part in parsed.walk() if part.get_content_type() == "text/csv"]
    assert attachment.get_filename() == "一覧.csv"
    assert attachment.get_content() == "コード,名前\nS1,東海\n"


def test_cli_notice_signer(ca, world):
    out = io.StringIO()
    call_command("pki", "notice-signer", "--email", FROM, "--organization", "buyer", "--json", stdout=out)
    data = json.loads(out.getvalue())
    cert = Certificate.objects.get(signs_notices=True)
    assert data["serial"] == cert.serial and data["email"] == FROM and data["retired"] == []
    out = io.StringIO()
    call_command("pki", "notice-signer", "--email", FROM, "--organization", "buyer", "--json", stdout=out)
    assert json.loads(out.getvalue())["retired"] == [cert.serial]
    with pytest.raises(CommandError):
        call_command("pki", "notice-signer", "--email", "not an address", "--organization", "buyer")


def test_recipients_download_the_root_ca_for_their_mail_client(ca, world, client):
    root, _issuing = ca
    response = client.get(f"/pki/{world.buyer.slug}/root.der")
    assert response.status_code == 200 and response["Content-Type"] == "application/pkix-cert"
    assert 'filename="buyer-root-ca.crt"' in response["Content-Disposition"]
    cert = x509.load_der_x509_certificate(response.content)
    assert fingerprint(cert) == root.fingerprint_sha256 and cert.subject == cert.issuer
    assert client.get(f"/pki/{world.other.slug}/root.der").status_code == 404  # no CA there
