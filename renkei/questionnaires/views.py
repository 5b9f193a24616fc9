"""Pages of the questionnaire library (staff only). Built-in templates are shared with the staff
of every organization, view only; an organization's templates only with its own staff. Every
query starts from `for_user`; anything else is 404."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.permissions import ADD, VIEW
from renkei.questionnaires.choices import NOT_APPLICABLE, SCORED_TYPES
from renkei.questionnaires.models import Crosswalk, Item, Template, template_parts


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    templates = (
        Template.objects.for_user(request.user, VIEW)
        .latest_versions()
        .with_counts()
        .select_related("organization")
        .order_by(F("organization").asc(nulls_first=True), "key")
    )
    context = {
        "templates": list(templates),
        # Importing an Excel check sheet creates a template: staff who may add records.
        "can_import": Organization.for_user(request.user, ADD).exists(),
    }
    return render(request, "questionnaires/template_list.html", context)


def condition_text(item: Item, by_id: dict[str, Item]) -> str:
    """「P-03 が ○ 対応済み のときのみ」 in the active language."""
    if not item.condition:
        return ""
    target = by_id.get(item.condition.get("item", ""))
    labels = {c.value: c.label for c in target.choices.all()} if target else {}
    labels[NOT_APPLICABLE] = _("Not applicable")
    values = _(" or ").join(labels.get(v, v) for v in item.condition.get("in", []))
    return _("Only when %(item)s is %(values)s") % {"item": item.condition.get("item"),
                                                     "values": values}


def _crosswalks_of(user: Any, template: Template) -> list[Crosswalk]:
    """Crosswalks the user may see that name TEMPLATE's key on either side (an organization's
    template: that organization's crosswalks; a built-in one: built-in and the user's own)."""
    crosswalks = Crosswalk.objects.for_user(user, VIEW).filter(
        Q(source_key=template.key) | Q(target_key=template.key))
    if template.organization_id is not None:
        crosswalks = crosswalks.filter(organization_id=template.organization_id)
    return list(crosswalks.select_related("organization").order_by("key"))


@login_required
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # No staff check first: for anyone who may not see it, a template is 404 like a missing one.
    template = get_for_user_or_404(
        Template.objects.select_related("organization"), request.user, VIEW, pk=pk
    )
    parts = template_parts(template)
    by_id = {item.item_id: item for item in parts["items"]}
    for item in parts["items"]:
        item.condition_text = condition_text(item, by_id)  # type: ignore[attr-defined]
        item.scored = item.answer_type in SCORED_TYPES and item.weight > 0  # type: ignore[attr-defined]
    versions = (
        Template.objects.for_user(request.user, VIEW)
        .filter(organization_id=template.organization_id, key=template.key)
        .with_counts()
        .order_by("-version")
    )
    return render(request, "questionnaires/template_detail.html", {
        "template": template,
        "crosswalks": _crosswalks_of(request.user, template),
        "sections": parts["sections"],
        "item_count": len(parts["items"]),
        "critical_count": sum(1 for item in parts["items"] if item.critical),
        "versions": list(versions),
    })
