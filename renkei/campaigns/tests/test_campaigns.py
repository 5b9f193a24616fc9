"""Campaigns: selection by the supplier filters, skipping open assessments, set-based creation,
access, pages, CLI, API, invitation and reminder mails (over real SMTP, never twice)."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.campaigns.models import Campaign, CampaignMessage, CampaignTarget, MessageKind
from renkei.campaigns.services import (
    campaign_document,
    create_campaign,
    send_invitations,
    send_reminders,
)
from renkei.campaigns.tasks import send_campaign_reminders
from renkei.core.scheduling import jobs
from renkei.questionnaires.assessments_services import create_assessment
from renkei.questionnaires.choices import AssessmentStatus
from renkei.questionnaires.models import Assessment, Template
from renkei.suppliers.choices import BusinessFunction
from renkei.suppliers.models import Contact, Supplier, Tag

pytestmark = pytest.mark.django_db
DUE = datetime.date(2030, 4, 30)


def sheet():
    return Template.objects.get(key="scrm-sheet", organization__isnull=True)


def make(world, selection=None, user=None, **extra):
    actor = Actor(user=user or world.analyst, label="test")
    return create_campaign(actor, world.buyer, name="2030年度 点検", template=sheet(), due_on=DUE,
                           selection=selection or {}, **extra)


def add_suppliers(world, n, prefix="G"):
    return Supplier.objects.bulk_create([
        Supplier(organization=world.buyer, code=f"{prefix}{i:04d}", name=f"取引先{i}",
                 business_function=BusinessFunction.PRODUCTION) for i in range(n)])


def test_selection_by_filters_and_skipping_open_assessments(world):
    existing = create_assessment(Actor.system("t"), world.s2, sheet())
    result = make(world, {"business_function": ["logistics", "production"]})
    assert result.created == 1
    assert result.skipped == [{"supplier": "S2", "name": "北陸物流株式会社", "assessment": existing.pk}]
    assert Campaign.objects.get().skipped == result.skipped
    target = CampaignTarget.objects.get()
    assert target.supplier == world.s1 and target.assessment.due_on == DUE
    assert target.assessment.template.is_locked
    assert result.campaign.selection == {"business_function": ["logistics", "production"]}
    # Only the buyer's suppliers, never the other organization's X1.
    assert not Assessment.objects.filter(supplier=world.x1).exists()


def test_tag_filter(world):
    tag = Tag.objects.create(organization=world.buyer, name="重要")
    world.s2.tags.add(tag)
    assert make(world, {"tag": "重要"}).created == 1
    assert CampaignTarget.objects.get().supplier == world.s2


def test_audit_entries_one_per_assessment_and_one_for_the_campaign(world):
    before = AuditEntry.objects.count()
    result = make(world)
    entries = AuditEntry.objects.filter(pk__gt=0).order_by("-pk")[: AuditEntry.objects.count() - before]
    types = sorted(e.object_type for e in entries)
    assert types == ["campaigns.campaign", "questionnaires.assessment", "questionnaires.assessment"]
    assert {e.changes["campaign"][1] for e in entries if e.object_type.endswith("assessment")} == {
        result.campaign.pk}


def test_query_count_is_constant(world):
    """3 suppliers or 60: the same number of queries (bulk inserts, no query per supplier)."""
    template = sheet()
    make(world, {"q": "S"})  # warm-up: the template is locked, the audit chain exists
    add_suppliers(world, 3, "A")
    add_suppliers(world, 60, "B")
    counts = []
    for prefix in ("A", "B"):
        with CaptureQueriesContext(connection) as run:
            create_campaign(Actor(user=world.analyst), world.buyer, name=prefix, template=template,
                            due_on=DUE, selection={"q": prefix})
        counts.append(len(run))
    assert CampaignTarget.objects.filter(campaign__name="B").count() == 60
    assert counts[0] == counts[1]
    assert counts[1] <= 16, counts


def test_access(world, client_for, api_for):
    campaign = make(world).campaign
    assert Campaign.objects.for_user(world.supplier1).count() == 0
    assert CampaignTarget.objects.for_user(world.supplier1).count() == 0
    assert Campaign.objects.for_user(world.outsider).count() == 0
    assert Campaign.objects.for_user(world.auditor).count() == 1
    detail = reverse("campaigns:detail", args=[campaign.pk])
    assert client_for(world.supplier1).get(detail).status_code == 404
    assert client_for(world.supplier1).get(reverse("campaigns:list")).status_code == 403
    assert client_for(world.outsider).get(detail).status_code == 404
    assert client_for(world.auditor).get(detail).status_code == 200
    assert client_for(world.auditor).get(reverse("campaigns:create")).status_code == 403
    assert client_for(world.auditor).post(reverse("campaigns:create"), {
        "name": "x", "template": sheet().pk, "due_on": "2030-01-01", "confirm": "1"}).status_code == 403
    assert api_for(world.outsider).get(reverse("campaign-detail", args=[campaign.pk])).status_code == 404
    data = api_for(world.auditor).get(reverse("campaign-detail", args=[campaign.pk])).json()
    assert data["targets"] == 2 and data["counts"]["not_started"] == 2
    assert api_for(world.auditor).post(reverse("campaign-list"), {}).status_code in (403, 405)


def test_pages_preview_then_confirm(world, client_for):
    client = client_for(world.analyst)
    assert client.get(reverse("campaigns:create")).status_code == 200
    form = {"name": "物流点検", "template": sheet().pk, "due_on": "2030-04-30",
            "business_function": "logistics"}
    response = client.post(reverse("campaigns:create"), {**form, "preview": "1"})
    assert response.status_code == 200 and response.context["counts"]["targets"] == 1
    assert not Campaign.objects.exists()
    response = client.post(reverse("campaigns:create"), {**form, "confirm": "1"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "campaigns:detail", args=[campaign.pk])
    page = client.get(response["Location"]).content.decode()
    assert "北陸物流株式会社" in page and "東海精密" not in page
    listing = client.get(reverse("campaigns:list")).content.decode()
    assert "物流点検" in listing and "0.0%" in listing


def test_completion_rate_and_cli(world):
    result = make(world)
    Assessment.objects.filter(supplier=world.s1).update(status=AssessmentStatus.SUBMITTED)
    doc = campaign_document(result.campaign)
    assert doc["targets"] == 2 and doc["completed"] == 1 and doc["completion_rate"] == 50.0
    out = io.StringIO()
    call_command("campaigns", "show", str(result.campaign.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["counts"]["submitted"] == 1


def test_cli_create_json(world):
    out = io.StringIO()
    call_command("campaigns", "create", "--name", "CLI", "--template", "scrm-sheet", "--due",
                 "2030-04-30", "--organization", "buyer", "--function", "production", "--json",
                 stdout=out)
    data = json.loads(out.getvalue())
    assert data == {"id": Campaign.objects.get().pk, "assessments": 1, "skipped": []}


def test_invitations_over_smtp_sent_once(world, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = make(world).campaign
    # The task was enqueued on commit; run it (twice: the second sends nothing).
    assert send_invitations(campaign.pk)["sent"] == 2
    assert send_invitations(campaign.pk)["sent"] == 0
    mails = smtp.to("supplier1@example.jp")
    assert len(mails) == 1
    assert "セキュリティ" in mails[0].subject
    assessment = Assessment.objects.get(supplier=world.s1)
    assert f"https://renkei.example.jp/questionnaires/assessments/{assessment.pk}/" in mails[0].text
    assert "2030-04-30" in mails[0].text
    assert CampaignMessage.objects.filter(kind=MessageKind.INVITATION).count() == 2


def test_reminders_before_due_and_overdue_never_twice(world, smtp):
    campaign = make(world).campaign
    Assessment.objects.filter(supplier=world.s2).update(status=AssessmentStatus.SUBMITTED)
    assert send_reminders(DUE - datetime.timedelta(days=8))["sent"] == 0
    assert send_reminders(DUE - datetime.timedelta(days=7))["sent"] == 1
    assert send_reminders(DUE - datetime.timedelta(days=6))["sent"] == 0
    assert send_reminders(DUE)["sent"] == 1
    assert send_reminders(DUE)["sent"] == 0
    assert send_reminders(DUE + datetime.timedelta(days=3))["sent"] == 1
    assert send_reminders(DUE + datetime.timedelta(days=4))["sent"] == 0
    assert len(smtp.to("supplier1@example.jp")) == 3
    assert smtp.to("supplier2@example.jp") == []  # submitted: no reminders
    kinds = set(CampaignMessage.objects.filter(target__campaign=campaign).values_list("kind", flat=True))
    assert kinds == {"reminder_before", "reminder_due", "reminder_overdue"}


def test_periodic_job_registered_and_twice_sends_once(world, smtp, settings):
    assert "campaign_reminders" in jobs()
    campaign = make(world).campaign
    Campaign.objects.filter(pk=campaign.pk).update(due_on=datetime.date.today())
    Assessment.objects.update(due_on=datetime.date.today())
    first = send_campaign_reminders.call()
    second = send_campaign_reminders.call()
    assert first["sent"] == 2 and second["sent"] == 0
    assert len(smtp.messages) == 2


def test_contacts_without_portal_access_get_no_mail(world, smtp):
    Contact.objects.filter(supplier=world.s2).update(portal_access=False)
    campaign = make(world).campaign
    send_invitations(campaign.pk)
    assert smtp.to("supplier2@example.jp") == []
