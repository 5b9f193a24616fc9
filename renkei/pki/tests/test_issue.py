"""`renkei pki issue`: from a CSR or as a PKCS#12 bundle, each profile, and every bad input refused
with nothing issued. The other side is always the real openssl CLI."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from django.core.management import CommandError, call_command

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.errors import NotAllowed
from renkei.pki import issuance
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate
from renkei.pki.tests.helpers import SYSTEM, csr_bytes, openssl, openssl_csr

pytestmark = pytest.mark.django_db


def issue(*args: str) -> dict:
    out = StringIO()
    call_command("pki", "issue", "--organization", "buyer", *args, "--json", "--lang", "en", stdout=out)
    return json.loads(out.getvalue())


def crl_file(tmp_path):
    path = tmp_path / "crl.der"
    call_command("pki", "crl", "--organization", "buyer", "--out", str(path), stdout=StringIO())
    return path


def text_of(path) -> str:
    return openssl("x509", "-in", str(path), "-noout", "-text", check=True).stdout


def test_issue_from_an_openssl_csr(ca, world, chain_file, tmp_path):
    csr = openssl_csr(tmp_path, subject="/CN=admin/O=Evil Corp/emailAddress=supplier1@example.jp")
    entries = AuditEntry.objects.count()
    result = issue(
        "--user",
        "supplier1",
        "--profile",
        "client",
        "--csr",
        str(csr),
        "--device",
        "PC-SATO-01",
        "--out",
        str(tmp_path / "cert.pem"),
    )
    assert set(result) == {"serial", "not_after", "fingerprint_sha256"}
    cert = Certificate.objects.get(serial=result["serial"])
    assert (cert.user, cert.device_name, cert.profile, cert.method) == (
        world.supplier1,
        "PC-SATO-01",
        "client",
        "csr",
    )
    assert AuditEntry.objects.count() == entries + 1
    # What openssl reads is what was printed.
    serial = openssl("x509", "-in", str(tmp_path / "cert.pem"), "-noout", "-serial", check=True).stdout
    assert serial.strip() == f"serial={result['serial']}"
    fingerprint = openssl(
        "x509", "-in", str(tmp_path / "cert.pem"), "-noout", "-fingerprint", "-sha256", check=True
    ).stdout
    assert fingerprint.split("=")[1].strip().replace(":", "").lower() == result["fingerprint_sha256"]
    text = text_of(tmp_path / "cert.pem")
    # The CSR's subject was not trusted: the profile's took its place.
    assert "Evil Corp" not in text and "CN = supplier1" in text
    assert "email:supplier1@example.jp" in text and "TLS Web Client Authentication" in text
    assert "URI:http://pki.example.jp/pki/buyer/crl.der" in text
    assert "OCSP - URI:http://pki.example.jp/pki/buyer/ocsp" in text
    assert "CA Issuers - URI:http://pki.example.jp/pki/buyer/ca.der" in text
    check = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        str(chain_file),
        "-CRLfile",
        str(crl_file(tmp_path)),
        str(tmp_path / "cert.pem"),
    )
    assert check.returncode == 0 and "OK" in check.stdout, check.stdout + check.stderr


def test_a_der_csr_is_accepted(ca, world, tmp_path):
    csr = openssl_csr(tmp_path)
    openssl("req", "-in", str(csr), "-outform", "DER", "-out", str(tmp_path / "req.der"), check=True)
    result = issue("--user", "admin", "--profile", "test", "--csr", str(tmp_path / "req.der"))
    cert = Certificate.objects.get(serial=result["serial"])
    assert 89 <= (cert.not_after - cert.not_before).days <= 90


@pytest.mark.parametrize(
    "profile, device, usage, days, san",
    [
        ("client", "", "TLS Web Client Authentication", 365, "email:admin@example.jp"),
        ("device", "KOJO-PC-07", "TLS Web Client Authentication", 730, None),
        ("smime", "", "E-mail Protection", 365, "email:admin@example.jp"),
        ("signing", "", "Code Signing", 365, None),
        ("test", "", "TLS Web Client Authentication", 90, "email:admin@example.jp"),
    ],
)
def test_each_profile_writes_its_own_usage_lifetime_and_names(
    ca, world, tmp_path, profile, device, usage, days, san
):
    args = [
        "--user",
        "admin",
        "--profile",
        profile,
        "--csr",
        str(openssl_csr(tmp_path)),
        "--out",
        str(tmp_path / "c.pem"),
    ]
    result = issue(*args, *(["--device", device] if device else []))
    text = text_of(tmp_path / "c.pem")
    assert usage in text
    assert ("Subject Alternative Name" in text) == (san is not None)
    if san:
        assert san in text
    if device:
        assert f"CN = {device}" in text
    cert = Certificate.objects.get(serial=result["serial"])
    assert days - 1 <= (cert.not_after - cert.not_before).days <= days


@pytest.mark.parametrize(
    "key, expected", [("ec:P-384", "ec-p384"), ("rsa:2048", "rsa2048"), ("rsa:3072", "rsa3072")]
)
def test_accepted_key_types(ca, world, tmp_path, key, expected):
    result = issue("--user", "admin", "--profile", "client", "--csr", str(openssl_csr(tmp_path, key=key)))
    assert Certificate.objects.get(serial=result["serial"]).key_type == expected


def _tampered(tmp_path):
    csr = openssl_csr(tmp_path)
    openssl("req", "-in", str(csr), "-outform", "DER", "-out", str(tmp_path / "t.der"), check=True)
    data = bytearray((tmp_path / "t.der").read_bytes())
    data[-3] ^= 0x55  # inside the signature
    (tmp_path / "t.der").write_bytes(bytes(data))
    return tmp_path / "t.der"


def _file(tmp_path, data: bytes):
    (tmp_path / "in.csr").write_bytes(data)
    return tmp_path / "in.csr"


BAD_CSRS = {
    "malformed": (
        lambda t: _file(
            t, b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n"
        ),
        "could not be read",
    ),
    "garbage DER": (lambda t: _file(t, b"\x30\x82\x01\x00garbage"), "could not be read"),
    "empty": (lambda t: _file(t, b""), "empty"),
    "oversized": (lambda t: _file(t, b"A" * (16 * 1024 + 1)), "at most 16384 bytes"),
    "bad signature": (_tampered, "signature does not match"),
    "RSA 1024": (lambda t: openssl_csr(t, key="rsa:1024"), "at least 2048 bits"),
    "secp256k1": (lambda t: openssl_csr(t, key="ec:secp256k1"), "secp256k1 is not supported"),
    "P-521": (lambda t: openssl_csr(t, key="ec:P-521"), "secp521r1 is not supported"),
    "Ed25519": (lambda t: _file(t, csr_bytes(ed25519.Ed25519PrivateKey.generate())), "not supported"),
    "foreign DNS name": (
        lambda t: openssl_csr(t, extensions=["subjectAltName=DNS:evil.example"]),
        "asks for the name DNS:evil.example",
    ),
    "someone else's address": (
        lambda t: openssl_csr(t, extensions=["subjectAltName=email:ceo@example.jp"]),
        "asks for the name email:ceo@example.jp",
    ),
    "e-mail in subject": (
        lambda t: openssl_csr(t, subject="/CN=x/emailAddress=ceo@example.jp"),
        "ceo@example.jp",
    ),
    "server auth": (
        lambda t: openssl_csr(t, extensions=["extendedKeyUsage=serverAuth,clientAuth"]),
        "extended key usage serverAuth",
    ),
    "CA": (lambda t: openssl_csr(t, extensions=["basicConstraints=critical,CA:TRUE"]), "CA certificate"),
    "cert signing": (lambda t: openssl_csr(t, extensions=["keyUsage=keyCertSign"]), "keyCertSign"),
    "unknown extension": (
        lambda t: _file(
            t,
            csr_bytes(
                extensions=[
                    (x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"), False)
                ]
            ),
        ),
        "1.3.6.1.4.1.99999.1",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CSRS))
def test_bad_csrs_are_refused_and_nothing_is_issued(ca, world, tmp_path, case):
    make, message = BAD_CSRS[case]
    path = make(tmp_path)
    counts = Certificate.objects.count(), AuditEntry.objects.count()
    with pytest.raises(CommandError) as caught:
        issue("--user", "admin", "--profile", "client", "--csr", str(path), "--out", str(tmp_path / "o.pem"))
    assert message in str(caught.value)
    assert (Certificate.objects.count(), AuditEntry.objects.count()) == counts
    assert not (tmp_path / "o.pem").exists()


def test_the_users_own_address_may_be_asked_for(ca, world, tmp_path):
    csr = openssl_csr(
        tmp_path,
        extensions=[
            "subjectAltName=email:admin@example.jp",
            "extendedKeyUsage=clientAuth",
            "keyUsage=digitalSignature",
        ],
    )
    assert issue("--user", "admin", "--profile", "client", "--csr", str(csr))["serial"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--user", "nobody-here", "--profile", "client"], "No user 'nobody-here'"),
        (["--user", "admin", "--profile", "server"], "invalid choice"),
        (["--user", "admin", "--profile", "device"], "needs a device name"),
        (["--user", "xcontact", "--profile", "client"], "neither staff of buyer nor a contact"),
        (["--user", "admin", "--profile", "client", "--device", "x" * 101], "at most 100"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_issued(ca, world, tmp_path, args, message):
    counts = Certificate.objects.count(), AuditEntry.objects.count()
    with pytest.raises(CommandError, match=message):
        issue(*args, "--csr", str(openssl_csr(tmp_path)))
    assert (Certificate.objects.count(), AuditEntry.objects.count()) == counts


def test_smime_needs_the_users_email(ca, world, tmp_path):
    world.admin.email = ""
    world.admin.save()
    with pytest.raises(CommandError, match="has no e-mail address"):
        issue("--user", "admin", "--profile", "smime", "--csr", str(openssl_csr(tmp_path)))
    assert not Certificate.objects.exists()


def _password_file(tmp_path, password="bundle-pass-2026"):
    path = tmp_path / "password.txt"
    path.write_text(password + "\n")
    return path


@pytest.mark.parametrize(
    "legacy, markers",
    [
        (False, ["MAC: sha256", "PBES2, PBKDF2, AES-256-CBC"]),
        (True, ["MAC: sha1", "pbeWithSHA1And3-KeyTripleDES-CBC"]),
    ],
)
def test_pkcs12_bundles_open_with_their_password_only(ca, world, tmp_path, legacy, markers, pki_env):
    bundle = tmp_path / "sato.p12"
    args = [
        "--user",
        "supplier1",
        "--profile",
        "client",
        "--p12",
        str(bundle),
        "--password-file",
        str(_password_file(tmp_path)),
        "--out",
        str(tmp_path / "c.pem"),
    ]
    result = issue(*args, *(["--legacy"] if legacy else []))
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    info = openssl("pkcs12", "-info", "-in", str(bundle), "-nokeys", "-passin", "pass:bundle-pass-2026")
    assert info.returncode == 0, info.stderr
    for marker in markers:
        assert marker in info.stdout + info.stderr
    assert info.stdout.count("BEGIN CERTIFICATE") == 3  # the certificate, the issuing CA and the root
    wrong = openssl("pkcs12", "-info", "-in", str(bundle), "-nokeys", "-passin", "pass:not-the-password")
    assert wrong.returncode != 0 and "invalid password" in wrong.stdout + wrong.stderr
    # The key in the bundle is the certificate's key.
    key = openssl(
        "pkcs12", "-in", str(bundle), "-nocerts", "-nodes", "-passin", "pass:bundle-pass-2026", check=True
    ).stdout
    from_key = openssl("pkey", "-pubout", input=key.encode(), check=True).stdout
    from_cert = openssl("x509", "-in", str(tmp_path / "c.pem"), "-noout", "-pubkey", check=True).stdout
    assert from_key == from_cert
    cert = Certificate.objects.get(serial=result["serial"])
    assert cert.method == "pkcs12"
    # The key is not kept: the PKI directory holds the two CA keys and nothing else.
    assert sorted(p.name.split("-")[0] for p in (pki_env / "pki" / "buyer").iterdir()) == ["issuing", "root"]


def test_pkcs12_with_a_short_password_or_an_existing_file_issues_nothing(ca, world, tmp_path):
    with pytest.raises(CommandError, match="at least 8 characters"):
        issue(
            "--user",
            "admin",
            "--profile",
            "client",
            "--p12",
            str(tmp_path / "a.p12"),
            "--password-file",
            str(_password_file(tmp_path, "short")),
        )
    (tmp_path / "b.p12").write_bytes(b"keep me")
    with pytest.raises(CommandError, match="already exists"):
        issue(
            "--user",
            "admin",
            "--profile",
            "client",
            "--p12",
            str(tmp_path / "b.p12"),
            "--password-file",
            str(_password_file(tmp_path)),
        )
    with pytest.raises(CommandError, match="needs --password-file"):
        issue("--user", "admin", "--profile", "client", "--p12", str(tmp_path / "c.p12"))
    assert (tmp_path / "b.p12").read_bytes() == b"keep me"
    assert not Certificate.objects.exists()


def test_only_staff_who_may_add_issue_through_the_service(ca, world):
    csr = csr_bytes(ec.generate_private_key(ec.SECP256R1()))
    for user in (world.auditor, world.supplier1, world.outsider):
        actor = Actor(user=user, address="127.0.0.1", label=str(user))
        with pytest.raises(NotAllowed):
            issuance.prepare(actor, world.buyer, world.supplier1, "client")
    analyst = Actor(user=world.analyst, address="127.0.0.1", label="analyst")
    cert = issuance.issue_from_csr(
        analyst, issuance.prepare(analyst, world.buyer, world.supplier1, "client"), csr
    )
    assert cert.issued_by == world.analyst
    assert (
        ExtendedKeyUsageOID.CLIENT_AUTH
        in x509.load_pem_x509_certificate(cert.certificate_pem.encode())
        .extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        .value
    )


def test_a_batch_is_checked_whole_before_anything_is_issued(ca, world, chain_file, tmp_path):
    requests = [
        issuance.prepare(SYSTEM, world.buyer, user, "client") for user in (world.admin, world.supplier1)
    ]
    good = csr_bytes()
    weak = open(openssl_csr(tmp_path, key="rsa:1024"), "rb").read()
    counts = Certificate.objects.count(), AuditEntry.objects.count()
    with pytest.raises(PkiError, match="2 件目の要求: 鍵が RSA 1024 ビットです"):
        issuance.issue_many(SYSTEM, [(requests[0], good), (requests[1], weak)])
    assert (Certificate.objects.count(), AuditEntry.objects.count()) == counts
    rows = issuance.issue_many(SYSTEM, [(requests[0], good), (requests[1], csr_bytes())])
    assert [row.user for row in rows] == [world.admin, world.supplier1] and all(row.pk for row in rows)
    assert AuditEntry.objects.count() == counts[1] + 2
    (tmp_path / "batch.pem").write_text(rows[1].certificate_pem)
    assert openssl("verify", "-CAfile", str(chain_file), str(tmp_path / "batch.pem")).returncode == 0
