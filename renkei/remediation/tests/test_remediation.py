"""Remediation plans: services, pages for staff and supplier contacts, the contact's progress with
an evidence upload, verification lowering likelihood, permissions, API and CLI."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.remediation import services
from renkei.remediation.models import Action, ActionStatus, PlanStatus, RemediationPlan
from renkei.risk.models import Risk, SupplierRisk
from renkei.risk.services import recompute_organization
from renkei.risk.tests.test_register import answered

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
PDF = b"%PDF-1.4\n% evidence\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


def agreed_plan(supplier, *, sides=("supplier", "buyer"), due=None):
    plan = services.create_plan(SYSTEM, supplier, title="是正計画")
    for n, side in enumerate(sides):
        services.add_action(SYSTEM, plan, {"title": f"対策{n + 1}", "owner_side": side, "due_on": due})
    return services.agree_plan(SYSTEM, plan)


def test_create_action_finds_or_creates_the_open_plan(world):
    first = services.create_action(SYSTEM, world.s1, title="条件1", source="intake")
    second = services.create_action(
        SYSTEM, world.s1, title="監査指摘", source="audit", due_on="2030-03-31", owner_side="buyer"
    )
    assert first.plan_id == second.plan_id
    assert first.plan.status == PlanStatus.DRAFT and first.plan.title
    assert (second.owner_side, second.due_on) == ("buyer", datetime.date(2030, 3, 31))
    with pytest.raises(services.RemediationError) as bad:
        services.create_action(SYSTEM, world.s2, title="", source="nonsense", due_on="31/03")
    assert set(bad.value.errors) == {"title", "source", "due_on"}
    assert not RemediationPlan.objects.filter(supplier=world.s2).exists()  # refused before writing
    with pytest.raises(services.NotAllowed):
        services.create_action(Actor(user=world.auditor), world.s1, title="x", source="manual")


def test_plan_status_follows_its_actions(world):
    plan = agreed_plan(world.s1, sides=("supplier",))
    action = plan.actions.get()
    services.report_progress(SYSTEM, action, status="done", completion_note="済み")
    services.verify(Actor(user=world.analyst), action)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    services.add_action(SYSTEM, plan, {"title": "追加"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.AGREED
    with pytest.raises(services.RemediationError):
        services.agree_plan(SYSTEM, services.create_plan(SYSTEM, world.s2))  # no actions


def test_contact_reports_progress_with_evidence_in_the_portal_page(world, client_for, media):
    plan = agreed_plan(world.s1)
    supplier_side, buyer_side = plan.actions.order_by("pk")
    client = client_for(world.supplier1)
    page = client.get(reverse("remediation:detail", args=[plan.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert reverse("remediation:action-progress", args=[supplier_side.pk]) in text
    assert reverse("remediation:action-progress", args=[buyer_side.pk]) not in text
    assert "history" not in page.context or not page.context["history"]
    upload = SimpleUploadedFile("訓練報告書.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("remediation:action-progress", args=[supplier_side.pk]),
        {"status": "done", "completion_note": "全員受講", "evidence": upload},
    )
    assert response.status_code == 302
    supplier_side.refresh_from_db()
    assert (supplier_side.status, supplier_side.completion_note) == (ActionStatus.DONE, "全員受講")
    assert supplier_side.completed_at and supplier_side.evidence.name.endswith("訓練報告書.pdf")
    download = client.get(reverse("remediation:action-evidence", args=[supplier_side.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    entry = AuditEntry.objects.filter(
        object_type="remediation.action", object_id=str(supplier_side.pk)
    ).last()
    assert entry.actor == world.supplier1 and "evidence_sha256" in entry.changes
    # A file whose content does not match its extension is refused, nothing changes.
    fake = SimpleUploadedFile("report.pdf", b"MZ not a pdf", content_type="application/pdf")
    refused = client.post(reverse("remediation:action-progress", args=[supplier_side.pk]), {"evidence": fake})
    assert refused.status_code == 400
    supplier_side.refresh_from_db()
    assert supplier_side.evidence.name.endswith("訓練報告書.pdf")


def test_contact_cannot_touch_buyer_side_actions_or_verify(world, client_for, api_for):
    plan = agreed_plan(world.s1)
    supplier_side, buyer_side = plan.actions.order_by("pk")
    client = client_for(world.supplier1)
    entries = AuditEntry.objects.count()
    assert (
        client.post(
            reverse("remediation:action-progress", args=[buyer_side.pk]), {"status": "done"}
        ).status_code
        == 403
    )
    services.report_progress(SYSTEM, supplier_side, status="done")
    for name in ("action-verify", "action-send-back", "action-cancel", "action-update"):
        assert (
            client.post(
                reverse(f"remediation:{name}", args=[supplier_side.pk]), {"note": "x", "title": "x"}
            ).status_code
            == 403
        ), name
    for name in ("agree", "cancel", "update", "action-create"):
        assert client.post(reverse(f"remediation:{name}", args=[plan.pk]), {"title": "x"}).status_code == 403
    api = api_for(world.supplier1)
    assert api.post(reverse("action-verify", args=[supplier_side.pk]), {}, format="json").status_code == 403
    assert (
        api.post(
            reverse("action-progress", args=[buyer_side.pk]), {"status": "done"}, format="json"
        ).status_code
        == 403
    )
    assert (
        api.patch(
            reverse("action-detail", args=[supplier_side.pk]), {"title": "x"}, format="json"
        ).status_code
        == 403
    )
    # Contacts may not set verification through the progress form either.
    assert (
        client.post(
            reverse("remediation:action-progress", args=[supplier_side.pk]), {"status": "verified"}
        ).status_code
        == 400
    )
    assert AuditEntry.objects.count() == entries + 1
    supplier_side.refresh_from_db()
    assert supplier_side.status == ActionStatus.DONE and supplier_side.verified_by is None


def test_other_suppliers_contact_gets_404_and_drafts_stay_hidden(world, client_for, api_for):
    plan = agreed_plan(world.s1)
    draft = services.create_plan(SYSTEM, world.s1, title="下書き")
    action = plan.actions.first()
    other = client_for(world.supplier2)
    assert other.get(reverse("remediation:detail", args=[plan.pk])).status_code == 404
    assert (
        other.post(reverse("remediation:action-progress", args=[action.pk]), {"status": "done"}).status_code
        == 404
    )
    assert other.get(reverse("remediation:action-evidence", args=[action.pk])).status_code == 404
    assert client_for(world.outsider).get(reverse("remediation:detail", args=[plan.pk])).status_code == 404
    own = client_for(world.supplier1)
    assert own.get(reverse("remediation:detail", args=[draft.pk])).status_code == 404
    assert [
        p["id"] for p in api_for(world.supplier1).get(reverse("remediationplan-list")).json()["results"]
    ] == [plan.pk]
    assert api_for(world.supplier2).get(reverse("action-list")).json()["results"] == []
    tab = own.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=remediation")
    assert tab.status_code == 200 and [p.pk for p in tab.context["plans"]] == [plan.pk]
    assert "plan-create-form" not in tab.content.decode()


def test_staff_pages_create_agree_verify_and_send_back(world, client_for):
    client = client_for(world.analyst)
    response = client.post(reverse("remediation:create"), {"supplier": world.s2.pk, "title": "物流の是正"})
    plan = RemediationPlan.objects.get(supplier=world.s2)
    assert response.status_code == 302
    assert (
        client.post(
            reverse("remediation:action-create", args=[plan.pk]), {"title": "", "due_on": "bad"}
        ).status_code
        == 400
    )
    client.post(
        reverse("remediation:action-create", args=[plan.pk]),
        {"title": "鍵管理", "owner_side": "supplier", "due_on": "2030-01-31"},
    )
    client.post(reverse("remediation:agree", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.AGREED and plan.agreed_at
    action = plan.actions.get()
    services.report_progress(Actor(user=world.supplier2), action, status="done")
    assert (
        client.post(reverse("remediation:action-send-back", args=[action.pk]), {"note": ""}).status_code
        == 400
    )
    client.post(reverse("remediation:action-send-back", args=[action.pk]), {"note": "証跡が不足"})
    action.refresh_from_db()
    assert (action.status, action.verification_note) == (ActionStatus.IN_PROGRESS, "証跡が不足")
    services.report_progress(Actor(user=world.supplier2), action, status="done")
    client.post(reverse("remediation:action-verify", args=[action.pk]), {"note": "確認済み"})
    action.refresh_from_db()
    assert (action.status, action.verified_by) == (ActionStatus.VERIFIED, world.analyst)
    page = client.get(reverse("remediation:detail", args=[plan.pk]))
    assert page.status_code == 200 and page.context["history"]
    assert client.get(reverse("remediation:list")).status_code == 200


def test_auditor_reads_plans_but_changes_nothing(world, client_for, api_for):
    plan = agreed_plan(world.s1)
    action = plan.actions.first()
    client = client_for(world.auditor)
    assert client.get(reverse("remediation:detail", args=[plan.pk])).status_code == 200
    entries = AuditEntry.objects.count()
    assert (
        client.post(reverse("remediation:action-progress", args=[action.pk]), {"status": "done"}).status_code
        == 403
    )
    assert client.post(reverse("remediation:cancel", args=[plan.pk])).status_code == 403
    assert client.post(reverse("remediation:create"), {"supplier": world.s1.pk}).status_code == 403
    api = api_for(world.auditor)
    assert api.post(reverse("remediationplan-agree", args=[plan.pk])).status_code == 403
    assert (
        api.post(reverse("action-progress", args=[action.pk]), {"status": "done"}, format="json").status_code
        == 403
    )
    assert AuditEntry.objects.count() == entries


def test_overdue_actions_raise_and_verified_actions_lower_likelihood(world):
    sent = answered(world.s2, ["S-07", "S-12"])
    recompute_organization(world.buyer)
    base = SupplierRisk.objects.get(supplier=world.s2)
    gaps = {f["name"]: f["contribution"] for f in base.factors}
    plan = agreed_plan(world.s2, sides=("supplier",), due=datetime.date(2020, 1, 1))
    recompute_organization(world.buyer)
    late = {f["name"]: f for f in SupplierRisk.objects.get(supplier=world.s2).factors}
    assert late["overdue_remediation"]["contribution"] == 0.25
    assert late["overdue_remediation"]["params"] == {"count": 1}
    services.cancel_plan(SYSTEM, plan)
    # A verified action on the × of S-12 (critical) offsets its gap and its critical flag.
    risk = Risk.objects.get(assessment=sent, item__item_id="S-12")
    action = services.create_action(SYSTEM, world.s2, title="S-12 対策", source="risk", risk=risk)
    services.agree_plan(SYSTEM, action.plan)
    services.report_progress(SYSTEM, action, status="done")
    recompute_organization(world.buyer)
    done = {f["name"]: f["contribution"] for f in SupplierRisk.objects.get(supplier=world.s2).factors}
    assert done["questionnaire_gaps"] == gaps["questionnaire_gaps"]  # done is not verified yet
    services.verify(Actor(user=world.analyst), action)
    recompute_organization(world.buyer)
    after = SupplierRisk.objects.get(supplier=world.s2)
    found = {f["name"]: f for f in after.factors}
    assert found["questionnaire_gaps"]["contribution"] < gaps["questionnaire_gaps"]
    assert found["questionnaire_gaps"]["params"]["remediated"] == 1
    assert "critical_items" not in found or "S-12" not in found["critical_items"]["params"]["items"]
    assert after.likelihood <= base.likelihood


def test_api_plans_and_progress_with_an_upload(world, api_for, media):
    api = api_for(world.analyst)
    made = api.post(
        reverse("remediationplan-list"), {"supplier": world.s1.pk, "title": "API計画"}, format="json"
    )
    assert made.status_code == 201
    plan_id = made.json()["id"]
    action = api.post(
        reverse("action-list"), {"plan": plan_id, "title": "API対策", "owner_side": "supplier"}, format="json"
    )
    assert action.status_code == 201, action.content
    assert api.post(reverse("remediationplan-agree", args=[plan_id])).json()["status"] == "agreed"
    contact = api_for(world.supplier1)
    upload = SimpleUploadedFile("evidence.pdf", PDF, content_type="application/pdf")
    progressed = contact.post(
        reverse("action-progress", args=[action.json()["id"]]),
        {"status": "done", "evidence": upload},
        format="multipart",
    )
    assert progressed.status_code == 200, progressed.content
    assert progressed.json()["status"] == "done" and progressed.json()["evidence"] is True
    verified = api.post(reverse("action-verify", args=[action.json()["id"]]), {"note": "OK"}, format="json")
    assert verified.json()["status"] == "verified"
    assert api.get(reverse("remediationplan-detail", args=[plan_id])).json()["status"] == "completed"
    assert api_for(world.outsider).get(reverse("remediationplan-detail", args=[plan_id])).status_code == 404


def test_cli_lists_plans_as_json(world):
    agreed_plan(world.s1, due=datetime.date(2020, 1, 1))
    agreed_plan(world.s2)
    out = StringIO()
    call_command("remediation", "list", "--supplier", "S1", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert [p["supplier"] for p in data["plans"]] == ["S1"]
    plan = data["plans"][0]
    assert set(plan) == {
        "id",
        "organization",
        "supplier",
        "title",
        "status",
        "due_on",
        "agreed_at",
        "actions",
    }
    assert plan["actions"][0]["overdue"] is True
    assert set(plan["actions"][0]) >= {
        "id",
        "title",
        "source",
        "risk",
        "owner_side",
        "due_on",
        "status",
        "overdue",
        "evidence",
        "completed_at",
        "verified_at",
    }
    assert Action.objects.count() == 4
