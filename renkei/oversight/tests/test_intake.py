"""Supplier selection: candidate → profile → questionnaire → decision, and who may do what."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.campaigns.services import select_suppliers
from renkei.oversight import services
from renkei.oversight.models import Intake
from renkei.oversight.tests.helpers import SYSTEM, actor, answer_all, candidate
from renkei.remediation.models import Action
from renkei.suppliers.models import Supplier

pytestmark = pytest.mark.django_db


def _ready(world, code="C1", **extra):
    supplier = candidate(world.buyer, code, **extra)
    intake = Intake.objects.get(supplier=supplier)
    intake = services.confirm_profile(actor(world.analyst), intake)
    intake = services.send_questionnaire(actor(world.analyst), intake)
    answer_all(intake.assessment)
    return Intake.objects.get(pk=intake.pk)


def test_candidate_is_visible_as_candidate_in_the_registry(world, client_for):
    supplier = candidate(world.buyer, "C1")
    assert supplier.status == "candidate"
    page = client_for(world.analyst).get(reverse("suppliers:list") + "?status=candidate")
    assert [s.code for s in page.context["page"].object_list] == ["C1"]
    assert 'data-status="candidate"' in page.content.decode()


def test_profile_fixes_expected_criticality_and_template(world):
    supplier = candidate(world.buyer, "C1", access_methods=["vpn"], personal_info_records=50000)
    intake = services.confirm_profile(actor(world.analyst), Intake.objects.get(supplier=supplier))
    assert (intake.criticality, intake.template_key) == (1, "scrm-sheet")
    steps = {s["key"]: s["state"] for s in services.steps(intake)}
    assert steps == {"profile": "done", "questionnaire": "current", "decision": "waiting"}


def test_questionnaire_needs_a_confirmed_profile(world):
    intake = Intake.objects.get(supplier=candidate(world.buyer, "C1"))
    with pytest.raises(services.OversightError):
        services.send_questionnaire(actor(world.analyst), intake)


def test_conditional_approval_turns_conditions_into_actions(world):
    intake = _ready(world)
    due = datetime.date(2030, 6, 30)
    decided = services.decide(
        actor(world.admin),
        intake,
        decision="conditional",
        reasons="比較の結果、最良",
        conditions=[{"title": "ISMS 認証の取得", "due_on": due}, {"title": "", "due_on": None}],
    )
    assert decided.decision == "conditional" and decided.decided_by == world.admin
    assert Supplier.objects.get(pk=intake.supplier_id).status == "active"
    [condition] = decided.conditions.all()
    action = Action.objects.get(pk=condition.action_id)
    assert (action.source, action.title, action.due_on, action.plan.supplier_id) == (
        "intake",
        "ISMS 認証の取得",
        due,
        intake.supplier_id,
    )
    assert AuditEntry.objects.filter(object_type="oversight.intake", object_id=str(intake.pk)).count() >= 3


def test_plain_approval_and_rejection(world):
    approved = services.decide(
        actor(world.admin), _ready(world, "C1"), decision="approved", reasons="問題なし"
    )
    assert approved.supplier.status == "active" and not Action.objects.exists()
    rejected_intake = Intake.objects.get(supplier=candidate(world.buyer, "C2"))
    services.decide(actor(world.admin), rejected_intake, decision="rejected", reasons="体制不十分")
    rejected = Supplier.objects.get(code="C2")
    assert rejected.status == "rejected"
    # Campaigns go to active suppliers only: neither candidates nor rejected ones.
    candidate(world.buyer, "C3")
    chosen = set(select_suppliers(None, world.buyer, {}).values_list("code", flat=True))
    assert chosen == {"S1", "S2", "C1"}


@pytest.mark.parametrize(
    "decision, conditions",
    [
        ("conditional", []),
        ("approved", [{"title": "x"}]),
        ("maybe", []),
    ],
)
def test_decision_rules(world, decision, conditions):
    intake = _ready(world)
    with pytest.raises(services.OversightError):
        services.decide(actor(world.admin), intake, decision=decision, reasons="理由", conditions=conditions)
    with pytest.raises(services.OversightError):
        services.decide(actor(world.admin), intake, decision="approved", reasons=" ")


def test_approval_waits_for_the_submitted_questionnaire_but_rejection_does_not(world):
    intake = Intake.objects.get(supplier=candidate(world.buyer, "C1"))
    with pytest.raises(services.OversightError):
        services.decide(actor(world.admin), intake, decision="approved", reasons="早い")
    services.decide(actor(world.admin), intake, decision="rejected", reasons="見送り")
    with pytest.raises(services.OversightError):  # decided once
        services.decide(actor(world.admin), intake, decision="approved", reasons="やはり")


def test_only_admins_decide_and_auditors_change_nothing(world):
    intake = _ready(world)
    for user in (world.analyst, world.auditor, world.outsider):
        with pytest.raises(services.NotAllowed):
            services.decide(actor(user), intake, decision="approved", reasons="x")
    with pytest.raises(services.NotAllowed):
        services.confirm_profile(actor(world.auditor), intake)
    with pytest.raises(services.NotAllowed):
        services.start_intake(actor(world.auditor), world.s1)


def test_intake_pages_flow(world, client_for):
    admin = client_for(world.admin)
    response = admin.post(
        reverse("oversight:intake-new"),
        {
            "organization": world.buyer.pk,
            "code": "C9",
            "name": "候補株式会社",
            "country": "JP",
            "relationship": "contractor",
            "chain_type": "service",
            "business_function": "cloud",
            "tier": 1,
            "personal_info_records": 0,
        },
    )
    intake = Intake.objects.get(supplier__code="C9")
    assert response.status_code == 302 and intake.supplier.status == "candidate"
    assert admin.post(reverse("oversight:intake-profile", args=[intake.pk])).status_code == 302
    assert (
        admin.post(reverse("oversight:intake-send", args=[intake.pk]), {"due_on": "2030-01-31"}).status_code
        == 302
    )
    intake.refresh_from_db()
    assert intake.assessment.due_on == datetime.date(2030, 1, 31)
    answer_all(intake.assessment)
    detail = admin.get(reverse("oversight:intake-detail", args=[intake.pk]))
    assert detail.status_code == 200 and "oversight:intake-decide" not in detail.content.decode()
    data = {
        "decision": "conditional",
        "reasons": "条件付き",
        "conditions-TOTAL_FORMS": "3",
        "conditions-INITIAL_FORMS": "0",
        "conditions-0-title": "多要素認証の導入",
        "conditions-0-due_on": "2030-03-31",
    }
    assert admin.post(reverse("oversight:intake-decide", args=[intake.pk]), data).status_code == 302
    assert Action.objects.get(source="intake").title == "多要素認証の導入"
    listed = admin.get(reverse("oversight:intakes") + "?state=decided")
    assert [i.pk for i in listed.context["page"].object_list] == [intake.pk]


def test_intake_pages_refuse_roles_and_hide_from_suppliers(world, client_for):
    intake = _ready(world)
    auditor = client_for(world.auditor)
    assert auditor.get(reverse("oversight:intake-detail", args=[intake.pk])).status_code == 200
    assert auditor.post(reverse("oversight:intake-profile", args=[intake.pk])).status_code == 403
    assert auditor.get(reverse("oversight:intake-decide", args=[intake.pk])).status_code == 403
    assert (
        client_for(world.analyst).get(reverse("oversight:intake-decide", args=[intake.pk])).status_code == 403
    )
    assert (
        client_for(world.outsider).get(reverse("oversight:intake-detail", args=[intake.pk])).status_code
        == 404
    )
    supplier_contact = client_for(world.supplier1)
    assert supplier_contact.get(reverse("oversight:intakes")).status_code == 403
    assert supplier_contact.get(reverse("oversight:intake-detail", args=[intake.pk])).status_code == 404


def test_intake_list_query_count_is_constant(world, client_for, django_assert_max_num_queries):
    client = client_for(world.admin)
    candidate(world.buyer, "C1")
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("oversight:intakes") + "?state=all")
    for n in range(2, 8):
        candidate(world.buyer, f"C{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("oversight:intakes") + "?state=all")


def test_start_intake_refuses_suppliers_under_contract(world):
    with pytest.raises(services.OversightError):
        services.start_intake(SYSTEM, world.s1)  # active, with a contract
