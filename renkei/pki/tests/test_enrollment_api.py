"""The enrollment API for MDM automation: links (create with the URL once, list, revoke) and
issuing from a CSR; administrators only, a foreign organization or link is a 404; the OpenAPI
schema describes it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.pki import enrollment
from renkei.pki.ca import init_ca
from renkei.pki.models import Certificate, EnrollmentLink
from renkei.pki.tests.helpers import SYSTEM, csr_bytes, openssl, openssl_csr

pytestmark = pytest.mark.django_db

LINKS = "/api/v1/enrollment-links/"
ISSUE = "/api/v1/certificates/issue/"


def test_routes():
    assert reverse("enrollmentlink-list") == LINKS
    assert reverse("certificate-issue") == ISSUE


def test_admin_creates_a_link_whose_url_is_shown_once_and_redeems(ca, world, api_for, smtp, tmp_path):
    api = api_for(world.admin)
    response = api.post(
        LINKS, {"user": "supplier1", "profile": "client", "device": "iPhone-佐藤"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["url"].startswith("https://renkei.example.jp/pki/enroll/") and body["mailed"] is False
    assert (body["username"], body["profile"], body["method"], body["state"]) == (
        "supplier1",
        "client",
        "pkcs12",
        "active",
    )
    assert not smtp.messages  # the caller (MDM) delivers the URL
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    detail = api.get(f"{LINKS}{body['id']}/").json()
    assert "url" not in detail and token not in str(detail) and "token_hash" not in detail
    assert token not in str(api.get(LINKS).json())
    bundle = enrollment.redeem_pkcs12(token)
    (tmp_path / "b.p12").write_bytes(bundle.data)
    assert (
        openssl(
            "pkcs12", "-info", "-in", str(tmp_path / "b.p12"), "-nokeys", "-passin", f"pass:{bundle.password}"
        ).returncode
        == 0
    )
    used = api.get(f"{LINKS}{body['id']}/").json()
    assert used["state"] == "used" and used["certificate"] == bundle.certificate.serial
    # With send_email the link is also mailed.
    mailed = api.post(
        LINKS,
        {
            "user": "supplier2",
            "profile": "device",
            "device": "PC-2",
            "method": "csr",
            "send_email": True,
            "days": 3,
            "batch": "mdm",
        },
        format="json",
    ).json()
    assert mailed["mailed"] and len(smtp.to(world.supplier2.email)) == 1
    assert mailed["url"] in smtp.to(world.supplier2.email)[0].text


def test_create_refusals_are_400_with_the_field(ca, world, api_for):
    api = api_for(world.admin)
    with translation.override("en"):
        assert api.post(LINKS, {"user": "ghost", "profile": "client"}, format="json").json() == {
            "user": ["ユーザー ghost はいません。"]
        }
        response = api.post(
            LINKS, {"user": "supplier2", "profile": "device"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 400 and "device" in response.json()
    assert api.post(LINKS, {"user": "xcontact", "profile": "client"}, format="json").status_code == 400
    assert (
        api.post(LINKS, {"user": "supplier1", "profile": "client", "days": 0}, format="json").status_code
        == 400
    )
    assert api.post(LINKS, {"user": "supplier1", "profile": "nope"}, format="json").status_code == 400
    assert EnrollmentLink.objects.count() == 0


def test_list_filters_and_revoke(ca, world, api_for):
    admin = api_for(world.admin)
    ids = [
        admin.post(LINKS, {"user": "supplier1", "profile": "test", "batch": batch}, format="json").json()[
            "id"
        ]
        for batch in ("a", "a", "b")
    ]
    assert [row["id"] for row in admin.get(LINKS, {"batch": "a"}).json()["results"]] == ids[1::-1]
    assert admin.get(LINKS, {"state": "nonsense"}).status_code == 400
    assert admin.get(LINKS, {"user": "supplier1"}).json()["count"] == 3
    revoked = admin.post(f"{LINKS}{ids[0]}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert {row["id"] for row in admin.get(LINKS, {"state": "active"}).json()["results"]} == set(ids[1:])
    assert api_for(world.auditor).get(LINKS).json()["count"] == 3  # auditors read


def test_permissions_contact_and_auditor_403_foreign_organization_404(ca, world, api_for):
    init_ca(SYSTEM, world.other)
    link, _token = enrollment.create_link(SYSTEM, world.buyer, world.supplier1, "client", mailed=False)
    csr = csr_bytes().decode()
    body = {"user": "supplier1", "profile": "client"}
    for user in (world.supplier1, world.nobody):
        api = api_for(user)
        assert api.get(LINKS).status_code == 403
        assert api.post(LINKS, body, format="json").status_code == 403
        assert api.post(ISSUE, {**body, "csr": csr}, format="json").status_code == 403
        assert api.get(f"{LINKS}{link.pk}/").status_code == 404
        assert api.post(f"{LINKS}{link.pk}/revoke/").status_code == 404
    for user in (world.auditor, world.analyst):
        api = api_for(user)
        assert api.post(LINKS, body, format="json").status_code == 403
        assert api.post(ISSUE, {**body, "csr": csr}, format="json").status_code == 403
        assert api.post(f"{LINKS}{link.pk}/revoke/").status_code == 403
    outsider = api_for(world.outsider)
    assert outsider.post(LINKS, {**body, "organization": world.buyer.pk}, format="json").status_code == 404
    assert (
        outsider.post(ISSUE, {**body, "csr": csr, "organization": world.buyer.pk}, format="json").status_code
        == 404
    )
    assert outsider.get(f"{LINKS}{link.pk}/").status_code == 404
    assert outsider.post(f"{LINKS}{link.pk}/revoke/").status_code == 404
    assert outsider.get(LINKS).json()["count"] == 0
    # Its own organization, but the buyer's supplier contact: not its person.
    assert outsider.post(LINKS, body, format="json").status_code == 400
    assert EnrollmentLink.objects.count() == 1 and EnrollmentLink.objects.get().revoked_at is None
    assert Certificate.objects.count() == 0


def test_issue_from_a_csr(ca, world, api_for, tmp_path, chain_file):
    api = api_for(world.admin)
    csr = openssl_csr(tmp_path, "mdm", key="ec:P-256").read_text()
    entries = AuditEntry.objects.count()
    response = api.post(
        ISSUE, {"user": "supplier2", "profile": "device", "device": "MDM-0042", "csr": csr}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"serial", "not_after", "fingerprint_sha256", "certificate_pem"}
    cert = Certificate.objects.get(serial=body["serial"])
    assert (cert.user, cert.device_name, cert.issued_by, cert.method) == (
        world.supplier2,
        "MDM-0042",
        world.admin,
        "csr",
    )
    assert (
        body["certificate_pem"] == cert.certificate_pem
        and body["fingerprint_sha256"] == cert.fingerprint_sha256
    )
    assert body["not_after"].endswith("Z")
    (tmp_path / "c.pem").write_text(body["certificate_pem"])
    assert openssl("verify", "-CAfile", str(chain_file), str(tmp_path / "c.pem")).returncode == 0
    assert AuditEntry.objects.count() == entries + 1
    weak = openssl_csr(tmp_path, "weak", key="rsa:1024").read_text()
    refused = api.post(
        ISSUE, {"user": "supplier2", "profile": "device", "device": "W", "csr": weak}, format="json"
    )
    assert refused.status_code == 400 and "2048" in str(refused.json())
    assert (
        api.post(
            ISSUE, {"user": "supplier2", "profile": "device", "device": "W", "csr": "garbage"}, format="json"
        ).status_code
        == 400
    )
    assert (
        api.post(
            ISSUE,
            {"user": "supplier2", "profile": "device", "device": "W", "csr": "A" * 20000},
            format="json",
        ).status_code
        == 400
    )
    assert Certificate.objects.count() == 1


def test_list_query_count_does_not_grow(ca, world, api_for, django_assert_num_queries):
    api = api_for(world.admin)
    api.post(LINKS, {"user": "supplier1", "profile": "test"}, format="json")
    api.get(LINKS)
    with django_assert_num_queries(4):
        api.get(LINKS)
    for i in range(5):
        token = api.post(
            LINKS, {"user": "supplier1", "profile": "test", "device": str(i)}, format="json"
        ).json()
        if i % 2:
            enrollment.redeem_pkcs12(token["url"].rstrip("/").rsplit("/", 1)[1])
    with django_assert_num_queries(4):
        assert api.get(LINKS).json()["count"] == 6


def test_the_openapi_schema_describes_the_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths[LINKS]) >= {"get", "post"} and "post" in paths[LINKS + "{id}/revoke/"]
    created = paths[LINKS]["post"]
    assert "201" in created["responses"]
    request = schema["components"]["schemas"]["EnrollmentLinkCreateRequest"]["properties"]
    assert {"user", "profile", "method", "device", "legacy", "days", "batch", "send_email"} <= set(request)
    assert "url" in schema["components"]["schemas"]["EnrollmentLinkCreated"]["properties"]
    issue = paths[ISSUE]["post"]
    assert issue["operationId"] == "certificates_issue"
    issued = schema["components"]["schemas"]["IssuedCertificate"]["properties"]
    assert set(issued) == {"serial", "not_after", "fingerprint_sha256", "certificate_pem"}
    states = str(paths[LINKS]["get"]["parameters"])
    assert "batch" in states and "state" in states
