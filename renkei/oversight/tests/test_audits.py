"""Audits: plan, findings (with checked evidence), actions and risks, what contacts see; the API."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from renkei.oversight import audit_services as audits
from renkei.oversight.models import Audit, Finding, Intake
from renkei.oversight.services import NotAllowed, OversightError
from renkei.oversight.tests.helpers import SYSTEM, actor, answer_all, candidate
from renkei.remediation.models import Action
from renkei.risk.models import Risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


def _audit(world, supplier=None, **extra):
    return audits.plan_audit(
        actor(world.analyst),
        supplier or world.s1,
        planned_on=datetime.date(2030, 5, 1),
        scope="リモート保守環境",
        **extra,
    )


def test_findings_become_actions_and_risks(world):
    audit = _audit(world)
    finding = audits.add_finding(
        actor(world.analyst), audit, title="VPN 装置が古い", severity="high", description="更新されていない"
    )
    finding = audits.finding_to_risk(actor(world.analyst), finding)
    risk = Risk.objects.get(pk=finding.risk_id)
    assert (risk.source, risk.inherent_likelihood, risk.source_key) == (
        "audit",
        4,
        f"audit:{audit.pk}:finding:{finding.pk}",
    )
    assert audits.finding_to_risk(actor(world.analyst), finding).risk_id == risk.pk  # idempotent
    finding = audits.finding_to_action(actor(world.analyst), finding, due_on=datetime.date(2030, 6, 1))
    action = Action.objects.get(pk=finding.action_id)
    assert (action.source, action.risk_id, action.due_on, action.plan.supplier_id) == (
        "audit",
        risk.pk,
        datetime.date(2030, 6, 1),
        world.s1.pk,
    )
    with pytest.raises(OversightError):
        audits.finding_to_action(actor(world.analyst), finding)


def test_status_transitions_and_release(world):
    audit = _audit(world)
    with pytest.raises(OversightError):
        audits.release_report(actor(world.analyst), audit)
    audit = audits.set_status(actor(world.analyst), audit, "done", summary="概ね良好")
    assert audit.done_on is not None
    with pytest.raises(OversightError):
        audits.set_status(actor(world.analyst), audit, "cancelled")
    assert audits.release_report(actor(world.analyst), audit).report_released_at is not None
    cancelled = audits.set_status(actor(world.analyst), _audit(world), "cancelled")
    with pytest.raises(OversightError):
        audits.add_finding(actor(world.analyst), cancelled, title="x")


def test_auditor_role_is_read_only(world, client_for):
    audit = _audit(world)
    finding = audits.add_finding(SYSTEM, audit, title="所見")
    with pytest.raises(NotAllowed):
        audits.plan_audit(actor(world.auditor), world.s1, planned_on=datetime.date(2030, 1, 1), scope="x")
    client = client_for(world.auditor)
    assert client.get(reverse("oversight:audit-detail", args=[audit.pk])).status_code == 200
    for url in (
        reverse("oversight:audit-new"),
        reverse("oversight:audit-edit", args=[audit.pk]),
        reverse("oversight:audit-status", args=[audit.pk]),
        reverse("oversight:audit-release", args=[audit.pk]),
        reverse("oversight:finding-new", args=[audit.pk]),
        reverse("oversight:finding-action", args=[finding.pk]),
        reverse("oversight:finding-risk", args=[finding.pk]),
    ):
        assert (
            client.post(
                url,
                {"supplier": "S1", "scope": "x", "planned_on": "2030-01-01", "status": "done", "title": "x"},
            ).status_code
            == 403
        ), url
    assert Audit.objects.count() == 1 and not Action.objects.exists()


def test_contact_sees_own_audits_and_findings_only_once_released(world, client_for, api_for):
    audit = _audit(world)
    audits.add_finding(SYSTEM, audit, title="SECRET-FINDING")
    other = _audit(world, world.s2)
    contact = client_for(world.supplier1)
    page = contact.get(reverse("oversight:audit-detail", args=[audit.pk]))
    assert page.status_code == 200 and "SECRET-FINDING" not in page.content.decode()
    assert contact.get(reverse("oversight:audit-detail", args=[other.pk])).status_code == 404
    assert [a.pk for a in contact.get(reverse("oversight:audits")).context["page"].object_list] == [audit.pk]
    api = api_for(world.supplier1)
    assert api.get(reverse("finding-list")).json()["count"] == 0
    audits.set_status(SYSTEM, audit, "done")
    audits.release_report(SYSTEM, audit)
    assert (
        "SECRET-FINDING" in contact.get(reverse("oversight:audit-detail", args=[audit.pk])).content.decode()
    )
    body = api.get(reverse("audit-detail", args=[audit.pk])).json()
    assert [f["title"] for f in body["findings"]] == ["SECRET-FINDING"]
    assert api.get(reverse("audit-detail", args=[other.pk])).status_code == 404
    tab = contact.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=audits")
    assert tab.status_code == 200 and list(tab.context["audits"]) == [audit]
    # Contacts never write.
    assert api.post(reverse("audit-release", args=[audit.pk])).status_code == 403
    assert contact.post(reverse("oversight:finding-new", args=[audit.pk]), {"title": "x"}).status_code == 403


def test_finding_evidence_is_checked_and_downloaded(world, client_for, media):
    audit = _audit(world)
    client = client_for(world.analyst)
    bad = SimpleUploadedFile("photo.pdf", b"not a pdf", content_type="application/pdf")
    response = client.post(
        reverse("oversight:finding-new", args=[audit.pk]),
        {"title": "所見", "severity": "low", "evidence": bad},
    )
    assert response.status_code == 200 and not Finding.objects.exists()
    good = SimpleUploadedFile("../../写真.pdf", b"%PDF-1.4 ok", content_type="application/pdf")
    response = client.post(
        reverse("oversight:finding-new", args=[audit.pk]),
        {"title": "所見", "severity": "low", "evidence": good},
    )
    assert response.status_code == 302
    finding = Finding.objects.get()
    assert ".." not in finding.evidence.name and finding.evidence.name.endswith(".pdf")
    download = client.get(reverse("oversight:finding-evidence", args=[finding.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert (
        client_for(world.supplier1).get(reverse("oversight:finding-evidence", args=[finding.pk])).status_code
        == 404
    )  # not released


def test_audit_pages_flow_and_list_query_count(world, client_for, django_assert_max_num_queries):
    client = client_for(world.analyst)
    response = client.post(
        reverse("oversight:audit-new"),
        {
            "supplier": "S1",
            "kind": "remote",
            "planned_on": "2030-04-01",
            "scope": "図面の取扱い",
            "auditors": "佐々木",
        },
    )
    audit = Audit.objects.get()
    assert response.status_code == 302 and audit.kind == "remote"
    client.post(reverse("oversight:finding-new", args=[audit.pk]), {"title": "所見1", "severity": "high"})
    finding = Finding.objects.get()
    client.post(
        reverse("oversight:finding-action", args=[finding.pk]),
        {"due_on": "2030-05-01", "owner_side": "supplier"},
    )
    assert Finding.objects.get().action.source == "audit"
    client.post(
        reverse("oversight:audit-status", args=[audit.pk]), {"status": "done", "done_on": "2030-04-01"}
    )
    client.post(reverse("oversight:audit-release", args=[audit.pk]))
    assert Audit.objects.get().report_released_at is not None
    assert (
        client.post(
            reverse("oversight:audit-new"),
            {"supplier": "X1", "kind": "remote", "planned_on": "2030-04-01", "scope": "x"},
        ).status_code
        == 200
    )
    with django_assert_max_num_queries(15) as few:
        client.get(reverse("oversight:audits"))
    for n in range(6):
        audits.add_finding(SYSTEM, _audit(world, world.s2), title=f"f{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("oversight:audits"))


def test_api_intake_flow(world, api_for):
    admin = api_for(world.admin)
    supplier = candidate(world.buyer, "C1")
    intake = Intake.objects.get(supplier=supplier)
    url = reverse("intake-detail", args=[intake.pk])
    assert admin.post(url + "confirm-profile/").json()["steps"][0]["state"] == "done"
    body = admin.post(url + "send-questionnaire/", {"due_on": "2030-01-31"}, format="json").json()
    answer_all(Intake.objects.get(pk=intake.pk).assessment)
    assert body["assessment"]
    refused = api_for(world.analyst).post(
        url + "decide/", {"decision": "approved", "reasons": "x"}, format="json"
    )
    assert refused.status_code == 403
    bad = admin.post(url + "decide/", {"decision": "conditional", "reasons": "x"}, format="json")
    assert bad.status_code == 400
    body = admin.post(
        url + "decide/",
        {
            "decision": "conditional",
            "reasons": "条件付き",
            "conditions": [{"title": "MFA", "due_on": "2030-02-01"}],
        },
        format="json",
    ).json()
    assert body["decision"] == "conditional" and body["supplier_status"] == "active"
    assert body["conditions"][0]["action"] == Action.objects.get(source="intake").pk
    assert api_for(world.supplier1).get(reverse("intake-list")).json()["count"] == 0
    assert api_for(world.outsider).get(url).status_code == 404


def test_api_checklist_and_audits(world, api_for):
    from renkei.risk.services import recompute_organization

    recompute_organization(world.buyer)
    api = api_for(world.auditor)
    rows = api.get(reverse("contractcheck-list") + "?missing=audit_right").json()["results"]
    assert [r["supplier"] for r in rows] == ["S1"] and "audit_right" in rows[0]["missing"]
    assert api.get(reverse("contractcheck-list") + "?missing=bogus").status_code == 400
    assert api_for(world.supplier1).get(reverse("contractcheck-list")).json()["count"] == 0
    analyst = api_for(world.analyst)
    created = analyst.post(
        reverse("audit-list"),
        {"supplier": world.s1.pk, "planned_on": "2030-01-01", "scope": "範囲", "kind": "onsite"},
        format="json",
    )
    assert created.status_code == 201
    audit_id = created.json()["id"]
    assert api.post(reverse("audit-list"), {"supplier": world.s1.pk}, format="json").status_code == 403
    assert (
        api_for(world.outsider)
        .post(
            reverse("audit-list"),
            {"supplier": world.s1.pk, "planned_on": "2030-01-01", "scope": "x"},
            format="json",
        )
        .status_code
        == 404
    )
    finding = analyst.post(
        reverse("finding-list"), {"audit": audit_id, "title": "所見", "severity": "high"}, format="json"
    ).json()
    acted = analyst.post(
        reverse("finding-to-action", args=[finding["id"]]), {"due_on": "2030-03-01"}, format="json"
    ).json()
    assert acted["action"] == Action.objects.get(source="audit").pk
    assert analyst.post(reverse("finding-to-risk", args=[finding["id"]])).json()["risk"]
    done = analyst.post(reverse("audit-set-status", args=[audit_id]), {"status": "done"}, format="json")
    assert done.json()["status"] == "done"


def test_cli_audits_json(world, capsys):
    audit = _audit(world)
    audits.add_finding(SYSTEM, audit, title="所見", severity="low")
    call_command("oversight", "audits", "--supplier", "S1", "--json")
    data = json.loads(capsys.readouterr().out)
    [row] = data["audits"]
    assert (row["supplier"], row["status"], row["findings"][0]["title"]) == ("S1", "planned", "所見")
    with pytest.raises(Exception, match="No supplier"):
        call_command("oversight", "audits", "--supplier", "NOPE", "--json")


def test_hostile_text_is_escaped_on_oversight_pages(world, client_for):
    hostile = '<script>alert(1)</script>"onmouseover="alert(2)'
    audit = audits.plan_audit(
        SYSTEM, world.s1, planned_on=datetime.date(2030, 1, 1), scope=hostile, auditors=hostile
    )
    audits.add_finding(SYSTEM, audit, title=hostile[:200], description=hostile)
    supplier = candidate(world.buyer, "C1", name=hostile)
    intake = Intake.objects.get(supplier=supplier)
    admin = client_for(world.admin)
    for url in (
        reverse("oversight:audits"),
        reverse("oversight:audit-detail", args=[audit.pk]),
        reverse("oversight:intakes"),
        reverse("oversight:intake-detail", args=[intake.pk]),
        reverse("oversight:contracts"),
        reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=audits",
    ):
        text = admin.get(url).content.decode()
        assert "<script>alert(1)" not in text and '"onmouseover="' not in text, url
