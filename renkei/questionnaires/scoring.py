"""Scores of one set of answers (docs/questionnaire-format.md, "Scoring"). Pure functions: no
database; the caller passes the items (`ScoreItem.from_item` reads prefetched model rows) and the
answers, so the assessments app can score in bulk and tests need no fixtures.

For each section: Σ(points × weight) ÷ Σ(100 × weight) × 100 over the answered, scored, visible
items; 該当なし excluded; overall the same over all sections. A critical item answered with its
lowest-point answer is flagged.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from renkei.questionnaires.choices import CHOICE_TYPES, NOT_APPLICABLE, AnswerType

FULL = Decimal(100)


@dataclass(frozen=True)
class ScoreItem:
    item_id: str
    section: str
    answer_type: str
    weight: Decimal = Decimal(1)
    critical: bool = False
    allow_na: bool = False
    points: Mapping[str, int] = field(default_factory=dict)  # choice value -> points
    condition: Mapping[str, Any] | None = None

    @classmethod
    def from_item(cls, item: Any, section_key: str | None = None) -> ScoreItem:
        """From an Item row with its choices (prefetch them) and its section key."""
        return cls(
            item_id=item.item_id,
            section=section_key if section_key is not None else item.section.key,
            answer_type=item.answer_type,
            weight=Decimal(item.weight),
            critical=item.critical,
            allow_na=item.allow_na,
            points={c.value: c.points for c in item.choices.all()},
            condition=item.condition,
        )


@dataclass(frozen=True)
class ScoreResult:
    overall: float | None  # 0–100, higher is better; None when nothing scored was answered
    sections: dict[str, float | None]
    critical_failures: list[str]  # item ids, in template order


def _round(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _as_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def certificate_points(answer: Any, today: datetime.date) -> int | None:
    """100 when held and not expired (no expiry date: not expired), 0 otherwise; None when the
    answer is not a certificate answer."""
    if not isinstance(answer, Mapping) or "held" not in answer:
        return None
    if answer.get("held") is not True:
        return 0
    expires = answer.get("expires_on")
    if expires in (None, ""):
        return 100
    expires_on = _as_date(expires)
    if expires_on is None or expires_on < today:
        return 0
    return 100


def answer_points(item: ScoreItem, answer: Any, today: datetime.date) -> int | None:
    """Points of ANSWER to ITEM; None when it does not count (unanswered, n/a, invalid, unscored)."""
    if answer is None or answer == NOT_APPLICABLE:
        return None
    if item.answer_type == AnswerType.CERTIFICATE:
        return certificate_points(answer, today)
    if item.answer_type == AnswerType.MULTIPLE_CHOICE:
        if not isinstance(answer, list | tuple):
            return None
        chosen = [item.points[v] for v in answer if v in item.points]
        return max(chosen) if chosen else None
    if item.answer_type in CHOICE_TYPES:
        return item.points.get(answer) if isinstance(answer, str) else None
    return None


def lowest_points(item: ScoreItem) -> int | None:
    if item.answer_type == AnswerType.CERTIFICATE:
        return 0
    if item.answer_type in CHOICE_TYPES and item.points:
        values = item.points.values()
        return min(values) if min(values) < max(values) else None
    return None


def visible_items(items: Iterable[ScoreItem], answers: Mapping[str, Any]) -> list[ScoreItem]:
    """The items shown for ANSWERS: an item whose condition is not met is hidden, and so is an
    item whose condition refers to a hidden item (conditions only point at earlier items)."""
    shown: list[ScoreItem] = []
    shown_ids: set[str] = set()
    for item in items:
        condition = item.condition
        if condition:
            target = condition.get("item")
            wanted = set(condition.get("in") or ())
            answer = answers.get(target)
            chosen = set(answer) if isinstance(answer, list | tuple) else {answer}
            if target not in shown_ids or not (chosen & wanted):
                continue
        shown.append(item)
        shown_ids.add(item.item_id)
    return shown


def score(
    items: Iterable[ScoreItem], answers: Mapping[str, Any], *, today: datetime.date | None = None
) -> ScoreResult:
    """Section and overall scores and the critical failures of ANSWERS (item id -> value).

    Values: a choice value (tri_state, yes_no, single_choice), a list of values
    (multiple_choice), {held, kind, number, expires_on} (certificate) or "n/a". TODAY decides
    whether a certificate has expired (default: the local date).
    """
    today = today or datetime.date.today()
    items = list(items)
    earned: dict[str, Decimal] = {}
    possible: dict[str, Decimal] = {}
    for item in items:
        earned.setdefault(item.section, Decimal(0))
        possible.setdefault(item.section, Decimal(0))
    failures: list[str] = []
    for item in visible_items(items, answers):
        answer = answers.get(item.item_id)
        if answer == NOT_APPLICABLE and not item.allow_na:
            answer = None  # not an allowed answer: as if unanswered
        points = answer_points(item, answer, today)
        if points is None:
            continue
        if item.critical and points == lowest_points(item):
            failures.append(item.item_id)
        if item.weight <= 0:
            continue
        earned[item.section] += Decimal(points) * item.weight
        possible[item.section] += FULL * item.weight
    sections = {
        key: (_round(earned[key] / possible[key] * FULL) if possible[key] else None)
        for key in possible
    }
    total_possible = sum(possible.values(), Decimal(0))
    overall = _round(sum(earned.values(), Decimal(0)) / total_possible * FULL) if total_possible else None
    return ScoreResult(overall=overall, sections=sections, critical_failures=failures)
