"""Intake on the supplier side: the portal pages of a supplier contact, and single-use reporting
links for people without an account (renkei.incidents.views_portal, views_link, links)."""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import socket
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.errors import NotAllowed
from renkei.incidents import links, services
from renkei.incidents.models import Event, EventKind, Incident, ReportLink, Source, Status

pytestmark = pytest.mark.django_db

LINK_URL = re.compile(r"https://renkei\.example\.jp/incidents/report/([A-Za-z0-9_-]+)/")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _intake(**extra):
    data = {
        "title": "メールサーバーへの不正アクセス",
        "description": "当社のメールサーバーが乗っ取られ、取引先に偽の請求書メールが送られた。",
        "detected_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "systems_text": "メールサーバー",
        "data_text": "取引先の連絡先",
        "personal_data": "on",
        "persons_affected": "1200",
        "current_state": "サーバーを隔離済み",
    }
    data.update(extra)
    return data


def _ja(msgid: str) -> str:
    """MSGID as the Japanese page shows it (English until the lead merges the catalog)."""
    with translation.override("ja"):
        return gettext(msgid)


def _report(world, supplier=None, **extra):
    return services.report(
        Actor(user=world.supplier1, label="supplier1"), supplier or world.s1, _intake(**extra)
    )


def _writes():
    return Incident.objects.count(), Event.objects.count(), AuditEntry.objects.count()


@pytest.fixture
def smtp_down(settings):
    """Mail goes through SMTP to a port nothing listens on: sending fails."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


def _link(world, *, email="tanaka@s1.example.jp", supplier=None, days=14):
    """A link made by the service (the mail is tested separately): (link, token)."""
    return links.create_link(Actor(user=world.admin, label="admin"), supplier or world.s1, email, days)


# --- The portal -----------------------------------------------------------------------------------


def test_portal_report_end_to_end_acknowledges_the_reporter_and_tells_staff(
    world, client_for, smtp, django_capture_on_commit_callbacks
):
    client = client_for(world.supplier1)
    home = client.get(reverse("dashboard")).content.decode()
    assert reverse("incidents:portal_list", args=[world.s1.pk]) in home
    listing = client.get(reverse("incidents:portal_list", args=[world.s1.pk]))
    assert listing.status_code == 200
    assert reverse("incidents:portal_report", args=[world.s1.pk]) in listing.content.decode()
    assert client.get(reverse("incidents:portal_report", args=[world.s1.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("incidents:portal_report", args=[world.s1.pk]), _intake())
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:portal_detail", args=[incident.pk])
    assert (incident.source, incident.supplier, incident.reported_by) == (
        Source.PORTAL,
        world.s1,
        world.supplier1,
    )
    assert incident.persons_affected == 1200 and incident.personal_data
    page = client.get(response["Location"]).content.decode()
    assert incident.number in page and "メールサーバーへの不正アクセス" in page
    # The acknowledgement: to the reporter's own address, in Japanese, with the number.
    ack = smtp.to("supplier1@example.jp")
    assert len(ack) == 1
    assert incident.number in ack[0].subject and incident.number in ack[0].text
    assert "連携製作所" in ack[0].subject  # the organization's Japanese name: the mail is in Japanese
    assert '<html lang="ja">' in ack[0].html
    assert reverse("incidents:portal_detail", args=[incident.pk]) in ack[0].text
    # The organization's admins and analysts hear of it; the auditor does not.
    notified = {r for m in smtp.messages for r in m.recipients} - {"supplier1@example.jp"}
    assert notified == {"admin@example.jp", "analyst@example.jp"}
    assert all(incident.number in m.subject for m in smtp.to("admin@example.jp"))
    assert Event.objects.filter(incident=incident, kind=EventKind.ACKNOWLEDGED).exists()


def test_portal_validation_is_japanese_and_writes_nothing(world, client_for):
    client = client_for(world.supplier1)
    url = reverse("incidents:portal_report", args=[world.s1.pk])
    before = _writes()
    response = client.post(url, _intake(title="", description="", detected_at="2025-13-45 99:99"))
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("この項目は必須です。") == 2  # title, description
    assert "日時を正しく入力してください。" in page
    future = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, _intake(detected_at=future, persons_affected="-3"))
    page = response.content.decode()
    assert response.status_code == 400
    assert _ja("This time is in the future.") in page
    assert "この値は 0 以上でなければなりません。" in page
    assert "入力内容に誤りがあります。" in page
    assert _writes() == before


def test_portal_detail_shows_the_supplier_timeline_and_takes_messages(world, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    incident = _report(world)
    staff = Actor(user=world.analyst, label="analyst")
    services.add_event(staff, incident, kind=EventKind.NOTE, text="社内メモ：内部の見立て")
    services.add_event(
        staff, incident, kind=EventKind.MESSAGE, text="ログの提出をお願いします", supplier_visible=True
    )
    client = client_for(world.supplier1)
    url = reverse("incidents:portal_detail", args=[incident.pk])
    page = client.get(url).content.decode()
    assert "ログの提出をお願いします" in page and "社内メモ" not in page
    assert incident.get_status_display() in page
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("mail-log.txt", b"Received: from evil", content_type="text/plain")
    response = client.post(url, {"text": "ログを添付します", "attachment": upload})
    assert response.status_code == 302 and response["Location"].endswith("#timeline")
    event = Event.objects.filter(incident=incident).latest("pk")
    assert (event.kind, event.supplier_visible, event.user) == (EventKind.MESSAGE, True, world.supplier1)
    assert event.attachment_name == "mail-log.txt"
    assert "ログを添付します" in client.get(url).content.decode()
    # An empty message is refused on the form.
    assert client.post(url, {"text": ""}).status_code == 400


def test_supplier_contact_cannot_open_other_suppliers_incidents(world, client_for):
    incident = _report(world)
    before = _writes()
    for user in (world.supplier2, world.xcontact, world.nobody):
        client = client_for(user)
        for url, post_status in (
            (reverse("incidents:portal_list", args=[world.s1.pk]), 405),  # the list takes no POST
            (reverse("incidents:portal_report", args=[world.s1.pk]), 404),
            (reverse("incidents:portal_detail", args=[incident.pk]), 404),
        ):
            assert client.get(url).status_code == 404, (user, url)
            assert client.post(url, {**_intake(), "text": "x"}).status_code == post_status, (user, url)
    # Its own list does not show the other supplier's incident.
    page = client_for(world.supplier2).get(reverse("incidents:portal_list", args=[world.s2.pk]))
    assert incident.number not in page.content.decode()
    assert _writes() == before


def test_staff_opening_portal_pages_are_sent_to_their_own_pages_and_outsiders_get_404(world, client_for):
    incident = _report(world)
    admin = client_for(world.admin)
    response = admin.get(reverse("incidents:portal_detail", args=[incident.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:detail", args=[incident.pk])
    response = admin.get(reverse("incidents:portal_list", args=[world.s1.pk]))
    assert response["Location"] == f"{reverse('incidents:list')}?supplier={world.s1.pk}"
    response = admin.post(reverse("incidents:portal_report", args=[world.s1.pk]), _intake())
    assert response.status_code == 302 and Incident.objects.count() == 1
    outsider = client_for(world.outsider)
    assert outsider.get(reverse("incidents:portal_detail", args=[incident.pk])).status_code == 404
    assert outsider.get(reverse("incidents:portal_list", args=[world.s1.pk])).status_code == 404


def test_portal_list_and_detail_query_counts_do_not_grow(world, client_for, django_assert_num_queries):
    client = client_for(world.supplier1)
    first = _report(world)
    list_url = reverse("incidents:portal_list", args=[world.s1.pk])
    detail_url = reverse("incidents:portal_detail", args=[first.pk])
    client.get(list_url)  # warm the session
    # session, user, supplier, is_contact, count, page; the role badge (base.html): 2
    with django_assert_num_queries(8):
        assert client.get(list_url).status_code == 200
    # session, user, incident, is_contact, staff? (events_for), events; the role badge: 2
    with django_assert_num_queries(8):
        assert client.get(detail_url).status_code == 200
    staff = Actor(user=world.analyst, label="analyst")
    for n in range(5):
        _report(world, title=f"追加 {n}")
        services.add_event(staff, first, kind=EventKind.MESSAGE, text=f"返信 {n}", supplier_visible=True)
    with django_assert_num_queries(8):
        page = client.get(list_url).content.decode()
    assert page.count('data-status="reported"') == 6
    with django_assert_num_queries(8):
        page = client.get(detail_url).content.decode()
    assert page.count('class="event kind-message"') == 5


# --- Reporting links --------------------------------------------------------------------------------


def test_link_flow_create_mail_open_report_done(world, client_for, smtp, django_capture_on_commit_callbacks):
    admin = client_for(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("incidents:links"),
            {"supplier": world.s1.pk, "email": "tanaka@s1.example.jp", "days": "14"},
        )
    assert response.status_code == 302
    link = ReportLink.objects.get()
    assert (link.supplier, link.email, link.created_by, link.used_at) == (
        world.s1,
        "tanaka@s1.example.jp",
        world.admin,
        None,
    )
    assert (
        datetime.timedelta(days=13, hours=23)
        < link.expires_at - timezone.now()
        <= datetime.timedelta(days=14)
    )
    mail = smtp.to("tanaka@s1.example.jp")
    assert len(mail) == 1 and "連携製作所" in mail[0].subject
    assert world.s1.name in mail[0].text and '<html lang="ja">' in mail[0].html
    token = LINK_URL.search(mail[0].text).group(1)
    # Only the hash is kept, and neither the token nor the hash reaches the audit trail.
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    trail = str(list(AuditEntry.objects.values_list("changes", flat=True)))
    assert token not in trail and link.token_hash not in trail
    assert "tanaka@s1.example.jp" in admin.get(reverse("incidents:links")).content.decode()

    visitor = Client()
    url = reverse("incidents:report", args=[token])
    page = visitor.get(url)
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    assert 'value="tanaka@s1.example.jp"' in page.content.decode()
    smtp.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = visitor.post(
            url,
            {**_intake(), "reporter_name": "田中 三郎", "reporter_email": "tanaka@s1.example.jp"},
            REMOTE_ADDR="192.0.2.7",
        )
    incident = Incident.objects.get()
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    assert incident.number in done.content.decode()
    assert (incident.source, incident.supplier, incident.reported_by) == (Source.LINK, world.s1, None)
    assert (incident.reporter_name, incident.reporter_email) == ("田中 三郎", "tanaka@s1.example.jp")
    link.refresh_from_db()
    assert link.incident == incident and link.used_at is not None
    entry = AuditEntry.objects.filter(object_type="incidents.incident").get()
    assert (entry.actor_label, entry.address) == ("link", "192.0.2.7")
    ack = smtp.to("tanaka@s1.example.jp")
    assert len(ack) == 1 and incident.number in ack[0].subject
    assert "/incidents/portal/" not in ack[0].text  # no account, no portal link
    listing = admin.get(reverse("incidents:links")).content.decode()
    assert reverse("incidents:detail", args=[incident.pk]) in listing
    # Used once: the page is gone, and a second report is refused without writing anything.
    before = _writes()
    assert visitor.get(url).status_code == 410
    again = visitor.post(url, {**_intake(), "reporter_name": "田中", "reporter_email": "t@example.jp"})
    assert again.status_code == 410 and _writes() == before


def _invalid_body(response, token: str) -> str:
    """The page without what differs per request: the CSRF token and the path (language switch)."""
    return CSRF.sub("", response.content.decode()).replace(token, "TOKEN")


def test_used_expired_revoked_and_unknown_links_get_one_and_the_same_page(world, client_for):
    used, used_token = _link(world)
    links.redeem(used_token, _intake(), address="", reporter_name="田中", reporter_email="t@example.jp")
    expired, expired_token = _link(world)
    ReportLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    revoked, revoked_token = _link(world)
    response = client_for(world.analyst).post(reverse("incidents:link-revoke", args=[revoked.pk]))
    assert response.status_code == 302
    revoked.refresh_from_db()
    assert revoked.revoked_at is not None
    visitor = Client()
    pages = []
    for token in (used_token, expired_token, revoked_token, "unknown-" + "x" * 35, "x" * 500):
        before = _writes()
        response = visitor.get(reverse("incidents:report", args=[token]))
        assert response.status_code == 410 and response["Cache-Control"] == "no-store"
        pages.append(_invalid_body(response, token))
        posted = visitor.post(
            reverse("incidents:report", args=[token]),
            {**_intake(), "reporter_name": "x", "reporter_email": "x@example.jp"},
        )
        assert posted.status_code == 410 and _writes() == before
    assert len(set(pages)) == 1
    assert 'id="link-invalid"' in pages[0]
    listing = client_for(world.admin).get(reverse("incidents:links")).content.decode()
    for state in ("used", "expired", "revoked"):
        assert f'data-state="{state}"' in listing


def test_link_report_validates_like_the_portal_and_keeps_the_link(world):
    link, token = _link(world)
    visitor = Client()
    url = reverse("incidents:report", args=[token])
    future = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    before = _writes()
    response = visitor.post(
        url,
        {
            **_intake(detected_at=future, description="x" * 10_001),
            "reporter_name": "",
            "reporter_email": "not-an-address",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert _ja("This time is in the future.") in page
    assert "この項目は必須です。" in page  # the reporter's name
    assert "有効なメールアドレスを入力してください。" in page
    assert "10001" in page  # the length limit's message names the length entered
    assert _writes() == before
    link.refresh_from_db()
    assert link.used_at is None and visitor.get(url).status_code == 200


def test_link_body_larger_than_the_upload_limit_is_refused(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    _link_row, token = _link(world)
    before = _writes()
    response = Client().post(
        reverse("incidents:report", args=[token]),
        {**_intake(description="あ" * 40_000), "reporter_name": "x", "reporter_email": "x@example.jp"},
    )
    assert response.status_code == 400
    assert _writes() == before


def test_link_token_stays_out_of_the_request_log(world, caplog):
    _link_row, token = _link(world)
    ReportLink.objects.update(revoked_at=timezone.now())
    with caplog.at_level(logging.INFO):
        assert Client().get(reverse("incidents:report", args=[token])).status_code == 410
    assert token not in caplog.text


def test_mail_that_cannot_be_sent_withdraws_the_link(world, client_for, smtp_down):
    response = client_for(world.admin).post(
        reverse("incidents:links"), {"supplier": world.s1.pk, "email": "tanaka@s1.example.jp", "days": "14"}
    )
    assert response.status_code == 400
    assert "tanaka@s1.example.jp" in response.content.decode()
    link = ReportLink.objects.get()
    assert link.revoked_at is not None and links.link_state(link) == links.LinkState.REVOKED


@pytest.mark.parametrize("days", ["0", "91", "x"])
def test_link_expiry_must_be_1_to_90_days(world, client_for, days):
    response = client_for(world.admin).post(
        reverse("incidents:links"), {"supplier": world.s1.pk, "email": "t@s1.example.jp", "days": days}
    )
    assert response.status_code == 400 and not ReportLink.objects.exists()
    with pytest.raises(links.LinkError):
        links.clean_days(days)
    assert links.clean_days("90") == 90 and links.clean_days(1) == 1


def test_auditors_cannot_create_or_withdraw_links(world, client_for):
    link, _token = _link(world)
    auditor = client_for(world.auditor)
    page = auditor.get(reverse("incidents:links"))
    assert page.status_code == 200 and 'id="link-form"' not in page.content.decode()
    response = auditor.post(
        reverse("incidents:links"), {"supplier": world.s1.pk, "email": "t@s1.example.jp", "days": "14"}
    )
    assert response.status_code == 403
    assert auditor.post(reverse("incidents:link-revoke", args=[link.pk])).status_code == 403
    assert ReportLink.objects.count() == 1 and ReportLink.objects.get().revoked_at is None
    with pytest.raises(NotAllowed):
        links.create_link(Actor(user=world.auditor), world.s1, "t@s1.example.jp")


def test_foreign_admin_and_contacts_cannot_see_or_withdraw_links(world, client_for):
    link, _token = _link(world)
    outsider = client_for(world.outsider)
    assert outsider.post(reverse("incidents:link-revoke", args=[link.pk])).status_code == 404
    assert "tanaka@s1.example.jp" not in outsider.get(reverse("incidents:links")).content.decode()
    # The outsider cannot make a link for the buyer's supplier either: not a choice on its form.
    response = outsider.post(
        reverse("incidents:links"), {"supplier": world.s1.pk, "email": "t@s1.example.jp", "days": "14"}
    )
    assert response.status_code == 400 and ReportLink.objects.count() == 1
    contact = client_for(world.supplier1)
    assert contact.get(reverse("incidents:links")).status_code == 403
    assert contact.post(reverse("incidents:link-revoke", args=[link.pk])).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_of_one_link_make_one_incident(world):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serializes whole-database writes)")
    _link_row, token = _link(world)
    url = reverse("incidents:report", args=[token])
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit(n: int) -> None:
        from django.db import connections

        try:
            barrier.wait()
            response = Client().post(
                url,
                {
                    **_intake(title=f"同時送信 {n}"),
                    "reporter_name": f"担当 {n}",
                    "reporter_email": f"r{n}@example.jp",
                },
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 410]
    assert Incident.objects.count() == 1
    assert ReportLink.objects.get().incident == Incident.objects.get()
    assert Incident.objects.get().status == Status.REPORTED
