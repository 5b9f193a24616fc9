"""/api/v1/deliveries/ and /api/v1/software-findings/: for_user everywhere, registration through
the service, VEX, triage and its refusals."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from renkei.deliveries.models import Delivery, Finding
from renkei.deliveries.tests.helpers import delivery, vulnerable

pytestmark = pytest.mark.django_db

DJANGO = ("Django", "4.2.0", "pkg:pypi/django@4.2.0")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


def _sbom(name: str = "bom.cdx.json") -> SimpleUploadedFile:
    from renkei.deliveries.tests.factories import cyclonedx

    return SimpleUploadedFile(name, cyclonedx([DJANGO]))


def test_list_and_retrieve_follow_for_user(world, api_for):
    own = vulnerable(world.s1, findings=2, signature_status="valid")
    other = delivery(world.s2)
    foreign = delivery(world.x1)
    staff = api_for(world.auditor).get(reverse("delivery-list")).json()
    assert {row["id"] for row in staff["results"]} == {own.pk, other.pk}
    contact = api_for(world.supplier1).get(reverse("delivery-list")).json()
    assert [row["id"] for row in contact["results"]] == [own.pk]
    detail = api_for(world.supplier1).get(reverse("delivery-detail", args=[own.pk])).json()
    assert detail["artifacts"][0]["sha256"] == "0" * 64
    assert detail["artifacts"][0]["signature_status"] == "valid"
    assert detail["sboms"][0]["completeness"] == 80
    assert detail["findings_summary"] == {"open": 2, "total": 2, "by_severity": {"critical": 1, "high": 1}}
    for user, row in ((world.supplier1, other), (world.outsider, own), (world.supplier2, own)):
        assert api_for(user).get(reverse("delivery-detail", args=[row.pk])).status_code == 404
    assert api_for(world.admin).get(reverse("delivery-detail", args=[foreign.pk])).status_code == 404


def test_list_filters(world, api_for):
    bad = vulnerable(world.s1, findings=1, signature_status="revoked")
    delivery(world.s2, signature_status="valid")
    client = api_for(world.analyst)
    for query in ("?vulnerable=true", "?signature=problem", f"?supplier={world.s1.pk}"):
        rows = client.get(reverse("delivery-list") + query).json()["results"]
        assert [row["id"] for row in rows] == [bad.pk], query


def test_list_query_count_is_constant(world, api_for, django_assert_num_queries):
    for index in range(12):
        vulnerable(world.s1, findings=1, product=f"製品{index}")
    client = api_for(world.analyst)
    with django_assert_num_queries(3):  # token, count, page
        response = client.get(reverse("delivery-list"))
    assert response.json()["count"] == 12


def test_staff_registers_a_delivery_with_artifacts_and_signature_order(world, api_for, media):
    response = api_for(world.analyst).post(
        reverse("delivery-list"),
        {
            "supplier": world.s1.pk,
            "product": "生産管理システム",
            "version": "2.0",
            "artifact": [SimpleUploadedFile("a.zip", b"first"), SimpleUploadedFile("b.zip", b"second")],
            "sbom": _sbom(),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    created = Delivery.objects.get()
    assert body["id"] == created.pk and body["source"] == "api"
    assert [a["name"] for a in body["artifacts"]] == ["a.zip", "b.zip"]
    assert (
        body["artifacts"][0]["sha256"] == "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e"
    )
    assert body["artifacts"][0]["signature_status"] == "none"
    assert body["sboms"][0]["component_count"] == 1 and "quality" in body["sboms"][0]
    assert body["findings_summary"]["open"] == 0


def test_more_signatures_than_artifacts_is_refused(world, api_for, media):
    response = api_for(world.analyst).post(
        reverse("delivery-list"),
        {
            "supplier": world.s1.pk,
            "product": "製品",
            "version": "1",
            "artifact_signature": [SimpleUploadedFile("a.p7s", b"sig")],
            "sbom": _sbom(),
        },
        format="multipart",
    )
    assert response.status_code == 400 and "artifact_signature" in response.json()
    assert not Delivery.objects.exists()


def test_registration_field_errors(world, api_for, media):
    response = api_for(world.analyst).post(
        reverse("delivery-list"),
        {"supplier": world.s1.pk, "product": "", "version": "1", "sbom": _sbom()},
        format="multipart",
    )
    assert response.status_code == 400 and "product" in response.json()


def test_contact_registers_for_its_supplier_without_naming_it(world, api_for, media):
    response = api_for(world.supplier1).post(
        reverse("delivery-list"),
        {"product": "検査装置ソフト", "version": "3.0", "sbom": _sbom()},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert Delivery.objects.get().supplier == world.s1


def test_contact_cannot_register_for_another_supplier(world, api_for, media):
    client = api_for(world.supplier1)
    for supplier in (world.s2, world.x1):
        response = client.post(
            reverse("delivery-list"),
            {"supplier": supplier.pk, "product": "製品", "version": "1", "sbom": _sbom()},
            format="multipart",
        )
        assert response.status_code == 400 and "supplier" in response.json()
    missing = client.post(
        reverse("delivery-list"),
        {"supplier": 999999, "product": "製品", "version": "1", "sbom": _sbom()},
        format="multipart",
    )
    assert missing.json() == response.json()
    assert not Delivery.objects.exists()


def test_auditor_cannot_register(world, api_for, media):
    response = api_for(world.auditor).post(
        reverse("delivery-list"),
        {"supplier": world.s1.pk, "product": "製品", "version": "1", "sbom": _sbom()},
        format="multipart",
    )
    assert response.status_code == 403
    assert not Delivery.objects.exists()


def test_findings_of_a_delivery(world, api_for, django_assert_max_num_queries):
    row = vulnerable(world.s1, findings=5)
    client = api_for(world.supplier1)
    with django_assert_max_num_queries(5):
        response = client.get(reverse("delivery-findings", args=[row.pk]))
    body = response.json()
    assert body["count"] == 5
    assert [f["severity"] for f in body["results"]] == ["critical", "high", "medium", "low", "unknown"]
    first = body["results"][0]
    assert first["aliases"] == ["CVE-2026-1000"] and first["fixed"] == ["2.0"]
    assert first["component"]["purl"] == "pkg:pypi/lib-0@1.0" and first["open"] is True
    assert api_for(world.supplier2).get(reverse("delivery-findings", args=[row.pk])).status_code == 404


def test_vex_export_and_import(world, api_for):
    row = vulnerable(world.s1, findings=1)
    client = api_for(world.supplier1)
    export = client.get(reverse("delivery-vex", args=[row.pk]))
    assert export.status_code == 200
    document = json.loads(export.content)
    document["vulnerabilities"][0]["analysis"] = {
        "state": "not_affected",
        "justification": "code_not_reachable",
    }
    response = client.post(reverse("delivery-vex", args=[row.pk]), document, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["updated"] == 1
    assert Finding.objects.get(delivery=row).vex_state == "not_affected"
    upload = SimpleUploadedFile("vex.json", b"{broken")
    assert (
        client.post(reverse("delivery-vex", args=[row.pk]), {"file": upload}, format="multipart").status_code
        == 400
    )


def test_vex_of_another_suppliers_delivery_is_404(world, api_for):
    row = vulnerable(world.s1, findings=1)
    client = api_for(world.supplier2)
    assert client.get(reverse("delivery-vex", args=[row.pk])).status_code == 404
    assert (
        client.post(
            reverse("delivery-vex", args=[row.pk]), {"bomFormat": "CycloneDX"}, format="json"
        ).status_code
        == 404
    )


def test_software_findings_list_and_filters(world, api_for):
    own = vulnerable(world.s1, findings=3)
    vulnerable(world.s2, findings=1, product="他")
    vulnerable(world.x1, findings=1, product="他社")
    staff = api_for(world.analyst)
    assert staff.get(reverse("softwarefinding-list")).json()["count"] == 4
    assert staff.get(reverse("softwarefinding-list") + f"?delivery={own.pk}").json()["count"] == 3
    assert staff.get(reverse("softwarefinding-list") + f"?supplier={world.s2.pk}").json()["count"] == 1
    assert staff.get(reverse("softwarefinding-list") + "?severity=critical").json()["count"] == 2
    assert staff.get(reverse("softwarefinding-list") + "?q=CVE-2026-1001").json()["count"] == 1
    assert staff.get(reverse("softwarefinding-list") + "?q=lib-2").json()["count"] == 1
    Finding.objects.filter(delivery=own, osv_id="RENKEI-TEST-1000").update(vex_state="fixed")
    assert staff.get(reverse("softwarefinding-list") + "?open=true").json()["count"] == 3
    assert staff.get(reverse("softwarefinding-list") + "?open=false").json()["count"] == 1
    contact = api_for(world.supplier1).get(reverse("softwarefinding-list")).json()
    assert contact["count"] == 3


def test_triage_through_the_api(world, api_for):
    item = vulnerable(world.s1, findings=1).findings.get()
    url = reverse("softwarefinding-triage", args=[item.pk])
    response = api_for(world.supplier1).post(
        url, {"state": "affected", "detail": "3.1 で修正予定"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["vex_state"] == "affected"
    refused = api_for(world.analyst).post(url, {"state": "not_affected"}, format="json")
    assert refused.status_code == 400 and "justification" in refused.json()
    assert api_for(world.auditor).post(url, {"state": "fixed"}, format="json").status_code == 403
    assert api_for(world.supplier2).post(url, {"state": "fixed"}, format="json").status_code == 404
    assert api_for(world.outsider).post(url, {"state": "fixed"}, format="json").status_code == 404
    item.refresh_from_db()
    assert item.vex_state == "affected"
