"""`renkei remediation list [--supplier CODE] [--organization SLUG] [--status S] --json`."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from renkei.accounts.models import Organization
from renkei.core.management.base import RenkeiCommand, fail
from renkei.remediation.models import Action, PlanStatus, RemediationPlan
from renkei.remediation.services import plan_data


class Command(RenkeiCommand):
    help = "Remediation plans (是正計画) and their actions."

    def add_actions(self, subparsers: Any) -> None:
        listing = subparsers.add_parser("list", help="Plans with their actions, newest first.")
        listing.add_argument("--supplier", metavar="CODE", help="Only this supplier's plans.")
        listing.add_argument("--organization", metavar="SLUG", help="Only this organization.")
        listing.add_argument("--status", metavar="STATUS", help="draft, agreed, completed or cancelled.")

    def run(self, action: str, **options: Any) -> Any:
        plans = RemediationPlan.objects.select_related("organization", "supplier").prefetch_related(
            Prefetch("actions", queryset=Action.objects.select_related("owner").order_by("due_on", "pk"))
        )
        slug = options.get("organization")
        if slug:
            if not Organization.objects.filter(slug=slug).exists():
                raise fail(f"No organization {slug!r}.")
            plans = plans.filter(organization__slug=slug)
        if options.get("supplier"):
            plans = plans.filter(supplier__code=options["supplier"])
        status = options.get("status")
        if status:
            if status not in PlanStatus.values:
                raise fail(f"Unknown status {status!r}; use one of {', '.join(PlanStatus.values)}.")
            plans = plans.filter(status=status)
        today = timezone.localdate()
        return {"plans": [plan_data(p, today) for p in plans.order_by("-created_at", "-pk")]}

    def render_text(self, action: str, data: Any) -> str:
        lines = []
        for plan in data["plans"]:
            lines.append(f"#{plan['id']} {plan['supplier']} {plan['title']} [{plan['status']}]")
            for a in plan["actions"]:
                late = " OVERDUE" if a["overdue"] else ""
                lines.append(
                    f"  - {a['status']:<11} {a['owner_side']:<8} {a['due_on'] or '-':<10} {a['title']}{late}"
                )
        return "\n".join(lines) or "No remediation plans."
