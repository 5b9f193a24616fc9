"""前回との差分: this assessment's answers against the supplier's previous assessment of the same
template key (item ids are stable across template versions): changed answers, items new in this
version, and items of the previous version that this one no longer has (with their old answer)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from renkei.questionnaires.choices import AssessmentStatus
from renkei.questionnaires.models import Answer, Assessment, Item, template_parts
from renkei.questionnaires.values import display_value


@dataclass(frozen=True)
class DiffRow:
    item_id: str
    before: Any
    after: Any
    new: bool  # the item is not in the previous assessment's template version
    removed: bool = False  # the item was in the previous version but is not in this one

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item_id, "before": self.before, "after": self.after, "new": self.new,
                "removed": self.removed}


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, list) and isinstance(after, list):
        return sorted(map(str, before)) == sorted(map(str, after))
    return bool(before == after)


def compute_diff(
    previous_answers: Mapping[str, Any], current_answers: Mapping[str, Any], items: Iterable[str],
    *, previous_items: Iterable[str] | None = None,
) -> list[DiffRow]:
    """Rows for the items (ids, in order) whose answer changed, for items new in this version, then
    for the items of the previous version missing from this one (removed, in their old order).

    Answers map item id -> stored value ("n/a" for 該当なし; missing: unanswered). PREVIOUS_ITEMS
    are the item ids of the previous version, in order (default: the ones answered there)."""
    known = list(previous_items if previous_items is not None else previous_answers)
    current = list(items)
    rows = []
    for item_id in current:
        before, after = previous_answers.get(item_id), current_answers.get(item_id)
        new = item_id not in known
        if new or not _same(before, after):
            rows.append(DiffRow(item_id, before, after, new))
    present = set(current)
    for item_id in dict.fromkeys(known):
        if item_id not in present:
            rows.append(DiffRow(item_id, previous_answers.get(item_id), None, False, removed=True))
    return rows


def previous_assessment(assessment: Assessment) -> Assessment | None:
    """The supplier's latest approved or submitted assessment of the same template key (and
    owner) sent before this one."""
    return (
        Assessment.objects.filter(
            supplier_id=assessment.supplier_id, template__key=assessment.template.key,
            template__organization_id=assessment.template.organization_id,
            status__in=[AssessmentStatus.APPROVED, AssessmentStatus.SUBMITTED],
            pk__lt=assessment.pk,
        ).select_related("template").order_by("-created_at", "-pk").first()
    )


def _values(assessment: Assessment) -> dict[str, Any]:
    return {item_id: "n/a" if na else value for item_id, value, na in Answer.objects.filter(
        assessment=assessment).values_list("item__item_id", "value", "not_applicable")}


def assessment_diff(assessment: Assessment, items: list[Item] | None = None) -> dict[str, Any]:
    """{"previous": Assessment | None, "rows": [DiffRow with .item, .before_display, ...]}.
    ITEMS: this version's items with their choices prefetched (template_parts), if at hand."""
    previous = previous_assessment(assessment)
    if previous is None:
        return {"previous": None, "rows": []}
    if items is None:
        items = template_parts(assessment.template)["items"]
    previous_items = {item.item_id: item for item in Item.objects.filter(
        template_id=previous.template_id).order_by("order")}
    rows = compute_diff(_values(previous), _values(assessment), [i.item_id for i in items],
                        previous_items=list(previous_items))
    by_id = {item.item_id: item for item in items}
    shown = []
    for row in rows:
        item = previous_items[row.item_id] if row.removed else by_id[row.item_id]
        choices = item.choices.all()
        shown.append({
            **row.as_dict(), "item_obj": item,
            "before_display": display_value(item.answer_type, row.before, choices),
            "after_display": display_value(item.answer_type, row.after, choices),
        })
    return {"previous": previous, "rows": shown}
