"""The supplier portal: answer links, autosave, progress and "same as last time"."""

import datetime
import logging

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import (
    approve,
    create_assessment,
    save_answers,
    submit,
)
from renkei.questionnaires.models import AccessLink, Answer
from renkei.questionnaires.portal import (
    create_access_link,
    prefill_section,
    progress,
    revoke_access_link,
    token_hash,
)
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db

PORTAL = "/questionnaires/portal/"
AUTOSAVE = "/questionnaires/portal/autosave/"


@pytest.fixture
def sent(world):
    return create_assessment(Actor.system("t"), world.s1, load(small(), world.buyer).template)


def issue(world, assessment, who="analyst"):
    link, path = create_access_link(Actor(user=getattr(world, who), label=who), assessment)
    return link, path


def opened(path):
    client = Client()
    response = client.get(path)
    assert response.status_code == 302 and response.url == PORTAL
    return client


def autosave_url(assessment):
    return reverse("questionnaires:assessment-autosave", args=[assessment.pk])


# --- Links --------------------------------------------------------------------------------------


def test_link_lifecycle_create_open_answer_submit(world, sent):
    link, path = issue(world, sent)
    token = path.rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 40 and link.token_hash == token_hash(token)
    assert link.expires_at - timezone.now() > datetime.timedelta(days=13)
    client = opened(path)
    page = client.get(PORTAL)
    text = page.content.decode()
    assert page.status_code == 200 and 'name="a-B-01"' in text and "ミニ質問票" in text
    assert 'data-autosave="/questionnaires/portal/autosave/"' in text
    assert "excel-round-trip" not in text and "access-links" not in text
    saved = client.post(AUTOSAVE, {"item": "B-01", "a-B-01": "done"})
    assert saved.status_code == 200 and saved.json()["ok"] is True
    assert saved.json()["message"] == "保存しました"
    client.post(PORTAL, {"section": "basics", "a-B-01": "done", "a-B-02": "no",
                         "c-B-01": "", "c-B-02": "", "c-B-03": ""})
    client.post(PORTAL, {"section": "more", "a-M-01": ["n/a"], "c-M-01": "", "c-M-02": ""})
    done = client.post("/questionnaires/portal/submit/")
    assert done.status_code == 200 and "ありがとう" in done.content.decode()
    sent.refresh_from_db()
    assert sent.status == "submitted"
    answer = Answer.objects.get(assessment=sent, item__item_id="B-01")
    assert answer.answered_by is None
    entry = AuditEntry.objects.filter(actor_label=f"link:{sent.pk}").first()
    assert entry is not None
    # Used up: the session and the link no longer work.
    assert client.get(PORTAL).status_code == 404
    again = Client().get(path)
    assert again.status_code == 410 and "新しい回答用リンク" in again.content.decode()
    link.refresh_from_db()
    assert link.use_count == 1 and link.last_used_at is not None and link.state() == "used"


def test_expired_revoked_and_unknown_links(world, sent):
    link, path = issue(world, sent)
    client = opened(path)
    AccessLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    assert client.get(PORTAL).status_code == 404  # the open session stops too
    expired = Client().get(path)
    assert expired.status_code == 410 and "有効期限" in expired.content.decode()
    link2, path2 = issue(world, sent)
    client2 = opened(path2)
    revoke_access_link(Actor(user=world.analyst), link2)
    assert client2.post(AUTOSAVE, {"item": "B-01", "a-B-01": "done"}).status_code == 404
    revoked = Client().get(path2)
    assert revoked.status_code == 410 and "無効" in revoked.content.decode()
    unknown = Client().get(reverse("questionnaires:portal-open", args=["x" * 43]))
    assert unknown.status_code == 404 and "新しい回答用リンク" in unknown.content.decode()
    assert not Answer.objects.filter(assessment=sent).exists()


def test_a_link_of_another_organization_reveals_nothing(world):
    other = load(small(key="other-mini"), world.other).template
    foreign = create_assessment(Actor.system("t"), world.x1, other)
    link, path = issue(world, foreign, who="outsider")
    revoke_access_link(Actor(user=world.outsider), link)
    revoked = Client().get(path).content.decode()
    unknown = Client().get(reverse("questionnaires:portal-open", args=["y" * 43])).content.decode()
    for text in (revoked, unknown):
        for marker in (world.x1.name, world.x1.code, world.other.name, "ミニ質問票"):
            assert marker not in text


def test_a_link_session_opens_nothing_else(world, sent):
    other = create_assessment(Actor.system("t"), world.s2, sent.template)
    _link, path = issue(world, sent)
    client = opened(path)
    for url in ("/", "/suppliers/", reverse("suppliers:detail", args=[world.s1.pk]),
                reverse("questionnaires:assessment-detail", args=[sent.pk]),
                reverse("questionnaires:assessment-detail", args=[other.pk]),
                reverse("questionnaires:assessment-sheet", args=[sent.pk]), "/api/v1/suppliers/"):
        response = client.get(url)
        anonymous = Client().get(url)
        assert response.status_code == anonymous.status_code, url
        assert response.status_code in (302, 401, 403), url
    for url in (autosave_url(sent), autosave_url(other)):
        assert client.post(url, {"item": "B-01", "a-B-01": "done"}).status_code == 302
    assert not Answer.objects.exists()


def test_token_is_not_stored_or_logged(world, sent, caplog):
    caplog.set_level(logging.DEBUG)
    link, path = issue(world, sent)
    token = path.rstrip("/").rsplit("/", 1)[-1]
    revoke_access_link(Actor(user=world.analyst), link)
    Client().get(path)
    Client().get(reverse("questionnaires:portal-open", args=[token + "zz"]))
    assert token not in caplog.text
    for entry in AuditEntry.objects.all():
        assert token not in str(entry.__dict__) and link.token_hash not in str(entry.__dict__)
    for row in AccessLink.objects.values():
        assert token not in str(row)
    actions = list(AuditEntry.objects.filter(object_type__endswith="accesslink")
                   .values_list("action", flat=True)) or list(
        AuditEntry.objects.filter(object_id=str(link.pk)).values_list("action", flat=True))
    assert {"create", "update"} <= set(actions)


def test_staff_issue_and_revoke_on_the_assessment_page(world, client_for, sent):
    client = client_for(world.analyst)
    page = client.get(reverse("questionnaires:assessment-detail", args=[sent.pk])).content.decode()
    assert "回答用リンクを発行" in page
    created = client.post(reverse("questionnaires:access-link-create", args=[sent.pk]))
    text = created.content.decode()
    assert created.status_code == 200 and "/questionnaires/answer/" in text and "data-copy" in text
    link = AccessLink.objects.get()
    page = client.get(reverse("questionnaires:assessment-detail", args=[sent.pk])).content.decode()
    assert f'data-link="{link.pk}"' in page and "/questionnaires/answer/" not in page
    assert "無効にする" in page
    client.post(reverse("questionnaires:access-link-revoke", args=[sent.pk]), {"link": link.pk})
    link.refresh_from_db()
    assert link.revoked_at is not None


@pytest.mark.parametrize("who", ["auditor", "supplier1", "supplier2", "outsider"])
def test_only_staff_who_may_change_issue_or_revoke_links(world, client_for, sent, who):
    link, _path = issue(world, sent)
    client = client_for(getattr(world, who))
    create = client.post(reverse("questionnaires:access-link-create", args=[sent.pk]))
    revoke = client.post(reverse("questionnaires:access-link-revoke", args=[sent.pk]),
                         {"link": link.pk})
    assert create.status_code in (403, 404) and revoke.status_code in (403, 404)
    assert AccessLink.objects.count() == 1 and AccessLink.objects.get().revoked_at is None


def test_no_link_for_a_submitted_assessment(world, client_for, sent):
    save_answers(Actor.system("t"), sent, {"B-01": "○", "B-02": "いいえ", "M-01": "m365"})
    submit(Actor.system("t"), sent)
    response = client_for(world.analyst).post(
        reverse("questionnaires:access-link-create", args=[sent.pk]), follow=True)
    assert "回答用リンクは発行できません" in response.content.decode()
    assert not AccessLink.objects.exists()


# --- Autosave and progress ----------------------------------------------------------------------


def test_autosave_for_a_logged_in_contact(world, client_for, sent):
    client = client_for(world.supplier1)
    ok = client.post(autosave_url(sent), {"item": "B-02", "a-B-02": "yes", "c-B-02": "委託先2社"})
    data = ok.json()
    assert ok.status_code == 200 and data["ok"] and data["progress"] == {
        "answered": 1, "total": 4, "percent": 25}  # B-03 is shown once B-02 is yes
    answer = Answer.objects.get(item__item_id="B-02")
    assert answer.value == "yes" and answer.comment == "委託先2社"
    bad = client.post(autosave_url(sent), {"item": "B-01", "a-B-01": "maybe"})
    assert bad.status_code == 400 and bad.json()["ok"] is False
    assert "maybe" in bad.json()["error"]
    unknown = client.post(autosave_url(sent), {"item": "Z-99", "a-Z-99": "x"})
    assert unknown.status_code == 400 and "この質問票にない" in unknown.json()["error"]
    cleared = client.post(autosave_url(sent), {"item": "B-02", "c-B-02": ""})
    assert cleared.json()["progress"]["answered"] == 0


def test_autosave_needs_csrf_and_access(world, sent):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.supplier1)
    assert strict.post(autosave_url(sent), {"item": "B-01", "a-B-01": "done"}).status_code == 403
    other = Client()
    other.force_login(world.supplier2)
    assert other.post(autosave_url(sent), {"item": "B-01", "a-B-01": "done"}).status_code == 404
    _link, path = issue(world, sent)
    portal = Client(enforce_csrf_checks=True)
    assert portal.get(path).status_code == 302
    assert portal.post(AUTOSAVE, {"item": "B-01", "a-B-01": "done"}).status_code == 403
    assert not Answer.objects.exists()


def test_autosave_after_submit_is_refused(world, client_for, sent):
    save_answers(Actor.system("t"), sent, {"B-01": "○", "B-02": "いいえ", "M-01": "m365"})
    submit(Actor.system("t"), sent)
    response = client_for(world.supplier1).post(autosave_url(sent), {"item": "B-01", "a-B-01": "×"})
    assert response.status_code == 409 and "提出済" in response.json()["error"]


def test_progress_counts_visible_required_items(world, sent):
    assert progress(sent) == {"answered": 0, "total": 3, "percent": 0}
    save_answers(Actor.system("t"), sent, {"B-01": "○", "B-02": "はい", "M-02": "メモ"})
    assert progress(sent) == {"answered": 2, "total": 4, "percent": 50}
    save_answers(Actor.system("t"), sent, {"B-03": "△", "M-01": "n/a"})
    assert progress(sent) == {"answered": 4, "total": 4, "percent": 100}


def test_the_page_shows_the_progress_bar(world, client_for, sent):
    save_answers(Actor.system("t"), sent, {"B-01": "○"})
    text = client_for(world.supplier1).get(
        reverse("questionnaires:assessment-detail", args=[sent.pk])).content.decode()
    assert '<progress id="answer-progress" max="3" value="1">' in text
    assert "必須 3 問中 1 問回答済み" in text


# --- Same as last time --------------------------------------------------------------------------


@pytest.fixture
def previous(world, sent):
    save_answers(Actor.system("t"), sent, {"B-01": "○", "B-02": "はい", "B-03": "△",
                                           "M-01": ["m365", "other"], "M-02": "前回のメモ"})
    submit(Actor.system("t"), sent)
    approve(Actor.system("t"), sent)
    data = small()
    data["sections"][0]["items"][0]["id"] = "B-01-new"  # B-01 renamed: not copied
    template = load(data, world.buyer).template
    return create_assessment(Actor.system("t"), world.s1, template)


def test_prefill_copies_only_unanswered_items_with_matching_ids(world, previous):
    # B-02 answered "yes" here, so B-03 (shown only then) is copied; with "no" it stays hidden
    # and is not pre-filled (test_crosswalks: conditions are respected).
    save_answers(Actor.system("t"), previous, {"B-02": "はい"})
    copied = prefill_section(Actor(user=world.supplier1, label="supplier1"), previous, "basics")
    answers = {a.item.item_id: a.value for a in Answer.objects.filter(assessment=previous)
               .select_related("item")}
    assert copied == 1 and answers == {"B-02": "yes", "B-03": "in_progress"}
    assert prefill_section(Actor(user=world.supplier1, label="supplier1"), previous, "basics") == 0
    assert prefill_section(Actor(user=world.supplier1, label="supplier1"), previous, "more") == 2
    answers = {a.item.item_id: a.value for a in Answer.objects.filter(assessment=previous)
               .select_related("item")}
    assert answers["M-01"] == ["m365", "other"] and answers["M-02"] == "前回のメモ"
    labels = set(AuditEntry.objects.filter(object_type__icontains="answer")
                 .values_list("actor_label", flat=True))
    assert "supplier1" in " ".join(labels)


def test_prefill_button_per_section(world, client_for, previous):
    client = client_for(world.supplier1)
    url = reverse("questionnaires:assessment-detail", args=[previous.pk])
    text = client.get(url).content.decode()
    assert text.count("前回と同じ回答を入れる") == 2
    response = client.post(reverse("questionnaires:assessment-prefill", args=[previous.pk]),
                           {"section": "more"})
    assert response.status_code == 302 and response.url.endswith("#section-more")
    text = client.get(url).content.decode()
    assert text.count("前回と同じ回答を入れる") == 1 and "前回のメモ" in text
    other = client_for(world.supplier2).post(
        reverse("questionnaires:assessment-prefill", args=[previous.pk]), {"section": "more"})
    assert other.status_code == 404


def test_prefill_through_a_link(world, previous):
    _link, path = issue(world, previous)
    client = opened(path)
    assert "前回と同じ回答を入れる" in client.get(PORTAL).content.decode()
    client.post("/questionnaires/portal/prefill/", {"section": "basics"})
    assert set(Answer.objects.filter(assessment=previous).values_list("item__item_id", flat=True)) \
        == {"B-02", "B-03"}
