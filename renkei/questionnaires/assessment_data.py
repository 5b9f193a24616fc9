"""An assessment as plain data: `renkei assessments show --json` and the API's export."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from renkei.questionnaires.models import Answer, Assessment, Choice, Item, Section, localized


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def load_assessment(pk: int, queryset: Any = None) -> Assessment | None:
    """ASSESSMENT with supplier, organization and template joined (QUERYSET: for_user rows)."""
    queryset = Assessment.objects.all() if queryset is None else queryset
    return queryset.select_related("supplier", "organization", "template").filter(pk=pk).first()


def assessment_document(assessment: Assessment, *, full: bool = False) -> dict[str, Any]:
    """{id, status, score, supplier, template, version, sections, critical_failures, due_on,
    answers: [{item, value, comment}]}; FULL adds texts, section titles and item details
    (the JSON export). Three queries: sections, items with choices, answers."""
    answers = {
        a.item_id: a for a in Answer.objects.filter(assessment=assessment).order_by("item__order")
    }
    items = list(
        Item.objects.filter(template_id=assessment.template_id).order_by("order")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("order")))
    ) if full else list(
        Item.objects.filter(pk__in=answers).order_by("order").only("pk", "item_id", "order")
    )
    rows = []
    for item in items:
        answer = answers.get(item.pk)
        if answer is None and not full:
            continue
        row: dict[str, Any] = {
            "item": item.item_id,
            "value": answer.score_value if answer else None,
            "comment": answer.comment if answer else "",
        }
        if full:
            row.update({
                "text": item.text,
                "type": item.answer_type,
                "required": item.required,
                "critical": item.critical,
                "critical_failure": item.item_id in (assessment.critical_failures or []),
                "evidence": bool(answer and answer.evidence),
                "answered_at": answer.answered_at.isoformat() if answer and answer.answered_at
                else None,
            })
        rows.append(row)
    document: dict[str, Any] = {
        "id": assessment.pk,
        "status": assessment.status,
        "score": _number(assessment.score),
        "supplier": assessment.supplier.code,
        "template": assessment.template.key,
        "version": assessment.template.version,
        "sections": assessment.section_scores or {},
        "critical_failures": list(assessment.critical_failures or []),
        "due_on": assessment.due_on.isoformat() if assessment.due_on else None,
        "submitted_at": assessment.submitted_at.isoformat() if assessment.submitted_at else None,
        "approved_at": assessment.approved_at.isoformat() if assessment.approved_at else None,
        "answers": rows,
    }
    if full:
        sections = Section.objects.filter(template_id=assessment.template_id).order_by("order")
        document["template_name"] = assessment.template.name
        document["supplier_name"] = assessment.supplier.name
        document["organization"] = assessment.organization.slug
        document["section_titles"] = {
            s.key: localized(s.title_ja, s.title_en) for s in sections
        }
    return document
