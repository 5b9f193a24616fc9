"""`renkei osv <action>`: vulnerability data from OSV files, offline (docs/deliveries.md).

    renkei osv import PATH [--source NAME] [--json]
    renkei osv list [--json]

`import` reads a directory tree (a checkout of an advisory database), an ecosystem's all.zip or
one JSON/YAML file, as a full snapshot of its source (default: the zip's stem or the directory's
name), then re-checks the stored deliveries the import touched. Errors (missing path, broken zip,
unreadable file) go to stderr with exit status 1, and the database is left as it was.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.core.management.base import ActionsCommand, fail
from renkei.deliveries.models import Advisory, OsvImport
from renkei.deliveries.osv.importer import ImportResult, OsvImportError, import_osv

REJECTED_SHOWN = 20


def _recheck() -> Any:
    """renkei.deliveries.recheck.after_import, when that module is installed."""
    if importlib.util.find_spec("renkei.deliveries.recheck") is None:
        return None
    from renkei.deliveries import recheck

    return getattr(recheck, "after_import", None)


class Command(ActionsCommand):
    help = "OSV vulnerability data: import OSV files offline and list the imported sources."

    ACTIONS: tuple[tuple[str, str], ...] = (
        ("import", "Import OSV records from a directory, a zip (all.zip) or a file, as a full snapshot."),
        ("list", "List the imported sources with their advisory counts and last import."),
    )

    # -- import -----------------------------------------------------------------------------------

    def add_import(self, parser: Any) -> None:
        parser.add_argument("path", metavar="PATH", help="A directory, a .zip file or a .json/.yaml file.")
        parser.add_argument(
            "--source",
            metavar="NAME",
            help="The source this snapshot replaces (default: the zip's or directory's name).",
        )

    def do_import(self, **options: Any) -> dict[str, Any]:
        try:
            result: ImportResult = import_osv(options["path"], options.get("source"), on_done=_recheck())
        except OsvImportError as exc:
            raise fail(str(exc)) from None
        return {
            "source": result.source,
            **result.counts,
            "rejected_records": result.rejected_records[:REJECTED_SHOWN],
            "new_findings": result.new_findings,
        }

    @staticmethod
    def text_import(data: dict[str, Any]) -> str:
        lines = [
            _(
                "Source %(source)s: %(added)d added, %(changed)d changed, %(unchanged)d unchanged, "
                "%(withdrawn)d withdrawn, %(rejected)d rejected."
            )
            % data,
            _("New findings in stored deliveries: %(n)d") % {"n": data["new_findings"]},
        ]
        for row in data["rejected_records"]:
            where = f"{row['file']} {row['path']}".strip()
            lines.append(_("Rejected: %(where)s: %(message)s") % {"where": where, "message": row["message"]})
        if data["rejected"] > len(data["rejected_records"]):
            lines.append(
                _("(%(n)d more rejected records not shown)")
                % {"n": data["rejected"] - len(data["rejected_records"])}
            )
        return "\n".join(lines)

    # -- list -------------------------------------------------------------------------------------

    def add_list(self, parser: Any) -> None:
        pass

    def do_list(self, **options: Any) -> dict[str, Any]:
        active = Q(withdrawn__isnull=True, gone=False)
        counts = (
            Advisory.objects.values("source")
            .annotate(total=Count("pk"), active=Count("pk", filter=active))
            .order_by("source")
        )
        last: dict[str, OsvImport] = {}
        for row in OsvImport.objects.order_by("-started_at", "-pk").only(
            "source", "finished_at", "counts", "started_at"
        ):
            last.setdefault(row.source, row)
        sources = []
        for row in counts:
            imported = last.get(row["source"])
            sources.append(
                {
                    "source": row["source"],
                    "advisories": row["active"],
                    "withdrawn": row["total"] - row["active"],
                    "last_import": timezone.localtime(imported.finished_at or imported.started_at).isoformat()
                    if imported
                    else None,
                    "last_counts": imported.counts if imported else None,
                }
            )
        return {"sources": sources}

    @staticmethod
    def text_list(data: dict[str, Any]) -> str:
        if not data["sources"]:
            return _("No OSV data imported yet (renkei osv import PATH).")
        return "\n".join(
            _("%(source)s: %(advisories)d advisories (%(withdrawn)d withdrawn or gone), last import %(last)s")
            % {**row, "last": row["last_import"] or "—"}
            for row in data["sources"]
        )
