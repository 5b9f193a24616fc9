"""Answer types of questionnaire items and their default choices (docs/questionnaire-format.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

NOT_APPLICABLE = "n/a"


class AnswerType(models.TextChoices):
    TRI_STATE = "tri_state", _("○ / △ / ×")
    YES_NO = "yes_no", _("Yes / no")
    SINGLE_CHOICE = "single_choice", _("Single choice")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CERTIFICATE = "certificate", _("Certificate")
    FILE = "file", _("File evidence")


@dataclass(frozen=True)
class DefaultChoice:
    value: str
    label_ja: str
    label_en: str
    points: int


# Stored as Choice rows on every version, so a version keeps its points if these defaults change.
DEFAULT_CHOICES: dict[str, tuple[DefaultChoice, ...]] = {
    AnswerType.TRI_STATE: (
        DefaultChoice("done", "○ 対応済み", "○ Done", 100),
        DefaultChoice("in_progress", "△ 対応中", "△ In progress", 50),
        DefaultChoice("not_done", "× 未対応", "× Not done", 0),
    ),
    AnswerType.YES_NO: (
        DefaultChoice("yes", "はい", "Yes", 100),
        DefaultChoice("no", "いいえ", "No", 0),
    ),
}

# Types whose answers are one or more of the item's choices.
CHOICE_TYPES = frozenset(
    {AnswerType.TRI_STATE, AnswerType.YES_NO, AnswerType.SINGLE_CHOICE, AnswerType.MULTIPLE_CHOICE}
)
# Types whose `choices` must be given in the file.
CHOICES_REQUIRED = frozenset({AnswerType.SINGLE_CHOICE, AnswerType.MULTIPLE_CHOICE})
# Types that count towards scores.
SCORED_TYPES = CHOICE_TYPES | {AnswerType.CERTIFICATE}


class AssessmentStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned")
    APPROVED = "approved", _("Approved")


# The supplier may answer in these; "open" (not yet approved) also blocks a second assessment.
ANSWERABLE_STATUSES = frozenset(
    {AssessmentStatus.NOT_STARTED, AssessmentStatus.IN_PROGRESS, AssessmentStatus.RETURNED}
)
OPEN_STATUSES = ANSWERABLE_STATUSES | {AssessmentStatus.SUBMITTED}


class ReviewState(models.TextChoices):
    """The buyer's review of one answer (set while the assessment is submitted)."""

    PENDING = "pending", _("Not reviewed")
    ACCEPTED = "accepted", _("Accepted")
    CLARIFY = "clarify", _("Clarification requested")
    REJECTED = "rejected", _("Rejected")
    EVIDENCE = "evidence", _("Evidence requested")


# Answers in these states block approval and are the reasons listed when the assessment is returned.
OPEN_REVIEW_STATES = frozenset({ReviewState.CLARIFY, ReviewState.REJECTED, ReviewState.EVIDENCE})


class LinkKind(models.TextChoices):
    """Why an answer link was issued."""

    STAFF = "staff", _("Issued by the buyer")
    CAMPAIGN = "campaign", _("Sent with a campaign")
    COLLEAGUE = "colleague", _("Handed to a colleague")
