"""Handing items to a colleague: the mail (real SMTP), the colleague's link limited to its items
on every write path, withdrawing, the limits, what staff see, and the API."""

import logging
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import create_assessment, save_answers, submit
from renkei.questionnaires.handover import MAX_ACTIVE, HandoverError, hand_over
from renkei.questionnaires.models import AccessLink, Answer
from renkei.questionnaires.portal import create_access_link
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db

PORTAL = "/questionnaires/portal/"
TOKEN_PATH = re.compile(r"https://renkei\.example\.jp(/questionnaires/answer/[A-Za-z0-9_-]+/)")


@pytest.fixture(autouse=True)
def english(world):
    """New messages get their Japanese when the catalog is merged; the tests read the English."""
    from renkei.accounts.models import User

    User.objects.update(language="en")
    with translation.override("en"):
        yield


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


@pytest.fixture
def sent(world, media):
    return create_assessment(Actor.system("t"), world.s1, load(small(), world.buyer).template)


def contact(world):
    return Actor(user=world.supplier1, label=str(world.supplier1))


def english_client() -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def hand(world, sent, smtp, items=("B-01",), email="yamada@s1.example.jp", **extra):
    """Hand ITEMS over from the contact's page; (colleague's client on the portal, link)."""
    response = Client()
    response.force_login(world.supplier1)
    response = response.post(reverse("questionnaires:assessment-handover", args=[sent.pk]), {
        "items": list(items), "name": "山田 太郎", "email": email,
        "message": "この設問はご担当の山田さんにお願いします", **extra})
    assert response.status_code == 302 and response["Location"].endswith("#handover")
    [mail] = smtp.to(email)
    path = TOKEN_PATH.search(mail.text).group(1)
    client = english_client()
    assert client.get(path).status_code == 302
    link = AccessLink.objects.get(kind="colleague", sent_to=email)
    return client, link, mail


# --- Handing over and the mail ------------------------------------------------------------------


def test_contact_hands_items_to_a_colleague_by_mail(world, sent, smtp):
    _client, link, mail = hand(world, sent, smtp, items=("B-01", "M-02"), language="ja")
    assert link.items == ["B-01", "M-02"] and link.sent_to_name == "山田 太郎"
    assert link.created_by == world.supplier1 and link.issued_by_label == "supplier1"
    assert mail.recipients == ["yamada@s1.example.jp"]
    assert mail.subject.startswith("[Renkei]") and "東海精密部品株式会社" in mail.subject
    assert "バックアップを取っていますか" in mail.text and "備考" in mail.text
    assert "利用しているクラウド" not in mail.text
    assert "この設問はご担当の山田さんにお願いします" in mail.text
    assert TOKEN_PATH.search(mail.html)
    entry = AuditEntry.objects.get(object_type="questionnaires.accesslink")
    assert entry.actor == world.supplier1 and entry.changes["items"][1] == ["B-01", "M-02"]
    assert "token_hash" not in entry.changes
    token = TOKEN_PATH.search(mail.text).group(1).rstrip("/").rsplit("/", 1)[-1]
    assert not [e for e in AuditEntry.objects.all() if token in repr(e.changes)]


def test_the_mail_comes_in_english_when_asked(world, sent, smtp):
    _client, _link, mail = hand(world, sent, smtp, language="en")
    assert "Please answer some questionnaire items" in mail.subject
    assert "Backups?" in mail.text


def test_hostile_message_is_escaped_in_the_mail(world, sent, smtp):
    _client, _link, mail = hand(world, sent, smtp, message='<a href="https://evil.example">x</a>')
    assert '<a href="https://evil.example">' not in mail.html
    assert "&lt;a href=" in mail.html


@pytest.mark.parametrize(("fields", "field"), [
    ({"items": [], "name": "山田", "email": "y@s1.example.jp"}, "items"),
    ({"items": ["NOPE"], "name": "山田", "email": "y@s1.example.jp"}, "items"),
    ({"items": ["B-01"], "name": "", "email": "y@s1.example.jp"}, "name"),
    ({"items": ["B-01"], "name": "山田", "email": "not-an-address"}, "email"),
    ({"items": ["B-01"], "name": "山田", "email": "y@s1.example.jp\r\nBcc: x@evil.example"}, "email"),
    ({"items": ["B-01"], "name": "山田", "email": "y@s1.example.jp", "message": "x" * 2001}, "message"),
])
def test_bad_requests_hand_over_nothing(world, sent, smtp, fields, field):
    with pytest.raises(HandoverError) as caught:
        hand_over(contact(world), sent, **fields)
    assert field in caught.value.errors
    assert not AccessLink.objects.exists() and smtp.messages == []


def test_active_hand_overs_are_limited(world, sent, smtp):
    for n in range(MAX_ACTIVE):
        hand_over(contact(world), sent, items=["B-01"], name=f"同僚{n}", email=f"c{n}@s1.example.jp")
    with pytest.raises(HandoverError, match="active hand-overs"):
        hand_over(contact(world), sent, items=["B-01"], name="多すぎ", email="x@s1.example.jp")
    assert len(smtp.messages) == MAX_ACTIVE


def test_a_mail_that_cannot_be_sent_hands_nothing_over(world, sent, settings, caplog):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    with caplog.at_level(logging.DEBUG), pytest.raises(HandoverError, match="could not be sent"):
        hand_over(contact(world), sent, items=["B-01"], name="山田", email="yamada@s1.example.jp")
    link = AccessLink.objects.get(kind="colleague")
    assert link.state() == "revoked"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "yamada@s1.example.jp" not in logged and "/questionnaires/answer/" not in logged


def test_staff_do_not_hand_over_but_see_the_hand_overs_without_tokens(world, client_for, sent, smtp):
    _client, link, mail = hand(world, sent, smtp)
    token = TOKEN_PATH.search(mail.text).group(1)
    response = client_for(world.analyst).post(
        reverse("questionnaires:assessment-handover", args=[sent.pk]),
        {"items": ["B-02"], "name": "x", "email": "x@buyer.example.jp"})
    assert response.status_code == 403
    page = client_for(world.analyst).get(reverse("questionnaires:assessment-detail", args=[sent.pk]))
    text = page.content.decode()
    assert 'data-link-kind="colleague"' in text and "yamada@s1.example.jp" in text
    assert token not in text and link.token_hash not in text
    assert 'id="handover"' not in text  # no hand-over form for staff
    # Staff may still revoke it from the links list.
    client_for(world.analyst).post(reverse("questionnaires:access-link-revoke", args=[sent.pk]),
                                   {"link": link.pk})
    link.refresh_from_db()
    assert link.state() == "revoked"


def test_a_whole_assessment_link_may_hand_over(world, sent, smtp):
    _link, path = create_access_link(Actor(user=world.analyst, label="analyst"), sent)
    client = english_client()
    client.get(path)
    page = client.get(PORTAL).content.decode()
    assert 'id="handover"' in page and 'action="/questionnaires/portal/handovers/new/"' in page
    response = client.post("/questionnaires/portal/handovers/new/",
                           {"items": ["B-02"], "name": "経理 次郎", "email": "keiri@s1.example.jp"})
    assert response.status_code == 302
    link = AccessLink.objects.get(kind="colleague")
    assert link.created_by is None and link.issued_by_label == f"link:{sent.pk}"
    assert smtp.to("keiri@s1.example.jp")


# --- The colleague's link: only its items -------------------------------------------------------


def test_colleague_sees_only_the_items_handed_over(world, sent, smtp):
    save_answers(contact(world), sent, {"B-02": "yes", "M-02": "社外秘の備考 LEAK-OTHER"})
    client, _link, _mail = hand(world, sent, smtp, items=("B-01", "B-03"))
    page = client.get(PORTAL)
    text = page.content.decode()
    assert page.status_code == 200
    assert 'name="a-B-01"' in text and 'name="a-B-03"' in text
    for hidden in ('name="a-B-02"', 'name="a-M-01"', "LEAK-OTHER", 'id="submit-card"',
                   'id="handover"', 'id="overall-score"', "prefill-form"):
        assert hidden not in text, hidden
    assert 'id="handed-to-you"' in text
    assert page.context["progress"] == {"answered": 0, "total": 2, "percent": 0}


def test_colleague_answers_comments_and_uploads_its_items(world, sent, smtp, client_for):
    client, link, _mail = hand(world, sent, smtp, items=("B-01", "M-02"))
    saved = client.post("/questionnaires/portal/autosave/", {"item": "B-01", "a-B-01": "done",
                                                             "c-B-01": "毎日取得"})
    assert saved.status_code == 200 and saved.json()["ok"] and saved.json()["score"] is None
    assert saved.json()["progress"] == {"answered": 1, "total": 2, "percent": 50}
    client.post(PORTAL, {"section": "more", "a-M-02": "担当者のメモ", "c-M-02": ""})
    uploaded = client.post(reverse("questionnaires:portal-evidence", args=["B-01"]),
                           {"file": SimpleUploadedFile("log.txt", b"2026-11-01 ok")})
    assert uploaded.status_code == 302
    answer = Answer.objects.get(assessment=sent, item__item_id="B-01")
    assert (answer.value, answer.comment, bool(answer.evidence)) == ("done", "毎日取得", True)
    assert Answer.objects.get(assessment=sent, item__item_id="M-02").value == "担当者のメモ"
    entry = AuditEntry.objects.filter(object_type="questionnaires.answer").first()
    assert entry.actor is None and entry.actor_label == f"link:{sent.pk}:colleague:{link.pk}"
    # The supplier sees who answers the item and that it is answered.
    page = client_for(world.supplier1).get(reverse("questionnaires:assessment-detail", args=[sent.pk]))
    text = page.content.decode()
    assert "Assigned to: 山田 太郎" in text and "Answered" in text
    assert f'form="handover-withdraw-{link.pk}"' in text


def test_colleague_cannot_write_outside_its_items(world, sent, smtp, media):
    save_answers(contact(world), sent, {"B-02": "yes"})
    client, _link, _mail = hand(world, sent, smtp, items=("B-01",))
    before = {a.item.item_id: (a.value, a.comment) for a in Answer.objects.filter(assessment=sent)}
    entries = AuditEntry.objects.count()
    # Autosave of another item.
    refused = client.post("/questionnaires/portal/autosave/", {"item": "B-02", "a-B-02": "no"})
    assert refused.status_code == 400 and "not handed to you" in refused.json()["error"]
    refused = client.post("/questionnaires/portal/autosave/", {"item": "B-02", "c-B-02": "改ざん"})
    assert refused.status_code == 400
    # A section of other items, and extra fields for other items in its own section.
    client.post(PORTAL, {"section": "more", "a-M-01": ["n/a"], "a-M-02": "x"})
    client.post(PORTAL, {"section": "basics", "a-B-01": "done", "a-B-02": "no", "c-B-02": "改ざん"})
    # Evidence of other items.
    upload = client.post(reverse("questionnaires:portal-evidence", args=["B-02"]),
                         {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.4 x")})
    assert upload.status_code == 403
    assert client.post(reverse("questionnaires:portal-evidence-remove", args=["B-02"])).status_code == 403
    assert client.get(reverse("questionnaires:portal-evidence", args=["B-02"])).status_code == 404
    # Submitting, handing on, pre-filling other items.
    client.post("/questionnaires/portal/submit/")
    assert client.post("/questionnaires/portal/handovers/new/", {
        "items": ["B-02"], "name": "x", "email": "x@s1.example.jp"}).status_code == 403
    client.post("/questionnaires/portal/prefill/", {"section": "more"})
    after = {a.item.item_id: (a.value, a.comment) for a in Answer.objects.filter(assessment=sent)}
    assert after == {**before, "B-01": ("done", "")}
    sent.refresh_from_db()
    assert sent.status == "in_progress"
    assert AccessLink.objects.filter(kind="colleague").count() == 1
    # Only B-01's save was audited.
    assert AuditEntry.objects.count() == entries + 1


def test_colleague_prefill_copies_only_its_items(world, smtp, media):
    template = load(small(), world.buyer).template
    actor = contact(world)
    first = create_assessment(Actor.system("t"), world.s1, template)
    save_answers(actor, first, {"B-01": "done", "B-02": "no", "M-01": "n/a"})
    submit(actor, first)
    from renkei.questionnaires.assessments_services import approve

    approve(Actor(user=world.analyst, label="analyst"), first)
    second = create_assessment(Actor.system("t"), world.s1, template)
    client, _link, _mail = hand(world, second, smtp, items=("B-01",))
    client.post("/questionnaires/portal/prefill/", {"section": "basics"})
    assert list(Answer.objects.filter(assessment=second).values_list("item__item_id", flat=True)) == [
        "B-01"]


def test_a_colleague_link_never_reaches_another_assessment(world, sent, smtp, media):
    other = create_assessment(Actor.system("t"), world.s2, load(small(key="other"), world.buyer).template)
    save_answers(Actor.system("t"), other, {"B-01": "not_done"})
    client, _link, _mail = hand(world, sent, smtp, items=("B-01",))
    for url in (reverse("questionnaires:assessment-detail", args=[other.pk]),
                reverse("questionnaires:assessment-detail", args=[sent.pk]),
                reverse("questionnaires:assessment-evidence", args=[sent.pk, "B-01"]),
                reverse("assessment-detail", args=[sent.pk])):
        response = client.get(url)
        assert response.status_code in (302, 401, 403, 404), url
    client.post(reverse("questionnaires:assessment-autosave", args=[other.pk]),
                {"item": "B-01", "a-B-01": "done"})
    assert Answer.objects.get(assessment=other).value == "not_done"


def test_withdrawing_revokes_the_colleagues_link(world, client_for, sent, smtp):
    client, link, _mail = hand(world, sent, smtp)
    assert client.get(PORTAL).status_code == 200
    response = client_for(world.supplier1).post(
        reverse("questionnaires:assessment-handover-withdraw", args=[sent.pk]), {"link": link.pk})
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.state() == "revoked"
    assert client.get(PORTAL).status_code == 404
    assert client.post("/questionnaires/portal/autosave/", {"item": "B-01", "a-B-01": "done"}
                       ).status_code == 404
    entry = AuditEntry.objects.filter(object_type="questionnaires.accesslink").order_by("-sequence").first()
    assert entry.actor == world.supplier1 and "revoked_at" in entry.changes
    # Another supplier's contact cannot withdraw it (the assessment is not theirs: 404).
    assert client_for(world.supplier2).post(
        reverse("questionnaires:assessment-handover-withdraw", args=[sent.pk]),
        {"link": link.pk}).status_code == 404


def test_submitting_ends_the_colleagues_link(world, sent, smtp):
    client, link, _mail = hand(world, sent, smtp)
    save_answers(contact(world), sent, {"B-01": "done", "B-02": "no", "M-01": "n/a"})
    submit(contact(world), sent)
    link.refresh_from_db()
    assert link.state() == "used"
    assert client.get(PORTAL).status_code == 404


# --- API ----------------------------------------------------------------------------------------


def test_api_creates_lists_and_withdraws_hand_overs(world, api_for, sent, smtp):
    api = api_for(world.supplier1)
    url = reverse("assessment-handovers", args=[sent.pk])
    created = api.post(url, {"items": ["B-01"], "name": "山田 太郎", "email": "yamada@s1.example.jp",
                             "language": "en"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["items"] == ["B-01"] and body["state"] == "active" and "token" not in str(body).lower()
    assert smtp.to("yamada@s1.example.jp")
    listed = api.get(url).json()
    assert [h["id"] for h in listed] == [body["id"]]
    bad = api.post(url, {"items": ["NOPE"], "name": "x", "email": "x@s1.example.jp"}, format="json")
    assert bad.status_code == 400 and "items" in bad.json()
    assert api_for(world.analyst).post(url, {"items": ["B-01"], "name": "x", "email": "x@b.example.jp"},
                                       format="json").status_code == 403
    assert api_for(world.supplier2).get(url).status_code == 404
    assert api_for(world.supplier2).delete(
        reverse("assessment-handover", args=[sent.pk, body["id"]])).status_code == 404
    withdrawn = api.delete(reverse("assessment-handover", args=[sent.pk, body["id"]]))
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "revoked"
    assert api.delete(reverse("assessment-handover", args=[sent.pk, 999999])).status_code == 404
