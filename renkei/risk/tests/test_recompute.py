"""Recompute set-based: stored rows, constant query count, triggers, the nightly job, the CLI."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from renkei.audit.services import Actor
from renkei.questionnaires import assessments_services as assessments
from renkei.questionnaires.models import Template
from renkei.risk.models import RiskSettings, SupplierRisk
from renkei.risk.services import SettingsInvalid, recompute_organization, save_settings
from renkei.suppliers.models import Certification, Supplier
from renkei.suppliers.services import save_record

pytestmark = pytest.mark.django_db


def add_suppliers(org, count, start=100):
    made = Supplier.objects.bulk_create([
        Supplier(organization=org, code=f"B{start + n}", name=f"取引先{n}", access_methods=["vpn"],
                 data_classes=["technical"], personal_info_records=n * 100)
        for n in range(count)
    ])
    Certification.objects.bulk_create([Certification(supplier=s, kind="isms") for s in made[::2]])
    return made


def test_every_supplier_gets_one_row_with_factors(world):
    assert recompute_organization(world.buyer) == 2
    risk = SupplierRisk.objects.get(supplier=world.s1)
    assert (risk.organization, risk.impact) == (world.buyer, 5)  # VPN
    assert risk.level and risk.criticality == 1 and risk.computed_at
    assert {f["name"] for f in risk.factors} >= {"questionnaire_gaps", "assessment_age"}
    # Recompute updates in place: still one row per supplier.
    recompute_organization(world.buyer)
    assert SupplierRisk.objects.filter(organization=world.buyer).count() == 2
    assert not SupplierRisk.objects.filter(organization=world.other).exists()


def test_recompute_query_count_does_not_grow_with_suppliers(world):
    add_suppliers(world.buyer, 3)
    with CaptureQueriesContext(connection) as few:
        recompute_organization(world.buyer)
    add_suppliers(world.buyer, 60, start=500)
    with CaptureQueriesContext(connection) as many:
        assert recompute_organization(world.buyer) == 65
    # 10 + 2 remediation loaders (overdue actions, remediated × answers) + 2 for contract clauses
    # + 3 for the subcontracting graph of inherited risk (subcontracts edges, their nodes, the
    # registry's subcontractors with their stored ratings: renkei.graph.inherited.load) + 1 for the
    # suppliers' recent incidents + 1 for their latest deliveries (renkei.deliveries.risk).
    assert len(few) == len(many) <= 19, [q["sql"][:80] for q in many]


def test_an_approved_assessment_lowers_likelihood(world, django_capture_on_commit_callbacks):
    recompute_organization(world.buyer)
    before = SupplierRisk.objects.get(supplier=world.s2).likelihood
    template = Template.objects.get(key="scrm-sheet")
    actor = Actor.system("test")
    sent = assessments.create_assessment(actor, world.s2, template)
    answers = {}
    for item in template.items.all():
        if item.answer_type == "tri_state":
            answers[item.item_id] = "○"
        elif item.answer_type == "certificate":
            answers[item.item_id] = {"held": False}
    assessments.save_answers(actor, sent, answers)
    with django_capture_on_commit_callbacks(execute=True):
        assessments.submit(actor, sent)  # the signal recomputes on commit: no explicit call
    assert SupplierRisk.objects.get(supplier=world.s2).likelihood < before
    with django_capture_on_commit_callbacks(execute=True):
        assessments.approve(actor, sent)
    risk = SupplierRisk.objects.get(supplier=world.s2)
    assert risk.likelihood < before
    gaps = next(f for f in risk.factors if f["name"] == "questionnaire_gaps")
    assert gaps["params"]["assessment"] == sent.pk


def test_profile_and_certification_changes_recompute_on_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        world.s2.access_methods = ["remote_desktop"]
        save_record(Actor.system("test"), world.s2)
    assert SupplierRisk.objects.get(supplier=world.s2).impact == 5
    with django_capture_on_commit_callbacks(execute=True):
        Certification.objects.filter(supplier=world.s2).delete()
        save_record(Actor.system("test"), Certification(supplier=world.s2, kind="isms", number="IS 1"))
    factors = SupplierRisk.objects.get(supplier=world.s2).factors
    assert "certifications" not in {f["name"] for f in factors}


def test_several_changes_in_one_transaction_recompute_once(world, django_capture_on_commit_callbacks):
    connection.__dict__.pop("_renkei_risk_pending", None)  # marks left by the fixture's inserts
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for supplier in (world.s1, world.s2):
            save_record(Actor.system("test"), supplier)
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    assert SupplierRisk.objects.filter(organization=world.buyer).count() == 2
    # One pass: grouping, settings, profiles, tags, 2 evidence loaders, digests, upsert, stamp
    # and the savepoint pair; + 2 remediation loaders, + 2 for contract clauses; + 1 asking
    # whether these suppliers take part in subcontracting (inherited risk: they do not, so the
    # subcontracting graph is not read; renkei.graph.tests.test_inherited pins the case they do);
    # + 1 for the suppliers' recent incidents; + 1 for their latest deliveries.
    assert len(queries) <= 18


def test_nightly_job_is_registered_and_recomputes_everyone(world):
    from renkei.core.scheduling import jobs
    from renkei.risk.tasks import recompute_all_risks

    assert "risk_recompute" in jobs()
    result = recompute_all_risks.call()
    assert result == {"buyer": 2, "other": 1}


def test_settings_are_validated_saved_audited_and_applied(world):
    from renkei.audit.models import AuditEntry

    matrix = [["critical"] * 5 for _ in range(5)]
    save_settings(Actor.system("test"), world.buyer, {"matrix": matrix})
    assert RiskSettings.objects.get(organization=world.buyer).config["matrix"] == matrix
    assert set(SupplierRisk.objects.filter(organization=world.buyer).values_list("level", flat=True)) == {
        "critical"}
    assert AuditEntry.objects.filter(object_type="risk.risksettings").count() == 1
    with pytest.raises(SettingsInvalid) as refused:
        save_settings(Actor.system("test"), world.buyer, {"impact": {"access": {"vpn": 9}}})
    assert "impact.access.vpn" in refused.value.errors


def run(*args):
    out = io.StringIO()
    call_command("risk", *args, stdout=out)
    return out.getvalue()


def test_cli_show_prints_the_documented_shape(world):
    data = json.loads(run("show", "S1", "--json"))
    assert {"impact", "likelihood", "level", "factors"} <= set(data)
    assert data["impact"] == 5 and 1 <= data["likelihood"] <= 5
    assert data["level"] in {"low", "medium", "high", "critical"}
    assert data["factors"] and all(set(f) == {"name", "contribution", "reason"} for f in data["factors"])
    assert all(isinstance(f["contribution"], float) and f["reason"] for f in data["factors"])


def test_cli_recompute_and_errors(world):
    data = json.loads(run("recompute", "--json"))
    assert {r["organization"]: r["suppliers"] for r in data["organizations"]} == {"buyer": 2, "other": 1}
    data = json.loads(run("recompute", "--organization", "other", "--json"))
    assert [r["organization"] for r in data["organizations"]] == ["other"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run("show", "NOPE")
    Supplier.objects.create(organization=world.other, code="S1", name="同じコード")
    with pytest.raises(CommandError):
        run("show", "S1")
    assert json.loads(run("show", "S1", "--organization", "other", "--json"))["impact"] >= 1
    assert "S1:" in run("show", "S1", "--organization", "buyer")


def test_demo_gives_every_supplier_an_explained_score(db):
    from renkei.core.demo import build_demo

    build_demo(today=datetime.date(2026, 11, 22))
    suppliers = Supplier.objects.filter(organization__slug="minato")
    risks = SupplierRisk.objects.filter(supplier__in=suppliers)
    assert risks.count() == suppliers.count() > 30
    assert all(r.factors and r.impact_factors for r in risks)


def test_unchanged_ratings_are_not_rewritten_but_stamped(world):
    recompute_organization(world.buyer)
    first = SupplierRisk.objects.get(supplier=world.s1)
    with CaptureQueriesContext(connection) as queries:
        recompute_organization(world.buyer)
    assert not [q for q in queries if "INSERT" in q["sql"]]
    again = SupplierRisk.objects.get(supplier=world.s1)
    assert again.computed_at >= first.computed_at and again.digest == first.digest
    Supplier.objects.filter(pk=world.s1.pk).update(access_methods="")
    recompute_organization(world.buyer)
    changed = SupplierRisk.objects.get(supplier=world.s1)
    assert changed.digest != first.digest and changed.impact < first.impact
