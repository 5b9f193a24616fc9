"""`renkei pki init`, the CA keys at rest, `ca-cert`, and an external (offline) root, checked with
the real openssl CLI."""

from __future__ import annotations

import json
import stat

import pytest
from django.core.management import CommandError, call_command

from renkei.audit.models import AuditEntry
from renkei.pki import keystore
from renkei.pki.models import CertificateAuthority, CertificateRevocationList
from renkei.pki.tests.helpers import PASSPHRASE, openssl, openssl_csr

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("pki", *args, "--json", "--lang", "en", stdout=out)
    return json.loads(out.getvalue())


def test_init_makes_a_root_and_an_issuing_ca_that_openssl_accepts(world, pki_env, tmp_path):
    result = run("init", "--organization", "buyer")
    assert result["status"] == "active"
    assert result["crl"] == "http://pki.example.jp/pki/buyer/crl.der"
    assert result["ocsp"] == "http://pki.example.jp/pki/buyer/ocsp"
    run("ca-cert", "--organization", "buyer", "--out", str(tmp_path / "chain.pem"))
    pems = (tmp_path / "chain.pem").read_text().split("-----END CERTIFICATE-----\n")
    issuing, root = pems[0] + "-----END CERTIFICATE-----\n", pems[1] + "-----END CERTIFICATE-----\n"
    (tmp_path / "root.pem").write_text(root)
    (tmp_path / "issuing.pem").write_text(issuing)
    assert (
        openssl("verify", "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "issuing.pem")).returncode
        == 0
    )
    root_text = openssl("x509", "-in", str(tmp_path / "root.pem"), "-noout", "-text", check=True).stdout
    issuing_text = openssl("x509", "-in", str(tmp_path / "issuing.pem"), "-noout", "-text", check=True).stdout
    assert "CA:TRUE, pathlen:1" in root_text and "CA:TRUE, pathlen:0" in issuing_text
    assert "Certificate Sign, CRL Sign" in root_text
    assert "X509v3 Key Usage: critical" in issuing_text
    assert "Subject Key Identifier" in issuing_text and "Authority Key Identifier" in issuing_text
    assert "ASN1 OID: prime256v1" in issuing_text
    root_ca = CertificateAuthority.objects.get(organization=world.buyer, role="root")
    issuing_ca = CertificateAuthority.objects.get(organization=world.buyer, role="issuing")
    assert 3649 <= (root_ca.not_after - root_ca.not_before).days <= 3651
    assert 1824 <= (issuing_ca.not_after - issuing_ca.not_before).days <= 1826
    assert issuing_ca.parent == root_ca
    # The first CRL is published at once.
    assert CertificateRevocationList.objects.get(ca=issuing_ca).number == 1


def test_init_refuses_when_the_organization_has_a_ca(world, pki_env):
    run("init", "--organization", "buyer")
    files = sorted(p.name for p in (pki_env / "pki" / "buyer").iterdir())
    entries = AuditEntry.objects.count()
    with pytest.raises(CommandError, match="already has a CA"):
        run("init", "--organization", "buyer")
    assert CertificateAuthority.objects.count() == 2
    assert sorted(p.name for p in (pki_env / "pki" / "buyer").iterdir()) == files
    assert AuditEntry.objects.count() == entries


def test_ca_keys_are_encrypted_files_that_only_the_passphrase_opens(world, pki_env, tmp_path):
    run("init", "--organization", "buyer")
    directory = pki_env / "pki" / "buyer"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    keys = list(directory.iterdir())
    assert len(keys) == 2
    for path in keys:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert openssl("pkey", "-in", str(path), "-passin", f"pass:{PASSPHRASE}", "-noout").returncode == 0
        assert openssl("pkey", "-in", str(path), "-passin", "pass:wrong passphrase", "-noout").returncode != 0
        parsed = openssl("asn1parse", "-in", str(path), check=True).stdout
        assert "PBKDF2" in parsed and "aes-256-cbc" in parsed and ":0927C0" in parsed  # 600,000 rounds
    # Neither the key nor the passphrase is anywhere in the database.
    for ca in CertificateAuthority.objects.all():
        assert "PRIVATE KEY" not in ca.certificate_pem and ca.key_file.startswith("buyer/")
    for entry in AuditEntry.objects.all():
        assert PASSPHRASE not in json.dumps(entry.changes)


@pytest.mark.parametrize("value, message", [(None, "passphrase is not set"), ("short", "too short")])
def test_init_without_a_usable_passphrase_makes_nothing(world, pki_env, monkeypatch, value, message):
    if value is None:
        monkeypatch.delenv("RENKEI_PKI_PASSPHRASE")
    else:
        monkeypatch.setenv("RENKEI_PKI_PASSPHRASE", value)
    with pytest.raises(CommandError, match=message):
        run("init", "--organization", "buyer")
    assert not CertificateAuthority.objects.exists()
    assert not (pki_env / "pki").exists()


def test_the_passphrase_can_come_from_a_file(world, pki_env, monkeypatch, tmp_path):
    secret = tmp_path / "passphrase"
    secret.write_text("a passphrase kept in a file\n")
    monkeypatch.delenv("RENKEI_PKI_PASSPHRASE")
    monkeypatch.setenv("RENKEI_PKI_PASSPHRASE_FILE", str(secret))
    run("init", "--organization", "buyer")
    key = next((pki_env / "pki" / "buyer").iterdir())
    assert (
        openssl("pkey", "-in", str(key), "-passin", "pass:a passphrase kept in a file", "-noout").returncode
        == 0
    )


def test_a_wrong_passphrase_is_a_clear_error(world, pki_env, monkeypatch, tmp_path):
    run("init", "--organization", "buyer")
    keystore.forget_keys()
    monkeypatch.setenv("RENKEI_PKI_PASSPHRASE", "not the right passphrase")
    with pytest.raises(CommandError, match="does not open the CA key"):
        run("crl", "--organization", "buyer", "--out", str(tmp_path / "crl.der"))


def test_rsa_ca_on_request_and_unsupported_key_types_refused(world, pki_env):
    run("init", "--organization", "buyer", "--key-type", "rsa3072")
    issuing = CertificateAuthority.objects.get(organization=world.buyer, role="issuing")
    text = openssl("x509", "-noout", "-text", input=issuing.certificate_pem.encode(), check=True).stdout
    assert "Public-Key: (3072 bit)" in text
    with pytest.raises(CommandError):
        run("init", "--organization", "other", "--key-type", "rsa1024")


def test_ca_cert_and_crl_without_a_ca_say_what_to_do(world, pki_env, tmp_path):
    with pytest.raises(CommandError, match="pki init"):
        run("ca-cert", "--organization", "buyer")
    with pytest.raises(CommandError, match="No organization 'nope'"):
        run("init", "--organization", "nope")


EXTENSIONS = """[req]
distinguished_name = dn
[dn]
[v3_root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_issuing]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def test_an_external_root_signs_the_issuing_ca(world, pki_env, tmp_path):
    """`init --issuing-csr`, an offline root made and operated with openssl, `import-issuing`."""
    csr_path = tmp_path / "issuing.csr"
    assert run("init", "--organization", "buyer", "--issuing-csr", str(csr_path))["status"] == "pending"
    assert openssl("req", "-in", str(csr_path), "-verify", "-noout").returncode == 0
    with pytest.raises(CommandError, match="has no CA yet"):
        run(
            "issue",
            "--organization",
            "buyer",
            "--user",
            "admin",
            "--profile",
            "client",
            "--csr",
            str(openssl_csr(tmp_path)),
        )
    (tmp_path / "ext.cnf").write_text(EXTENSIONS)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        str(tmp_path / "root.key"),
        "-out",
        str(tmp_path / "root.pem"),
        "-days",
        "3650",
        "-subj",
        "/O=Offline/CN=Offline Root",
        "-config",
        str(tmp_path / "ext.cnf"),
        "-extensions",
        "v3_root",
        check=True,
    )
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr_path),
        "-CA",
        str(tmp_path / "root.pem"),
        "-CAkey",
        str(tmp_path / "root.key"),
        "-CAcreateserial",
        "-days",
        "1800",
        "-extfile",
        str(tmp_path / "ext.cnf"),
        "-extensions",
        "v3_issuing",
        "-out",
        str(tmp_path / "issuing.pem"),
        check=True,
    )
    # A certificate for some other key is refused.
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(tmp_path / "x.key"),
        "-out",
        str(tmp_path / "x.pem"),
        "-subj",
        "/CN=x",
        check=True,
    )
    with pytest.raises(CommandError, match="not for the key"):
        run(
            "import-issuing",
            str(tmp_path / "x.pem"),
            "--root",
            str(tmp_path / "root.pem"),
            "--organization",
            "buyer",
        )
    result = run(
        "import-issuing",
        str(tmp_path / "issuing.pem"),
        "--root",
        str(tmp_path / "root.pem"),
        "--organization",
        "buyer",
    )
    assert result["status"] == "active"
    root = CertificateAuthority.objects.get(organization=world.buyer, role="root")
    assert root.external and root.key_file == ""
    # Certificates issued now chain to the offline root, and openssl checks them with the CRL.
    issued = run(
        "issue",
        "--organization",
        "buyer",
        "--user",
        "admin",
        "--profile",
        "client",
        "--csr",
        str(openssl_csr(tmp_path)),
        "--out",
        str(tmp_path / "leaf.pem"),
    )
    assert set(issued) == {"serial", "not_after", "fingerprint_sha256"}
    run("ca-cert", "--organization", "buyer", "--out", str(tmp_path / "chain.pem"))
    run("crl", "--organization", "buyer", "--out", str(tmp_path / "crl.der"))
    check = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        str(tmp_path / "chain.pem"),
        "-CRLfile",
        str(tmp_path / "crl.der"),
        str(tmp_path / "leaf.pem"),
    )
    assert check.returncode == 0, check.stdout + check.stderr
