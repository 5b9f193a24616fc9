"""`renkei sheets export|import`: the Excel round trip of an assessment (docs/questionnaires.md).

    renkei sheets export --assessment ID --out FILE.xlsx [--lang ja|en]
    renkei sheets import FILE [--as USERNAME] [--json]
        prints {"assessment": id, "changed": n, "unchanged": n,
                "errors": [{"cell": "回答!E12", "reason": "..."}]}; exit status 1 on errors

Without --as the import is trusted (like the other commands); with it the user's access applies
and the user is recorded in the audit trail. Messages are Japanese unless --lang en is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from renkei.accounts.models import User
from renkei.audit.services import Actor
from renkei.core.management.base import RenkeiCommand, fail
from renkei.questionnaires.assessment_data import load_assessment
from renkei.questionnaires.sheets import export_assessment, import_assessment_sheet
from renkei.suppliers.io.readers import FileRefused


class Command(RenkeiCommand):
    help = "Export an assessment as an Excel answer sheet, and import a filled one."

    def add_actions(self, subparsers: Any) -> None:
        export = subparsers.add_parser("export", help="Write an assessment as an .xlsx answer sheet.")
        export.add_argument("--assessment", type=int, required=True, metavar="ID")
        export.add_argument("--out", required=True, metavar="FILE.xlsx")
        importing = subparsers.add_parser("import", help="Import a filled answer sheet.")
        importing.add_argument("file", help="The .xlsx file.")
        importing.add_argument("--as", dest="as_user", metavar="USERNAME",
                               help="Act as this user: their access applies and the audit trail "
                                    "names them.")


    def run(self, action: str, **options: Any) -> Any:
        if action == "export":
            return self.export(**options)
        return self.import_(**options)

    def export(self, **options: Any) -> dict[str, Any]:
        assessment = load_assessment(options["assessment"])
        if assessment is None:
            raise fail(_("No assessment #%(id)d.") % {"id": options["assessment"]})
        path = Path(options["out"])
        if path.suffix.lower() != ".xlsx":
            raise fail(_("--out must name an .xlsx file."))
        with path.open("wb") as out:
            export_assessment(assessment, out, lang=options.get("lang") or "ja")
        return {"assessment": assessment.pk, "file": str(path)}

    def import_(self, **options: Any) -> dict[str, Any]:
        path = Path(options["file"])
        if not path.is_file():
            raise fail(_("File not found: %(path)s") % {"path": path})
        actor = Actor.cli()
        if options.get("as_user"):
            user = User.objects.filter(username=options["as_user"], is_active=True).first()
            if user is None:
                raise fail(_("No active user “%(name)s”.") % {"name": options["as_user"]})
            actor = Actor.cli(user)
        try:
            with path.open("rb") as source:
                result = import_assessment_sheet(source, path.name, actor)
        except FileRefused as exc:
            self.refuse({"assessment": None, "changed": 0, "unchanged": 0,
                         "errors": [{"cell": "", "reason": exc.reason}]})
        data = result.as_dict()
        if result.errors:
            self.refuse(data)
        return data

    def refuse(self, data: dict[str, Any]) -> None:
        """Print the report (JSON on stdout with --json) and exit with status 1."""
        if self.json_output:
            self.write_json(data)
        lines = [f"{e['cell']}: {e['reason']}" if e["cell"] else e["reason"] for e in data["errors"]]
        raise CommandError("\n".join([_("Nothing was imported."), *lines]))

    def render_text(self, action: str, data: Any) -> str:
        if action == "export":
            return _("Assessment #%(assessment)d written to %(file)s.") % data
        return (_("Assessment #%(assessment)d: %(changed)d answers changed, %(unchanged)d unchanged.")
                % data)
