"""Detached CMS/PKCS#7 signature verification (renkei.pki.signatures) against signatures made by
the real `openssl cms -sign` and `openssl smime -sign`, the CLI, and the trusted-certificates page."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.errors import NotAllowed
from renkei.pki import issuance, signatures, trust
from renkei.pki.keystore import PkiError
from renkei.pki.models import TrustedCertificate
from renkei.pki.services import revoke
from renkei.pki.tests.helpers import SYSTEM, openssl, openssl_csr

pytestmark = pytest.mark.django_db

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def delivery(tmp_path):
    path = tmp_path / "delivery.zip"
    path.write_bytes(b"PK\x03\x04 " + "納品物".encode() + b" version 1.2.3\n" + bytes(range(256)) * 64)
    return path


def issue_signer(world, tmp_path, profile="signing", key="ec:P-256", name="signer"):
    """A certificate from the buyer's CA for a key made by openssl: (row, cert path, key path)."""
    csr = openssl_csr(tmp_path, name, key=key)
    request = issuance.prepare(SYSTEM, world.buyer, world.analyst, profile)
    row = issuance.issue_from_csr(SYSTEM, request, csr.read_bytes())
    cert_path = tmp_path / f"{name}.pem"
    cert_path.write_text(row.certificate_pem)
    return row, cert_path, tmp_path / f"{name}.key"


def cms_sign(data, cert, key, out, *extra, chain=None, tool="cms", outform="DER"):
    args = [tool, "-sign", "-binary", "-in", str(data), "-signer", str(cert), "-inkey", str(key)]
    args += ["-outform", outform, "-out", str(out), *extra]
    if chain is not None:
        args += ["-certfile", str(chain)]
    openssl(*args, check=True)
    return out.read_bytes()


@pytest.fixture
def signed(ca, world, tmp_path, delivery, chain_file):
    row, cert, key = issue_signer(world, tmp_path)
    signature = cms_sign(delivery, cert, key, tmp_path / "delivery.p7s", chain=chain_file)
    return row, signature


# --- An external CA made here (the supplier's), its certificates written for openssl --------------


def _name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "東海精密"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_external(
    tmp_path, *, leaf_not_after=None, leaf_not_before=None, eku=ExtendedKeyUsageOID.CODE_SIGNING
):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Supplier Signing CA"))
        .issuer_name(_name("Supplier Signing CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 400 * DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Release signer"))
        .issuer_name(ca_cert.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(leaf_not_before or NOW - 300 * DAY)
        .not_valid_after(leaf_not_after or NOW + 300 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = {
        "ca": tmp_path / "ext-ca.pem",
        "cert": tmp_path / "ext-leaf.pem",
        "key": tmp_path / "ext-leaf.key",
    }
    files["ca"].write_bytes(ca_cert.public_bytes(pem))
    files["cert"].write_bytes(leaf.public_bytes(pem))
    files["key"].write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_key, ca_cert, leaf, files


def subdir(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


def crl_revoking(ca_key, ca_cert, serial, when):
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(NOW - DAY)
        .next_update(NOW + 7 * DAY)
    )
    if serial is not None:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# --- Renkei's own signers -------------------------------------------------------------------------


def test_a_cms_signature_by_a_renkei_certificate_is_valid(world, signed, delivery):
    row, signature = signed
    result = signatures.verify_detached(world.buyer, delivery, signature)
    assert result.valid and result.reason is None, result.message
    assert (
        result.signer["serial"] == row.serial
        and result.signer["fingerprint_sha256"] == row.fingerprint_sha256
    )
    assert [entry["revocation"] for entry in result.chain] == ["renkei", "anchor"]
    assert result.digest_algorithm == "sha256" and result.signing_time is not None
    # Bytes work as well as a path.
    assert signatures.verify_detached(world.buyer, delivery.read_bytes(), signature).valid


def test_openssl_smime_pem_signatures_and_rsa_pss_and_no_attributes_are_valid(
    ca, world, tmp_path, delivery, chain_file
):
    _row, cert, key = issue_signer(world, tmp_path, key="rsa:2048", name="rsa")
    pem = cms_sign(delivery, cert, key, tmp_path / "smime.pem", tool="smime", outform="PEM")
    assert pem.startswith(b"-----BEGIN PKCS7-----")
    assert signatures.verify_detached(world.buyer, delivery, pem).valid
    pss = cms_sign(delivery, cert, key, tmp_path / "pss.der", "-keyopt", "rsa_padding_mode:pss")
    assert signatures.verify_detached(world.buyer, delivery, pss).valid
    bare = cms_sign(delivery, cert, key, tmp_path / "bare.der", "-noattr")
    assert signatures.verify_detached(world.buyer, delivery, bare).valid
    # Without the certificates in the signature, Renkei's records supply the signer's.
    nocerts = cms_sign(delivery, cert, key, tmp_path / "nocerts.der", "-nocerts")
    assert signatures.verify_detached(world.buyer, delivery, nocerts).valid


def test_altered_data_is_a_digest_mismatch(world, signed, delivery):
    _row, signature = signed
    altered = delivery.read_bytes().replace(b"1.2.3", b"1.2.4")
    result = signatures.verify_detached(world.buyer, altered, signature)
    assert not result.valid and result.reason == "digest_mismatch"
    assert result.signer is not None


def test_altered_data_without_signed_attributes_is_a_digest_mismatch(ca, world, tmp_path, delivery):
    _row, cert, key = issue_signer(world, tmp_path)
    bare = cms_sign(delivery, cert, key, tmp_path / "bare.der", "-noattr")
    result = signatures.verify_detached(world.buyer, b"other data", bare)
    assert result.reason == "digest_mismatch"


def test_an_altered_signature_value_is_a_bad_signature(world, signed, delivery):
    _row, signature = signed
    # The signature value is the last OCTET STRING: flip a bit in its last byte.
    forged = signature[:-1] + bytes([signature[-1] ^ 0x01])
    result = signatures.verify_detached(world.buyer, delivery, forged)
    assert not result.valid and result.reason == "bad_signature", result.message


def test_a_signer_revoked_in_renkei_is_revoked(world, signed, delivery):
    row, signature = signed
    revoke(SYSTEM, row, "keyCompromise")
    result = signatures.verify_detached(world.buyer, delivery, signature)
    assert not result.valid and result.reason == "revoked" and row.serial in result.message
    # Judged before the revocation (a delivery recorded earlier), the signature holds.
    row.refresh_from_db()
    earlier = signatures.verify_detached(
        world.buyer, delivery, signature, at=row.revoked_at - datetime.timedelta(seconds=1)
    )
    assert earlier.valid


def test_another_organizations_ca_is_untrusted(world, signed, delivery, pki_env):
    from renkei.pki.ca import init_ca

    init_ca(SYSTEM, world.other)
    _row, signature = signed
    result = signatures.verify_detached(world.other, delivery, signature)
    assert not result.valid and result.reason == "untrusted"


def test_a_client_authentication_certificate_does_not_sign(ca, world, tmp_path, delivery):
    _row, cert, key = issue_signer(world, tmp_path, profile="client")
    signature = cms_sign(delivery, cert, key, tmp_path / "client.der")
    result = signatures.verify_detached(world.buyer, delivery, signature)
    assert result.reason == "untrusted" and "署名用ではありません" in result.message


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not a signature at all",
        b"\x30\x82\xff\xff\x02\x01",
        b"-----BEGIN PKCS7-----\n!!!\n-----END PKCS7-----\n",
    ],
)
def test_garbage_is_malformed_with_a_clear_message(ca, world, delivery, garbage):
    result = signatures.verify_detached(world.buyer, delivery, garbage)
    assert not result.valid and result.reason == "malformed" and result.message


def test_a_certificate_is_not_a_signature(ca, world, delivery, chain_file):
    result = signatures.verify_detached(world.buyer, delivery, chain_file.read_bytes())
    assert result.reason == "malformed"


# --- External signers (TrustedCertificate), expiry and CRLs -----------------------------------------


def test_an_unknown_ca_is_untrusted_until_registered(ca, world, tmp_path, delivery):
    ca_key, ca_cert, leaf, files = make_external(tmp_path)
    signature = cms_sign(delivery, files["cert"], files["key"], tmp_path / "ext.der", chain=files["ca"])
    assert signatures.verify_detached(world.buyer, delivery, signature).reason == "untrusted"
    trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes(), "東海精密 署名 CA", supplier=world.s1)
    result = signatures.verify_detached(world.buyer, delivery, signature)
    assert result.valid, result.message
    assert [entry["revocation"] for entry in result.chain] == ["not_checked", "anchor"]
    # With the supplier's CRL: checked, and a revoked signer is refused.
    clean = crl_revoking(ca_key, ca_cert, None, NOW)
    checked = signatures.verify_detached(world.buyer, delivery, signature, crls=[clean])
    assert checked.valid and checked.chain[0]["revocation"] == "crl"
    revoked = crl_revoking(ca_key, ca_cert, leaf.serial_number, NOW - DAY)
    result = signatures.verify_detached(world.buyer, delivery, signature, crls=[revoked])
    assert result.reason == "revoked"
    # A CRL signed by someone else is not used.
    other_key = ec.generate_private_key(ec.SECP256R1())
    forged = crl_revoking(other_key, ca_cert, leaf.serial_number, NOW - DAY)
    assert signatures.verify_detached(world.buyer, delivery, signature, crls=[forged]).valid
    # The other organization does not trust the supplier's CA.
    assert signatures.verify_detached(world.other, delivery, signature).reason == "untrusted"


def test_a_pinned_signer_certificate_is_trusted_without_its_ca(ca, world, tmp_path, delivery):
    _ca_key, _ca_cert, _leaf, files = make_external(tmp_path)
    signature = cms_sign(delivery, files["cert"], files["key"], tmp_path / "ext.der")
    trust.add_trusted(SYSTEM, world.buyer, files["cert"].read_bytes(), "リリース署名")
    assert TrustedCertificate.objects.get().is_ca is False
    result = signatures.verify_detached(world.buyer, delivery, signature)
    assert result.valid and [entry["revocation"] for entry in result.chain] == ["anchor"]


def test_an_expired_signer_is_expired_unless_judged_when_it_was_valid(ca, world, tmp_path, delivery):
    _ca_key, _ca_cert, _leaf, files = make_external(tmp_path, leaf_not_after=NOW - 10 * DAY)
    signature = cms_sign(delivery, files["cert"], files["key"], tmp_path / "old.der", chain=files["ca"])
    trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes(), "東海精密 署名 CA")
    result = signatures.verify_detached(world.buyer, delivery, signature)
    assert result.reason == "expired" and "Release signer" in result.message
    assert signatures.verify_detached(world.buyer, delivery, signature, at=NOW - 20 * DAY).valid


def test_trust_service_refuses_bad_input_and_non_administrators(ca, world, tmp_path):
    _ca_key, _ca_cert, _leaf, files = make_external(tmp_path)
    with pytest.raises(PkiError):
        trust.add_trusted(SYSTEM, world.buyer, b"garbage", "x")
    with pytest.raises(PkiError):
        trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes() * 2, "two")
    with pytest.raises(PkiError):
        trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes(), "  ")
    with pytest.raises(PkiError):
        trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes(), "x", supplier=world.x1)
    with pytest.raises(NotAllowed):
        trust.add_trusted(Actor(user=world.analyst), world.buyer, files["ca"].read_bytes(), "x")
    _k, _c, _l, expired = make_external(subdir(tmp_path, "expired"), leaf_not_after=NOW - DAY)
    with pytest.raises(PkiError):
        trust.add_trusted(SYSTEM, world.buyer, expired["cert"].read_bytes(), "expired")
    assert not TrustedCertificate.objects.exists()
    row = trust.add_trusted(Actor(user=world.admin), world.buyer, files["ca"].read_bytes(), "CA")
    with pytest.raises(PkiError):
        trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes(), "again")
    assert AuditEntry.objects.filter(object_type="pki.trustedcertificate", action="create").count() == 1
    trust.remove_trusted(SYSTEM, row)
    assert AuditEntry.objects.filter(object_type="pki.trustedcertificate", action="delete").count() == 1


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_verify_exit_status_and_json(world, signed, delivery, tmp_path):
    _row, signature = signed
    sig = tmp_path / "delivery.p7s"
    out = io.StringIO()
    call_command(
        "pki",
        "verify",
        str(delivery),
        "--signature",
        str(sig),
        "--organization",
        "buyer",
        "--json",
        stdout=out,
    )
    data = json.loads(out.getvalue())
    assert data["valid"] is True and data["reason"] is None and data["signer"]["serial"] == _row.serial
    altered = tmp_path / "altered.zip"
    altered.write_bytes(delivery.read_bytes() + b"!")
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(
            "pki",
            "verify",
            str(altered),
            "--signature",
            str(sig),
            "--organization",
            "buyer",
            "--json",
            stdout=out,
        )
    assert failure.value.returncode == 1
    assert json.loads(out.getvalue())["reason"] == "digest_mismatch"


def test_cli_trust_add_list_remove(ca, world, tmp_path):
    _ca_key, _ca_cert, _leaf, files = make_external(tmp_path)
    out = io.StringIO()
    call_command(
        "pki", "trust", "add", str(files["ca"]), "--name", "東海精密 CA", "--supplier", "S1",
        "--organization", "buyer", "--json", stdout=out,
    )  # fmt: skip
    added = json.loads(out.getvalue())
    assert added["is_ca"] is True and added["supplier"] == world.s1.pk
    out = io.StringIO()
    call_command("pki", "trust", "list", "--organization", "buyer", "--json", stdout=out)
    assert [r["name"] for r in json.loads(out.getvalue())["trusted"]] == ["東海精密 CA"]
    call_command(
        "pki", "trust", "remove", added["fingerprint_sha256"], "--organization", "buyer", stdout=io.StringIO()
    )
    assert not TrustedCertificate.objects.exists()
    with pytest.raises(CommandError):
        call_command(
            "pki", "trust", "add", str(tmp_path / "missing.pem"), "--name", "x", "--organization", "buyer"
        )


# --- The page -------------------------------------------------------------------------------------------


@pytest.fixture
def registered(ca, world, tmp_path):
    _ca_key, _ca_cert, _leaf, files = make_external(tmp_path)
    mine = trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes(), "東海精密 CA", supplier=world.s1)
    _k, _c, _l, foreign_files = make_external(subdir(tmp_path, "foreign"))
    foreign = trust.add_trusted(SYSTEM, world.other, foreign_files["ca"].read_bytes(), "LEAK-TRUSTED-OTHER")
    return mine, foreign, files


def test_trusted_page_lists_the_organizations_rows_with_pinned_queries(
    world, registered, client_for, django_assert_num_queries, tmp_path
):
    client = client_for(world.admin)
    client.get(reverse("pki:trusted"))
    # Session, user, staff check, administered organizations, rows (with supplier and adder),
    # the navigation's memberships, the organizations of the page and of the form's choices.
    with django_assert_num_queries(8):
        page = client.get(reverse("pki:trusted"))
    text = page.content.decode()
    assert page.status_code == 200 and "東海精密 CA" in text and "LEAK-TRUSTED-OTHER" not in text
    # One more row, added by a user and tied to a supplier: still the same queries.
    _k, _c, _l, files = make_external(subdir(tmp_path, "more"))
    trust.add_trusted(
        Actor(user=world.admin), world.buyer, files["cert"].read_bytes(), "署名者", supplier=world.s2
    )
    with django_assert_num_queries(8):
        page = client.get(reverse("pki:trusted"))
    assert "署名者" in page.content.decode() and "北陸物流株式会社" in page.content.decode()


def test_trusted_page_access(world, registered, client_for):
    mine, foreign, _files = registered
    assert client_for(world.supplier1).get(reverse("pki:trusted")).status_code == 403
    assert client_for(world.nobody).get(reverse("pki:trusted")).status_code == 403
    auditor = client_for(world.auditor).get(reverse("pki:trusted"))
    assert auditor.status_code == 200 and "東海精密 CA" in auditor.content.decode()
    assert auditor.context["form"] is None
    # Another organization's row is a 404, the auditor's removal a 403, the supplier's a 404.
    assert client_for(world.admin).post(reverse("pki:trusted-delete", args=[foreign.pk])).status_code == 404
    assert client_for(world.auditor).post(reverse("pki:trusted-delete", args=[mine.pk])).status_code == 403
    assert client_for(world.supplier1).post(reverse("pki:trusted-delete", args=[mine.pk])).status_code == 404
    assert client_for(world.admin).get(reverse("pki:trusted-delete", args=[mine.pk])).status_code == 405
    assert TrustedCertificate.objects.count() == 2
    assert client_for(world.admin).post(reverse("pki:trusted-delete", args=[mine.pk])).status_code == 302
    assert not TrustedCertificate.objects.filter(pk=mine.pk).exists()


def test_trusted_page_adds_a_validated_pem(ca, world, client_for, tmp_path):
    _ca_key, _ca_cert, _leaf, files = make_external(tmp_path)
    client = client_for(world.admin)
    bad = client.post(reverse("pki:trusted"), {"organization": world.buyer.pk, "name": "x", "pem": "garbage"})
    assert bad.status_code == 400 and not TrustedCertificate.objects.exists()
    foreign = client.post(
        reverse("pki:trusted"), {"organization": world.other.pk, "name": "x", "pem": files["ca"].read_text()}
    )
    assert foreign.status_code == 400 and not TrustedCertificate.objects.exists()
    with Path(files["ca"]).open("rb") as upload:
        ok = client.post(
            reverse("pki:trusted"), {"organization": world.buyer.pk, "name": "東海精密 CA", "file": upload}
        )
    assert ok.status_code == 302
    row = TrustedCertificate.objects.get()
    assert row.is_ca and row.added_by == world.admin and row.organization == world.buyer
    analyst = client_for(world.analyst).post(
        reverse("pki:trusted"),
        {"organization": world.buyer.pk, "name": "y", "pem": files["cert"].read_text()},
    )
    assert analyst.status_code == 403 and TrustedCertificate.objects.count() == 1
