"""{% incidents_card %}: the incidents panel of the dashboard, for staff (renkei.incidents.deadlines)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("incidents/partials/dashboard_panel.html", takes_context=True)
def incidents_card(context: dict[str, Any], quiet: bool = False) -> dict[str, Any]:
    """QUIET: show the panel only when something is open or due (the dashboard of an empty
    registry has other things to say first)."""
    from renkei.incidents.deadlines import dashboard_panel

    panel = dashboard_panel(context["request"].user)
    shown = not quiet or bool(panel["open"] or panel["overdue"] or panel["soon"])
    return {"panel": panel, "shown": shown}
