"""Item review (承認 / 確認依頼 / 差戻し) and 前回との差分: services, audit, page, API, query counts."""

import pytest
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import (
    AssessmentError,
    NotAllowed,
    ReviewOpen,
    approve,
    create_assessment,
    return_for_changes,
    review_answer,
    save_answers,
    submit,
)
from renkei.questionnaires.diff import DiffRow, compute_diff, previous_assessment
from renkei.questionnaires.models import Answer
from renkei.questionnaires.tests.helpers import load, many_items, small

pytestmark = pytest.mark.django_db

ANSWERS = {"B-01": "○", "B-02": "はい", "B-03": "△", "M-01": "m365"}


def as_user(user):
    return Actor(user=user, label=str(user))


def page(assessment):
    return reverse("questionnaires:assessment-detail", args=[assessment.pk])


def api(name, assessment):
    return reverse(f"assessment-{name}", args=[assessment.pk])


@pytest.fixture
def mini(world):
    return load(small(), world.buyer).template


@pytest.fixture
def submitted(world, mini):
    assessment = create_assessment(Actor.system("t"), world.s1, mini)
    save_answers(Actor.system("t"), assessment, ANSWERS)
    return submit(Actor.system("t"), assessment)


def state(assessment, item_id):
    return Answer.objects.get(assessment=assessment, item__item_id=item_id).review_state


# --- Service --------------------------------------------------------------------------------


def test_states_and_audit(world, submitted):
    analyst = as_user(world.analyst)
    answer = review_answer(analyst, submitted, "B-01", "accepted")
    assert (answer.review_state, answer.reviewed_by) == ("accepted", world.analyst)
    review_answer(analyst, submitted, "B-03", "clarify", "証跡を提出してください")
    review_answer(analyst, submitted, "M-01", "rejected", "具体的に")
    assert [state(submitted, i) for i in ("B-01", "B-02", "B-03", "M-01")] == [
        "accepted", "pending", "clarify", "rejected"]
    entries = AuditEntry.objects.filter(object_type="questionnaires.answer", action="update",
                                        actor=world.analyst).order_by("pk")
    assert [e.changes["review_state"] for e in entries] == [
        ["pending", "accepted"], ["pending", "clarify"], ["pending", "rejected"]]
    assert entries[1].changes["review_comment"] == ["", "証跡を提出してください"]
    assert entries[0].supplier_id_ref == world.s1.pk
    count = AuditEntry.objects.count()
    review_answer(analyst, submitted, "B-01", "accepted")  # the same again: nothing recorded
    assert AuditEntry.objects.count() == count


@pytest.mark.parametrize("state_, comment", [("clarify", ""), ("rejected", " "), ("bogus", "x"),
                                             ("accepted", "x" * 2001)])
def test_refused_reviews(world, submitted, state_, comment):
    with pytest.raises(AssessmentError):
        review_answer(as_user(world.analyst), submitted, "B-01", state_, comment)
    assert state(submitted, "B-01") == "pending"


def test_unknown_or_unanswered_item(world, submitted):
    with pytest.raises(AssessmentError, match="No such item|ない設問"):
        review_answer(as_user(world.analyst), submitted, "Z-99", "accepted")
    with pytest.raises(AssessmentError):
        review_answer(as_user(world.analyst), submitted, "M-02", "accepted")


@pytest.mark.parametrize("who", ["supplier1", "auditor", "outsider"])
def test_only_staff_with_change_review(world, submitted, who):
    with pytest.raises(NotAllowed):
        review_answer(as_user(getattr(world, who)), submitted, "B-01", "accepted")
    assert state(submitted, "B-01") == "pending"


def test_only_while_submitted(world, mini):
    assessment = create_assessment(Actor.system("t"), world.s1, mini)
    save_answers(Actor.system("t"), assessment, ANSWERS)
    with pytest.raises(AssessmentError):
        review_answer(as_user(world.analyst), assessment, "B-01", "accepted")


def test_approve_blocked_by_open_reviews_and_return_carries_them(world, submitted):
    analyst = as_user(world.analyst)
    review_answer(analyst, submitted, "B-03", "clarify", "証跡を")
    review_answer(analyst, submitted, "B-01", "rejected", "根拠がない")
    with pytest.raises(ReviewOpen) as refused:
        approve(analyst, submitted)
    assert refused.value.items == ["B-01", "B-03"] and "B-01, B-03" in refused.value.message
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
    return_for_changes(analyst, submitted, "")  # the items are the reason: no comment needed
    assert submitted.status == "returned"
    entry = AuditEntry.objects.filter(object_type="questionnaires.assessment").latest("pk")
    assert entry.changes["status"] == ["submitted", "returned"]
    assert [r["item"] for r in entry.changes["returned_items"][1]] == ["B-01", "B-03"]


def test_return_without_reasons_needs_a_comment(world, submitted):
    with pytest.raises(AssessmentError):
        return_for_changes(as_user(world.analyst), submitted, "")
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_changed_answer_is_pending_again(world, submitted):
    analyst = as_user(world.analyst)
    review_answer(analyst, submitted, "B-01", "rejected", "根拠がない")
    review_answer(analyst, submitted, "B-03", "clarify", "証跡を")
    review_answer(analyst, submitted, "M-01", "accepted")
    return_for_changes(analyst, submitted)
    supplier = as_user(world.supplier1)
    save_answers(supplier, submitted, {**ANSWERS, "B-01": "×"})  # B-03 and M-01 unchanged
    assert [state(submitted, i) for i in ("B-01", "B-03", "M-01")] == [
        "pending", "clarify", "accepted"]
    entry = AuditEntry.objects.filter(object_type="questionnaires.answer", actor=world.supplier1).get()
    assert entry.changes["review_state"] == ["rejected", "pending"]
    submit(supplier, submitted)
    with pytest.raises(ReviewOpen, match="B-03"):
        approve(analyst, submitted)
    review_answer(analyst, submitted, "B-03", "accepted")
    assert approve(analyst, submitted).status == "approved"


# --- Page -----------------------------------------------------------------------------------


def test_staff_review_on_the_page(world, client_for, submitted):
    client = client_for(world.analyst)
    body = client.get(page(submitted)).content.decode()
    assert body.count('class="inline-form review-form') == 4 and 'id="review-summary"' in body
    response = client.post(reverse("questionnaires:assessment-review", args=[submitted.pk]),
                           {"item": "B-03", "state": "clarify", "comment": "証跡を提出"})
    assert response.status_code == 302 and response.url.endswith("#item-B-03")
    assert state(submitted, "B-03") == "clarify"
    body = client.get(page(submitted)).content.decode()
    assert 'data-review="clarify"' in body and "証跡を提出" in body
    assert '<li data-state="clarify">' in body
    client.post(reverse("questionnaires:assessment-review", args=[submitted.pk]),
                {"item": "B-01", "state": "rejected", "comment": ""})  # refused: no comment
    assert state(submitted, "B-01") == "pending"
    client.post(reverse("questionnaires:assessment-approve", args=[submitted.pk]))
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_supplier_sees_the_items_to_fix_after_return(world, client_for, submitted):
    review_answer(as_user(world.analyst), submitted, "B-03", "clarify", "契約書の写しを")
    review_answer(as_user(world.analyst), submitted, "B-01", "accepted", "内部メモ")
    supplier = client_for(world.supplier1)
    body = supplier.get(page(submitted)).content.decode()
    assert "契約書の写しを" not in body and "data-review" not in body  # not before it is returned
    client_for(world.analyst).post(reverse("questionnaires:assessment-return", args=[submitted.pk]),
                                   {"comment": ""})
    submitted.refresh_from_db()
    assert submitted.status == "returned"
    body = supplier.get(page(submitted)).content.decode()
    assert 'id="items-to-fix"' in body and "契約書の写しを" in body and "内部メモ" not in body
    assert "review-form" not in body


@pytest.mark.parametrize("who,code", [("supplier1", 403), ("auditor", 403), ("supplier2", 404),
                                      ("outsider", 404)])
def test_page_review_refused(world, client_for, submitted, who, code):
    response = client_for(getattr(world, who)).post(
        reverse("questionnaires:assessment-review", args=[submitted.pk]),
        {"item": "B-01", "state": "accepted"})
    assert response.status_code == code and state(submitted, "B-01") == "pending"


def _big(world, count):
    template = load(many_items(count, key=f"big{count}"), world.buyer).template
    assessment = create_assessment(Actor.system("t"), world.s1, template)
    save_answers(Actor.system("t"), assessment, {f"Q-{n:04d}": "○" for n in range(count)})
    submit(Actor.system("t"), assessment)
    for n in range(0, count, 3):
        review_answer(Actor.system("t"), assessment, f"Q-{n:04d}", "clarify", "確認")
    return assessment


def test_page_query_count_with_review_data_is_constant(world, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.analyst)
    counts = []
    for count in (25, 50):
        assessment = _big(world, count)
        client.get(page(assessment))  # warm caches (sessions, translations)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page(assessment)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] and counts[0] <= 25


# --- API ------------------------------------------------------------------------------------


def test_api_review(world, api_for, submitted):
    client = api_for(world.analyst)
    response = client.post(api("review", submitted),
                           {"item": "B-03", "state": "clarify", "comment": "証跡を"}, format="json")
    assert response.status_code == 200
    by_item = {a["item"]: a for a in response.json()["answers"]}
    assert (by_item["B-03"]["review_state"], by_item["B-03"]["review_comment"]) == ("clarify", "証跡を")
    refused = client.post(api("approve", submitted), format="json")
    assert refused.status_code == 400 and refused.json()["open_reviews"] == ["B-03"]
    bad = client.post(api("review", submitted), {"item": "B-03", "state": "maybe"}, format="json")
    assert bad.status_code == 400 and "state" in bad.json()
    assert client.post(api("return", submitted), {}, format="json").status_code == 200


def test_api_supplier_sees_review_only_after_return(world, api_for, submitted):
    review_answer(as_user(world.analyst), submitted, "B-03", "clarify", "証跡を")
    supplier = api_for(world.supplier1)
    answers = supplier.get(api("detail", submitted)).json()["answers"]
    assert all("review_state" not in a for a in answers)
    return_for_changes(as_user(world.analyst), submitted)
    answers = supplier.get(api("detail", submitted)).json()["answers"]
    assert {a["item"]: a["review_comment"] for a in answers}["B-03"] == "証跡を"


@pytest.mark.parametrize("who,code", [("supplier1", 403), ("auditor", 403), ("supplier2", 404),
                                      ("outsider", 404)])
def test_api_review_refused(world, api_for, submitted, who, code):
    response = api_for(getattr(world, who)).post(api("review", submitted),
                                                 {"item": "B-01", "state": "accepted"}, format="json")
    assert response.status_code == code and state(submitted, "B-01") == "pending"


# --- Diff -----------------------------------------------------------------------------------


def test_compute_diff_pure():
    previous = {"A": "done", "B": ["x", "y"], "C": "n/a", "D": {"held": True}}
    current = {"A": "not_done", "B": ["y", "x"], "C": "n/a", "D": {"held": True}, "E": "yes"}
    rows = compute_diff(previous, current, ["A", "B", "C", "D", "E", "F"],
                        previous_items=["A", "B", "C", "D", "F"])
    assert rows == [DiffRow("A", "done", "not_done", False), DiffRow("E", None, "yes", True)]
    assert compute_diff({}, {}, []) == []
    # Cleared and newly given answers are changes; without previous_items the answered ones count.
    assert compute_diff({"A": "done"}, {"B": "done"}, ["A", "B"]) == [
        DiffRow("A", "done", None, False), DiffRow("B", None, "done", True)]
    assert compute_diff({"A": "done"}, {"A": "done"}, ["A"])[0:] == []


def test_diff_against_the_previous_assessment(world, client_for, api_for, submitted, mini):
    review_answer(Actor.system("t"), submitted, "B-01", "accepted")
    approve(Actor.system("t"), submitted)
    data = small()
    data["sections"][1]["items"].append({"id": "M-03", "text": "新しい設問", "type": "yes_no",
                                         "required": False})
    v2 = load(data, world.buyer).template
    assert v2.version == 2
    second = create_assessment(Actor.system("t"), world.s1, v2)
    assert previous_assessment(second) == submitted
    other = create_assessment(Actor.system("t"), world.s2, v2)
    assert previous_assessment(other) is None
    save_answers(Actor.system("t"), second, {**ANSWERS, "B-01": "×", "M-03": "はい"})
    body = client_for(world.analyst).get(page(second)).content.decode()
    assert 'id="answer-diff"' in body and 'data-item="B-01"' in body and 'data-item="M-03"' in body
    assert 'data-item="B-02"' not in body and "× 未対応" in body
    response = api_for(world.analyst).get(api("diff", second)).json()
    assert response["previous"]["id"] == submitted.pk
    assert response["changes"] == [
        {"item": "B-01", "before": "done", "after": "not_done", "new": False, "removed": False},
        {"item": "M-03", "before": None, "after": "yes", "new": True, "removed": False},
    ]
    assert api_for(world.analyst).get(api("diff", other)).json() == {"previous": None, "changes": []}
    assert api_for(world.supplier2).get(api("diff", second)).status_code == 404
