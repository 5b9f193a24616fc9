"""/api/v1/incidents/: who sees which incident, reporting and triage through the API."""

from __future__ import annotations

import pytest

from renkei.audit.services import Actor
from renkei.incidents import services
from renkei.incidents.models import Incident
from renkei.incidents.tests.test_incidents import _intake

pytestmark = pytest.mark.django_db
BASE = "/api/v1/incidents/"


def test_contact_reports_and_sees_only_its_own(world, api_for):
    response = api_for(world.supplier1).post(
        BASE, {**_intake(), "supplier": world.s1.pk, "personal_data": True}, format="json"
    )
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    pk = response.json()["id"]
    assert [row["number"] for row in api_for(world.supplier1).get(BASE).json()["results"]] == [number]
    assert api_for(world.supplier2).get(f"{BASE}{pk}/").status_code == 404
    assert api_for(world.outsider).get(f"{BASE}{pk}/").status_code == 404
    # The obligations are the buyer's business.
    assert api_for(world.supplier1).get(f"{BASE}{pk}/obligations/").status_code == 404
    assert api_for(world.admin).get(f"{BASE}{pk}/obligations/").status_code == 200
    # A contact cannot report for another supplier: that supplier does not exist for it.
    other = api_for(world.supplier1).post(BASE, {**_intake(), "supplier": world.s2.pk}, format="json")
    assert other.status_code == 404


def test_bad_input_answers_400_with_the_fields(world, api_for):
    response = api_for(world.supplier1).post(
        BASE, {**_intake(), "supplier": world.s1.pk, "title": "", "detected_at": "yesterday"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"title", "detected_at"}
    assert Incident.objects.count() == 0


def test_triage_through_the_api(world, api_for):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake(persons_affected="10"))
    url = f"{BASE}{incident.pk}/triage/"
    assert api_for(world.auditor).post(url, {"severity": "high"}, format="json").status_code == 403
    assert api_for(world.outsider).post(url, {"severity": "high"}, format="json").status_code == 404
    response = api_for(world.analyst).post(url, {"severity": "high", "persons_affected": 1001}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["severity"] == "high" and response.json()["personal_data"] is True
    rules = [row["rule_id"] for row in api_for(world.admin).get(f"{BASE}{incident.pk}/obligations/").json()]
    assert any(rule.startswith("ppc") for rule in rules)
    events = api_for(world.supplier1).get(f"{BASE}{incident.pk}/events/").json()
    assert all(event["supplier_visible"] for event in events)
