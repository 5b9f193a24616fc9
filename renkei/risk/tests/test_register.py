"""The risk register: candidates from × answers (set-based, idempotent), risks raised by hand,
confirmation, treatment, acceptance and its expiry, pages, API and CLI. Staff only."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.questionnaires import assessments_services as assessments
from renkei.questionnaires.models import Template
from renkei.risk import register
from renkei.risk.choices import RiskSource, RiskStatus
from renkei.risk.models import Risk, RiskAcceptance
from renkei.risk.services import recompute_organization

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
TODAY = datetime.date(2026, 11, 22)


def answered(supplier, crosses=(), *, submit=True):
    """The built-in sheet sent to SUPPLIER, ○ everywhere except × on CROSSES, submitted."""
    template = Template.objects.get(key="scrm-sheet")
    sent = assessments.create_assessment(SYSTEM, supplier, template)
    answers = {}
    for item in template.items.all():
        if item.answer_type == "tri_state":
            answers[item.item_id] = "×" if item.item_id in crosses else "○"
        elif item.answer_type == "certificate":
            answers[item.item_id] = {"held": False}
    assessments.save_answers(SYSTEM, sent, answers)
    if submit:
        assessments.submit(SYSTEM, sent)
    sent.refresh_from_db()
    return sent


def test_submitting_turns_each_cross_into_one_candidate_linked_to_its_answer(world):
    recompute_organization(world.buyer)
    sent = answered(world.s1, ["S-07", "S-12"])
    risks = Risk.objects.filter(assessment=sent).select_related("item").order_by("item__order")
    assert [r.item.item_id for r in risks] == ["S-07", "S-12"]
    assert {r.status for r in risks} == {RiskStatus.CANDIDATE}
    assert {r.source for r in risks} == {RiskSource.ANSWER}
    assert all(r.inherent_impact == 5 and r.inherent_level for r in risks)  # S1 has VPN access
    assert AuditEntry.objects.filter(object_type="risk.risk", action="create").count() == 2
    # Approving the same assessment adds nothing: one candidate per (assessment, item).
    assessments.approve(Actor(user=world.analyst), sent)
    assert Risk.objects.filter(assessment=sent).count() == 2


def test_candidates_are_inserted_set_based_with_a_constant_number_of_queries(world):
    recompute_organization(world.buyer)
    few = answered(world.s1, ["S-07"], submit=False)
    many = answered(world.s2, ["S-01", "S-02", "S-03", "S-05", "S-06", "S-07", "S-08", "S-12"], submit=False)
    counts = []
    for sent in (few, many):
        with CaptureQueriesContext(connection) as queries:
            register.raise_candidates(sent)
        counts.append(len(queries))
    assert Risk.objects.filter(assessment=many).count() == 8
    # × answers, existing risks, settings, impact, bulk insert, audit chain (get_or_create,
    # lock, insert, head update) and savepoints: the same for 1 and 8 answers.
    assert counts[0] == counts[1] <= 14, counts
    with CaptureQueriesContext(connection) as again:
        assert register.raise_candidates(many) == 0
    assert len(again) == 2  # nothing to do: two reads, no write


def test_a_candidate_whose_answer_became_o_is_closed_on_resubmission(world):
    sent = answered(world.s1, ["S-07", "S-12"])
    assessments.return_for_changes(Actor(user=world.analyst), sent, "S-07 を確認してください")
    assessments.save_answers(SYSTEM, sent, {"S-07": "○"})
    assessments.submit(SYSTEM, sent)
    statuses = dict(Risk.objects.filter(assessment=sent).values_list("item__item_id", "status"))
    assert statuses == {"S-07": RiskStatus.CLOSED, "S-12": RiskStatus.CANDIDATE}


def test_confirm_dismiss_treat_and_level_from_the_matrix(world):
    recompute_organization(world.buyer)
    sent = answered(world.s2, ["S-07", "S-12"])
    first, second = Risk.objects.filter(assessment=sent).order_by("item__order")
    analyst = Actor(user=world.analyst)
    risk = register.confirm(analyst, first, inherent_likelihood=5, owner=world.analyst.pk)
    assert (risk.status, risk.owner, risk.inherent_likelihood) == (RiskStatus.OPEN, world.analyst, 5)
    assert risk.inherent_level == register.level_for(
        register._config(world.buyer.pk), risk.inherent_impact, 5
    )
    with pytest.raises(register.RegisterError) as refused:
        register.dismiss(analyst, second, "  ")
    assert "reason" in refused.value.errors
    register.dismiss(analyst, second, "代替策あり")
    second.refresh_from_db()
    assert second.status == RiskStatus.CLOSED and second.closed_at
    entry = AuditEntry.objects.filter(object_type="risk.risk", object_id=str(second.pk)).last()
    assert entry.changes["reason"] == [None, "代替策あり"]
    risk = register.update(analyst, risk, {"treatment": "mitigate", "residual_likelihood": "2"})
    assert (risk.status, risk.residual_impact, risk.residual_likelihood) == (
        RiskStatus.TREATED,
        risk.inherent_impact,
        2,
    )
    assert risk.residual_level
    with pytest.raises(register.RegisterError):
        register.update(analyst, risk, {"treatment": "accept"})
    with pytest.raises(register.RegisterError) as bad:
        register.update(analyst, risk, {"owner": world.outsider.pk, "inherent_likelihood": 9})
    assert set(bad.value.errors) == {"owner", "inherent_likelihood"}


def test_raise_risk_is_idempotent_on_its_source_key(world):
    a = register.raise_risk(
        SYSTEM,
        world.s1,
        title="監査権条項なし",
        source=RiskSource.CONTRACT,
        source_key="contract:1:audit_right",
        inherent_likelihood=4,
    )
    b = register.raise_risk(
        SYSTEM, world.s1, title="別の題", source=RiskSource.CONTRACT, source_key="contract:1:audit_right"
    )
    assert a.pk == b.pk and Risk.objects.count() == 1
    assert (a.status, a.inherent_likelihood, a.inherent_impact) == (RiskStatus.OPEN, 4, 5)
    with pytest.raises(register.NotAllowed):
        register.raise_risk(Actor(user=world.auditor), world.s1, title="監査者")
    with pytest.raises(register.NotAllowed):
        register.raise_risk(Actor(user=world.supplier1), world.s1, title="取引先")


def test_acceptance_needs_an_admin_who_did_not_raise_it_and_expires(world):
    raised = register.raise_risk(Actor(user=world.admin), world.s1, title="旧OSの端末が残る")
    other = register.raise_risk(Actor(user=world.analyst), world.s1, title="手順書なし")
    kwargs = {"justification": "更新予定", "expires_on": TODAY + datetime.timedelta(days=90), "today": TODAY}
    with pytest.raises(register.NotAllowed):
        register.accept(Actor(user=world.admin), raised, **kwargs)  # raised it
    with pytest.raises(register.NotAllowed):
        register.accept(Actor(user=world.analyst), other, **kwargs)  # not an admin
    with pytest.raises(register.RegisterError) as bad:
        register.accept(Actor(user=world.admin), other, justification="", expires_on=TODAY, today=TODAY)
    assert set(bad.value.errors) == {"justification", "expires_on"}
    acceptance = register.accept(Actor(user=world.admin), other, **kwargs)
    other.refresh_from_db()
    assert (other.status, other.treatment, acceptance.approver) == (
        RiskStatus.ACCEPTED,
        "accept",
        world.admin,
    )
    assert not register.expired_acceptances(world.buyer, TODAY).exists()
    later = TODAY + datetime.timedelta(days=91)
    assert list(register.expired_acceptances(world.buyer, later)) == [acceptance]
    assert not register.expired_acceptances(world.other, later).exists()
    assert register.reopen_expired(later) == 1
    other.refresh_from_db()
    assert other.status == RiskStatus.OPEN
    # Still listed until someone treats, accepts again or closes it.
    assert list(register.expired_acceptances(world.buyer, later)) == [acceptance]
    register.update(Actor(user=world.analyst), other, {"treatment": "transfer"})
    assert not register.expired_acceptances(world.buyer, later).exists()


def test_register_page_filters_sorts_and_counts(world, client_for):
    recompute_organization(world.buyer)
    answered(world.s1, ["S-07"])
    register.raise_risk(SYSTEM, world.s2, title="手作業の鍵管理", inherent_likelihood=1)
    client = client_for(world.analyst)
    page = client.get(reverse("register:list"))
    assert page.status_code == 200
    rows = list(page.context["page"].object_list)
    assert [r.supplier.code for r in rows] == ["S1", "S2"]  # higher level first
    assert {c["value"]: c["count"] for c in page.context["counts"]["statuses"]}["candidate"] == 1
    filtered = client.get(reverse("register:list") + "?status=open&supplier=S2")
    assert [r.title for r in filtered.context["page"].object_list] == ["手作業の鍵管理"]
    assert client.get(reverse("register:list") + "?source=answer").context["page"].paginator.count == 1
    assert client.get(reverse("register:list") + "?owner=none&level=low").status_code == 200


def test_detail_page_shows_history_and_confirms_by_form(world, client_for):
    sent = answered(world.s1, ["S-07"])
    risk = Risk.objects.get(assessment=sent)
    client = client_for(world.analyst)
    response = client.post(
        reverse("register:confirm", args=[risk.pk]),
        {"inherent_likelihood": "4", "owner": str(world.analyst.pk)},
    )
    assert response.status_code == 302
    page = client.get(reverse("register:detail", args=[risk.pk]))
    assert page.status_code == 200 and len(page.context["history"]) == 2
    assert "update-form" in page.content.decode()
    refused = client.post(reverse("register:dismiss", args=[risk.pk]), {"reason": "x"})
    assert refused.status_code == 400  # only a candidate can be dismissed
    supplier_tab = client.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=risk")
    assert risk.title in supplier_tab.content.decode()


def test_mitigate_creates_an_action_in_the_open_plan(world, client_for):
    risk = register.raise_risk(SYSTEM, world.s1, title="パッチ未適用")
    response = client_for(world.analyst).post(
        reverse("register:create-action", args=[risk.pk]),
        {"title": "パッチを適用する", "due_on": "2030-01-31"},
    )
    assert response.status_code == 302
    risk.refresh_from_db()
    action = risk.actions.get()
    assert (action.title, action.source, action.plan.supplier) == ("パッチを適用する", "risk", world.s1)
    assert (risk.treatment, risk.status) == ("mitigate", RiskStatus.TREATED)


def test_auditor_reads_the_register_but_changes_nothing(world, client_for, api_for):
    risk = register.raise_risk(SYSTEM, world.s1, title="監査対象")
    client = client_for(world.auditor)
    assert client.get(reverse("register:list")).status_code == 200
    assert client.get(reverse("register:detail", args=[risk.pk])).status_code == 200
    entries = AuditEntry.objects.count()
    for name in ("confirm", "dismiss", "update", "accept", "close", "reopen", "create-action"):
        assert client.post(reverse(f"register:{name}", args=[risk.pk]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("register:new"), {"supplier": world.s1.pk, "title": "x"}).status_code == 403
    api = api_for(world.auditor)
    assert api.post(reverse("risk-close", args=[risk.pk]), {"reason": "x"}, format="json").status_code == 403
    assert AuditEntry.objects.count() == entries


def test_supplier_contacts_never_see_the_register(world, client_for, api_for):
    risk = register.raise_risk(SYSTEM, world.s1, title="取引先に見せない")
    client = client_for(world.supplier1)
    assert client.get(reverse("register:list")).status_code == 403
    assert client.get(reverse("register:detail", args=[risk.pk])).status_code == 404
    assert (
        "取引先に見せない"
        not in client.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=risk").content.decode()
    )
    api = api_for(world.supplier1)
    assert api.get(reverse("risk-list")).json()["results"] == []
    assert api.get(reverse("risk-detail", args=[risk.pk])).status_code == 404


def test_api_raises_confirms_and_accepts(world, api_for):
    api = api_for(world.analyst)
    made = api.post(
        reverse("risk-list"),
        {"supplier": world.s1.pk, "title": "API で起票", "inherent_likelihood": 2},
        format="json",
    )
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    assert made.json()["status"] == "open" and made.json()["inherent_impact"] == 5
    patched = api.patch(reverse("risk-detail", args=[pk]), {"treatment": "avoid"}, format="json")
    assert patched.json()["status"] == "treated"
    accepted = api_for(world.admin).post(
        reverse("risk-accept", args=[pk]),
        {
            "justification": "期限付きで受容",
            "expires_on": (datetime.date.today() + datetime.timedelta(days=30)).isoformat(),
        },
        format="json",
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert len(accepted.json()["acceptances"]) == 1
    own = api.post(
        reverse("risk-accept", args=[pk]), {"justification": "x", "expires_on": "2030-01-01"}, format="json"
    )
    assert own.status_code == 403
    listing = api.get(reverse("risk-list") + "?status=accepted&level=" + accepted.json()["level"])
    assert [r["id"] for r in listing.json()["results"]] == [pk]
    foreign = api_for(world.outsider).get(reverse("risk-detail", args=[pk]))
    assert foreign.status_code == 404


def test_cli_prints_the_register_as_json(world):
    answered(world.s1, ["S-07"])
    register.raise_risk(SYSTEM, world.s2, title="手作業")
    out = StringIO()
    call_command("risk", "register", "--organization", "buyer", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["counts"] == {"candidate": 1, "open": 1}
    first = data["risks"][0]
    assert set(first) >= {
        "id",
        "supplier",
        "title",
        "source",
        "status",
        "treatment",
        "owner",
        "inherent",
        "residual",
        "level",
        "item",
        "assessment",
    }
    out = StringIO()
    call_command("risk", "register", "--status", "candidate", "--json", stdout=out)
    assert [r["item"] for r in json.loads(out.getvalue())["risks"]] == ["S-07"]
    assert RiskAcceptance.objects.count() == 0
