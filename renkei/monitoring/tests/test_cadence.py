"""Reassessment on the cadence: created on the right day, never twice, with the invitation."""

import datetime

import pytest

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.monitoring.cadence import add_months
from renkei.monitoring.models import Reassessment
from renkei.monitoring.services import run_daily
from renkei.monitoring.tests.conftest import at, set_level
from renkei.questionnaires.models import Assessment, Template
from renkei.risk.config import validate
from renkei.risk.services import SettingsInvalid, save_settings

pytestmark = pytest.mark.django_db

REGISTERED = datetime.date(2025, 1, 10)


def approved(supplier, submitted: datetime.date) -> Assessment:
    template = Template.objects.get(key="scrm-sheet", organization__isnull=True)
    return Assessment.objects.create(organization=supplier.organization, supplier=supplier,
                                     template=template, status="approved", submitted_at=at(submitted),
                                     approved_at=at(submitted))


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(datetime.date(2025, 1, 31), 1) == datetime.date(2025, 2, 28)
    assert add_months(datetime.date(2025, 8, 15), 18) == datetime.date(2027, 2, 15)
    assert add_months(datetime.date(2024, 2, 29), 12) == datetime.date(2025, 2, 28)


def test_medium_supplier_is_reassessed_18_months_after_its_last_submission_once(rated):
    s1 = rated.s1
    set_level(s1, "medium")
    approved(s1, datetime.date(2025, 3, 1))
    set_level(rated.s2, "low")  # registered 2025-01-10, never assessed: due 2027-01-10
    due = datetime.date(2026, 9, 1)
    run_daily(due - datetime.timedelta(days=1), mail=False)
    assert not Reassessment.objects.exists()
    result = run_daily(due, mail=False)
    assert result["organizations"]["buyer"]["reassessments"] == {
        "due": 1, "created": 1, "blocked": 0, "missing_template": 0}
    reassessment = Reassessment.objects.get()
    assessment = reassessment.assessment
    assert (reassessment.supplier, reassessment.level, reassessment.months) == (s1, "medium", 18)
    assert (reassessment.basis_on, reassessment.due_day) == (datetime.date(2025, 3, 1), due)
    assert (assessment.template.key, assessment.status) == ("scrm-sheet", "not_started")
    assert assessment.due_on == due + datetime.timedelta(days=30)
    entry = AuditEntry.objects.get(object_type="questionnaires.assessment", object_id=str(assessment.pk))
    assert entry.actor_label.startswith("task@") or "monitoring" in entry.actor_label
    # Again the same day, the next day, a month later: the open assessment blocks a second one.
    for day in (due, due + datetime.timedelta(days=1), due + datetime.timedelta(days=40)):
        again = run_daily(day, mail=False)["organizations"]["buyer"]["reassessments"]
        assert again["created"] == 0 and again["blocked"] == 1
    assert Assessment.objects.filter(supplier=s1).count() == 2


def test_never_assessed_supplier_counts_from_its_registration(rated):
    set_level(rated.s2, "high")  # 12 months
    set_level(rated.s1, "low")
    run_daily(datetime.date(2026, 1, 9), mail=False)
    assert not Assessment.objects.filter(supplier=rated.s2).exists()
    run_daily(datetime.date(2026, 1, 10), mail=False)
    reassessment = Reassessment.objects.get(supplier=rated.s2)
    assert reassessment.basis_on == REGISTERED


def test_the_template_follows_the_criticality_and_a_missing_one_is_reported(rated):
    from renkei.questionnaires.tests.helpers import load, small

    load(small(key="short-sheet", name="簡易シート"), rated.buyer)
    save_settings(Actor.system("test"), rated.buyer,
                  {"cadence": {"templates": {"1": "scrm-sheet", "2": "scrm-sheet", "3": "short-sheet"}}})
    set_level(rated.s1, "low", criticality=3)
    set_level(rated.s2, "low", criticality=2)
    run_daily(datetime.date(2027, 1, 10), mail=False)
    assert Assessment.objects.get(supplier=rated.s1).template.key == "short-sheet"
    assert Assessment.objects.get(supplier=rated.s2).template.key == "scrm-sheet"
    # The template disappears from the organization (deleted): reported, nothing created.
    Assessment.objects.all().delete()
    Template.objects.filter(key="short-sheet").delete()
    result = run_daily(datetime.date(2027, 1, 11), mail=False)["organizations"]["buyer"]["reassessments"]
    assert result["missing_template"] == 1 and result["created"] == 1


def test_cadence_settings_are_validated_field_by_field(rated):
    _config, errors = validate({"cadence": {"months": {"critical": 6, "high": 24, "medium": 18, "low": 0},
                                            "templates": {"1": "no such!"}, "response_days": 0,
                                            "enabled": "yes", "extra": 1}})
    assert set(errors) == {"cadence.months.low", "cadence.templates.1", "cadence.response_days",
                           "cadence.enabled", "cadence.extra"}
    _config, errors = validate({"cadence": {"months": {"high": 24}}})
    assert set(errors) == {"cadence.months.high"}  # longer than medium's 18
    with pytest.raises(SettingsInvalid) as raised:
        save_settings(Actor.system("test"), rated.buyer, {"cadence": {"templates": {"2": "unknown-key"}}})
    assert set(raised.value.errors) == {"cadence.templates.2"}
    config, errors = validate({})
    assert errors == {} and config["cadence"]["months"] == {"critical": 6, "high": 12, "medium": 18,
                                                            "low": 24}


def test_settings_page_shows_the_cadence_error_on_its_field(rated, client_for):
    client = client_for(rated.admin)
    response = client.post(f"/risk/settings/?organization={rated.buyer.pk}",
                           {"config": '{"cadence": {"months": {"critical": 0}}}'})
    assert response.status_code == 400
    assert "cadence.months.critical" in response.content.decode()


def test_disabled_cadence_creates_nothing(rated):
    save_settings(Actor.system("test"), rated.buyer, {"cadence": {"enabled": False}})
    set_level(rated.s1, "critical")
    run_daily(datetime.date(2030, 1, 1), mail=False)
    assert not Reassessment.objects.exists()


def test_portal_contacts_get_the_invitation_once_over_smtp(rated, smtp):
    set_level(rated.s1, "critical")  # 6 months from 2025-01-10
    set_level(rated.s2, "low")
    rated.supplier1.language = "en"
    rated.supplier1.save()
    run_daily(datetime.date(2025, 7, 10))
    invitations = smtp.to(rated.supplier1.email)
    assert len(invitations) == 1
    message = invitations[0]
    assessment = Assessment.objects.get(supplier=rated.s1)
    assert f"https://renkei.example.jp/questionnaires/assessments/{assessment.pk}/" in message.text
    assert "Security questionnaire from Renkei Works" in message.subject
    assert Reassessment.objects.get().invitation_recipients == 1
    run_daily(datetime.date(2025, 7, 10))
    run_daily(datetime.date(2025, 7, 11))
    assert len([m for m in smtp.messages if m.recipients == message.recipients]) == 1


def test_a_supplier_without_a_portal_contact_is_invited_once_one_is_added(rated, smtp):
    from renkei.suppliers.models import Contact

    Contact.objects.filter(supplier=rated.s1).update(portal_access=False)
    set_level(rated.s1, "critical")
    set_level(rated.s2, "low")
    result = run_daily(datetime.date(2025, 7, 10))
    assert result["invitations"]["unreachable"] == 1 and not smtp.to(rated.supplier1.email)
    Contact.objects.filter(supplier=rated.s1).update(portal_access=True)
    assert run_daily(datetime.date(2025, 7, 11))["invitations"]["sent"] == 1


def test_a_more_important_supplier_is_reassessed_on_its_criticality_cadence(rated):
    # Low level (24 months) but 重要度 1 (12 months): the shorter applies.
    set_level(rated.s1, "low", criticality=1)
    set_level(rated.s2, "low", criticality=3)
    run_daily(datetime.date(2026, 1, 9), mail=False)
    assert not Reassessment.objects.exists()
    run_daily(datetime.date(2026, 1, 10), mail=False)
    reassessment = Reassessment.objects.get()
    assert (reassessment.supplier, reassessment.months) == (rated.s1, 12)
    run_daily(datetime.date(2027, 1, 10), mail=False)
    assert Reassessment.objects.get(supplier=rated.s2).months == 24


def test_criticality_cadence_is_validated():
    config, errors = validate({"cadence": {"tier_months": {"1": 6, "2": 12, "3": 36}}})
    assert errors == {} and config["cadence"]["tier_months"] == {"1": 6, "2": 12, "3": 36}
    _config, errors = validate({"cadence": {"tier_months": {"1": 24, "2": 12, "3": 0}}})
    assert set(errors) == {"cadence.tier_months.3"}
    _config, errors = validate({"cadence": {"tier_months": {"1": 24, "2": 12}}})
    assert set(errors) == {"cadence.tier_months.1"}
