"""Each alert kind is raised once while its condition holds and resolved when it ends."""

import datetime

import pytest

from renkei.monitoring.models import Alert
from renkei.monitoring.services import run_daily
from renkei.monitoring.tests.conftest import set_level
from renkei.questionnaires.models import Assessment, Template
from renkei.remediation.models import Action, RemediationPlan
from renkei.risk.models import Risk, RiskAcceptance
from renkei.suppliers.models import Certification

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 4, 1)


def days(n: int) -> datetime.date:
    return DAY + datetime.timedelta(days=n)


def open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind, resolved_at__isnull=True))


def run(day: datetime.date) -> dict:
    return run_daily(day, mail=False)


@pytest.fixture
def quiet(rated):
    """No cadence noise: both suppliers low and assessed recently; no certifications."""
    set_level(rated.s1, "low")
    set_level(rated.s2, "low")
    Certification.objects.all().delete()
    template = Template.objects.get(key="scrm-sheet", organization__isnull=True)
    for supplier in (rated.s1, rated.s2):
        Assessment.objects.create(organization=rated.buyer, supplier=supplier, template=template,
                                  status="approved",
                                  submitted_at=datetime.datetime(2026, 3, 1, 1, tzinfo=datetime.UTC))
    return rated


def test_certification_expiring_in_90_then_30_days_then_renewed(quiet):
    cert = Certification.objects.create(supplier=quiet.s1, kind="isms", number="IS 1", expires_on=days(60))
    run(DAY)
    [far] = open_alerts("certification_expiring_90")
    assert far.supplier == quiet.s1 and far.params["expires"] == days(60).isoformat()
    run(DAY)
    assert Alert.objects.filter(kind="certification_expiring_90").count() == 1
    run(days(30))  # 30 days left
    [near] = open_alerts("certification_expiring_30")
    assert not open_alerts("certification_expiring_90")
    # Renewed: a new certificate of the same kind with a later expiry ends the condition.
    Certification.objects.create(supplier=quiet.s1, kind="isms", number="IS 1", expires_on=days(60 + 1095))
    run(days(31))
    near.refresh_from_db()
    assert near.resolved_at is not None and not open_alerts("certification_expiring_30")
    cert.delete()


def test_overdue_action_is_raised_once_and_resolved_when_done(quiet):
    plan = RemediationPlan.objects.create(organization=quiet.buyer, supplier=quiet.s2, title="是正計画")
    action = Action.objects.create(plan=plan, title="VPN機器のパッチ適用", due_on=days(-1))
    run(DAY)
    run(DAY)
    [alert] = open_alerts("action_overdue")
    assert alert.params["title"] == "VPN機器のパッチ適用"
    assert Alert.objects.filter(kind="action_overdue").count() == 1
    Action.objects.filter(pk=action.pk).update(status="done")
    run(days(1))
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    # Returned by the buyer's verification: the same condition comes back, the alert reopens.
    Action.objects.filter(pk=action.pk).update(status="in_progress")
    assert run(days(2))["organizations"]["buyer"]["alerts"]["reopened"] == 1
    alert.refresh_from_db()
    assert alert.resolved_at is None and Alert.objects.filter(kind="action_overdue").count() == 1


def test_overdue_action_of_a_high_supplier_ranks_before_an_expiring_certificate(quiet):
    set_level(quiet.s2, "high")
    plan = RemediationPlan.objects.create(organization=quiet.buyer, supplier=quiet.s2, title="計画")
    Action.objects.create(plan=plan, title="多要素認証", due_on=days(-3))
    Certification.objects.create(supplier=quiet.s1, kind="pmark", number="P", expires_on=days(10))
    run(DAY)
    order = [a.kind for a in Alert.objects.filter(resolved_at__isnull=True).order_by("priority")]
    assert order.index("action_overdue") < order.index("certification_expiring_30")


def test_overdue_assessment_until_submitted(quiet):
    template = Template.objects.get(key="scrm-sheet", organization__isnull=True)
    Assessment.objects.filter(supplier=quiet.s1).delete()
    sent = Assessment.objects.create(organization=quiet.buyer, supplier=quiet.s1, template=template,
                                     due_on=days(-1))
    run(DAY)
    [alert] = open_alerts("assessment_overdue")
    assert alert.params["assessment"] == sent.pk
    Assessment.objects.filter(pk=sent.pk).update(status="submitted")
    run(days(1))
    assert not open_alerts("assessment_overdue")


def test_level_change_against_the_previous_snapshot(quiet):
    run(DAY)  # the first snapshot: nothing to compare with
    assert not open_alerts("level_changed")
    set_level(quiet.s1, "critical")
    run(days(1))
    run(days(1))
    [alert] = open_alerts("level_changed")
    assert alert.params == {"from": "low", "to": "critical", "on": days(1).isoformat()}
    run(days(2))  # still critical: stays open, not raised again
    assert Alert.objects.filter(kind="level_changed").count() == 1 and open_alerts("level_changed")
    set_level(quiet.s1, "medium")
    run(days(3))  # moved again: the old change is resolved, the new one raised
    [newer] = open_alerts("level_changed")
    assert newer.params["from"] == "critical" and newer.params["to"] == "medium"


def test_expired_risk_acceptance_until_revoked(quiet):
    risk = Risk.objects.create(organization=quiet.buyer, supplier=quiet.s1, title="旧VPN機器の継続利用",
                               status="accepted", treatment="accept", inherent_impact=4,
                               inherent_likelihood=3, inherent_level="high")
    acceptance = RiskAcceptance.objects.create(risk=risk, approver=quiet.admin, justification="更改まで",
                                               accepted_on=days(-100), expires_on=days(-1))
    run(DAY)
    [alert] = open_alerts("acceptance_expired")
    assert alert.params["risk"] == risk.pk
    RiskAcceptance.objects.filter(pk=acceptance.pk).update(revoked_at=datetime.datetime.now(datetime.UTC))
    run(days(1))
    assert not open_alerts("acceptance_expired")


def test_critical_supplier_with_critical_items_not_done(quiet):
    factors = [{"name": "critical_items", "contribution": 1.0, "params": {"items": ["S-07", "S-12"]}}]
    set_level(quiet.s1, "critical", criticality=1, factors=factors)
    run(DAY)
    [alert] = open_alerts("critical_gap")
    assert alert.params == {"items": ["S-07", "S-12"]}
    set_level(quiet.s1, "high", factors=factors)
    run(days(1))
    assert not open_alerts("critical_gap")


def test_stale_assessment_past_the_cadence(quiet):
    Assessment.objects.filter(supplier=quiet.s2).update(
        submitted_at=datetime.datetime(2024, 1, 1, 1, tzinfo=datetime.UTC))
    run(DAY)  # low: 24 months from 2024-01-01
    [alert] = open_alerts("assessment_stale")
    assert alert.supplier == quiet.s2 and alert.params["months"] == 24
    Assessment.objects.filter(supplier=quiet.s2, status="not_started").update(
        status="approved", submitted_at=datetime.datetime(2026, 4, 1, 1, tzinfo=datetime.UTC))
    run(days(1))
    assert not open_alerts("assessment_stale")


def test_alerts_of_one_organization_do_not_touch_anothers(quiet):
    Certification.objects.create(supplier=quiet.x1, kind="isms", number="X", expires_on=days(20))
    run(DAY)
    [alert] = Alert.objects.filter(kind="certification_expiring_30")
    assert (alert.organization, alert.supplier) == (quiet.other, quiet.x1)
