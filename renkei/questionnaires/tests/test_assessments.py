"""Assessments: models and for_user, the services (transitions, submit with conditions,
all-or-nothing answers, audit entries), scoring wired in, set-based recompute."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.permissions import CHANGE, VIEW
from renkei.questionnaires.assessments_services import (
    AnswersInvalid,
    AssessmentError,
    Incomplete,
    NotAllowed,
    approve,
    create_assessment,
    latest_template,
    recompute_scores,
    return_for_changes,
    save_answer,
    save_answers,
    submit,
)
from renkei.questionnaires.models import Answer, Assessment, Template
from renkei.questionnaires.tests.helpers import load, small
from renkei.questionnaires.values import AnswerError
from renkei.suppliers.models import Supplier

pytestmark = pytest.mark.django_db


def as_user(user):
    return Actor(user=user, label=str(user))


@pytest.fixture
def mini(world):
    return load(small(), world.buyer).template


@pytest.fixture
def sent(world, mini):
    return create_assessment(as_user(world.analyst), world.s1, mini,
                             due_on=datetime.date(2030, 4, 30))


def answer_all(assessment, user):
    return save_answers(as_user(user), assessment,
                        {"B-01": "○", "B-02": "はい", "B-03": "△", "M-01": "m365"})


# --- Models and for_user --------------------------------------------------------------------


def test_creating_locks_the_template_and_records(world, mini, sent):
    mini.refresh_from_db()
    assert mini.is_locked
    assert (sent.status, sent.organization, sent.supplier, sent.created_by) == (
        "not_started", world.buyer, world.s1, world.analyst)
    entry = AuditEntry.objects.get(object_type="questionnaires.assessment", action="create")
    assert entry.supplier_id_ref == world.s1.pk and entry.actor == world.analyst


def test_supplier_contact_sees_and_answers_only_its_own_suppliers_assessments(world, mini, sent):
    other = create_assessment(Actor.system("t"), world.s2, mini)
    assert list(Assessment.objects.for_user(world.supplier1)) == [sent]
    assert list(Assessment.objects.for_user(world.supplier1, CHANGE)) == [sent]
    save_answer(as_user(world.supplier1), sent, "B-01", "○")
    with pytest.raises(NotAllowed):
        save_answer(as_user(world.supplier1), other, "B-01", "○")
    assert list(Answer.objects.for_user(world.supplier1)) == list(sent.answers.all())
    assert not Answer.objects.for_user(world.supplier2).exists()


def test_auditor_is_read_only(world, sent):
    assert list(Assessment.objects.for_user(world.auditor, VIEW)) == [sent]
    assert not Assessment.objects.for_user(world.auditor, CHANGE).exists()
    with pytest.raises(NotAllowed):
        save_answer(as_user(world.auditor), sent, "B-01", "○")


@pytest.mark.parametrize("who", ["outsider", "xcontact", "nobody", "supplier2"])
def test_foreign_users_see_nothing(world, sent, who):
    assert not Assessment.objects.for_user(getattr(world, who)).exists()


def test_only_staff_with_add_send_questionnaires(world, mini):
    for who in ("auditor", "supplier1", "outsider"):
        with pytest.raises(NotAllowed):
            create_assessment(as_user(getattr(world, who)), world.s1, mini)
    assert not Assessment.objects.exists()


def test_a_foreign_template_is_refused(world):
    theirs = load(small(key="theirs"), world.other).template
    with translation.override("en"), pytest.raises(AssessmentError, match="another organization"):
        create_assessment(Actor.system("t"), world.s1, theirs)


def test_one_open_assessment_per_supplier_and_template_key(world, mini, sent):
    newer = load(small(name="改訂版"), world.buyer).template
    with translation.override("en"), pytest.raises(AssessmentError, match="already has an open"):
        create_assessment(Actor.system("t"), world.s1, newer)
    create_assessment(Actor.system("t"), world.s2, newer)  # another supplier: fine
    answer_all(sent, world.supplier1)
    submit(as_user(world.supplier1), sent)
    approve(as_user(world.admin), sent)
    again = create_assessment(Actor.system("t"), world.s1, newer)  # approved: a new one may go
    assert again.template.version == 2


def test_latest_template_prefers_the_organizations_own(world):
    assert latest_template(world.buyer.pk, "scrm-sheet").organization is None
    own = load(small(key="scrm-sheet"), world.buyer).template
    assert latest_template(world.buyer.pk, "scrm-sheet") == own
    assert latest_template(world.other.pk, "scrm-sheet").organization is None
    assert latest_template(world.buyer.pk, "nothing") is None


# --- Answering ------------------------------------------------------------------------------


def test_save_answer_moves_to_in_progress_scores_and_records(world, sent):
    answer = save_answer(as_user(world.supplier1), sent, "B-01", "◯", comment="毎日取得")
    assert (answer.value, answer.comment, answer.answered_by) == ("done", "毎日取得", world.supplier1)
    sent.refresh_from_db()
    assert sent.status == "in_progress" and float(sent.score) == 100.0
    kinds = list(AuditEntry.objects.order_by("sequence").values_list("object_type", "action"))
    assert kinds[-2:] == [("questionnaires.answer", "create"), ("questionnaires.assessment", "update")]
    entry = AuditEntry.objects.filter(object_type="questionnaires.answer").get()
    assert entry.changes["value"] == [None, "done"] and entry.supplier_id_ref == world.s1.pk


def test_saving_the_same_answer_again_changes_nothing(world, sent):
    save_answer(as_user(world.supplier1), sent, "B-01", "○")
    entries = AuditEntry.objects.count()
    save_answer(as_user(world.supplier1), sent, "B-01", "〇")
    assert AuditEntry.objects.count() == entries


def test_changing_and_clearing_an_answer(world, sent):
    actor = as_user(world.supplier1)
    save_answer(actor, sent, "B-01", "○")
    save_answer(actor, sent, "B-01", "×")
    update = AuditEntry.objects.filter(object_type="questionnaires.answer", action="update").get()
    assert update.changes["value"] == ["done", "not_done"]
    assert save_answer(actor, sent, "B-01", "") is None
    assert not sent.answers.exists()
    assert AuditEntry.objects.filter(object_type="questionnaires.answer", action="delete").count() == 1
    sent.refresh_from_db()
    assert sent.score is None


def test_a_refused_answer_names_the_allowed_values(world, sent):
    with translation.override("ja"), pytest.raises(AnswerError, match="○ 対応済み"):
        save_answer(as_user(world.supplier1), sent, "B-01", "maybe")
    with pytest.raises(AnswerError):
        save_answer(as_user(world.supplier1), sent, "B-02", "該当なし")  # not allowed there
    with pytest.raises(AnswerError):
        save_answer(as_user(world.supplier1), sent, "Z-99", "○")
    assert not Answer.objects.exists()


def test_save_answers_is_all_or_nothing(world, sent):
    entries = AuditEntry.objects.count()
    with pytest.raises(AnswersInvalid) as info:
        save_answers(as_user(world.supplier1), sent,
                     {"B-01": "○", "B-02": "maybe", "M-01": "AWS", "M-02": "メモ"})
    assert list(info.value.errors) == ["B-02", "M-01"]
    assert not Answer.objects.exists() and AuditEntry.objects.count() == entries
    sent.refresh_from_db()
    assert sent.status == "not_started"


def test_save_answers_writes_in_bulk_with_one_entry_per_answer(world, sent):
    with CaptureQueriesContext(connection) as ctx:
        answer_all(sent, world.supplier1)
    assert sent.answers.count() == 4
    assert AuditEntry.objects.filter(object_type="questionnaires.answer").count() == 4
    assert len(ctx.captured_queries) < 30
    with CaptureQueriesContext(connection) as again:
        answer_all(sent, world.supplier1)  # unchanged: nothing written
    assert not [q for q in again.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]


def test_answers_only_while_open(world, sent):
    answer_all(sent, world.supplier1)
    submit(as_user(world.supplier1), sent)
    with translation.override("en"), pytest.raises(AssessmentError, match="can no longer"):
        save_answer(as_user(world.supplier1), sent, "B-01", "×")


# --- Submitting and reviewing ---------------------------------------------------------------


def test_submit_lists_missing_required_items(world, sent):
    with pytest.raises(Incomplete) as info:
        submit(as_user(world.supplier1), sent)
    assert info.value.missing == ["B-01", "B-02", "M-01"]  # B-03 hidden until B-02 is yes


def test_submit_follows_conditions(world, sent):
    actor = as_user(world.supplier1)
    save_answers(actor, sent, {"B-01": "○", "B-02": "はい", "M-01": "該当なし"})
    with pytest.raises(Incomplete) as info:
        submit(actor, sent)
    assert info.value.missing == ["B-03"]  # shown now that B-02 is yes
    save_answer(actor, sent, "B-02", "いいえ")
    submit(actor, sent)
    assert sent.status == "submitted" and sent.submitted_at is not None


def test_return_and_approve_are_for_staff_after_submission(world, sent):
    answer_all(sent, world.supplier1)
    with pytest.raises(AssessmentError):
        approve(as_user(world.admin), sent)  # not submitted yet
    submit(as_user(world.supplier1), sent)
    for who in ("supplier1", "auditor", "outsider"):
        with pytest.raises(NotAllowed):
            approve(as_user(getattr(world, who)), sent)
        with pytest.raises(NotAllowed):
            return_for_changes(as_user(getattr(world, who)), sent, "x")
    with pytest.raises(AssessmentError):
        return_for_changes(as_user(world.analyst), sent, "  ")
    return_for_changes(as_user(world.analyst), sent, "B-03 の根拠資料を添付してください")
    assert sent.status == "returned" and sent.return_comment.startswith("B-03")
    save_answer(as_user(world.supplier1), sent, "B-03", "○")  # answerable again
    submit(as_user(world.supplier1), sent)
    approve(as_user(world.analyst), sent)
    assert sent.status == "approved" and sent.approved_at and sent.return_comment == ""
    statuses = [e.changes["status"] for e in AuditEntry.objects.filter(
        object_type="questionnaires.assessment", action="update").order_by("sequence")]
    assert statuses == [["not_started", "in_progress"], ["in_progress", "submitted"],
                        ["submitted", "returned"], ["returned", "submitted"],
                        ["submitted", "approved"]]


# --- Scores ---------------------------------------------------------------------------------


def test_scores_are_cached_with_sections_and_critical_failures(world, sent):
    save_answers(as_user(world.supplier1), sent,
                 {"B-01": "×", "B-02": "はい", "B-03": "○", "M-01": "該当なし"})
    sent.refresh_from_db()
    # basics: B-01 0×1, B-02 100×1, B-03 100×2 → 300/400; more: n/a excluded → null
    assert float(sent.score) == 75.0
    assert sent.section_scores == {"basics": 75.0, "more": None}
    assert sent.critical_failures == ["B-01"]


def test_recompute_scores_is_set_based(world, mini, django_assert_num_queries):
    one = create_assessment(Actor.system("t"), world.s1, mini)
    answer_all(one, world.supplier1)
    Assessment.objects.update(score=None, section_scores={})
    with django_assert_num_queries(5):  # assessments, items+sections, choices, answers, update
        assert recompute_scores([one.pk]) == 1
    assert float(Assessment.objects.get().score) > 0
    suppliers = Supplier.objects.bulk_create([
        Supplier(organization=world.buyer, code=f"B{n:02d}", name=f"取引先{n}") for n in range(49)])
    scrm = Template.objects.get(key="scrm-sheet")
    many = [create_assessment(Actor.system("t"), s, mini if n % 2 else scrm)
            for n, s in enumerate(suppliers)]
    for assessment in many[:10]:
        save_answers(Actor.system("t"), assessment, {})
    ids = [one.pk, *(a.pk for a in many)]
    with django_assert_num_queries(5):
        assert recompute_scores(ids) == 50
