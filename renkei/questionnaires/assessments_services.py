"""Assessments: sending a questionnaire to a supplier, answering, submitting, reviewing, scoring.

The one place answers are validated (renkei.questionnaires.values) and saved: the pages, the API,
the CLI and (later) campaigns, the portal and the Excel import call these functions. Every change
leaves audit entries in the same transaction; scores are recomputed set-based after each change.

Access: a call with a user (`actor.user`) is checked against `for_user` here as well as in the
view that made it; a call without one (the CLI, background jobs) is trusted.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record, record_many, snapshot
from renkei.core.models import member_organization_ids, staff_may
from renkei.core.permissions import ADD, CHANGE
from renkei.questionnaires.choices import (
    ANSWERABLE_STATUSES,
    NOT_APPLICABLE,
    OPEN_REVIEW_STATES,
    OPEN_STATUSES,
    AnswerType,
    AssessmentStatus,
    ReviewState,
)
from renkei.questionnaires.models import Answer, Assessment, Choice, Item, Template
from renkei.questionnaires.scoring import ScoreItem, score, visible_items
from renkei.questionnaires.services import lock_template
from renkei.questionnaires.values import COMMENT_MAX, AnswerError, ParsedAnswer, parse_answer
from renkei.suppliers.models import Supplier

SCORE_BATCH = 500


class AssessmentError(Exception):
    """A refused change; str() is the user's message (active language)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(AssessmentError):
    """The user may see the assessment but not do this with it."""


class AnswersInvalid(AssessmentError):
    """Some answers of a batch were refused; nothing was saved. ERRORS: item id -> message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        lines = [f"{item_id}: {message}" for item_id, message in self.errors.items()]
        super().__init__("\n".join(lines))


class ReviewOpen(AssessmentError):
    """Approving while answers are in 確認依頼 / 差戻し. ITEMS: their item ids, in template order."""

    def __init__(self, items: list[str]) -> None:
        self.items = items
        super().__init__(_("Some answers still need clarification or were rejected; accept them or "
                           "return the assessment to the supplier: %(items)s.")
                         % {"items": ", ".join(items)})


class Incomplete(AssessmentError):
    """Submitting with required items unanswered. MISSING: their item ids, in template order."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(_("Answer every required item before submitting. Unanswered: %(items)s.")
                         % {"items": ", ".join(missing)})


# --- Access -------------------------------------------------------------------------------------


def _allowed(actor: Actor, assessment: Assessment, action: str, *, staff_only: bool) -> bool:
    user = actor.user
    if user is None:
        return True
    if staff_only:
        return staff_may(user, assessment.organization_id, action)
    return Assessment.objects.for_user(user, action).filter(pk=assessment.pk).exists()


def _require(actor: Actor, assessment: Assessment, action: str, *, staff_only: bool = False) -> None:
    if not _allowed(actor, assessment, action, staff_only=staff_only):
        raise NotAllowed(_("You may not change this assessment."))


def actor_scope(actor: Actor) -> frozenset[str] | None:
    """The item ids a colleague's answer link may touch (portal.ScopedActor); None: every item."""
    return getattr(actor, "item_scope", None)


def templates_for(organization_id: int) -> Any:
    """Templates an organization may send: its own and the built-in ones."""
    from django.db.models import Q

    return Template.objects.filter(Q(organization_id=organization_id) | Q(organization__isnull=True))


def latest_template(organization_id: int, key: str) -> Template | None:
    """The latest version of KEY, the organization's own before the built-in one."""
    for owner in ({"organization_id": organization_id}, {"organization__isnull": True}):
        found = Template.objects.filter(key=key, **owner).order_by("-version").first()
        if found is not None:
            return found
    return None


# --- Creating -----------------------------------------------------------------------------------


def create_assessment(
    actor: Actor, supplier: Supplier, template: Template, *, due_on: datetime.date | None = None
) -> Assessment:
    """Send TEMPLATE (this exact version, locked from now on) to SUPPLIER.

    Only staff who may add records in the supplier's organization; the template must be the
    organization's or a built-in one. A supplier has at most one open (not yet approved)
    assessment per template key."""
    if actor.user is not None and not Supplier.objects.for_user(actor.user, ADD).filter(
        pk=supplier.pk, organization_id__in=member_organization_ids(actor.user, ADD)
    ).exists():
        raise NotAllowed(_("You may not send questionnaires to this supplier."))
    if template.organization_id not in (None, supplier.organization_id):
        raise AssessmentError(_("This template belongs to another organization."))
    with transaction.atomic():
        # Locking the supplier row queues concurrent sends to it, so the check below holds.
        Supplier.objects.select_for_update().filter(pk=supplier.pk).first()
        open_one = (
            Assessment.objects.filter(
                supplier=supplier, template__key=template.key, status__in=OPEN_STATUSES,
                template__organization_id=template.organization_id,
            ).order_by("pk").first()
        )
        if open_one is not None:
            raise AssessmentError(
                _("%(supplier)s already has an open assessment of “%(template)s” (#%(id)d, "
                  "%(status)s). Approve it first.")
                % {"supplier": supplier.code, "template": template.key, "id": open_one.pk,
                   "status": open_one.get_status_display()}
            )
        lock_template(template)
        assessment = Assessment.objects.create(
            organization_id=supplier.organization_id, supplier=supplier, template=template,
            due_on=due_on, created_by=actor.user,
        )
        record(actor, AuditEntry.Action.CREATE, assessment, None, _assessment_snapshot(assessment))
    return assessment


def _assessment_snapshot(assessment: Assessment) -> dict[str, Any]:
    data = snapshot(assessment)
    for cached in ("score", "section_scores", "critical_failures", "scored_at"):
        data.pop(cached, None)
    return data


# --- Answering ----------------------------------------------------------------------------------


def _answer_snapshot(answer: Answer | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {
        "item": answer.item.item_id,
        "value": answer.score_value,
        "comment": answer.comment,
        "evidence": answer.evidence.name or "",
    }


def _items(assessment: Assessment) -> list[Item]:
    return list(
        Item.objects.filter(template_id=assessment.template_id)
        .order_by("order")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("order")))
    )


def save_answer(
    actor: Actor, assessment: Assessment, item_id: str, raw: Any, *, comment: str | None = None,
) -> Answer | None:
    """Validate and save the answer to ITEM_ID (blank RAW clears it). COMMENT None keeps the
    comment. Evidence files go through renkei.questionnaires.evidence (checked there). Raises
    AnswerError for a refused value, AssessmentError when the assessment is not open for answers."""
    comments = {item_id: comment} if comment is not None else None
    try:
        saved = save_answers(actor, assessment, {item_id: raw}, comments=comments)
    except AnswersInvalid as exc:
        raise AnswerError(exc.errors[item_id]) from exc
    return saved.get(item_id)


def validate_answers(
    items: Iterable[Item], mapping: Mapping[str, Any], comments: Mapping[str, str] | None = None,
) -> tuple[dict[str, ParsedAnswer], dict[str, str]]:
    """Parse every answer of MAPPING (item id -> raw); (parsed answers, errors by item id)."""
    by_id = {item.item_id: item for item in items}
    parsed: dict[str, ParsedAnswer] = {}
    errors: dict[str, str] = {}
    for item_id in {*mapping, *(comments or {})}:
        item = by_id.get(item_id)
        if item is None:
            errors[item_id] = _("No such item in this questionnaire.")
            continue
        comment = (comments or {}).get(item_id)
        if comment is not None and len(comment) > COMMENT_MAX:
            errors[item_id] = _("The comment is longer than %(limit)d characters.") % {
                "limit": COMMENT_MAX}
            continue
        if item_id not in mapping:
            continue
        raw = mapping[item_id]
        try:
            parsed[item_id] = parse_answer(item, raw)
        except AnswerError as exc:
            errors[item_id] = exc.message
    return parsed, errors


def save_answers(
    actor: Actor, assessment: Assessment, mapping: Mapping[str, Any], *,
    comments: Mapping[str, str] | None = None,
) -> dict[str, Answer | None]:
    """All or nothing: validate every answer of MAPPING (item id -> raw value), then write the
    changed ones in bulk with their audit entries. Raises AnswersInvalid listing every refused
    answer (nothing is written then). Returns item id -> stored answer (None when cleared) for
    the items given. Saving the same answers again changes nothing."""
    _require(actor, assessment, CHANGE)
    items = _items(assessment)
    by_id = {item.item_id: item for item in items}
    parsed, errors = validate_answers(items, mapping, comments)
    scope = actor_scope(actor)
    if scope is not None:  # a colleague's link: only the items handed to it
        for item_id in {*mapping, *(comments or {})} - scope:
            errors.setdefault(item_id, _("This item was not handed to you."))
    if errors:
        raise AnswersInvalid({k: errors[k] for k in sorted(errors, key=_order_of(by_id))})
    touched = sorted({*parsed, *(comments or {})}, key=_order_of(by_id))
    now = timezone.now()
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.status not in ANSWERABLE_STATUSES:
            raise AssessmentError(
                _("This assessment is %(status)s; answers can no longer be changed.")
                % {"status": locked.get_status_display()}
            )
        existing = {
            a.item_id: a for a in Answer.objects.filter(
                assessment=locked, item_id__in=[by_id[i].pk for i in touched])
        }
        result: dict[str, Answer | None] = {}
        to_create: list[Answer] = []
        to_update: list[Answer] = []
        to_delete: list[Answer] = []
        entries: list[PendingEntry] = []
        for item_id in touched:
            item = by_id[item_id]
            answer = existing.get(item.pk)
            if answer is not None:
                answer.assessment, answer.item = locked, item
            before = _answer_snapshot(answer)
            candidate = answer or Answer(assessment=locked, item=item)
            if item_id in parsed:
                candidate.value = parsed[item_id].value
                candidate.not_applicable = parsed[item_id].not_applicable
            if comments and item_id in comments:
                candidate.comment = comments[item_id].strip()
            empty = (candidate.value is None and not candidate.not_applicable
                     and not candidate.comment and not candidate.evidence)
            if empty:
                result[item_id] = None
                if answer is not None:
                    to_delete.append(answer)
                    entries.append(PendingEntry(AuditEntry.Action.DELETE, answer, before, None))
                continue
            after = _answer_snapshot(candidate)
            result[item_id] = candidate
            if before == after:
                continue
            candidate.answered_by, candidate.answered_at = actor.user, now
            if answer is not None and answer.review_state != ReviewState.PENDING:
                # A changed answer is reviewed again.
                before = {**(before or {}), "review_state": answer.review_state}
                after = {**after, "review_state": ReviewState.PENDING}
                candidate.review_state = ReviewState.PENDING
            if answer is None:
                to_create.append(candidate)
            else:
                to_update.append(candidate)
                entries.append(PendingEntry(AuditEntry.Action.UPDATE, candidate, before, after))
        if to_delete:
            Answer.objects.filter(pk__in=[a.pk for a in to_delete]).delete()
        Answer.objects.bulk_create(to_create)
        Answer.objects.bulk_update(
            to_update, ["value", "not_applicable", "comment", "evidence", "answered_by",
                        "answered_at", "review_state"]
        )
        for answer in to_create:
            entries.append(PendingEntry(AuditEntry.Action.CREATE, answer, None,
                                        _answer_snapshot(answer)))
        if entries and locked.status == AssessmentStatus.NOT_STARTED:
            entries.append(_transition(locked, AssessmentStatus.IN_PROGRESS))
        if entries:
            record_many(actor, entries)
            recompute_scores([locked.pk])
            assessment.refresh_from_db()
    return result


def _order_of(by_id: Mapping[str, Item]) -> Any:
    return lambda item_id: (by_id[item_id].order if item_id in by_id else 10**9, item_id)


def _transition(assessment: Assessment, status: str, **fields: Any) -> PendingEntry:
    """Change ASSESSMENT's status (saved here) and return its audit entry to record."""
    before = _assessment_snapshot(assessment)
    assessment.status = status
    for name, value in fields.items():
        setattr(assessment, name, value)
    assessment.save(update_fields=["status", *fields])
    return PendingEntry(AuditEntry.Action.UPDATE, assessment, before, _assessment_snapshot(assessment))


# --- Submitting and reviewing -------------------------------------------------------------------


def missing_items(assessment: Assessment, items: list[Item] | None = None,
                  answers: Iterable[Answer] | None = None) -> list[str]:
    """Required items shown under the current answers (conditions) without an answer or 該当なし."""
    items = items if items is not None else _items(assessment)
    if answers is None:
        answers = Answer.objects.filter(assessment=assessment).select_related("item")
    given = {a.item.item_id: a for a in answers}
    values = {item_id: a.score_value for item_id, a in given.items()}
    score_items = [ScoreItem.from_item(item, section_key=str(item.section_id)) for item in items]
    shown = {s.item_id for s in visible_items(score_items, values)}
    missing = []
    for item in items:
        if not item.required or item.item_id not in shown:
            continue
        answer = given.get(item.item_id)
        done = answer is not None and (answer.not_applicable or answer.value is not None
                                       or (item.answer_type == AnswerType.FILE and answer.evidence))
        if not done:
            missing.append(item.item_id)
    return missing


def _raise_risk_candidates(assessment: Assessment, actor: Actor) -> None:
    """Each × answer becomes a risk candidate in the register (renkei.risk.register), in the same
    transaction as the submission or approval, audited under the same actor; set-based and
    idempotent."""
    from renkei.risk.register import raise_candidates

    raise_candidates(assessment, actor)


def submit(actor: Actor, assessment: Assessment) -> Assessment:
    """Hand the answers to the buyer. Every required, shown item must be answered (or 該当なし);
    otherwise Incomplete lists the missing item ids."""
    _require(actor, assessment, CHANGE)
    if actor_scope(actor) is not None:
        raise NotAllowed(_("Items handed to you are submitted by the person who asked you."))
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.status not in ANSWERABLE_STATUSES:
            raise AssessmentError(_("This assessment is %(status)s; it cannot be submitted.")
                                  % {"status": locked.get_status_display()})
        missing = missing_items(locked)
        if missing:
            raise Incomplete(missing)
        record_many(actor, [_transition(locked, AssessmentStatus.SUBMITTED,
                                        submitted_at=timezone.now())])
        _raise_risk_candidates(locked, actor)
    assessment.refresh_from_db()
    return assessment


def open_reviews(assessment: Assessment) -> list[Answer]:
    """Answers in 確認依頼 / 差戻し, in template order (with their items)."""
    return list(
        Answer.objects.filter(assessment=assessment, review_state__in=OPEN_REVIEW_STATES)
        .select_related("item").order_by("item__order")
    )


def return_for_changes(actor: Actor, assessment: Assessment, comment: str = "") -> Assessment:
    """Staff send a submitted assessment back to the supplier. The reasons are the answers in
    確認依頼 / 差戻し (with their review comments) and COMMENT; at least one of them is needed."""
    _require(actor, assessment, CHANGE, staff_only=True)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise AssessmentError(_("The comment is longer than %(limit)d characters.")
                              % {"limit": COMMENT_MAX})
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.status != AssessmentStatus.SUBMITTED:
            raise AssessmentError(_("Only a submitted assessment can be returned."))
        reasons = open_reviews(locked)
        if not comment and not reasons:
            raise AssessmentError(_("Say why the assessment is returned, or ask for clarification "
                                    "on or reject the items to fix."))
        entry = _transition(locked, AssessmentStatus.RETURNED, return_comment=comment)
        assert entry.after is not None
        entry.after["returned_items"] = [
            {"item": a.item.item_id, "review_state": a.review_state, "comment": a.review_comment}
            for a in reasons
        ]
        record_many(actor, [entry])
    assessment.refresh_from_db()
    return assessment


def approve(actor: Actor, assessment: Assessment) -> Assessment:
    """Staff accept a submitted assessment; it is closed from then on."""
    _require(actor, assessment, CHANGE, staff_only=True)
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.status != AssessmentStatus.SUBMITTED:
            raise AssessmentError(_("Only a submitted assessment can be approved."))
        blocking = open_reviews(locked)
        if blocking:
            raise ReviewOpen([a.item.item_id for a in blocking])
        record_many(actor, [_transition(locked, AssessmentStatus.APPROVED,
                                        approved_at=timezone.now(), return_comment="")])
        _raise_risk_candidates(locked, actor)
    assessment.refresh_from_db()
    return assessment


def _review_snapshot(answer: Answer) -> dict[str, Any]:
    return {"item": answer.item.item_id, "review_state": answer.review_state,
            "review_comment": answer.review_comment}


def review_answer(actor: Actor, assessment: Assessment, item_id: str, state: str,
                  comment: str = "") -> Answer:
    """Staff review one answer of a submitted assessment: accepted (承認), clarify (確認依頼),
    evidence (証跡の提出を依頼) or rejected (差戻し), or back to pending. A comment is required
    for clarify, evidence and rejected. Reviewing the same way again changes nothing."""
    _require(actor, assessment, CHANGE, staff_only=True)
    if state not in ReviewState.values:
        raise AssessmentError(_("Unknown review state “%(state)s”; use one of %(states)s.")
                              % {"state": state, "states": ", ".join(ReviewState.values)})
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise AssessmentError(_("The comment is longer than %(limit)d characters.")
                              % {"limit": COMMENT_MAX})
    if state in OPEN_REVIEW_STATES and not comment:
        raise AssessmentError(_("Say what the supplier should clarify or fix."))
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.status != AssessmentStatus.SUBMITTED:
            raise AssessmentError(_("Only the answers of a submitted assessment can be reviewed."))
        answer = (Answer.objects.select_for_update().select_related("item")
                  .filter(assessment=locked, item__item_id=item_id).first())
        if answer is None:
            if not Item.objects.filter(template_id=locked.template_id, item_id=item_id).exists():
                raise AssessmentError(_("No such item in this questionnaire."))
            raise AssessmentError(_("This item has no answer to review."))
        answer.assessment = locked
        before = _review_snapshot(answer)
        answer.review_state, answer.review_comment = state, comment
        after = _review_snapshot(answer)
        if before != after:
            answer.reviewed_by, answer.reviewed_at = actor.user, timezone.now()
            answer.save(update_fields=["review_state", "review_comment", "reviewed_by",
                                       "reviewed_at"])
            record_many(actor, [PendingEntry(AuditEntry.Action.UPDATE, answer, before, after)])
    return answer


def review_summary(answers: Iterable[Answer]) -> dict[str, int]:
    """Review state -> number of answers (every state present, in ReviewState order)."""
    counts = dict.fromkeys(ReviewState.values, 0)
    for answer in answers:
        counts[answer.review_state] += 1
    return counts


# --- Scores -------------------------------------------------------------------------------------


def recompute_scores(assessment_ids: Iterable[int], *, today: datetime.date | None = None) -> int:
    """Recompute the cached scores of the given assessments, set-based: per batch of
    SCORE_BATCH, one query each for assessments, items (with sections), choices and answers,
    and one bulk update. Returns the number of assessments scored."""
    ids = sorted(set(assessment_ids))
    today = today or timezone.localdate()
    done = 0
    for start in range(0, len(ids), SCORE_BATCH):
        done += _recompute_batch(ids[start:start + SCORE_BATCH], today)
    return done


def _recompute_batch(ids: list[int], today: datetime.date) -> int:
    assessments = list(Assessment.objects.filter(pk__in=ids).only("pk", "template_id"))
    template_ids = {a.template_id for a in assessments}
    items = (
        Item.objects.filter(template_id__in=template_ids)
        .select_related("section")
        .only("pk", "template_id", "item_id", "order", "answer_type", "weight", "critical",
              "allow_na", "condition", "section__key")
        .order_by("template_id", "order")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.only("item_id", "value",
                                                                           "points")))
    )
    score_items: dict[int, list[ScoreItem]] = defaultdict(list)
    item_ids: dict[int, str] = {}
    for item in items:
        score_items[item.template_id].append(ScoreItem.from_item(item))
        item_ids[item.pk] = item.item_id
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    rows = Answer.objects.filter(assessment_id__in=ids).values_list(
        "assessment_id", "item_id", "value", "not_applicable")
    for assessment_id, item_pk, value, not_applicable in rows:
        answers[assessment_id][item_ids[item_pk]] = NOT_APPLICABLE if not_applicable else value
    now = timezone.now()
    for assessment in assessments:
        result = score(score_items[assessment.template_id], answers[assessment.pk], today=today)
        assessment.score = None if result.overall is None else Decimal(str(result.overall))
        assessment.section_scores = result.sections
        assessment.critical_failures = result.critical_failures
        assessment.scored_at = now
    Assessment.objects.bulk_update(
        assessments, ["score", "section_scores", "critical_failures", "scored_at"]
    )
    return len(assessments)
