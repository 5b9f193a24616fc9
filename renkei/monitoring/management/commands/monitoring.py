"""`renkei monitoring run [--date YYYY-MM-DD] [--organization SLUG] [--no-mail] [--json]` and
`renkei monitoring alerts [--organization SLUG] [--state open|acknowledged|resolved|all] [--json]`."""

from __future__ import annotations

import datetime
import time
from typing import Any

from renkei.accounts.models import Organization
from renkei.core.management.base import RenkeiCommand, fail
from renkei.monitoring.filtersets import AlertFilterSet, AlertState
from renkei.monitoring.models import Alert
from renkei.monitoring.services import alert_document, run_daily


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"Not a date (YYYY-MM-DD): {value!r}.") from exc


class Command(RenkeiCommand):
    help = "Monitoring: run the daily job (cadence, alerts, trends, mails), list alerts."

    def add_actions(self, subparsers: Any) -> None:
        run = subparsers.add_parser("run", help="What the daily job does: reassessments, alerts, "
                                    "snapshots, invitations and digests. Prints counts.")
        run.add_argument("--date", metavar="YYYY-MM-DD", help="The day to run for (default: today).")
        run.add_argument("--organization", metavar="SLUG", help="Only this organization.")
        run.add_argument("--no-mail", action="store_true", help="Send no invitations or digests.")
        alerts = subparsers.add_parser("alerts", help="Alerts in attention order.")
        alerts.add_argument("--organization", metavar="SLUG", help="Only this organization.")
        alerts.add_argument("--state", choices=[c for c, _label in AlertState.CHOICES],
                            default=AlertState.OPEN, help="Default: open (the attention list).")

    def _organization(self, slug: str | None) -> Organization | None:
        if not slug:
            return None
        found = Organization.objects.filter(slug=slug).first()
        if found is None:
            raise fail(f"No organization {slug!r}.")
        return found

    def run(self, action: str, **options: Any) -> Any:
        organization = self._organization(options.get("organization"))
        if action == "run":
            day = _date(options["date"]) if options.get("date") else None
            started = time.perf_counter()
            data = run_daily(day, organization=organization, mail=not options.get("no_mail"))
            data["seconds"] = round(time.perf_counter() - started, 3)
            return data
        queryset = Alert.objects.select_related("supplier", "acknowledged_by", "organization")
        if organization is not None:
            queryset = queryset.filter(organization=organization)
        filtered = AlertFilterSet({"state": options["state"]}, queryset=queryset).qs
        rows = filtered.order_by("organization__slug", "priority", "raised_at", "pk")
        return {"alerts": [{**alert_document(a), "organization": a.organization.slug} for a in rows]}

    def render_text(self, action: str, data: Any) -> str:
        if action == "alerts":
            return "\n".join(f"[{a['organization']}] {a['label']}: {a['supplier'] or '-'} — {a['reason']}"
                             for a in data["alerts"]) or "No alerts."
        lines = [f"monitoring run for {data['date']} ({data['seconds']} s)"]
        for slug, counts in data["organizations"].items():
            r, a = counts["reassessments"], counts["alerts"]
            lines.append(f"{slug}: reassessments due {r['due']}, created {r['created']}, blocked by an open "
                         f"one {r['blocked']}, template missing {r['missing_template']}; alerts raised "
                         f"{a['raised']}, resolved {a['resolved']}, reopened {a['reopened']}, open "
                         f"{a['open']}; snapshots {counts['snapshots']}")
        if "invitations" in data:
            lines.append("invitations: " + ", ".join(f"{k} {v}" for k, v in data["invitations"].items()))
            lines.append("digests: " + ", ".join(f"{k} {v}" for k, v in data["digests"].items()))
        return "\n".join(lines)
