"""`renkei incidents <action>`: incidents from the command line (docs/incidents.md).

    renkei incidents obligations --facts FILE.json [--json] [--lang ja|en]
    renkei incidents obligations --facts - --json < facts.json
    renkei incidents list [--organization SLUG] [--status open|all|STATUS] [--json]
    renkei incidents export NUMBER FILE.xlsx|FILE.pdf [--organization SLUG]
    renkei incidents warn [--json]

Each action is one `add_<action>` (its arguments) and one `do_<action>` (returns the data printed
as JSON with --json, or as text by `text_<action>`), found by name: adding an action is adding
those methods and naming it in ACTIONS. Errors go to stderr with exit status 1, stdout stays empty.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from renkei.core.management.base import ActionsCommand, fail
from renkei.core.management.base import organization_by_slug as _organization
from renkei.incidents.obligations import (
    AUTHORITIES,
    KINDS,
    Facts,
    FactsError,
    RulesError,
    evaluate,
    load_rules,
)


class Command(ActionsCommand):
    help = "Incidents: the obligations (共有・報告・公表) that follow from an incident's facts."
    # `call_command(..., stdin=StringIO(...))` stands in for standard input in tests.
    stealth_options = ("stdin",)

    ACTIONS: tuple[tuple[str, str], ...] = (
        ("obligations", "List the obligations (share, report, publish, notify) that apply to the facts."),
        ("list", "List incidents with their open and overdue obligations."),
        ("export", "Write one incident as Excel (.xlsx) or PDF (.pdf) for the PPC report and the file."),
        ("warn", "Send the deadline warnings that are due now (the worker does this every hour)."),
    )

    # -- obligations (rules/obligations.yaml) ------------------------------------------------------

    def add_obligations(self, parser: Any) -> None:
        parser.add_argument(
            "--facts",
            required=True,
            metavar="FILE.json",
            help='The facts as a JSON object (docs/incidents.md); "-" reads standard input.',
        )

    def do_obligations(self, **options: Any) -> dict[str, Any]:
        data = self.read_json(options["facts"], options.get("stdin"))
        try:
            rules = load_rules()
            found = evaluate(Facts.from_mapping(data), rules)
        except (FactsError, RulesError) as exc:
            raise fail(str(exc)) from None
        if self.json_output:
            # Exactly these five keys per obligation: users' scripts depend on them.
            return {"obligations": [obligation.to_json() for obligation in found]}
        return {"version": rules.version, "zone": rules.zone.key, "obligations": found}

    def read_json(self, source: str, stdin: Any) -> Any:
        name = _("standard input") if source == "-" else source
        try:
            text = (
                (stdin or sys.stdin).read() if source == "-" else Path(source).read_text(encoding="utf-8-sig")
            )
        except OSError as exc:
            raise fail(
                _("Cannot read %(path)s: %(reason)s") % {"path": name, "reason": exc.strerror or exc}
            ) from None
        except UnicodeDecodeError:
            raise fail(_("%(path)s is not UTF-8 text.") % {"path": name}) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(
                _("%(path)s is not valid JSON (line %(line)d, column %(column)d): %(reason)s")
                % {"path": name, "line": exc.lineno, "column": exc.colno, "reason": exc.msg}
            ) from None

    # -- list, export, warn --------------------------------------------------------------------------

    @staticmethod
    def add_organization(parser: Any) -> None:
        parser.add_argument(
            "--organization", metavar="SLUG", help="The organization (needed only when there are several)."
        )

    def add_list(self, parser: Any) -> None:
        self.add_organization(parser)
        parser.add_argument("--status", default="open", help="open (default), all, or one status.")

    def do_list(self, **options: Any) -> dict[str, Any]:
        from django.db.models import Count, Min, Q
        from django.utils import timezone

        from renkei.incidents.models import ObligationStatus, Status

        organization = _organization(options.get("organization"))
        now = timezone.now()
        rows = organization.incidents.select_related("supplier")
        status = options["status"]
        if status == "open":
            rows = rows.exclude(status=Status.CLOSED)
        elif status != "all":
            if status not in Status.values:
                raise fail(_("Unknown status %(status)s.") % {"status": status})
            rows = rows.filter(status=status)
        live = Q(obligations__status=ObligationStatus.OPEN, obligations__withdrawn=False)
        rows = rows.annotate(
            open_obligations=Count("obligations", filter=live),
            overdue=Count("obligations", filter=live & Q(obligations__due_at__lt=now)),
            next_due=Min("obligations__due_at", filter=live & Q(obligations__due_at__gte=now)),
        ).order_by("-aware_at", "-pk")
        return {
            "incidents": [
                {
                    "number": row.number,
                    "title": row.title,
                    "supplier": row.supplier.code if row.supplier_id else None,
                    "status": row.status,
                    "severity": row.severity or None,
                    "category": row.category or None,
                    "aware_at": timezone.localtime(row.aware_at).isoformat(),
                    "open_obligations": row.open_obligations,
                    "overdue_obligations": row.overdue,
                    "next_due": timezone.localtime(row.next_due).isoformat() if row.next_due else None,
                }
                for row in rows
            ]
        }

    @staticmethod
    def text_list(data: dict[str, Any]) -> str:
        if not data["incidents"]:
            return _("No incidents.")
        lines = []
        for row in data["incidents"]:
            overdue = (
                _("%(n)d overdue") % {"n": row["overdue_obligations"]} if row["overdue_obligations"] else ""
            )
            lines.append(
                "  ".join(
                    filter(
                        None,
                        [
                            row["number"],
                            row["aware_at"][:16],
                            row["supplier"] or "—",
                            row["status"],
                            row["title"],
                            overdue,
                        ],
                    )
                )
            )
        return "\n".join(lines)

    def add_export(self, parser: Any) -> None:
        parser.add_argument("number", help="The incident number (INC-2026-0001).")
        parser.add_argument("path", metavar="FILE", help="Where to write: a .xlsx or .pdf file.")
        self.add_organization(parser)

    def do_export(self, **options: Any) -> dict[str, Any]:
        from django.utils.translation import get_language

        from renkei.incidents.exports import export_to

        organization = _organization(options.get("organization"))
        incident = organization.incidents.filter(number=options["number"]).first()
        if incident is None:
            raise fail(
                _("No incident %(number)s in %(organization)s.")
                % {"number": options["number"], "organization": organization.slug}
            )
        path = Path(options["path"])
        if path.suffix.lower() not in (".xlsx", ".pdf"):
            raise fail(_("Write to a .xlsx or .pdf file."))
        try:
            written = export_to(incident, path, language=get_language() or "ja")
        except OSError as exc:
            raise fail(
                _("Cannot write %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror or exc}
            ) from None
        return {"number": incident.number, "path": str(written), "bytes": written.stat().st_size}

    def add_warn(self, parser: Any) -> None:
        pass

    def do_warn(self, **options: Any) -> dict[str, Any]:
        from renkei.incidents.deadlines import warn_deadlines

        return warn_deadlines()

    @staticmethod
    def text_obligations(data: dict[str, Any]) -> str:
        promptly = _("promptly (no fixed deadline)")
        header = (
            pgettext("obligations table", "Due"),
            pgettext("obligations table", "Kind"),
            pgettext("obligations table", "To"),
            pgettext("obligations table", "Obligation"),
        )
        rows = [
            (
                obligation.due.strftime("%Y-%m-%d %H:%M") if obligation.due else promptly,
                str(KINDS[obligation.kind]),
                str(AUTHORITIES[obligation.authority]),
                obligation.title,
            )
            for obligation in data["obligations"]
        ]
        widths = [max(_width(row[column]) for row in [header, *rows]) for column in range(3)]
        intro = _("Rules version %(version)s; times in %(zone)s.")
        lines = [intro % {"version": data["version"], "zone": data["zone"]}]
        for index, row in enumerate([header, *rows]):
            lines.append("  ".join([*(_pad(row[c], widths[c]) for c in range(3)), row[3]]).rstrip())
            if index:
                basis = _("Basis: %(basis)s") % {"basis": data["obligations"][index - 1].basis}
                lines.append(" " * (widths[0] + 2) + basis)
        return "\n".join(lines)


def _width(text: str) -> int:
    """Columns TEXT takes in a terminal: full-width (Japanese) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
