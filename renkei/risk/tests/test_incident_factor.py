"""The supplier's recent incidents raise its likelihood (factor recent_incidents, settings
likelihood.incident*), recomputed when an incident is recorded or its severity changes."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone, translation

from renkei.audit.services import Actor
from renkei.incidents import services as incidents
from renkei.risk import factors
from renkei.risk.config import default_config, validate
from renkei.risk.models import SupplierRisk
from renkei.risk.services import recompute_organization

pytestmark = pytest.mark.django_db


def record(world, supplier, *, days_ago: int = 0, title: str = "メールサーバーの乗っ取り"):
    aware = timezone.now() - datetime.timedelta(days=days_ago, minutes=5)
    return incidents.record_incident(
        Actor(world.analyst),
        world.buyer,
        {
            "supplier": supplier.pk,
            "title": title,
            "description": "なりすましの請求書メール",
            "detected_at": timezone.localtime(aware).strftime("%Y-%m-%dT%H:%M"),
            "aware_at": timezone.localtime(aware).strftime("%Y-%m-%dT%H:%M"),
        },
    )


def triage(world, incident, severity: str):
    return incidents.triage(
        Actor(world.analyst),
        incident,
        {
            "status": "investigating",
            "severity": severity,
            "category": "mail_takeover",
            "aware_at": timezone.localtime(incident.aware_at).strftime("%Y-%m-%dT%H:%M"),
        },
    )


def incident_factor(supplier):
    risk = SupplierRisk.objects.get(supplier=supplier)
    return risk, next((f for f in risk.factors if f["name"] == "recent_incidents"), None)


def test_an_incident_raises_the_suppliers_likelihood_and_is_named(world, django_capture_on_commit_callbacks):
    recompute_organization(world.buyer)
    before = SupplierRisk.objects.get(supplier=world.s1).likelihood
    with django_capture_on_commit_callbacks(execute=True):
        incident = record(world, world.s1)  # recorded: the supplier is recomputed on commit
    risk, found = incident_factor(world.s1)
    assert found == {
        "name": "recent_incidents",
        "contribution": 0.5,
        "params": {"count": 1, "high": 0, "days": 365, "numbers": [incident.number]},
    }
    with django_capture_on_commit_callbacks(execute=True):
        triage(world, incident, "critical")
    risk, found = incident_factor(world.s1)
    assert found["contribution"] == 1.0 and found["params"]["high"] == 1
    assert risk.likelihood > before
    with translation.override("en"):
        text = factors.describe("recent_incidents", found["params"])
    assert text == f"Incidents in the last 365 days: 1 (high or critical: 1): {incident.number}"
    # Another supplier's rating says nothing of it.
    assert incident_factor(world.s2)[1] is None


def test_old_incidents_and_the_cap(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record(world, world.s2, days_ago=400)
    assert incident_factor(world.s2)[1] is None  # outside the 365-day window
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            record(world, world.s2, days_ago=n, title=f"事案{n}")
    found = incident_factor(world.s2)[1]
    assert found["params"]["count"] == 4 and found["contribution"] == 1.5  # 4 × 0.5, capped at 1.5


def test_the_window_and_weights_are_settings():
    today = datetime.date(2026, 12, 6)
    evidence = {
        "incidents": [
            factors.RecentIncident("INC-2026-0002", today - datetime.timedelta(days=20), True),
            factors.RecentIncident("INC-2026-0001", today - datetime.timedelta(days=200), False),
        ]
    }
    settings = default_config()["likelihood"]
    assert factors.recent_incidents(evidence, settings, today) == (
        1.5,
        {"count": 2, "high": 1, "days": 365, "numbers": ["INC-2026-0002", "INC-2026-0001"]},
    )
    short = {**settings, "incident_window_days": 30, "incident_high": 2.0, "incident_max": 5.0}
    assert factors.recent_incidents(evidence, short, today)[0] == 2.0
    assert factors.recent_incidents({"incidents": []}, settings, today) is None


def test_incident_settings_are_validated():
    config, errors = validate(
        {
            "likelihood": {
                "incident": 0.25,
                "incident_high": 0.75,
                "incident_max": 2,
                "incident_window_days": 180,
            }
        }
    )
    assert errors == {}
    assert [
        config["likelihood"][k] for k in ("incident", "incident_high", "incident_max", "incident_window_days")
    ] == [0.25, 0.75, 2.0, 180]
    _config, errors = validate(
        {"likelihood": {"incident": 1.0, "incident_high": 0.5, "incident_window_days": 0, "incident_max": -1}}
    )
    assert set(errors) == {
        "likelihood.incident_high",
        "likelihood.incident_window_days",
        "likelihood.incident_max",
    }
