"""`renkei audit verify`: recompute every organization's hash chain and report tampering."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.services import verify
from renkei.core.management.base import RenkeiCommand


class Command(RenkeiCommand):
    help = (
        "Work with the audit trail. verify: recompute the hash chains (exit status 1 on problems)."
    )

    def add_actions(self, subparsers: Any) -> None:
        sub = subparsers.add_parser("verify", help="Check every entry against its hash and links.")
        sub.add_argument("--organization", metavar="SLUG", help="Only this organization's chain.")

    def run(self, action: str, **options: Any) -> dict[str, Any]:
        organization_ids = None
        slug = options.get("organization")
        if slug:
            org = Organization.objects.filter(slug=slug).first()
            if org is None:
                raise CommandError(
                    _("No organization with the short name %(slug)s.") % {"slug": slug}
                )
            organization_ids = [org.id]
        checked, problems = verify(organization_ids)
        slugs = dict(Organization.objects.values_list("id", "slug"))
        return {
            "ok": not problems,
            "checked": checked,
            "problems": [
                {
                    "organization": slugs.get(p.organization, p.organization),
                    "sequence": p.sequence,
                    "problem": p.problem,
                }
                for p in problems
            ],
        }

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        # The report is already on stdout; the exit status tells scripts something is wrong.
        if self.last_problems:
            raise CommandError(
                _("The audit trail has %(count)d problem(s).") % {"count": self.last_problems},
                returncode=1,
            )

    last_problems: int = 0

    def write_json(self, data: Any) -> None:
        self.last_problems = len(data["problems"])
        super().write_json(data)

    def render_text(self, action: str, data: dict[str, Any]) -> str:
        self.last_problems = len(data["problems"])
        if data["ok"]:
            return _("Audit trail intact: %(checked)d entries checked.") % {
                "checked": data["checked"]
            }
        lines = [
            _("Audit trail damaged: %(checked)d entries checked, %(count)d problem(s).")
            % {"checked": data["checked"], "count": len(data["problems"])}
        ]
        for p in data["problems"]:
            lines.append(f"  {p['organization']} #{p['sequence']}: {p['problem']}")
        return "\n".join(lines)
