"""Staff pages of delivered software: the list, registering, a delivery's page, triage and VEX.

Deliveries are built with the ORM (renkei.deliveries.tests.helpers) except where the page calls
the registration service. Strings are asserted in English under translation.override("en");
the Japanese pages are checked in test_views_ja.py once the catalogue is compiled.
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.deliveries.models import Delivery, Finding, VexState
from renkei.deliveries.tests.helpers import advisory, delivery, finding, vulnerable

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


def _en(client):
    """Pages follow the user's language: pin the client to English."""
    client.cookies["django_language"] = "en"
    return client


# --- The list ------------------------------------------------------------------------------------


def test_list_shows_the_organizations_deliveries_with_their_badges(world, client_for):
    bad = vulnerable(world.s1, findings=2, product="生産管理", signature_status="digest_mismatch")
    clean = delivery(world.s2, product="物流端末", signature_status="valid")
    foreign = delivery(world.x1, product="他社の製品")
    response = _en(client_for(world.analyst)).get(reverse("deliveries:list"))
    assert response.status_code == 200
    text = response.content.decode()
    assert f'data-delivery="{bad.pk}"' in text and f'data-delivery="{clean.pk}"' in text
    assert foreign.product not in text
    assert 'data-severity="critical"' in text and 'data-open="2"' in text
    assert 'data-signature="digest_mismatch"' in text and 'data-signature="valid"' in text
    assert 'value="80"' in text  # SBOM completeness meter
    assert "Register a delivery" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("vulnerable=true", {"bad"}),
        ("signature=problem", {"bad"}),
        ("signature=valid", {"clean"}),
        ("q=物流", {"clean"}),
        ("supplier={s1}", {"bad"}),
    ],
)
def test_list_filters(world, client_for, query, expected):
    rows = {
        "bad": vulnerable(world.s1, findings=1, product="生産管理", signature_status="revoked"),
        "clean": delivery(world.s2, product="物流端末", signature_status="valid"),
    }
    response = client_for(world.analyst).get(reverse("deliveries:list") + "?" + query.format(s1=world.s1.pk))
    shown = {name for name, row in rows.items() if f'data-delivery="{row.pk}"' in response.content.decode()}
    assert shown == expected


def test_empty_list_says_what_to_do(world, client_for):
    text = _en(client_for(world.analyst)).get(reverse("deliveries:list")).content.decode()
    assert 'id="deliveries-empty"' in text and "renkei osv import PATH" in text
    assert 'id="no-advisories"' in text
    assert reverse("deliveries:new") in text


def test_auditor_sees_the_list_without_the_register_button(world, client_for):
    delivery(world.s1)
    text = client_for(world.auditor).get(reverse("deliveries:list")).content.decode()
    assert 'id="new-delivery"' not in text
    assert client_for(world.auditor).get(reverse("deliveries:new")).status_code == 403


def test_contact_is_sent_from_the_staff_list_to_the_portal(world, client_for):
    response = client_for(world.supplier1).get(reverse("deliveries:list"))
    assert response.status_code == 302 and response["Location"] == reverse("deliveries:portal_list")
    assert client_for(world.nobody).get(reverse("deliveries:list")).status_code == 403


def test_navigation_links_the_list_for_staff_only(world, client_for):
    link = f'href="{reverse("deliveries:list")}"'
    assert link in client_for(world.auditor).get(reverse("dashboard")).content.decode()
    assert link not in client_for(world.supplier1).get(reverse("dashboard")).content.decode()
    page = client_for(world.analyst).get(reverse("deliveries:list")).content.decode()
    assert f'{link} aria-current="page"' in page


def test_list_query_count_does_not_grow_with_rows(world, client_for, django_assert_max_num_queries):
    for index in range(30):
        vulnerable(world.s1 if index % 2 else world.s2, findings=2, product=f"製品{index}")
    client = client_for(world.analyst)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("deliveries:list"))
    assert response.content.decode().count("data-delivery=") == 30


# --- Registering ---------------------------------------------------------------------------------


def _sbom() -> bytes:
    from renkei.deliveries.tests.factories import cyclonedx

    return cyclonedx(
        [
            ("log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
            ("Django", "4.2.0", "pkg:pypi/django@4.2.0"),
        ]
    )


def test_registering_through_the_page_creates_the_delivery(world, client_for, media):
    client = client_for(world.analyst)
    response = client.post(
        reverse("deliveries:new"),
        {
            "supplier": world.s1.pk,
            "product": "生産管理システム",
            "version": "2.1",
            "artifact_0": SimpleUploadedFile("setup.zip", b"PK\x03\x04 payload"),
            "sbom": SimpleUploadedFile("bom.cdx.json", _sbom()),
        },
    )
    created = Delivery.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "deliveries:detail", args=[created.pk]
    )
    assert (created.supplier, created.source, created.submitted_by) == (world.s1, "staff", world.analyst)
    assert created.component_count == 2
    assert created.artifacts.get().name == "setup.zip"
    # The message was made in the analyst's language (Japanese) when the form was posted.
    page = client.get(response["Location"]).content.decode()
    assert "を登録しました" in page and "log4j-core" in page


def test_page_errors_are_shown_next_to_the_fields(world, client_for, media):
    client = _en(client_for(world.analyst))
    response = client.post(
        reverse("deliveries:new"),
        {
            "supplier": world.s1.pk,
            "product": "",
            "version": "1",
            "signature_1": SimpleUploadedFile("lonely.p7s", b"sig"),
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "product" in form.errors and "signature_1" in form.errors
    assert not Delivery.objects.exists()


def test_a_file_the_service_refuses_is_shown_on_its_field(world, client_for, media):
    response = _en(client_for(world.analyst)).post(
        reverse("deliveries:new"),
        {
            "supplier": world.s1.pk,
            "product": "製品",
            "version": "1",
            "sbom": SimpleUploadedFile("bom.json", b"{not json"),
        },
    )
    assert response.status_code == 400
    assert "sbom" in response.context["form"].errors
    assert not Delivery.objects.exists()


def test_staff_cannot_register_for_another_buyers_supplier(world, client_for, media):
    response = client_for(world.analyst).post(
        reverse("deliveries:new"),
        {
            "supplier": world.x1.pk,
            "product": "製品",
            "version": "1",
            "sbom": SimpleUploadedFile("bom.cdx.json", _sbom()),
        },
    )
    assert response.status_code == 400 and "supplier" in response.context["form"].errors
    assert not Delivery.objects.exists()


# --- The delivery's page -------------------------------------------------------------------------


def test_detail_shows_files_sbom_findings_components_and_licences(world, client_for):
    row = vulnerable(world.s1, findings=2, signature_status="valid")
    closed = Finding.objects.filter(delivery=row).order_by("pk").last()
    Finding.objects.filter(pk=closed.pk).update(
        vex_state=VexState.NOT_AFFECTED, vex_justification="code_not_reachable"
    )
    text = _en(client_for(world.analyst)).get(reverse("deliveries:detail", args=[row.pk])).content.decode()
    for part in (
        'id="artifact-table"',
        "0" * 64,
        'id="completeness-',
        'data-element="supplier"',
        'data-problem="duplicate"',
        'id="component-table"',
        "pkg:pypi/lib-0@1.0",
        'id="licence-table"',
        "GPL-3.0-only",
        'id="resolved-findings"',
        'id="vex-import-form"',
        reverse("deliveries:advisory", args=["RENKEI-TEST-1000"]),
        "CVE-2026-1000",
        reverse("deliveries:triage", args=[closed.pk]),
        reverse("suppliers:detail", args=[world.s1.pk]),
    ):
        assert part in text, part
    assert 'class="table-wrap"' in text


def test_forbidden_licences_are_flagged_on_the_page(world, client_for):
    from renkei.deliveries.models import ForbiddenLicence

    row = delivery(world.s1, components=3)
    ForbiddenLicence.objects.create(organization=world.buyer, identifier="GPL-3.0-only")
    text = _en(client_for(world.analyst)).get(reverse("deliveries:detail", args=[row.pk])).content.decode()
    gpl = row.components.get(licenses="GPL-3.0-only")
    assert 'id="licence-flagged"' in text and f'data-flagged="{gpl.pk}"' in text


def test_component_search_on_the_page(world, client_for):
    row = delivery(world.s1, components=12)
    response = client_for(world.analyst).get(reverse("deliveries:detail", args=[row.pk]) + "?cq=lib-11")
    text = response.content.decode()
    wanted = row.components.get(name="lib-11")
    assert f'data-component="{wanted.pk}"' in text
    assert text.count("data-component=") == 1


def test_detail_query_count_with_50_findings(world, client_for, django_assert_max_num_queries):
    row = vulnerable(world.s1, findings=50, components=60)
    client = client_for(world.analyst)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("deliveries:detail", args=[row.pk]))
    assert response.content.decode().count('data-finding="') == 50


def test_foreign_and_missing_deliveries_are_404(world, client_for):
    row = delivery(world.s1)
    for user in (world.outsider, world.supplier2, world.nobody):
        client = client_for(user)
        for name in ("deliveries:detail", "deliveries:vex-export"):
            assert client.get(reverse(name, args=[row.pk])).status_code == 404, (user, name)
    assert client_for(world.analyst).get(reverse("deliveries:detail", args=[999999])).status_code == 404


def test_contact_opening_the_staff_page_goes_to_the_portal(world, client_for):
    row = delivery(world.s1)
    response = client_for(world.supplier1).get(reverse("deliveries:detail", args=[row.pk]))
    assert response["Location"] == reverse("deliveries:portal_detail", args=[row.pk])


def test_files_are_downloads_for_those_who_see_the_delivery(world, client_for, media):
    row = delivery(world.s1, artifacts=1)
    artifact = row.artifacts.get()
    (media / "deliveries" / "test").mkdir(parents=True)
    (media / "deliveries" / "test" / "setup-0.zip").write_bytes(b"PK")
    url = reverse("deliveries:artifact-file", args=[row.pk, artifact.pk])
    response = client_for(world.supplier1).get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert client_for(world.supplier2).get(url).status_code == 404
    other = delivery(world.s2)
    assert (
        client_for(world.analyst)
        .get(reverse("deliveries:artifact-file", args=[other.pk, artifact.pk]))
        .status_code
        == 404
    )


# --- Triage ----------------------------------------------------------------------------------------


def test_analyst_triages_a_finding(world, client_for):
    row = vulnerable(world.s1, findings=1)
    item = row.findings.get()
    url = reverse("deliveries:triage", args=[item.pk])
    client = _en(client_for(world.analyst))
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"state": "not_affected", "justification": "code_not_reachable", "detail": "呼び出し経路なし"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("deliveries:detail", args=[row.pk]) + f"#finding-{item.pk}"
    item.refresh_from_db()
    assert (item.vex_state, item.vex_justification, item.vex_by) == (
        "not_affected",
        "code_not_reachable",
        world.analyst,
    )
    assert Delivery.objects.get(pk=row.pk).open_findings == 0
    assert AuditEntry.objects.filter(object_type="deliveries.finding", object_id=str(item.pk)).exists()


def test_not_affected_without_a_reason_is_refused_on_the_form(world, client_for):
    item = vulnerable(world.s1, findings=1).findings.get()
    response = _en(client_for(world.analyst)).post(
        reverse("deliveries:triage", args=[item.pk]), {"state": "not_affected"}
    )
    assert response.status_code == 400
    assert "justification" in response.context["form"].errors
    item.refresh_from_db()
    assert item.vex_state == ""


def test_auditor_cannot_triage(world, client_for):
    item = vulnerable(world.s1, findings=1).findings.get()
    client = client_for(world.auditor)
    url = reverse("deliveries:triage", args=[item.pk])
    assert client.get(url).status_code == 200
    assert 'id="triage-form"' not in client.get(url).content.decode()
    assert client.post(url, {"state": "fixed"}).status_code == 403
    item.refresh_from_db()
    assert item.vex_state == ""


def test_contact_triages_its_own_finding_and_not_anothers(world, client_for):
    own = vulnerable(world.s1, findings=1).findings.get()
    other = vulnerable(world.s2, findings=1, product="他").findings.get()
    client = client_for(world.supplier1)
    response = client.post(
        reverse("deliveries:triage", args=[own.pk]), {"state": "fixed", "detail": "2.0 で修正"}
    )
    assert response["Location"].startswith(reverse("deliveries:portal_detail", args=[own.delivery_id]))
    assert client.post(reverse("deliveries:triage", args=[other.pk]), {"state": "fixed"}).status_code == 404
    assert client.get(reverse("deliveries:triage", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.vex_state == ""


# --- VEX -----------------------------------------------------------------------------------------


def test_vex_export_and_import_round_trip(world, client_for):
    row = vulnerable(world.s1, findings=2)
    first = row.findings.order_by("pk").first()
    client = client_for(world.analyst)
    export = client.get(reverse("deliveries:vex-export", args=[row.pk]))
    assert export.status_code == 200 and export["Content-Disposition"].startswith("attachment")
    document = json.loads(export.content)
    assert document["bomFormat"] == "CycloneDX"
    for vulnerability in document["vulnerabilities"]:
        if vulnerability["id"] == first.osv_id:
            vulnerability["analysis"] = {"state": "resolved", "detail": "2.0 に更新済み"}
    upload = SimpleUploadedFile("vex.json", json.dumps(document).encode())
    response = client.post(reverse("deliveries:vex-import", args=[row.pk]), {"file": upload})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.vex_state == VexState.FIXED


def test_broken_vex_is_refused_with_the_reason(world, client_for):
    row = vulnerable(world.s1, findings=1)
    upload = SimpleUploadedFile("vex.json", b"{broken")
    response = _en(client_for(world.analyst)).post(
        reverse("deliveries:vex-import", args=[row.pk]), {"file": upload}
    )
    assert response.status_code == 400
    assert "JSON" in " ".join(response.context["vex_form"].errors["file"])


def test_auditor_and_foreign_contact_cannot_import_vex(world, client_for):
    row = vulnerable(world.s1, findings=1)
    upload = SimpleUploadedFile("vex.json", b"{}")
    assert (
        client_for(world.auditor)
        .post(reverse("deliveries:vex-import", args=[row.pk]), {"file": upload})
        .status_code
        == 403
    )
    upload.seek(0)
    assert (
        client_for(world.supplier2)
        .post(reverse("deliveries:vex-import", args=[row.pk]), {"file": upload})
        .status_code
        == 404
    )


def test_advisory_page_lists_the_users_deliveries_it_reaches(world, client_for):
    adv = advisory(
        "GHSA-test-0001",
        aliases=["CVE-2021-44228"],
        severity="critical",
        cvss_score=10.0,
        references=[
            {"type": "WEB", "url": "https://example.org/advisory"},
            {"type": "WEB", "url": "javascript:alert(1)"},
        ],
        package="Maven/log4j-core",
    )
    own = delivery(world.s1, product="自社向け")
    finding(own, own.components.first(), adv)
    theirs = delivery(world.s2, product="他社向け")
    finding(theirs, theirs.components.first(), adv)
    staff = (
        _en(client_for(world.analyst)).get(reverse("deliveries:advisory", args=[adv.osv_id])).content.decode()
    )
    assert "自社向け" in staff and "他社向け" in staff and "CVE-2021-44228" in staff
    assert 'rel="noopener noreferrer nofollow"' in staff and "javascript:alert" not in staff
    assert "log4j-core" in staff
    contact = (
        client_for(world.supplier1).get(reverse("deliveries:advisory", args=[adv.osv_id])).content.decode()
    )
    assert "自社向け" in contact and "他社向け" not in contact
    assert reverse("deliveries:portal_detail", args=[own.pk]) in contact
    assert client_for(world.analyst).get(reverse("deliveries:advisory", args=["NOPE-1"])).status_code == 404
    assert client_for(world.nobody).get(reverse("deliveries:advisory", args=[adv.osv_id])).status_code == 403


def test_advisory_status_page_per_source(world, client_for):
    from django.utils import timezone

    from renkei.deliveries.models import OsvImport

    advisory("PYSEC-1", source="PyPI")
    advisory("PYSEC-2", source="PyPI", withdrawn=timezone.now())
    advisory("GHSA-x", source="npm")
    OsvImport.objects.create(
        source="PyPI",
        path="/data/PyPI/all.zip",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        counts={"added": 2, "withdrawn": 1},
    )
    response = _en(client_for(world.auditor)).get(reverse("deliveries:advisories"))
    text = response.content.decode()
    assert 'data-source="PyPI"' in text and 'data-source="npm"' in text
    assert response.context["rows"][0]["total"] == 2 and response.context["rows"][1]["active"] == 1
    assert "renkei osv import PATH" in text and "/data/PyPI/all.zip" in text
    assert "added 2 · withdrawn 1" in text
    japanese = client_for(world.auditor).get(reverse("deliveries:advisories")).content.decode()
    assert "追加 2 · 取り下げ 1" in japanese and "不正なレコード" in japanese
    assert client_for(world.supplier1).get(reverse("deliveries:advisories")).status_code == 403
