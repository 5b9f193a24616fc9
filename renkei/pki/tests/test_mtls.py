"""Mutual TLS in the application (renkei.pki.mtls), through the test client: the certificate comes
in the WSGI environ as `renkei serve --tls` puts it (SSL_CLIENT_CERT) or in the proxy headers.
The real TLS server, curl and httpx are in test_mtls_serve.py."""

from __future__ import annotations

import datetime
import json
import urllib.parse
from io import StringIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.errors import ServiceError
from renkei.pki import mtls, services
from renkei.pki.models import AccessPolicy, Certificate
from renkei.pki.tests.helpers import SYSTEM, issue_for

pytestmark = pytest.mark.django_db

PAGE = "/pki/"  # any page that is not exempt
TRUSTED = "10.9.8.7"


@pytest.fixture
def certs(ca, world):
    return {
        "sato": issue_for(world.supplier1, world.buyer, "client"),
        "suzuki": issue_for(world.supplier2, world.buyer, "device", "PC-SUZUKI"),
        "admin": issue_for(world.admin, world.buyer, "client"),
        "admin_smime": issue_for(world.admin, world.buyer, "smime"),
        "analyst": issue_for(world.analyst, world.buyer, "test"),
    }


@pytest.fixture
def require(world, django_capture_on_commit_callbacks):
    """require(suppliers=True, ...) sets the buyer's policy through the service (as the CLI does)."""

    def set_it(organization=None, staff_roles=(), suppliers=False, api=False):
        with django_capture_on_commit_callbacks(execute=True):
            return mtls.set_policy(
                SYSTEM,
                organization or world.buyer,
                staff_roles=list(staff_roles),
                suppliers=suppliers,
                api=api,
            )

    return set_it


def foreign_pem() -> str:
    """A self-signed certificate Renkei never issued."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supplier1")])
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def refused_status(response) -> str | None:
    """The refusal reason on our 403 page or API answer, None when the request was not refused."""
    if response.status_code != 403:
        return None
    if response["Content-Type"].startswith("application/json"):
        return response.json()["code"].removeprefix("client_certificate_")
    return response.context["status"]


# --- Where nothing is required ------------------------------------------------------------------


def test_without_policies_a_request_costs_no_extra_query(world, certs, client_for, django_assert_num_queries):
    client = client_for(world.admin)
    client.get(PAGE)
    with django_assert_num_queries(0):
        assert mtls.current_policies() == {}
    with django_assert_num_queries(5):  # the same as without mutual TLS (test_views pins it too)
        assert client.get(PAGE).status_code == 200


def test_a_bad_certificate_is_ignored_where_none_is_required(world, certs, client_for):
    client = client_for(world.supplier1)
    for pem in (foreign_pem(), certs["suzuki"].certificate_pem, "garbage"):
        assert client.get(PAGE, SSL_CLIENT_CERT=pem).status_code == 200


# --- Policies ---------------------------------------------------------------------------------


def test_supplier_policy_refuses_contacts_without_a_valid_certificate(world, certs, client_for, require):
    require(suppliers=True)
    client = client_for(world.supplier1)
    response = client.get(PAGE)
    assert refused_status(response) == "none"
    assert 'data-status="none"' in response.content.decode()
    assert "クライアント証明書が提示されませんでした" in client.get(PAGE).content.decode()
    assert client.get(PAGE, SSL_CLIENT_CERT=certs["sato"].certificate_pem).status_code == 200
    # Staff are not covered by a supplier policy, nor another organization's contacts.
    for user in (world.admin, world.analyst, world.auditor, world.xcontact, world.outsider):
        assert client_for(user).get(PAGE).status_code == 200


def test_every_reason_a_certificate_is_refused(world, certs, client_for, require):
    require(suppliers=True)
    client = client_for(world.supplier1)
    sato = certs["sato"]

    def status(pem):
        return refused_status(client.get(PAGE, SSL_CLIENT_CERT=pem))

    assert status(foreign_pem()) == "unknown"
    assert status("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----") == "unknown"
    assert status(certs["suzuki"].certificate_pem) == "not_yours"
    assert status(certs["admin"].certificate_pem) == "not_yours"
    smime = issue_for(world.supplier1, world.buyer, "smime")
    assert status(smime.certificate_pem) == "wrong_profile"
    Certificate.objects.filter(pk=sato.pk).update(not_after=timezone.now() - datetime.timedelta(minutes=1))
    assert status(sato.certificate_pem) == "expired"
    Certificate.objects.filter(pk=sato.pk).update(not_after=sato.not_after)
    assert status(sato.certificate_pem) is None
    services.revoke(SYSTEM, sato, "keyCompromise")
    response = client.get(PAGE, SSL_CLIENT_CERT=sato.certificate_pem)
    assert refused_status(response) == "revoked"  # the very next request
    text = client.get(PAGE, SSL_CLIENT_CERT=sato.certificate_pem).content.decode()
    assert f"（シリアル {sato.serial}）は" in text and "失効しています" in text


def test_staff_role_policy_covers_only_the_roles_listed(world, certs, client_for, require):
    require(staff_roles=["analyst", "auditor"])
    assert refused_status(client_for(world.analyst).get(PAGE)) == "none"
    assert refused_status(client_for(world.auditor).get(PAGE)) == "none"
    assert client_for(world.admin).get(PAGE).status_code == 200
    assert client_for(world.supplier1).get(PAGE).status_code == 200
    ok = client_for(world.analyst).get(PAGE, SSL_CLIENT_CERT=certs["analyst"].certificate_pem)
    assert ok.status_code == 200  # the 90-day test profile is a client certificate too


def test_api_policy_covers_token_and_session_requests_of_everyone_in_the_organization(
    world, certs, client_for, api_for, require
):
    require(api=True)
    url = reverse("certificate-list")
    for user in (world.admin, world.auditor, world.supplier1):
        response = api_for(user).get(url)
        assert response.status_code == 403 and response.json()["code"] == "client_certificate_none"
        assert response.json()["detail"]
    assert api_for(world.admin).get(url, SSL_CLIENT_CERT=certs["admin"].certificate_pem).status_code == 200
    assert client_for(world.admin).get(url).status_code == 403  # /api/ with a session
    assert client_for(world.admin).get(PAGE).status_code == 200  # pages are not covered
    assert api_for(world.outsider).get(url).status_code == 200
    bad = Client(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(url).status_code == 401  # DRF's answer, not ours


def test_exempt_paths_never_need_a_certificate(world, certs, ca, client_for, require):
    require(suppliers=True, staff_roles=["admin", "analyst", "auditor"], api=True)
    client = client_for(world.supplier1)
    assert refused_status(client.get(PAGE)) == "none"
    for path in ("/pki/buyer/crl.der", "/pki/buyer/crl.pem", "/pki/buyer/ca.der", "/pki/buyer/chain.pem"):
        assert client.get(path).status_code == 200, path
    enroll = client.get("/pki/enroll/no-such-token/")
    assert enroll.status_code == 404 and b"mtls-refused" not in enroll.content  # the enrollment page's answer
    assert client.get(reverse("login")).status_code == 302  # already logged in: redirected, not refused
    assert client.get("/static/rest_framework/css/bootstrap.min.css").status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert Client().get(PAGE).status_code == 302  # anonymous: to the login page


def test_a_user_in_several_organizations_needs_a_certificate_if_any_requires_it(
    world, certs, client_for, require
):
    from renkei.accounts.models import Membership

    Membership.objects.create(user=world.outsider, organization=world.buyer, role="auditor")
    require(staff_roles=["auditor"])
    assert refused_status(client_for(world.outsider).get(PAGE)) == "none"


# --- Proxy headers --------------------------------------------------------------------------------


def proxy_headers(pem: str, verify: str = "SUCCESS", real_ip: str = "") -> dict[str, str]:
    headers = {"HTTP_X_SSL_CLIENT_CERT": urllib.parse.quote(pem), "HTTP_X_SSL_CLIENT_VERIFY": verify}
    if real_ip:
        headers["HTTP_X_REAL_IP"] = real_ip
    return headers


def test_proxy_headers_count_only_from_trusted_proxies(world, certs, client_for, require, settings):
    require(suppliers=True)
    client = client_for(world.supplier1)
    pem = certs["sato"].certificate_pem
    # Nobody is trusted by default: the header is the client's own claim.
    assert refused_status(client.get(PAGE, REMOTE_ADDR=TRUSTED, **proxy_headers(pem))) == "none"
    settings.RENKEI_TRUSTED_PROXIES = ["10.9.8.0/24"]
    assert client.get(PAGE, REMOTE_ADDR=TRUSTED, **proxy_headers(pem)).status_code == 200
    assert refused_status(client.get(PAGE, REMOTE_ADDR="10.9.9.1", **proxy_headers(pem))) == "none"
    assert refused_status(client.get(PAGE, REMOTE_ADDR=TRUSTED, **proxy_headers(pem, "NONE"))) == "none"
    # From a trusted proxy only the headers count (the proxy's own TLS environ is not the client's).
    assert refused_status(client.get(PAGE, REMOTE_ADDR=TRUSTED, SSL_CLIENT_CERT=pem)) == "none"


def test_client_address_behind_a_trusted_proxy(world, certs, client_for, require, settings):
    settings.RENKEI_TRUSTED_PROXIES = [TRUSTED]
    client = client_for(world.supplier1)
    pem = certs["sato"].certificate_pem
    client.get(PAGE, REMOTE_ADDR=TRUSTED, **proxy_headers(pem, real_ip="203.0.113.5"))
    assert Certificate.objects.get(pk=certs["sato"].pk).last_used_from == "203.0.113.5"
    Certificate.objects.filter(pk=certs["sato"].pk).update(last_used_at=None, last_used_from="")
    client.get(PAGE, REMOTE_ADDR=TRUSTED, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7", **proxy_headers(pem))
    assert Certificate.objects.get(pk=certs["sato"].pk).last_used_from == "198.51.100.7"  # the last hop
    # An untrusted sender's X-Real-IP is ignored.
    settings.RENKEI_TRUSTED_PROXIES = []
    Certificate.objects.filter(pk=certs["sato"].pk).update(last_used_at=None, last_used_from="")
    client.get(PAGE, REMOTE_ADDR="192.0.2.1", HTTP_X_REAL_IP="203.0.113.5", SSL_CLIENT_CERT=pem)
    assert Certificate.objects.get(pk=certs["sato"].pk).last_used_from == "192.0.2.1"


# --- Last use and concurrent use ------------------------------------------------------------------


def test_last_use_is_written_at_most_once_a_minute(world, certs, client_for, django_assert_num_queries):
    client = client_for(world.supplier1)
    pem = certs["sato"].certificate_pem
    client.get(PAGE, SSL_CLIENT_CERT=pem, REMOTE_ADDR="192.0.2.10")
    first = Certificate.objects.get(pk=certs["sato"].pk)
    assert first.last_used_from == "192.0.2.10" and first.last_used_at is not None
    with CaptureQueriesContext(connection) as plain:
        client.get(PAGE)
    with django_assert_num_queries(len(plain) + 1):  # the certificate lookup, and no write
        client.get(PAGE, SSL_CLIENT_CERT=pem, REMOTE_ADDR="192.0.2.10")
    assert Certificate.objects.get(pk=first.pk).last_used_at == first.last_used_at
    earlier = timezone.now() - datetime.timedelta(minutes=2)
    Certificate.objects.filter(pk=first.pk).update(last_used_at=earlier)
    client.get(PAGE, SSL_CLIENT_CERT=pem, REMOTE_ADDR="192.0.2.10")
    again = Certificate.objects.get(pk=first.pk)
    assert again.last_used_at > earlier and again.concurrent_use_at is None


def test_the_same_certificate_from_two_addresses_is_flagged_and_an_admin_clears_it(
    world, certs, client_for, require
):
    require(suppliers=True)
    sato = certs["sato"]
    client = client_for(world.supplier1)
    entries = AuditEntry.objects.count()
    client.get(PAGE, SSL_CLIENT_CERT=sato.certificate_pem, REMOTE_ADDR="192.0.2.10")
    assert (
        client.get(PAGE, SSL_CLIENT_CERT=sato.certificate_pem, REMOTE_ADDR="198.51.100.20").status_code == 200
    )
    sato.refresh_from_db()
    assert sato.concurrent_use_at is not None and sato.concurrent_use_from == "198.51.100.20"
    assert sato.last_used_from == "198.51.100.20"
    entry = AuditEntry.objects.order_by("-pk").first()
    assert AuditEntry.objects.count() == entries + 1 and entry.actor == world.supplier1
    # Going back and forth does not write more audit entries; the first moment stays.
    client.get(PAGE, SSL_CLIENT_CERT=sato.certificate_pem, REMOTE_ADDR="192.0.2.10")
    assert AuditEntry.objects.count() == entries + 1
    assert Certificate.objects.get(pk=sato.pk).concurrent_use_at == sato.concurrent_use_at
    detail = reverse("pki:detail", args=[sato.pk])
    clear = reverse("pki:clear-concurrent", args=[sato.pk])
    admin = client_for(world.admin)
    page = admin.get(detail).content.decode()
    assert 'id="concurrent-use"' in page and "198.51.100.20" in page and clear in page
    holder_page = client.get(detail, SSL_CLIENT_CERT=sato.certificate_pem)
    assert 'id="concurrent-use"' in holder_page.content.decode() and clear not in holder_page.content.decode()
    assert client_for(world.analyst).post(clear).status_code == 403
    assert client.post(clear, SSL_CLIENT_CERT=sato.certificate_pem).status_code == 403
    assert client_for(world.outsider).post(clear).status_code == 404
    assert Certificate.objects.get(pk=sato.pk).concurrent_use_at is not None
    assert admin.post(clear).status_code == 302
    assert Certificate.objects.get(pk=sato.pk).concurrent_use_at is None
    assert AuditEntry.objects.count() == entries + 2
    assert 'id="concurrent-use"' not in admin.get(detail).content.decode()


def test_another_address_after_the_window_is_not_flagged(world, certs, client_for, settings):
    settings.RENKEI_MTLS_CONCURRENT_WINDOW = 10
    sato = certs["sato"]
    client = client_for(world.supplier1)
    client.get(PAGE, SSL_CLIENT_CERT=sato.certificate_pem, REMOTE_ADDR="192.0.2.10")
    Certificate.objects.filter(pk=sato.pk).update(
        last_used_at=timezone.now() - datetime.timedelta(minutes=11)
    )
    client.get(PAGE, SSL_CLIENT_CERT=sato.certificate_pem, REMOTE_ADDR="198.51.100.20")
    sato.refresh_from_db()
    assert sato.concurrent_use_at is None and sato.last_used_from == "198.51.100.20"


# --- The policy page, the service and the CLI ----------------------------------------------------


def test_policy_page_access(world, certs, client_for):
    url = reverse("pki:policy")
    assert client_for(world.admin).get(url).status_code == 200
    for user in (world.analyst, world.auditor, world.supplier1, world.nobody):
        assert client_for(user).get(url).status_code == 403
        assert client_for(user).post(url, {"suppliers": "on"}).status_code == 403
    assert client_for(world.outsider).get(url, {"organization": world.buyer.pk}).status_code == 404
    assert (
        client_for(world.outsider).post(url, {"organization": world.buyer.pk, "suppliers": "on"}).status_code
        == 404
    )
    assert not AccessPolicy.objects.exists()


def test_policy_page_query_count(world, certs, client_for, django_assert_num_queries):
    client = client_for(world.admin)
    client.get(reverse("pki:policy"))
    # session, user, administered organizations, the policy, the page frame's roles
    with django_assert_num_queries(5):
        assert client.get(reverse("pki:policy")).status_code == 200


def test_policy_page_saves_audits_and_publishes(world, certs, client_for, django_capture_on_commit_callbacks):
    client = client_for(world.admin)
    entries = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pki:policy"), {"organization": world.buyer.pk, "suppliers": "on"})
    assert response.status_code == 302
    policy = AccessPolicy.objects.get(organization=world.buyer)
    assert (policy.suppliers, policy.api, policy.staff_roles, policy.updated_by) == (
        True,
        False,
        [],
        world.admin,
    )
    assert AuditEntry.objects.count() == entries + 1
    assert json.loads(mtls.policy_file().read_text())["policies"] == {
        str(world.buyer.pk): {"staff_roles": [], "suppliers": True, "api": False}
    }
    assert refused_status(client_for(world.supplier1).get(PAGE)) == "none"
    page = client.get(reverse("pki:policy"))
    assert page.context["form"].initial["suppliers"] is True
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("pki:policy"), {"organization": world.buyer.pk})
    assert not mtls.policy_file().exists()  # nothing required any more
    assert client_for(world.supplier1).get(PAGE).status_code == 200


def test_an_admin_cannot_lock_themselves_out(world, certs, client_for):
    client = client_for(world.admin)
    url = reverse("pki:policy")
    data = {"organization": world.buyer.pk, "staff_roles": ["admin"]}
    response = client.post(url, data)
    assert response.status_code == 400 and response.context["form"].non_field_errors()
    assert not AccessPolicy.objects.exists()
    # A certificate of the admin that is not for client authentication does not count either.
    assert client.post(url, data, SSL_CLIENT_CERT=certs["admin_smime"].certificate_pem).status_code == 400
    assert not AccessPolicy.objects.exists()
    # Requiring one for the API alone locks nobody out of the pages (the way back): allowed.
    assert client.post(url, {"organization": world.buyer.pk, "api": "on"}).status_code == 302
    assert client.post(url, data, SSL_CLIENT_CERT=certs["admin"].certificate_pem).status_code == 302
    assert AccessPolicy.objects.get().staff_roles == ["admin"]


def test_the_service_refuses_unknown_roles_and_non_admins(world):
    with pytest.raises(ServiceError):
        mtls.set_policy(SYSTEM, world.buyer, staff_roles=["root"], suppliers=False, api=False)
    with pytest.raises(ServiceError):
        mtls.set_policy(Actor(user=world.analyst), world.buyer, staff_roles=[], suppliers=True, api=False)
    assert not AccessPolicy.objects.exists()


def test_cli_shows_and_sets_the_policy(world, certs, pki_env, django_capture_on_commit_callbacks):
    out = StringIO()
    call_command("pki", "policy", "--organization", "buyer", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "organization": "buyer",
        "staff_roles": [],
        "suppliers": False,
        "api": False,
        "changed": False,
        "users_required": 0,
        "users_without_certificate": 0,
    }
    out, entries = StringIO(), AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "pki",
            "policy",
            "--organization",
            "buyer",
            "--staff-roles",
            "admin,analyst",
            "--suppliers",
            "on",
            "--json",
            stdout=out,
        )
    assert AuditEntry.objects.count() == entries + 1
    data = json.loads(out.getvalue())
    # admin, analyst, supplier1, supplier2 need one; all hold a live client certificate.
    assert data["staff_roles"] == ["admin", "analyst"] and data["suppliers"] and not data["api"]
    assert (data["users_required"], data["users_without_certificate"]) == (4, 0)
    assert json.loads(mtls.policy_file().read_text())["policies"][str(world.buyer.pk)]["suppliers"] is True
    services.revoke(SYSTEM, certs["sato"], "superseded")
    out = StringIO()
    call_command("pki", "policy", "--organization", "buyer", "--api", "on", stdout=out)
    # With the API: the auditor too (no certificate), and supplier1's was revoked.
    assert "5 user(s) need a certificate, 2 of them hold no live" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("pki", "policy", "--organization", "buyer", "--staff-roles", "root", stdout=StringIO())


def test_policies_come_from_the_database_when_the_file_is_unreadable(world, certs, client_for, require):
    require(suppliers=True)
    mtls.policy_file().write_text("{not json")
    assert refused_status(client_for(world.supplier1).get(PAGE)) == "none"
