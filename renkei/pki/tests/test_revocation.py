"""Revocation, the CRL and the OCSP responder, checked with `openssl verify -crl_check` and
`openssl ocsp` against the responder running in a live server."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from io import StringIO

import pytest
from cryptography import x509
from django.core.management import CommandError, call_command
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.errors import NotAllowed
from renkei.pki import services
from renkei.pki.ca import init_ca
from renkei.pki.models import Certificate, CertificateRevocationList
from renkei.pki.tests.helpers import SYSTEM, issue_for, openssl

pytestmark = pytest.mark.django_db


def pki(*args: str) -> dict:
    out = StringIO()
    call_command("pki", *args, "--json", "--lang", "en", stdout=out)
    return json.loads(out.getvalue())


def write_cert(tmp_path, cert: Certificate, name: str = "leaf.pem"):
    path = tmp_path / name
    path.write_text(cert.certificate_pem)
    return path


def fetch(url: str, data: bytes | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/ocsp-request"} if data is not None else {}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers["Content-Type"], response.read()


def verify(tmp_path, chain_file, leaf, crl_path):
    return openssl("verify", "-crl_check", "-CAfile", str(chain_file), "-CRLfile", str(crl_path), str(leaf))


def test_revocation_is_in_the_next_crl(ca, world, chain_file, tmp_path):
    good, bad = issue_for(world.supplier1, world.buyer), issue_for(world.supplier2, world.buyer)
    before = pki("crl", "--organization", "buyer", "--out", str(tmp_path / "before.der"))
    assert (
        verify(tmp_path, chain_file, write_cert(tmp_path, bad, "bad.pem"), tmp_path / "before.der").returncode
        == 0
    )
    revoked = pki("revoke", bad.serial.lower(), "--reason", "key-compromise")
    assert revoked["reason"] == "keyCompromise"
    after = pki("crl", "--organization", "buyer", "--out", str(tmp_path / "after.der"))
    assert after["number"] == before["number"] + 2  # the revocation published one CRL, `crl` another
    assert after["revoked"] == 1
    result = verify(tmp_path, chain_file, tmp_path / "bad.pem", tmp_path / "after.der")
    assert result.returncode != 0 and "certificate revoked" in result.stdout + result.stderr
    result = verify(tmp_path, chain_file, write_cert(tmp_path, good, "good.pem"), tmp_path / "after.der")
    assert result.returncode == 0 and "OK" in result.stdout
    crl_text = openssl(
        "crl", "-in", str(tmp_path / "after.der"), "-inform", "DER", "-noout", "-text", check=True
    ).stdout
    assert f"Serial Number: {bad.serial}" in crl_text and "Key Compromise" in crl_text
    assert "Next Update" in crl_text
    # PEM on request.
    pki("crl", "--organization", "buyer", "--format", "pem", "--out", str(tmp_path / "crl.pem"))
    assert (tmp_path / "crl.pem").read_text().startswith("-----BEGIN X509 CRL-----")


def test_revoking_twice_or_with_an_unknown_reason_or_serial_is_refused(ca, world):
    cert = issue_for(world.admin, world.buyer)
    with pytest.raises(CommandError, match="Unknown reason"):
        pki("revoke", cert.serial, "--reason", "because")
    with pytest.raises(CommandError, match="No certificate has the serial number"):
        pki("revoke", "DEADBEEF", "--reason", "superseded")
    pki("revoke", cert.serial, "--reason", "superseded")
    entries = AuditEntry.objects.count()
    number = CertificateRevocationList.objects.get().number
    with pytest.raises(CommandError, match="already revoked"):
        pki("revoke", cert.serial, "--reason", "keyCompromise")
    assert AuditEntry.objects.count() == entries
    assert CertificateRevocationList.objects.get().number == number


def test_only_staff_who_may_change_revoke(ca, world):
    cert = issue_for(world.supplier1, world.buyer)
    for user in (world.auditor, world.supplier1, world.outsider):
        with pytest.raises(NotAllowed):
            services.revoke(Actor(user=user, address="127.0.0.1", label="x"), cert, "keyCompromise")
    cert.refresh_from_db()
    assert cert.revoked_at is None


def test_the_crl_is_served_at_its_public_address_and_renewed_when_stale(
    ca, world, client, chain_file, tmp_path
):
    cert = issue_for(world.supplier1, world.buyer)
    services.revoke(SYSTEM, cert, "affiliationChanged")
    response = client.get("/pki/buyer/crl.der")
    assert response.status_code == 200 and response["Content-Type"] == "application/pkix-crl"
    (tmp_path / "served.der").write_bytes(response.content)
    result = verify(tmp_path, chain_file, write_cert(tmp_path, cert), tmp_path / "served.der")
    assert "certificate revoked" in result.stdout + result.stderr
    row = CertificateRevocationList.objects.get()
    CertificateRevocationList.objects.filter(pk=row.pk).update(next_update=timezone.now())
    fresh = x509.load_der_x509_crl(client.get("/pki/buyer/crl.der").content)
    assert fresh.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == row.number + 1
    assert client.get("/pki/buyer/crl.pem").content.startswith(b"-----BEGIN X509 CRL-----")
    assert client.get("/pki/buyer/ca.der")["Content-Type"] == "application/pkix-cert"
    assert client.get("/pki/buyer/chain.pem").content.decode() == chain_file.read_text()
    assert client.get("/pki/other/crl.der").status_code == 404  # no CA there
    assert client.get("/pki/nope/crl.der").status_code == 404


# --- OCSP against the live responder ---------------------------------------------------------------


def ocsp_check(live_server, tmp_path, chain_file, issuer, *target: str, org: str = "buyer"):
    return openssl(
        "ocsp",
        "-issuer",
        str(issuer),
        *target,
        "-url",
        f"{live_server.url}/pki/{org}/ocsp",
        "-CAfile",
        str(chain_file),
        "-resp_text",
    )


def test_openssl_ocsp_gets_good_then_revoked_at_once(ca, world, live_server, chain_file, tmp_path):
    from renkei.pki.ca import issuing_ca

    issuer = tmp_path / "issuing.pem"
    issuer.write_text(issuing_ca(world.buyer).certificate_pem)
    cert = issue_for(world.supplier1, world.buyer)
    leaf = write_cert(tmp_path, cert)
    result = ocsp_check(live_server, tmp_path, chain_file, issuer, "-cert", str(leaf))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{leaf}: good" in output
    assert "Response verify OK" in output
    assert "WARNING: no nonce" not in output and "OCSP Nonce" in output  # the nonce came back
    pki("revoke", cert.serial, "--reason", "keyCompromise")
    result = ocsp_check(live_server, tmp_path, chain_file, issuer, "-cert", str(leaf))
    output = result.stdout + result.stderr
    assert f"{leaf}: revoked" in output and "Reason: keyCompromise" in output
    assert "Response verify OK" in output


def test_openssl_ocsp_unknown_serial_and_foreign_issuer(ca, world, live_server, chain_file, tmp_path):
    from renkei.pki.ca import issuing_ca

    issuer = tmp_path / "issuing.pem"
    issuer.write_text(issuing_ca(world.buyer).certificate_pem)
    result = ocsp_check(live_server, tmp_path, chain_file, issuer, "-serial", "0x0123456789ABCDEF")
    assert "0x0123456789ABCDEF: unknown" in result.stdout + result.stderr
    init_ca(SYSTEM, world.other)
    foreign = tmp_path / "other-issuing.pem"
    foreign.write_text(issuing_ca(world.other).certificate_pem)
    other_cert = write_cert(tmp_path, issue_for(world.outsider, world.other), "other.pem")
    result = ocsp_check(live_server, tmp_path, chain_file, foreign, "-cert", str(other_cert))
    assert "unauthorized" in (result.stdout + result.stderr).lower()


def test_ocsp_get_with_the_request_in_the_path(ca, world, live_server, chain_file, tmp_path):
    from renkei.pki.ca import issuing_ca

    issuer = tmp_path / "issuing.pem"
    issuer.write_text(issuing_ca(world.buyer).certificate_pem)
    cert = issue_for(world.supplier1, world.buyer)
    leaf = write_cert(tmp_path, cert)
    # GET requests are usually nonce-less so that caches may keep the answer (RFC 5019).
    openssl(
        "ocsp",
        "-issuer",
        str(issuer),
        "-cert",
        str(leaf),
        "-no_nonce",
        "-reqout",
        str(tmp_path / "req.der"),
        check=True,
    )
    encoded = base64.b64encode((tmp_path / "req.der").read_bytes()).decode()
    status, content_type, body = fetch(
        f"{live_server.url}/pki/buyer/ocsp/{urllib.parse.quote(encoded, safe='')}"
    )
    assert status == 200 and content_type == "application/ocsp-response"
    (tmp_path / "resp.der").write_bytes(body)
    result = openssl(
        "ocsp",
        "-respin",
        str(tmp_path / "resp.der"),
        "-no_nonce",
        "-issuer",
        str(issuer),
        "-cert",
        str(leaf),
        "-CAfile",
        str(chain_file),
    )
    output = result.stdout + result.stderr
    assert f"{leaf}: good" in output and "Response verify OK" in output


@pytest.mark.parametrize("body", [b"", b"not an OCSP request", b"\x30" * 11000])
def test_malformed_ocsp_requests_get_an_ocsp_error(ca, world, client, body):
    from cryptography.x509 import ocsp

    response = client.post("/pki/buyer/ocsp", body, content_type="application/ocsp-request")
    if len(body) > 10 * 1024:
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert (
        ocsp.load_der_ocsp_response(response.content).response_status
        == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    assert client.get("/pki/buyer/ocsp/%%%").status_code == 400
    assert client.get("/pki/buyer/ocsp").status_code == 405
