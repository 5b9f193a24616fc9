"""Campaigns, continued: skipped suppliers, closing, the reminder gap after the invitation,
answer links for contacts without a portal account (followed over real SMTP), 連絡先なし
targets, and the campaign page's query count."""

from __future__ import annotations

import datetime
import io
import json
import logging
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.campaigns.models import Campaign, CampaignMessage, CampaignStatus, CampaignTarget, MessageKind
from renkei.campaigns.services import (
    campaign_document,
    close_campaign,
    create_campaign,
    send_invitations,
    send_reminders,
)
from renkei.questionnaires.assessments_services import create_assessment
from renkei.questionnaires.choices import AssessmentStatus, LinkKind
from renkei.questionnaires.models import AccessLink, Assessment, Template
from renkei.suppliers.choices import BusinessFunction
from renkei.suppliers.models import Contact, Supplier

pytestmark = pytest.mark.django_db
DUE = datetime.date(2030, 4, 30)
LINK = re.compile(r"https://renkei\.example\.jp(/questionnaires/answer/[^/\s]+/)")


def sheet():
    return Template.objects.get(key="scrm-sheet", organization__isnull=True)


def make(world, selection=None, user=None, due_on=DUE):
    actor = Actor(user=user or world.analyst, label="test")
    return create_campaign(actor, world.buyer, name="2030年度 点検", template=sheet(), due_on=due_on,
                           selection=selection or {}).campaign


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def links_in(mail) -> list[str]:
    return LINK.findall(mail.text)


def our_logs(caplog) -> str:
    """Everything logged except by aiosmtpd, the test's own SMTP server (it logs the DATA)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))


@pytest.fixture
def no_account(world):
    """S3 with two contacts without an account (one primary), S4 with two non-primary ones (the
    same address twice), S5 with a contact without any e-mail."""
    s3, s4, s5 = Supplier.objects.bulk_create([
        Supplier(organization=world.buyer, code=code, name=name,
                 business_function=BusinessFunction.PRODUCTION)
        for code, name in (("S3", "三河金型有限会社"), ("S4", "四日市化成株式会社"),
                           ("S5", "五島電装株式会社"))])
    Contact.objects.create(supplier=s3, name="田中 一", email="tanaka@s3.example.jp", is_primary=True)
    Contact.objects.create(supplier=s3, name="伊藤 二", email="ito@s3.example.jp")
    Contact.objects.create(supplier=s4, name="渡辺 三", email="watanabe@s4.example.jp")
    Contact.objects.create(supplier=s4, name="渡辺（別名）", email="Watanabe@S4.example.jp")
    Contact.objects.create(supplier=s4, name="小林 四", email="kobayashi@s4.example.jp")
    Contact.objects.create(supplier=s5, name="電話だけ", phone="0120-000-000")
    return s3, s4, s5


# --- Skipped suppliers --------------------------------------------------------------------------


def test_skipped_suppliers_are_stored_listed_and_in_every_document(world, client_for, api_for):
    blocking = create_assessment(Actor.system("t"), world.s2, sheet())
    campaign = make(world)
    expected = [{"supplier": "S2", "name": "北陸物流株式会社", "assessment": blocking.pk}]
    assert campaign.skipped == expected
    page = client_for(world.analyst).get(reverse("campaigns:detail", args=[campaign.pk]))
    section = page.content.decode().split('id="skipped-suppliers"', 1)[1]
    assert "北陸物流株式会社" in section
    assert reverse("questionnaires:assessment-detail", args=[blocking.pk]) in section
    assert campaign_document(campaign)["skipped"] == expected
    out = io.StringIO()
    call_command("campaigns", "show", str(campaign.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["skipped"] == expected
    data = api_for(world.auditor).get(reverse("campaign-detail", args=[campaign.pk])).json()
    assert data["skipped"] == expected and data["targets"] == 1  # existing keys unchanged


# --- Closing ------------------------------------------------------------------------------------


def test_close_from_the_page_stops_mails_leaves_assessments_and_is_audited(world, client_for, smtp):
    campaign = make(world)
    client = client_for(world.analyst)
    detail = reverse("campaigns:detail", args=[campaign.pk])
    close = reverse("campaigns:close", args=[campaign.pk])
    assert close in client.get(detail).content.decode()
    confirm = client.get(close)
    assert confirm.status_code == 200 and 'id="confirm-close"' in confirm.content.decode()
    assert Campaign.objects.get().status == CampaignStatus.OPEN  # GET changes nothing
    entries = AuditEntry.objects.count()
    response = client.post(close)
    assert response.status_code == 302 and response["Location"] == detail
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CLOSED and campaign.closed_by == world.analyst
    assert campaign.closed_at is not None
    entry = AuditEntry.objects.order_by("-pk").first()
    assert AuditEntry.objects.count() == entries + 1
    assert (entry.object_type, entry.action, entry.actor) == ("campaigns.campaign", "update",
                                                             world.analyst)
    assert entry.changes["status"] == ["open", "closed"]
    page = client.get(detail).content.decode()
    assert 'id="campaign-closed"' in page and "analyst" in page and close not in page
    # Closing twice changes nothing.
    client.post(close)
    assert AuditEntry.objects.count() == entries + 1
    assert Campaign.objects.get().closed_at == campaign.closed_at
    # No more invitations or reminders; the assessments are untouched and still answerable.
    assert send_invitations(campaign.pk)["sent"] == 0
    for day in (DUE - datetime.timedelta(days=7), DUE, DUE + datetime.timedelta(days=3)):
        assert send_reminders(day)["sent"] == 0
    assert smtp.messages == []
    assert set(Assessment.objects.values_list("status", flat=True)) == {AssessmentStatus.NOT_STARTED}


def test_only_staff_who_may_change_can_close(world, client_for, api_for):
    campaign = make(world)
    close = reverse("campaigns:close", args=[campaign.pk])
    auditor = client_for(world.auditor)
    assert close not in auditor.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert auditor.get(close).status_code == 403
    assert auditor.post(close).status_code == 403
    assert client_for(world.outsider).post(close).status_code == 404
    assert client_for(world.supplier1).post(close).status_code == 404
    api_close = reverse("campaign-close", args=[campaign.pk])
    assert api_for(world.auditor).post(api_close).status_code == 403
    assert api_for(world.outsider).post(api_close).status_code == 404
    assert Campaign.objects.get().status == CampaignStatus.OPEN
    from renkei.campaigns.services import CampaignNotAllowed

    with pytest.raises(CampaignNotAllowed):
        close_campaign(Actor(user=world.auditor), campaign)


def test_close_through_api_and_cli(world, api_for):
    first, second = make(world, {"q": "S1"}), make(world, {"q": "S2"})
    response = api_for(world.admin).post(reverse("campaign-close", args=[first.pk]))
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "closed" and data["closed_by"] == "admin" and data["closed_at"]
    assert data["targets"] == 1 and "counts" in data
    entries = AuditEntry.objects.count()
    assert api_for(world.admin).post(reverse("campaign-close", args=[first.pk])).status_code == 200
    assert AuditEntry.objects.count() == entries
    out = io.StringIO()
    call_command("campaigns", "close", str(second.pk), "--json", stdout=out)
    closed = json.loads(out.getvalue())
    assert closed["changed"] is True and closed["status"] == "closed" and closed["closed_by"] is None
    out = io.StringIO()
    call_command("campaigns", "close", str(second.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["changed"] is False
    assert AuditEntry.objects.filter(object_type="campaigns.campaign", action="update").count() == 2
    listing = api_for(world.auditor).get(reverse("campaign-list")).json()
    rows = listing["results"] if isinstance(listing, dict) else listing
    assert {row["status"] for row in rows} == {"closed"}


# --- The reminder gap after the invitation --------------------------------------------------------


def test_no_seven_day_reminder_within_three_days_of_the_invitation(world, smtp):
    day = datetime.date(2030, 4, 1)
    campaign = make(world, due_on=day + datetime.timedelta(days=5))
    Campaign.objects.filter(pk=campaign.pk).update(created_at=at(day, 10))
    assert send_invitations(campaign.pk)["sent"] == 2
    CampaignMessage.objects.update(claimed_at=at(day, 10), sent_at=at(day, 10))
    assert send_reminders(day + datetime.timedelta(days=1))["sent"] == 0  # the next morning
    assert send_reminders(day + datetime.timedelta(days=2))["sent"] == 0
    assert send_reminders(day + datetime.timedelta(days=3))["sent"] == 2  # 2 days before the due date
    assert send_reminders(day + datetime.timedelta(days=4))["sent"] == 0  # never twice
    assert send_reminders(day + datetime.timedelta(days=5))["sent"] == 2  # on the due date
    kinds = list(CampaignMessage.objects.filter(target__supplier=world.s1)
                 .order_by("pk").values_list("kind", flat=True))
    assert kinds == ["invitation", "reminder_before", "reminder_due"]


def test_seven_day_reminder_waits_for_a_late_invitation(world, smtp):
    """The gap counts from the invitation actually sent, not only from the campaign's creation."""
    day = datetime.date(2030, 4, 1)
    campaign = make(world, {"q": "S1"}, due_on=day + datetime.timedelta(days=6))
    Campaign.objects.filter(pk=campaign.pk).update(created_at=at(day - datetime.timedelta(days=20)))
    send_invitations(campaign.pk)
    CampaignMessage.objects.update(claimed_at=at(day, 9))
    assert send_reminders(day + datetime.timedelta(days=1))["sent"] == 0
    assert send_reminders(day + datetime.timedelta(days=3))["sent"] == 1


def test_seven_day_reminder_still_sent_for_a_long_campaign(world, smtp):
    day = datetime.date(2030, 4, 1)
    campaign = make(world, {"q": "S1"}, due_on=day + datetime.timedelta(days=30))
    Campaign.objects.filter(pk=campaign.pk).update(created_at=at(day))
    send_invitations(campaign.pk)
    CampaignMessage.objects.update(claimed_at=at(day))
    assert send_reminders(day + datetime.timedelta(days=22))["sent"] == 0
    assert send_reminders(day + datetime.timedelta(days=23))["sent"] == 1


# --- Suppliers without a portal account -----------------------------------------------------------


def test_contacts_without_account_get_an_answer_link_that_opens_only_their_assessment(
        world, no_account, smtp, caplog):
    s3, s4, s5 = no_account
    caplog.set_level(logging.DEBUG)
    campaign = make(world)
    result = send_invitations(campaign.pk)
    assert result == {"sent": 4, "skipped": 0, "failed": 0, "unreachable": 1}
    # Portal users keep the login URL, and no link.
    portal = smtp.to("supplier1@example.jp")[0]
    assessment1 = Assessment.objects.get(supplier=world.s1)
    assert f"/questionnaires/assessments/{assessment1.pk}/" in portal.text and not links_in(portal)
    # S3: only the primary contact; S4: every address once.
    assert smtp.to("ito@s3.example.jp") == []
    (mail,) = smtp.to("tanaka@s3.example.jp")
    assert "田中 一" in mail.text and "/questionnaires/assessments/" not in mail.text
    assert "2030-05-14" in mail.text  # the link works until 14 days after the due date
    assert len(smtp.to("watanabe@s4.example.jp")) + len(smtp.to("Watanabe@S4.example.jp")) == 1
    assert len(smtp.to("kobayashi@s4.example.jp")) == 1
    (path,) = links_in(mail)
    assert path in mail.html
    link = AccessLink.objects.get(sent_to="tanaka@s3.example.jp")
    assessment3 = Assessment.objects.get(supplier=s3)
    assert (link.kind, link.assessment, link.sent_to_name) == (LinkKind.CAMPAIGN, assessment3, "田中 一")
    assert timezone.localtime(link.expires_at) == at(datetime.date(2030, 5, 15), 0)
    # Following the link opens that one assessment, and nothing else.
    visitor = Client()
    opened = visitor.get(path, follow=True)
    assert opened.status_code == 200 and "三河金型有限会社" in opened.content.decode()
    assert opened.redirect_chain[-1][0] == reverse("questionnaires:portal")
    other = visitor.get(reverse("questionnaires:assessment-detail", args=[assessment1.pk]))
    assert other.status_code in (302, 403, 404)
    assert "東海精密" not in other.content.decode()
    # The token is nowhere but in the mail: not in the audit trail, not in the logs.
    token = path.rstrip("/").rsplit("/", 1)[1]
    audit = json.dumps(list(AuditEntry.objects.values("changes", "object_repr")), ensure_ascii=False)
    assert token not in audit and link.token_hash not in audit
    assert token not in our_logs(caplog)
    # 連絡先なし: counted and not claimed, so a later run can reach it.
    assert campaign_document(campaign)["no_contact"] == 1
    assert not CampaignMessage.objects.filter(target__supplier=s5).exists()


def test_each_reminder_carries_a_fresh_link_and_revokes_the_previous_one(world, no_account, smtp):
    s3, _s4, _s5 = no_account
    campaign = make(world, {"q": "S3"})
    send_invitations(campaign.pk)
    (first,) = links_in(smtp.to("tanaka@s3.example.jp")[0])
    assert send_reminders(DUE - datetime.timedelta(days=7))["sent"] == 1
    second_mail = smtp.to("tanaka@s3.example.jp")[1]
    (second,) = links_in(second_mail)
    assert first != second
    links = AccessLink.objects.filter(sent_to="tanaka@s3.example.jp").order_by("pk")
    assert [link.revoked_at is not None for link in links] == [True, False]
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 302
    # Other assessments' links of the same address are left alone.
    assert AccessLink.objects.filter(assessment__supplier=s3, revoked_at__isnull=True).count() == 1


def test_no_contact_target_is_shown_counted_and_reached_once_a_contact_is_added(
        world, no_account, smtp, client_for, api_for):
    _s3, _s4, s5 = no_account
    campaign = make(world, {"q": "S5"})
    assert send_invitations(campaign.pk)["unreachable"] == 1
    page = client_for(world.analyst).get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert f'{reverse("suppliers:detail", args=[s5.pk])}?tab=contacts' in page
    assert 'id="no-contact-count"' in page
    assert api_for(world.analyst).get(reverse("campaign-detail", args=[campaign.pk])).json()[
        "no_contact"] == 1
    Contact.objects.create(supplier=s5, name="中村 五", email="nakamura@s5.example.jp")
    assert campaign_document(campaign)["no_contact"] == 0
    assert send_reminders(DUE - datetime.timedelta(days=7))["sent"] == 1
    assert len(smtp.to("nakamura@s5.example.jp")) == 1


def test_revoked_portal_access_gets_no_link_either(world, smtp):
    Contact.objects.filter(supplier=world.s2).update(portal_access=False)
    campaign = make(world, {"q": "S2"})
    assert send_invitations(campaign.pk)["unreachable"] == 1
    assert smtp.messages == [] and not AccessLink.objects.exists()


def test_failed_link_mail_revokes_the_new_link_and_logs_no_token(world, no_account, settings, caplog):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    caplog.set_level(logging.DEBUG)
    campaign = make(world, {"q": "S3"})
    assert send_invitations(campaign.pk)["failed"] == 1
    link = AccessLink.objects.get()
    assert link.revoked_at is not None
    assert not CampaignMessage.objects.exists()  # released: the next run tries again
    logged = our_logs(caplog)
    assert "could not be sent" in logged
    assert "/answer/" not in logged and "tanaka@" not in logged


# --- The campaign page ----------------------------------------------------------------------------


def _page_queries(client, campaign) -> int:
    with CaptureQueriesContext(connection) as run:
        response = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert response.status_code == 200
    return len(run)


def test_campaign_page_shows_reach_and_last_mail_in_constant_queries(world, no_account, client_for, smtp):
    suppliers = Supplier.objects.bulk_create([
        Supplier(organization=world.buyer, code=f"Q{i:03d}", name=f"取引先{i}") for i in range(50)])
    Contact.objects.bulk_create([
        Contact(supplier=s, name=f"担当{i}", email=f"c{i}@q.example.jp")
        for i, s in enumerate(suppliers) if i % 2])
    small, large = make(world, {"q": "S"}), make(world, {"q": "Q"})
    for campaign in (small, large):
        send_invitations(campaign.pk)
    assert CampaignTarget.objects.filter(campaign=small).count() == 5
    assert CampaignTarget.objects.filter(campaign=large).count() == 50
    client = client_for(world.analyst)
    client.get(reverse("campaigns:list"))  # warm the session
    counts = [_page_queries(client, small), _page_queries(client, large)]
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts
    page = client.get(reverse("campaigns:detail", args=[small.pk])).content.decode()
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<tr data-supplier="(\w+)">(.*?)</tr>', page, re.S)}
    assert "badge-valid" in rows["S1"].split('class="nowrap reach"')[1]  # portal
    assert "badge-submitted" in rows["S3"].split('class="nowrap reach"')[1]  # answer link
    assert "?tab=contacts" in rows["S5"] and "?tab=contacts" not in rows["S1"]
    invitation = str(MessageKind.INVITATION.label)
    assert "Invitation" in invitation or "依頼" in invitation
    assert timezone.localdate().strftime("%Y-%m-%d") in rows["S1"]
    assert "—" in rows["S5"].split('data-label')[4]  # never mailed
