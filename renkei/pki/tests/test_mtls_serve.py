"""Mutual TLS against the real server: cheroot serving HTTPS with an openssl-made server certificate
(in a thread of this process, and `renkei serve --tls` as a subprocess), real curl and httpx as
clients with client certificates made from openssl keys.

Where each refusal happens:
- a certificate from another CA: at the TLS layer (the handshake fails; no HTTP answer);
- revoked, expired, another user's, not a client certificate: in the application (403 page that
  says which), because the TLS layer only checks the chain (not the time: see NO_CHECK_TIME).
"""

from __future__ import annotations

import datetime
import json
import os
import ssl
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings as django_settings
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.core.management.commands.serve import TlsFiles, build_server, write_client_ca_file
from renkei.pki import issuance, mtls, services
from renkei.pki.ca import fingerprint, issuing_ca, serial_hex
from renkei.pki.keystore import load_key
from renkei.pki.models import Certificate
from renkei.pki.tests.helpers import SYSTEM, openssl, openssl_csr

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "pki/"
RENKEI = str(Path(sys.executable).with_name("renkei"))
SECOND_ADDRESS = "127.0.0.2"  # Linux answers the whole 127/8 on loopback: a second client address


@pytest.fixture
def no_persistent_connections():
    """Server threads close their database connections after each request, so none is left open
    when the test database is flushed or dropped (PostgreSQL refuses to drop one in use)."""
    config = connections.settings["default"]
    previous = config["CONN_MAX_AGE"]
    config["CONN_MAX_AGE"] = 0
    yield
    config["CONN_MAX_AGE"] = previous


@pytest.fixture
def tls_files(tmp_path, ca):
    """A server certificate for 127.0.0.1 made by openssl, and the client CA file as serve writes it."""
    tls = tmp_path / "tls"
    tls.mkdir()
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(tls / "server.key"),
        "-out",
        str(tls / "server.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        check=True,
    )
    return tls


@pytest.fixture
def server(world, ca, tls_files, settings, tmp_path, no_persistent_connections):
    """start(tls=True) -> base URL of a cheroot server in a thread (port 0), stopped afterwards."""
    settings.RENKEI_HOME = tmp_path
    started = []

    def start(tls: bool = True) -> str:
        files = None
        if tls:
            files = TlsFiles(tls_files / "server.pem", tls_files / "server.key", write_client_ca_file())
        srv = build_server("127.0.0.1", 0, 4, files)
        thread = threading.Thread(target=srv.serve, daemon=True)
        thread.start()
        started.append((srv, thread))
        return f"{'https' if tls else 'http'}://127.0.0.1:{srv.bind_addr[1]}/"

    yield start
    for srv, thread in started:
        srv.stop()
        thread.join(timeout=20)


@pytest.fixture
def require(world, django_capture_on_commit_callbacks):
    def set_it(**policy):
        with django_capture_on_commit_callbacks(execute=True):
            mtls.set_policy(
                SYSTEM,
                world.buyer,
                staff_roles=policy.get("staff_roles", []),
                suppliers=policy.get("suppliers", False),
                api=policy.get("api", False),
            )

    return set_it


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return (
        f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    )


def client_certificate(
    directory: Path, name: str, user, organization, profile: str = "client"
) -> Certificate:
    """A certificate issued through the service for a key made by `openssl req`; NAME.key, NAME.pem."""
    csr = openssl_csr(directory, name)
    cert = issuance.issue_from_csr(
        SYSTEM,
        issuance.prepare(SYSTEM, organization, user, profile, "PC" if profile == "device" else ""),
        csr.read_bytes(),
    )
    (directory / f"{name}.pem").write_text(cert.certificate_pem)
    return cert


def curl(
    url: str,
    tls_dir: Path | None = None,
    *,
    cert: Path | None = None,
    cookie: str = "",
    interface: str = "",
    headers: tuple[str, ...] = (),
) -> tuple[int, str, str]:
    """(curl's exit code, HTTP status as curl prints it, body)."""
    args = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20"]
    if tls_dir is not None:
        args += ["--cacert", str(tls_dir / "server.pem")]
    if cert is not None:
        args += ["--cert", str(cert), "--key", str(cert.with_suffix(".key"))]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    if interface:
        args += ["--interface", interface]
    for header in headers:
        args += ["-H", header]
    result = subprocess.run([*args, url], capture_output=True, text=True, timeout=60, check=False)
    body, _, status = result.stdout.rpartition("\n")
    return result.returncode, status, body


def refusal(body: str) -> str | None:
    marker = 'id="mtls-refused" data-status="'
    return body.split(marker, 1)[1].split('"', 1)[0] if marker in body else None


# --- curl and httpx ------------------------------------------------------------------------------


def test_curl_and_httpx_with_a_certificate_are_accepted_and_without_refused(
    world, server, tls_files, tmp_path, require
):
    sato = client_certificate(tmp_path, "sato", world.supplier1, world.buyer)
    require(suppliers=True)
    base = server()
    cookie = session_cookie(world.supplier1)
    code, status, body = curl(base + PAGE, tls_files, cert=tmp_path / "sato.pem", cookie=cookie)
    assert (code, status) == (0, "200") and f"/pki/certificates/{sato.pk}/" in body
    code, status, body = curl(base + PAGE, tls_files, cookie=cookie)
    assert (code, status, refusal(body)) == (0, "403", "none")
    # Without a certificate: the enrollment page (the enrollment view's own 404 for an unknown
    # token, not a refusal), the login page and the public CRL.
    code, status, body = curl(base + "pki/enroll/no-such-token/", tls_files, cookie=cookie)
    assert (status, refusal(body)) == ("404", None)
    assert curl(base + "accounts/login/", tls_files)[1] == "200"
    assert curl(base + "pki/buyer/crl.pem", tls_files, cookie=cookie)[1] == "200"
    assert Certificate.objects.get(pk=sato.pk).last_used_from == "127.0.0.1"

    httpx = pytest.importorskip("httpx")
    headers = {"Cookie": cookie}
    with_cert = ssl.create_default_context(cafile=str(tls_files / "server.pem"))
    with_cert.load_cert_chain(str(tmp_path / "sato.pem"), str(tmp_path / "sato.key"))
    with httpx.Client(verify=with_cert) as client:
        assert client.get(base + PAGE, headers=headers).status_code == 200
    without = ssl.create_default_context(cafile=str(tls_files / "server.pem"))
    with httpx.Client(verify=without) as client:
        response = client.get(base + PAGE, headers=headers)
        assert response.status_code == 403 and refusal(response.text) == "none"


def test_the_api_with_a_token_and_a_certificate(world, server, tls_files, tmp_path, require):
    from rest_framework.authtoken.models import Token

    client_certificate(tmp_path, "admin", world.admin, world.buyer)
    require(api=True)
    base = server()
    token = Token.objects.create(user=world.admin).key
    auth = (f"Authorization: Token {token}",)
    code, status, body = curl(base + "api/v1/certificates/", tls_files, headers=auth)
    assert status == "403" and json.loads(body)["code"] == "client_certificate_none"
    code, status, body = curl(
        base + "api/v1/certificates/", tls_files, cert=tmp_path / "admin.pem", headers=auth
    )
    assert status == "200" and json.loads(body)["count"] == 1


def test_a_revoked_certificate_is_refused_at_once(world, server, tls_files, tmp_path, require):
    sato = client_certificate(tmp_path, "sato", world.supplier1, world.buyer)
    require(suppliers=True)
    base, cookie = server(), session_cookie(world.supplier1)
    assert curl(base + PAGE, tls_files, cert=tmp_path / "sato.pem", cookie=cookie)[1] == "200"
    services.revoke(SYSTEM, sato, "keyCompromise")
    code, status, body = curl(base + PAGE, tls_files, cert=tmp_path / "sato.pem", cookie=cookie)
    assert (status, refusal(body)) == ("403", "revoked")


def expired_certificate(directory: Path, user, organization) -> Certificate:
    """A client certificate that expired yesterday, signed with the organization's issuing CA key
    (the issuance code refuses past validity, so it is built here) and recorded like an issued one."""
    ca = issuing_ca(organization)
    ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    key = ec.generate_private_key(ec.SECP256R1())
    (directory / "old.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    request = issuance.prepare(SYSTEM, organization, user, "client")
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now - datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(load_key(ca.key_file), hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (directory / "old.pem").write_text(pem)
    return Certificate.objects.create(
        organization=organization,
        ca=ca,
        profile="client",
        method="csr",
        serial=serial_hex(cert.serial_number),
        subject=cert.subject.rfc4514_string(),
        common_name="old",
        user=user,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=fingerprint(cert),
        key_type="ec-p256",
        public_key_sha256="0" * 64,
        certificate_pem=pem,
    )


def test_an_expired_certificate_is_refused_with_a_page_saying_so(world, server, tls_files, tmp_path, require):
    expired_certificate(tmp_path, world.supplier1, world.buyer)
    require(suppliers=True)
    code, status, body = curl(
        server() + PAGE, tls_files, cert=tmp_path / "old.pem", cookie=session_cookie(world.supplier1)
    )
    assert (code, status, refusal(body)) == (0, "403", "expired")


def test_a_certificate_from_another_ca_is_refused_at_the_tls_layer(
    world, server, tls_files, tmp_path, require
):
    """A throwaway openssl CA: the handshake fails, so no HTTP answer at all."""
    other = tmp_path / "other"
    other.mkdir()
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(other / "ca.key"),
        "-out",
        str(other / "ca.pem"),
        "-days",
        "30",
        "-subj",
        "/CN=Throwaway CA",
        check=True,
    )
    csr = openssl_csr(other, "intruder", subject="/CN=supplier1")
    (other / "ext.cnf").write_text("extendedKeyUsage=clientAuth\n")
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(other / "ca.pem"),
        "-CAkey",
        str(other / "ca.key"),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        str(other / "ext.cnf"),
        "-out",
        str(other / "intruder.pem"),
        check=True,
    )
    require(suppliers=True)
    base, cookie = server(), session_cookie(world.supplier1)
    code, status, _body = curl(base + PAGE, tls_files, cert=other / "intruder.pem", cookie=cookie)
    assert code != 0 and status == "000"
    assert curl(base + "accounts/login/", tls_files)[1] == "200"  # the server is fine


def test_a_certificate_bound_to_another_user_is_refused(world, server, tls_files, tmp_path, require):
    client_certificate(tmp_path, "suzuki", world.supplier2, world.buyer)
    require(suppliers=True)
    code, status, body = curl(
        server() + PAGE, tls_files, cert=tmp_path / "suzuki.pem", cookie=session_cookie(world.supplier1)
    )
    assert (status, refusal(body)) == ("403", "not_yours")


def test_one_certificate_from_two_addresses_is_flagged(world, server, tls_files, tmp_path):
    sato = client_certificate(tmp_path, "sato", world.supplier1, world.buyer)
    base, cookie = server(), session_cookie(world.supplier1)
    entries = AuditEntry.objects.count()
    assert curl(base + PAGE, tls_files, cert=tmp_path / "sato.pem", cookie=cookie)[1] == "200"
    assert (
        curl(base + PAGE, tls_files, cert=tmp_path / "sato.pem", cookie=cookie, interface=SECOND_ADDRESS)[1]
        == "200"
    )
    sato.refresh_from_db()
    assert (sato.last_used_from, sato.concurrent_use_from) == (SECOND_ADDRESS, SECOND_ADDRESS)
    assert sato.concurrent_use_at is not None
    assert AuditEntry.objects.count() == entries + 1


# --- Behind a reverse proxy (plain HTTP from nginx) ----------------------------------------------


def test_proxy_headers_only_from_a_trusted_proxy(world, server, tmp_path, require, settings):
    sato = client_certificate(tmp_path, "sato", world.supplier1, world.buyer)
    require(suppliers=True)
    settings.RENKEI_TRUSTED_PROXIES = [SECOND_ADDRESS]
    base, cookie = server(tls=False), session_cookie(world.supplier1)
    headers = (
        "X-SSL-Client-Cert: " + urllib.parse.quote(sato.certificate_pem),
        "X-SSL-Client-Verify: SUCCESS",
        "X-Real-IP: 203.0.113.9",
    )
    code, status, body = curl(base + PAGE, cookie=cookie, headers=headers)  # from 127.0.0.1
    assert (status, refusal(body)) == ("403", "none")
    assert curl(base + PAGE, cookie=cookie, headers=headers, interface=SECOND_ADDRESS)[1] == "200"
    assert Certificate.objects.get(pk=sato.pk).last_used_from == "203.0.113.9"


# --- `renkei serve --tls` itself ------------------------------------------------------------------


def database_url() -> str:
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    auth = urllib.parse.quote(config["USER"] or "")
    if config.get("PASSWORD"):
        auth += ":" + urllib.parse.quote(config["PASSWORD"])
    return f"postgres://{auth}@{config['HOST'] or 'localhost'}:{config['PORT'] or 5432}/{config['NAME']}"


def test_renkei_serve_tls_from_the_command_line(
    world, ca, tls_files, tmp_path, pki_env, require, no_persistent_connections
):
    client_certificate(tmp_path, "sato", world.supplier1, world.buyer)
    require(suppliers=True)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "RENKEI_HOME": str(home),
        "RENKEI_SECRET_KEY": django_settings.SECRET_KEY,
        "RENKEI_DATABASE_URL": database_url(),
        "RENKEI_PKI_DIR": str(django_settings.RENKEI_PKI_DIR),
    }
    proc = subprocess.Popen(
        [
            RENKEI,
            "serve",
            "--tls",
            "--cert",
            str(tls_files / "server.pem"),
            "--key",
            str(tls_files / "server.key"),
            "--port",
            "0",
            "--threads",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "https://127.0.0.1:" in line, line + proc.stderr.read()
        base = "https://" + line.split("https://", 1)[1].split()[0]
        # The default client CA file: the buyer's issuing CA and root, written at start.
        written = (home / "tls" / "client-ca.pem").read_text()
        assert issuing_ca(world.buyer).certificate_pem in written
        cookie = session_cookie(world.supplier1)
        assert curl(base + PAGE, tls_files, cert=tmp_path / "sato.pem", cookie=cookie)[1] == "200"
        code, status, body = curl(base + PAGE, tls_files, cookie=cookie)
        assert (status, refusal(body)) == ("403", "none")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_tls_options_without_tls_and_missing_files(tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--tls"):
        call_command("serve", "--cert", str(tmp_path / "x.pem"))
    with pytest.raises(CommandError, match="x.pem"):
        call_command("serve", "--tls", "--cert", str(tmp_path / "x.pem"), "--key", str(tmp_path / "x.key"))
