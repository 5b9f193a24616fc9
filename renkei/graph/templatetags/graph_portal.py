"""{% declared_subcontractors supplier %}: the declarations section of the registry supplier page
(the Subcontractors tab), so the registry's view needs no change."""

from __future__ import annotations

from typing import Any

from django import template

from renkei.core.access import SupplierAccess
from renkei.core.permissions import CHANGE
from renkei.graph import portal

register = template.Library()


@register.inclusion_tag("graph/partials/declared_section.html", takes_context=True)
def declared_subcontractors(context: template.Context, supplier: Any) -> dict[str, Any]:
    user = context["request"].user
    access = context.get("access") or SupplierAccess.of(user, supplier)
    return {
        "supplier": supplier,
        "rows": portal.declarations(user, supplier),
        "is_staff": access.is_staff,
        "can_correct": access.is_contact or CHANGE in access.staff_actions,
        "can_declare": access.is_contact,
    }
