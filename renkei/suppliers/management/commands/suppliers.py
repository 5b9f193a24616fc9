"""`renkei suppliers import FILE` and `renkei suppliers export FILE` (docs/import-format.md).

The format follows the file extension (.csv or .xlsx). Messages are in Japanese unless --lang en
is given. With --json, import writes exactly one JSON document on stdout; errors also go to
stderr in human form and the exit status is non-zero when anything is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization, User
from renkei.audit.services import Actor
from renkei.core.permissions import ADD, VIEW
from renkei.suppliers.io.exporter import export_suppliers
from renkei.suppliers.io.importer import ImportResult, import_suppliers
from renkei.suppliers.models import Supplier


class Command(BaseCommand):
    help = "Import or export the supplier registry as CSV or Excel (.xlsx)."

    def add_arguments(self, parser: CommandParser) -> None:
        # CommandParser for the sub-commands too: with call_command it raises CommandError
        # instead of exiting the process.
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="ACTION", parser_class=CommandParser
        )
        importing = actions.add_parser("import", help="Import suppliers from a CSV or XLSX file.")
        exporting = actions.add_parser("export", help="Export suppliers to a CSV or XLSX file.")
        for sub in (importing, exporting):
            sub.add_argument("file", help="The .csv or .xlsx file.")
            sub.add_argument(
                "--organization", metavar="SLUG",
                help="The buyer organization; optional when the installation has only one.",
            )
            sub.add_argument(
                "--as", dest="as_user", metavar="USERNAME",
                help="Act as this user: recorded in the audit trail and their access applies.",
            )
            sub.add_argument(
                "--lang", choices=[code for code, _name in settings.LANGUAGES],
                help="Language of messages and of the exported headers and labels (default ja).",
            )
            sub.add_argument("--json", action="store_true", help="Write one JSON document.")
        importing.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        lang = options.pop("lang", None) or settings.LANGUAGE_CODE
        with translation.override(lang):
            if options["action"] == "import":
                self.do_import(lang, **options)
            else:
                self.do_export(lang, **options)

    # -- helpers -----------------------------------------------------------------------------

    def resolve(
        self, slug: str | None, username: str | None, action: str
    ) -> tuple[Organization, User | None]:
        user = None
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(_("No active user “%(name)s”.") % {"name": username})
        organizations = Organization.objects.order_by("slug")
        if slug:
            organization = organizations.filter(slug=slug).first()
            if organization is None:
                raise CommandError(
                    _("No organization “%(slug)s”. Organizations: %(known)s.")
                    % {"slug": slug,
                       "known": ", ".join(organizations.values_list("slug", flat=True))}
                )
        else:
            found = list(organizations[:2])
            if not found:
                raise CommandError(_("There is no organization yet. Create one first."))
            if len(found) > 1:
                raise CommandError(
                    _("This installation has several organizations: give --organization SLUG "
                      "(one of: %(known)s).")
                    % {"known": ", ".join(organizations.values_list("slug", flat=True))}
                )
            organization = found[0]
        if user is not None and not Organization.for_user(user, action).filter(
            pk=organization.pk
        ).exists():
            raise CommandError(
                _("%(user)s may not do this in organization %(slug)s.")
                % {"user": username, "slug": organization.slug}
            )
        return organization, user

    # -- import ------------------------------------------------------------------------------

    def do_import(self, lang: str, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("File not found: %(path)s") % {"path": path})
        organization, user = self.resolve(options.get("organization"), options.get("as_user"), ADD)
        result = import_suppliers(
            organization, path, path.name, Actor.cli(user),
            dry_run=bool(options.get("dry_run")), lang=lang,
        )
        if options.get("json"):
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            self.stdout.write(self.summary(result))
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("%(count)d problem(s) found; nothing was imported.")
                % {"count": len(result.errors)}
            )

    @staticmethod
    def summary(result: ImportResult) -> str:
        counts = {"created": result.created, "updated": result.updated,
                  "unchanged": result.unchanged}
        if result.errors:
            return _("The file was not imported.")
        if result.dry_run:
            return _("Dry run: %(created)d to create, %(updated)d to update, %(unchanged)d "
                     "unchanged. Nothing was written.") % counts
        return _("Imported: %(created)d created, %(updated)d updated, %(unchanged)d "
                 "unchanged.") % counts

    # -- export ------------------------------------------------------------------------------

    def do_export(self, lang: str, **options: Any) -> None:
        path = Path(options["file"])
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("csv", "xlsx"):
            raise CommandError(_("Name the file .csv or .xlsx; the format follows the extension."))
        organization, user = self.resolve(options.get("organization"), options.get("as_user"), VIEW)
        suppliers = Supplier.objects.filter(organization=organization)
        if user is not None:
            suppliers = suppliers & Supplier.objects.for_user(user, VIEW)
        with path.open("wb") as out:
            count = export_suppliers(suppliers, out, fmt, lang)
        if options.get("json"):
            self.stdout.write(json.dumps({"file": str(path), "suppliers": count}))
        else:
            self.stdout.write(_("Wrote %(count)d suppliers to %(path)s.")
                              % {"count": count, "path": path})
