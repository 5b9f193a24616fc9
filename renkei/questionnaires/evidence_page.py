"""What the answer page (views_assessments.answer_page, also the portal's) shows about evidence
files and hand-overs: per-item upload and download addresses, "担当: 名前 (依頼中 / 回答済)",
the hand-over form, and for a colleague's link only the items handed to it. No query per item.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import actor_scope
from renkei.questionnaires.choices import LinkKind, ReviewState
from renkei.questionnaires.evidence import ALLOWED, ALLOWED_LABEL
from renkei.questionnaires.handover import MAX_ACTIVE, handovers_by_item
from renkei.questionnaires.models import AccessLink, Answer, Assessment

ACCEPT = ",".join(f".{ext}" for ext in ALLOWED)


def scoped_parts(parts: dict[str, Any], scope: frozenset[str]) -> dict[str, Any]:
    """PARTS (models.template_parts) with only the items in SCOPE, and only the sections that
    keep some."""
    items = [item for item in parts["items"] if item.item_id in scope]
    sections = []
    for section in parts["sections"]:
        section.item_list = [item for item in section.item_list if item.item_id in scope]
        if section.item_list:
            sections.append(section)
    return {"sections": sections, "items": items}


def page_context(request: Any, assessment: Assessment, *, actor: Actor, access: dict[str, bool],
                 parts: dict[str, Any], answers: dict[int, Answer], portal: bool) -> dict[str, Any]:
    """Set evidence_url, evidence_remove_url, evidence_name and handovers on every item of
    PARTS and return the page's evidence and hand-over context. One query (the hand-overs)."""
    scoped = actor_scope(actor) is not None
    can_hand_over = bool(access["can_answer"] and not scoped and (portal or not access["is_staff"]))
    by_item = {} if scoped else handovers_by_item(assessment, parts["items"], answers)
    preselect = request.GET.get("handover", "")
    for item in parts["items"]:
        if portal:
            item.evidence_url = reverse("questionnaires:portal-evidence", args=[item.item_id])
            item.evidence_remove_url = reverse("questionnaires:portal-evidence-remove",
                                               args=[item.item_id])
        else:
            item.evidence_url = reverse("questionnaires:assessment-evidence",
                                        args=[assessment.pk, item.item_id])
            item.evidence_remove_url = reverse("questionnaires:assessment-evidence-remove",
                                               args=[assessment.pk, item.item_id])
        answer = answers.get(item.pk)
        item.evidence_name = (answer.evidence.name.rsplit("/", 1)[-1]
                              if answer is not None and answer.evidence else "")
        item.handovers = by_item.get(item.item_id, [])
        item.preselected = item.item_id == preselect
        item.evidence_requested = (answer is not None
                                   and answer.review_state == ReviewState.EVIDENCE)
    handovers: list[AccessLink] = []
    if can_hand_over:
        handovers = [h["link"] for links in by_item.values() for h in links]
        handovers = sorted({link.pk: link for link in handovers}.values(),
                           key=lambda link: (link.created_at, link.pk))
    return {
        "scoped": scoped,
        "can_hand_over": can_hand_over,
        "handovers": handovers,
        "handover_limit": MAX_ACTIVE,
        "evidence_accept": ACCEPT,
        "evidence_types": ALLOWED_LABEL,
        "max_upload_mb": settings.RENKEI_MAX_UPLOAD_MB,
        "colleague_kind": LinkKind.COLLEAGUE,
    }
