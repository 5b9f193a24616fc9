"""Sharing an incident with partners: the mails (real SMTP, S/MIME checked by openssl), the
acknowledgement link, the levels of detail, who may share, the validation of typed recipients,
and the incident page's "who knew what, and when" section."""

from __future__ import annotations

import datetime
import email
import hashlib
import re
from email import policy

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from renkei.accounts.tests.conftest import free_port
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.incidents import services, share_content, sharing
from renkei.incidents.models import AffectedItem, Detail, Event, EventKind, Incident, Recipient, Share
from renkei.incidents.services import IncidentError, NotAllowed
from renkei.pki import smime
from renkei.pki.tests import conftest as pki_fixtures
from renkei.pki.tests.helpers import SYSTEM, openssl
from renkei.suppliers.choices import Relationship
from renkei.suppliers.models import Contact, Supplier

pytestmark = pytest.mark.django_db

# The PKI tests' fixtures: the buyer's CA under a temporary directory, and its chain as a file.
pki_env, ca, chain_file = pki_fixtures.pki_env, pki_fixtures.ca, pki_fixtures.chain_file

LINK = re.compile(r"https://renkei\.example\.jp/incidents/ack/([A-Za-z0-9_-]+)/")
ANY_LINK = re.compile(r"/incidents/ack/([A-Za-z0-9_-]+)/")
DESCRIPTION = "当社のメールサーバーが乗っ取られ、取引先に偽の請求書メールが送られた。"
SYSTEMS = "社内メールサーバー mail01"
STAFF_ONLY = "社内限り: 弁護士に相談中"
SUPPLIER_VISIBLE = "メールサーバーを停止しました"


@pytest.fixture
def partners(world):
    """S3, a group company with a primary contact, a second contact and one without an address;
    S4, a supplier nobody can be mailed at."""
    s3 = Supplier.objects.create(
        organization=world.buyer, code="S3", name="みなと販売株式会社", relationship=Relationship.GROUP
    )
    Contact.objects.create(supplier=s3, name="田中 三郎", email="tanaka@s3.example.jp", is_primary=True)
    Contact.objects.create(supplier=s3, name="経理 担当", email="keiri@s3.example.jp")
    Contact.objects.create(supplier=s3, name="電話のみ", phone="03-0000-0000")
    s4 = Supplier.objects.create(organization=world.buyer, code="S4", name="住所なし工業")
    Contact.objects.create(supplier=s4, name="連絡先 不明")
    return s3, s4


@pytest.fixture
def incident(world, partners):
    """Seed 003: S1's mail server taken over; S2 is affected (from the map, say)."""
    data = {
        "supplier": world.s1.pk,
        "title": "メールサーバーへの不正アクセス",
        "description": DESCRIPTION,
        "detected_at": (timezone.localtime() - datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "systems_text": SYSTEMS,
        "data_text": "取引先の連絡先",
        "persons_affected": "120",
        "current_state": "サーバーを隔離済み",
    }
    row = services.record_incident(Actor(user=world.admin), world.buyer, data)
    Incident.objects.filter(pk=row.pk).update(category="mail_takeover")
    AffectedItem.objects.create(
        incident=row, supplier=world.s2, kind="supplier", name=world.s2.name, origin="manual"
    )
    Event.objects.create(
        incident=row, at=timezone.now(), kind=EventKind.MESSAGE, text=SUPPLIER_VISIBLE, supplier_visible=True
    )
    Event.objects.create(incident=row, at=timezone.now(), kind=EventKind.NOTE, text=STAFF_ONLY)
    return Incident.objects.select_related("organization", "supplier").get(pk=row.pk)


def _share(user, incident, capture, **kwargs):
    kwargs.setdefault("detail", Detail.SUMMARY)
    with capture(execute=True):
        return sharing.share(Actor(user=user), incident, **kwargs)


def _tokens(messages):
    return {m.recipients[0]: LINK.search(m.text).group(1) for m in messages}


# --- Mails and the link ------------------------------------------------------------------------------


def test_share_mails_each_contact_in_japanese_with_a_working_link(
    world, incident, smtp, client_for, django_capture_on_commit_callbacks
):
    row = _share(
        world.analyst,
        incident,
        django_capture_on_commit_callbacks,
        supplier_ids=[world.s2.pk],
        extra_recipients="山田 太郎 <yamada@partner.example.jp>",
        message="至急ご確認ください",
    )
    assert sorted(m.recipients[0] for m in smtp.messages) == [
        "suzuki@s2.example.jp",
        "yamada@partner.example.jp",
    ]
    received = smtp.to("suzuki@s2.example.jp")[0]
    assert "東海精密部品株式会社" in received.subject and "連携製作所" in received.subject
    assert '<html lang="ja">' in received.html  # rendered in Japanese, the default
    assert (
        "鈴木 花子" in received.text
        and DESCRIPTION in received.text
        and "至急ご確認ください" in received.text
    )
    token = LINK.search(received.text).group(1)
    assert token in received.html
    assert not row.signed
    recipient = Recipient.objects.get(share=row, email="suzuki@s2.example.jp")
    assert recipient.supplier == world.s2 and recipient.sent_at is not None and recipient.send_error == ""
    # Only the hash is stored, and not even that goes to the audit trail.
    assert recipient.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not Recipient.objects.filter(token_hash=token).exists()
    entries = AuditEntry.objects.filter(object_type__in=["incidents.share", "incidents.recipient"])
    assert entries.count() == 3
    assert all(recipient.token_hash not in str(e.changes) and token not in str(e.changes) for e in entries)
    event = Event.objects.get(incident=incident, kind=EventKind.SHARED)
    assert "2" in event.text and row.get_detail_display() in event.text and event.user == world.analyst
    # The link opens the notice, without logging in.
    page = Client().get(reverse("incidents:ack", args=[token]))
    assert page.status_code == 200 and DESCRIPTION in page.content.decode()
    recipient.refresh_from_db()
    assert recipient.opened_at is not None and recipient.acknowledged_at is None


@pytest.fixture
def raw_smtp(smtp, settings):
    """The real SMTP server (conftest); it keeps each message's bytes for the signature check."""
    settings.DEFAULT_FROM_EMAIL = "連携 <renkei@buyer.example.jp>"
    return smtp


def test_with_a_notice_signer_the_mails_are_smime_signed_and_openssl_verifies_them(
    world, incident, ca, chain_file, raw_smtp, tmp_path, django_capture_on_commit_callbacks
):
    smime.make_notice_signer(SYSTEM, world.buyer, "renkei@buyer.example.jp")
    row = _share(
        world.admin,
        incident,
        django_capture_on_commit_callbacks,
        supplier_ids=[world.s2.pk],
        detail=Detail.NOTICE,
    )
    assert row.signed
    [raw] = raw_smtp.raw
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/signed"
    path = tmp_path / "share.eml"
    path.write_bytes(raw)
    result = openssl(
        "smime", "-verify", "-CAfile", str(chain_file), "-in", str(path), "-out", str(path) + ".out"
    )
    assert result.returncode == 0 and "Verification successful" in result.stderr, result.stderr
    assert LINK.search(raw_smtp.messages[0].text)
    assert "S/MIME" in raw_smtp.messages[0].text  # the mail says it is signed


def test_a_mail_the_server_refuses_is_recorded_as_not_sent(
    world, incident, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    row = _share(world.admin, incident, django_capture_on_commit_callbacks, supplier_ids=[world.s2.pk])
    recipient = row.recipients.get()
    assert recipient.sent_at is None and recipient.send_error == sharing.SEND_FAILED


# --- Acknowledging --------------------------------------------------------------------------------


def test_a_recipient_acknowledges_once_through_the_link(
    world, incident, smtp, django_capture_on_commit_callbacks
):
    _share(world.admin, incident, django_capture_on_commit_callbacks, supplier_ids=[world.s2.pk])
    token = _tokens(smtp.messages)["suzuki@s2.example.jp"]
    url = reverse("incidents:ack", args=[token])
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page.content.decode()
    assert client.post(url, {"name": "鈴木 花子"}).status_code == 403  # CSRF is on
    csrf = client.cookies["csrftoken"].value
    done = client.post(url, {"name": "  鈴木  花子 ", "csrfmiddlewaretoken": csrf}, REMOTE_ADDR="203.0.113.7")
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    assert 'data-outcome="done"' in done.content.decode()
    recipient = Recipient.objects.get(email="suzuki@s2.example.jp")
    assert recipient.acknowledged_by == "鈴木 花子" and recipient.acknowledged_from == "203.0.113.7"
    first_at = recipient.acknowledged_at
    event = Event.objects.get(incident=incident, kind=EventKind.RECEIVED)
    assert "鈴木 花子" in event.text and world.s2.name in event.text
    entry = AuditEntry.objects.filter(object_type="incidents.recipient", action="update").get()
    assert entry.address == "203.0.113.7" and "acknowledged_by" in entry.changes
    assert "token_hash" not in entry.changes
    # A second confirmation changes nothing and says so.
    again = client.post(url, {"name": "別人", "csrfmiddlewaretoken": csrf})
    assert again.status_code == 200 and 'data-outcome="already"' in again.content.decode()
    recipient.refresh_from_db()
    assert recipient.acknowledged_by == "鈴木 花子" and recipient.acknowledged_at == first_at
    assert Event.objects.filter(incident=incident, kind=EventKind.RECEIVED).count() == 1
    assert AuditEntry.objects.filter(object_type="incidents.recipient", action="update").count() == 1


def test_an_empty_name_is_refused(world, incident, smtp, django_capture_on_commit_callbacks):
    _share(world.admin, incident, django_capture_on_commit_callbacks, supplier_ids=[world.s2.pk])
    token = _tokens(smtp.messages)["suzuki@s2.example.jp"]
    response = Client().post(reverse("incidents:ack", args=[token]), {"name": "   "})
    assert response.status_code == 400
    assert Recipient.objects.get(email="suzuki@s2.example.jp").acknowledged_at is None


def test_a_token_acknowledges_only_its_own_recipient_and_bad_tokens_get_one_404_page(
    world, incident, smtp, django_capture_on_commit_callbacks
):
    _share(world.admin, incident, django_capture_on_commit_callbacks, supplier_ids=[world.s2.pk, world.s1.pk])
    foreign = services.record_incident(
        Actor(user=world.outsider),
        world.other,
        {"title": "他社の事故", "description": "他社の内容", "detected_at": "2024-01-01T10:00"},
    )
    _share(
        world.outsider,
        foreign,
        django_capture_on_commit_callbacks,
        extra_recipients="外部 <gaibu@x1.example.jp>",
    )
    tokens = _tokens(smtp.messages)
    client = Client()
    # The foreign organization's link shows its own notice, and acknowledges only its recipient.
    page = client.get(reverse("incidents:ack", args=[tokens["gaibu@x1.example.jp"]]))
    assert "他社の内容" in page.content.decode() and DESCRIPTION not in page.content.decode()
    client.post(reverse("incidents:ack", args=[tokens["gaibu@x1.example.jp"]]), {"name": "外部"})
    assert list(Recipient.objects.filter(acknowledged_at__isnull=False).values_list("email", flat=True)) == [
        "gaibu@x1.example.jp"
    ]
    assert not Event.objects.filter(incident=incident, kind=EventKind.RECEIVED).exists()
    # Unknown, altered, truncated or over-long tokens: the same 404 page, nothing recorded.
    good = tokens["suzuki@s2.example.jp"]
    altered = ("A" if good[0] != "A" else "B") + good[1:]
    bodies = set()
    for bad in (altered, good[:-1], "x" * 300, "garbled-token"):
        response = client.get(reverse("incidents:ack", args=[bad]))
        assert response.status_code == 404 and response["Cache-Control"] == "no-store"
        # The language switch's "next" field holds the page's own path: compare the rest.
        # So does the CSRF field, masked anew on every page.
        body = response.content.decode().replace(bad, "TOKEN")
        bodies.add(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body))
        assert client.post(reverse("incidents:ack", args=[bad]), {"name": "x"}).status_code == 404
    assert len(bodies) == 1
    assert Recipient.objects.filter(share__incident=incident, opened_at__isnull=False).count() == 0


# --- Levels of detail -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "shown", "hidden"),
    [
        (
            Detail.NOTICE,
            ["東海精密部品株式会社"],
            [
                DESCRIPTION,
                "メールサーバーへの不正アクセス",
                SYSTEMS,
                SUPPLIER_VISIBLE,
                STAFF_ONLY,
                "サーバーを隔離済み",
            ],
        ),
        (
            Detail.SUMMARY,
            [DESCRIPTION, "メールサーバーへの不正アクセス", "サーバーを隔離済み"],
            [SYSTEMS, SUPPLIER_VISIBLE, STAFF_ONLY],
        ),
        (Detail.DETAILED, [DESCRIPTION, SYSTEMS, "取引先の連絡先", SUPPLIER_VISIBLE], [STAFF_ONLY]),
    ],
)
def test_each_level_shows_exactly_its_fields_in_the_mail_and_on_the_page(
    world, incident, detail, shown, hidden, django_capture_on_commit_callbacks
):
    row = _share(
        world.admin,
        incident,
        django_capture_on_commit_callbacks,
        detail=detail,
        supplier_ids=[world.s2.pk],
        message="社外秘",
    )
    assert row.content["detail"] == detail and row.content["message"] == "社外秘"
    assert ("description" in row.content) == (detail != Detail.NOTICE)
    assert ("systems" in row.content) == (detail == Detail.DETAILED)
    assert row.content["watch_for"]  # every level says what to watch for
    [sent] = mail.outbox
    token = ANY_LINK.search(sent.body).group(1)
    page = Client().get(reverse("incidents:ack", args=[token])).content.decode()
    html = sent.alternatives[0][0]
    for text in [*shown, "社外秘"]:
        assert text in sent.body and text in html and text in page, text
    for text in hidden:
        assert text not in sent.body and text not in html and text not in page, text


def test_the_frozen_text_does_not_follow_later_changes(world, incident, django_capture_on_commit_callbacks):
    row = _share(world.admin, incident, django_capture_on_commit_callbacks, supplier_ids=[world.s2.pk])
    Incident.objects.filter(pk=incident.pk).update(description="後から書き換えた内容")
    token = ANY_LINK.search(mail.outbox[0].body).group(1)
    page = Client().get(reverse("incidents:ack", args=[token])).content.decode()
    assert DESCRIPTION in page and "後から書き換えた内容" not in page
    assert row.content["description"] == DESCRIPTION


def test_the_notice_for_a_mail_takeover_tells_partners_to_check_payment_requests_by_phone(world, incident):
    from django.utils import translation

    with translation.override("en"):
        lines = share_content.watch_for("mail_takeover", "東海精密部品株式会社")
    assert any("bank account" in line and "phone" in line for line in lines)
    assert all("%(" not in line for line in lines)
    assert any("東海精密部品株式会社" in line for line in lines)


# --- Who may share, and the form --------------------------------------------------------------------


def test_only_staff_with_change_rights_share(world, incident, client_for):
    url = reverse("incidents:share", args=[incident.pk])
    post = {"detail": "notice", "suppliers": [world.s2.pk]}
    for user in (world.auditor, world.supplier1):
        client = client_for(user)
        assert client.get(url).status_code == 403
        assert client.post(url, post).status_code == 403
    for user in (world.outsider, world.supplier2, world.xcontact):
        assert client_for(user).get(url).status_code == 404
        assert client_for(user).post(url, post).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    with pytest.raises(NotAllowed):
        sharing.share(Actor(user=world.auditor), incident, detail="notice", supplier_ids=[world.s2.pk])
    assert not Share.objects.exists()


def test_the_form_preselects_the_affected_suppliers_and_notes_missing_addresses(
    world, incident, partners, client_for
):
    s3, s4 = partners
    AffectedItem.objects.create(
        incident=incident, supplier=s4, kind="supplier", name=s4.name, origin="manual"
    )
    page = client_for(world.analyst).get(reverse("incidents:share", args=[incident.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(rf'name="suppliers" value="{world.s2.pk}" checked', html)
    assert not re.search(rf'name="suppliers" value="{s3.pk}" checked', html)  # group company: offered
    assert not re.search(rf'name="suppliers" value="{s4.pk}" checked', html)  # affected, no address
    assert not re.search(rf'name="suppliers" value="{world.s1.pk}" checked', html)  # the reporter knows
    assert 'data-role="no-address"' in html and 'data-role="without-address"' in html
    # S3's primary contact is chosen, not its other contact.
    assert "tanaka@s3.example.jp" in html and "keiri@s3.example.jp" not in html
    assert 'data-level="notice"' in html and 'data-level="detailed"' in html and SYSTEMS in html
    assert 'value="summary" checked' in html


def test_posting_the_form_shares_and_returns_to_the_incident(
    world, incident, partners, client_for, smtp, django_capture_on_commit_callbacks
):
    s3, _ = partners
    client = client_for(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("incidents:share", args=[incident.pk]),
            {
                "detail": "detailed",
                "message": "",
                "suppliers": [world.s2.pk, s3.pk],
                "language": "en",
                "extra": "tanaka@s3.example.jp\nSUZUKI@s2.example.jp\n",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:detail", args=[incident.pk]) + "#sharing"
    share = Share.objects.get()
    # Duplicates (also in another case) are mailed once; the language chosen is the mail's.
    assert sorted(share.recipients.values_list("email", flat=True)) == [
        "suzuki@s2.example.jp",
        "tanaka@s3.example.jp",
    ]
    assert share.content["language"] == "en" and '<html lang="en">' in smtp.messages[0].html


def test_bad_recipient_lines_name_the_line_and_write_nothing(world, incident, client_for, smtp):
    before = (AuditEntry.objects.count(), Event.objects.count())
    response = client_for(world.admin).post(
        reverse("incidents:share", args=[incident.pk]),
        {
            "detail": "notice",
            "suppliers": [world.s2.pk],
            "extra": "正しい 人 <ok@partner.example.jp>\nこれはアドレスではない\n",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "2" in html and "これはアドレスではない" in html
    assert not Share.objects.exists() and not Recipient.objects.exists()
    assert (AuditEntry.objects.count(), Event.objects.count()) == before
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("text", "found", "bad_lines"),
    [
        ("山田 太郎 <yamada@example.co.jp>", [("山田 太郎", "yamada@example.co.jp")], []),
        ('"Yamada, Taro" <t@example.jp>', [("Yamada, Taro", "t@example.jp")], []),
        ("t@example.jp", [("t@example.jp", "t@example.jp")], []),
        ("\n\n  t@example.jp  \n", [("t@example.jp", "t@example.jp")], []),
        ("a@example.jp, b@example.jp", [], [1]),
        ("Yamada, Taro <t@example.jp>", [], [1]),
        ("x <a@example.jp> <b@example.jp>", [], [1]),
        ("ok@example.jp\nno-at-sign\n<broken", [("ok@example.jp", "ok@example.jp")], [2, 3]),
        ("Name <a@example.jp> trailing", [], [1]),
        ("名前 <a@@example.jp>", [], [1]),
        ("x" * 400 + "@example.jp", [], [1]),
    ],
)
def test_parse_extra(text, found, bad_lines):
    got, errors = sharing.parse_extra(text)
    assert got == found
    assert len(errors) == len(bad_lines)
    for line, error in zip(bad_lines, errors, strict=True):
        assert str(line) in error


def test_unknown_or_foreign_suppliers_and_empty_or_too_many_recipients_are_refused(world, incident):
    actor = Actor(user=world.admin)
    for ids in ([world.x1.pk], ["abc"], [999999]):
        with pytest.raises(IncidentError) as caught:
            sharing.share(actor, incident, detail="notice", supplier_ids=ids)
        assert "suppliers" in caught.value.errors
    with pytest.raises(IncidentError) as caught:
        sharing.share(actor, incident, detail="notice")
    assert "suppliers" in caught.value.errors
    many = "\n".join(f"p{i}@partner.example.jp" for i in range(sharing.MAX_RECIPIENTS + 1))
    with pytest.raises(IncidentError) as caught:
        sharing.share(actor, incident, detail="notice", extra_recipients=many)
    assert "__all__" in caught.value.errors
    with pytest.raises(IncidentError) as caught:
        sharing.share(actor, incident, detail="everything", supplier_ids=[world.s2.pk])
    assert "detail" in caught.value.errors
    assert not Share.objects.exists() and not Recipient.objects.exists()


def test_a_supplier_without_any_address_is_named(world, incident, partners):
    _, s4 = partners
    with pytest.raises(IncidentError) as caught:
        sharing.share(Actor(user=world.admin), incident, detail="notice", supplier_ids=[s4.pk, world.s2.pk])
    assert s4.name in caught.value.errors["suppliers"]


# --- Who knew what, and when ----------------------------------------------------------------------


def test_the_shares_section_lists_every_share_and_recipient_in_two_queries(
    world, incident, partners, django_assert_num_queries, django_capture_on_commit_callbacks
):
    s3, _ = partners
    for detail, ids in (
        (Detail.NOTICE, [world.s2.pk]),
        (Detail.SUMMARY, [world.s2.pk, s3.pk]),
        (Detail.DETAILED, [s3.pk]),
    ):
        _share(
            world.admin,
            incident,
            django_capture_on_commit_callbacks,
            detail=detail,
            supplier_ids=ids,
            extra_recipients="外部 <gaibu@partner.example.jp>",
        )
    recipient = Recipient.objects.filter(email="tanaka@s3.example.jp").first()
    sharing.acknowledge(recipient, name="田中 三郎", address="198.51.100.2")
    with django_assert_num_queries(2):
        context = sharing.shares_context(incident)
        html = render_to_string(
            "incidents/partials/shares.html", {**context, "incident": incident, "can_change": True}
        )
    assert [s.detail for s in context["shares"]] == ["detailed", "summary", "notice"]
    assert [s.count_total for s in context["shares"]] == [2, 3, 2]
    assert sum(s.count_acknowledged for s in context["shares"]) == 1
    assert html.count("data-recipient=") == 7 and html.count('data-acknowledged="1"') == 1
    assert "田中 三郎" in html and "198.51.100.2" in html and world.admin.username in html
    assert 'id="sharing"' in html and reverse("incidents:share", args=[incident.pk]) in html
