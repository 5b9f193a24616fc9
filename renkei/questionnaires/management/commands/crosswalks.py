"""`renkei crosswalks load FILE` and `renkei crosswalks list` (docs/crosswalks.md).

    renkei crosswalks load FILE [--organization SLUG] [--json]   an organization's crosswalk
    renkei crosswalks load FILE --builtin [--json]               a built-in (shared) crosswalk
    renkei crosswalks list [--organization SLUG] [--json]        [{"key", "name", "from", "to",
                                                                   "entries"}]

Messages are Japanese unless --lang en is given. Every problem of a refused file is printed on
its own line on stderr and the exit status is 1; nothing is stored then.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.management.base import RenkeiCommand, fail
from renkei.questionnaires.crosswalks import CrosswalkError, load_crosswalk_file
from renkei.questionnaires.management.commands.templates import resolve_organization
from renkei.questionnaires.models import Crosswalk


class Command(RenkeiCommand):
    help = "Load crosswalks between questionnaire templates from YAML files and list them."

    def add_actions(self, subparsers: Any) -> None:
        load = subparsers.add_parser("load", help="Load a YAML crosswalk (replaces it if changed).")
        load.add_argument("file", help="The .yaml file (docs/crosswalks.md).")
        load.add_argument("--organization", metavar="SLUG",
                          help="The owning organization; optional when there is only one.")
        load.add_argument("--builtin", action="store_true",
                          help="Load as a built-in crosswalk shared by all organizations (between "
                               "built-in templates only).")
        listing = subparsers.add_parser("list", help="List crosswalks.")
        listing.add_argument("--organization", metavar="SLUG",
                             help="Include this organization's crosswalks (besides the built-in).")


    def run(self, action: str, **options: Any) -> Any:
        if action == "load":
            return self.load(**options)
        return self.list(**options)

    def load(self, **options: Any) -> dict[str, Any]:
        builtin, slug = options.get("builtin"), options.get("organization")
        if builtin and slug:
            raise fail(_("--builtin and --organization exclude each other."))
        organization = None if builtin else resolve_organization(slug, required=True)
        try:
            result = load_crosswalk_file(options["file"], organization=organization,
                                         actor=Actor.cli())
        except CrosswalkError as exc:
            if self.json_output:
                self.write_json({"errors": [p.as_dict() for p in exc.problems]})
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise fail(_("%(count)d problem(s) found; nothing was stored.")
                       % {"count": len(exc.problems)}) from exc
        return result.as_dict()

    def list(self, **options: Any) -> list[dict[str, Any]]:
        slug = options.get("organization")
        organization = resolve_organization(slug, required=False)
        if organization is None and slug is None and Organization.objects.exists():
            self.stderr.write(_("Several organizations: listing the built-in crosswalks only; give "
                                "--organization SLUG to include an organization's crosswalks."))
        owners = Q(organization__isnull=True)
        if organization is not None:
            owners |= Q(organization=organization)
        crosswalks = (Crosswalk.objects.filter(owners).annotate(entry_count=Count("entries"))
                      .order_by(F("organization").asc(nulls_first=True), "key"))
        return [{"key": c.key, "name": c.name, "from": c.source_key, "to": c.target_key,
                 "entries": c.entry_count} for c in crosswalks]

    def render_text(self, action: str, data: Any) -> str:
        if action == "list":
            if not data:
                return _("No crosswalks.")
            return "\n".join(_("%(key)s  %(name)s  (%(from)s → %(to)s, %(entries)d entries)") % row
                             for row in data)
        if data["unchanged"]:
            return _("%(key)s: unchanged.") % data
        if data["created"]:
            return _("%(key)s: created (%(entries)d entries).") % data
        return _("%(key)s: replaced (%(entries)d entries).") % data
