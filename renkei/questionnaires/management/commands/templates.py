"""`renkei templates load FILE` and `renkei templates list` (docs/questionnaires.md).

    renkei templates load FILE [--organization SLUG] [--json]   an organization's template
    renkei templates load --builtin [FILE] [--json]             the shipped (or FILE as a) built-in
    renkei templates list [--organization SLUG] [--all-versions] --json

Messages are Japanese unless --lang en is given. Every problem of a refused file is printed on
its own line on stderr and the exit status is 1; nothing is stored then.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.management.base import RenkeiCommand, fail
from renkei.questionnaires.loader import TemplateError
from renkei.questionnaires.models import Template
from renkei.questionnaires.services import (
    LoadResult,
    load_builtin_templates,
    load_template_file,
)


def resolve_organization(slug: str | None, *, required: bool) -> Organization | None:
    """The organization named SLUG; without SLUG the only one (several: an error if REQUIRED,
    otherwise None)."""
    organizations = Organization.objects.order_by("slug")
    known = ", ".join(organizations.values_list("slug", flat=True))
    if slug:
        organization = organizations.filter(slug=slug).first()
        if organization is None:
            raise fail(_("No organization “%(slug)s”. Organizations: %(known)s.")
                       % {"slug": slug, "known": known})
        return organization
    found = list(organizations[:2])
    if len(found) == 1:
        return found[0]
    if not required:
        return None
    if not found:
        raise fail(_("There is no organization yet. Create one first, or load a built-in "
                     "template with --builtin."))
    raise fail(_("This installation has several organizations: give --organization SLUG "
                 "(one of: %(known)s).") % {"known": known})


class Command(RenkeiCommand):
    help = "Load questionnaire templates from YAML files and list them."

    def add_actions(self, subparsers: Any) -> None:
        load = subparsers.add_parser("load", help="Load a YAML template (a new version if changed).")
        load.add_argument("file", nargs="?", help="The .yaml file (docs/questionnaire-format.md).")
        load.add_argument("--organization", metavar="SLUG",
                          help="The owning organization; optional when there is only one.")
        load.add_argument("--builtin", action="store_true",
                          help="Load as a built-in template shared by all organizations; "
                               "without FILE, (re)load the templates shipped with Renkei.")
        listing = subparsers.add_parser("list", help="List templates (latest version of each).")
        listing.add_argument("--organization", metavar="SLUG",
                             help="Include this organization's templates (besides the built-in).")
        listing.add_argument("--all-versions", action="store_true", help="Every version.")


    def run(self, action: str, **options: Any) -> Any:
        if action == "load":
            return self.load(**options)
        return self.list(**options)

    # -- load ------------------------------------------------------------------------------------

    def load(self, **options: Any) -> Any:
        path, builtin, slug = options.get("file"), options.get("builtin"), options.get("organization")
        actor = Actor.cli()
        if builtin and slug:
            raise fail(_("--builtin and --organization exclude each other."))
        try:
            if builtin and not path:
                return [self.result(r) for r in load_builtin_templates(actor)]
            if not path:
                raise fail(_("Give the FILE to load (or --builtin for the shipped templates)."))
            organization = None if builtin else resolve_organization(slug, required=True)
            return self.result(load_template_file(path, organization=organization, actor=actor))
        except TemplateError as exc:
            if self.json_output:
                self.write_json({"errors": [p.as_dict() for p in exc.problems]})
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise fail(_("%(count)d problem(s) found; nothing was stored.")
                       % {"count": len(exc.problems)}) from exc

    @staticmethod
    def result(result: LoadResult) -> dict[str, Any]:
        return result.as_dict()

    # -- list ------------------------------------------------------------------------------------

    def list(self, **options: Any) -> list[dict[str, Any]]:
        slug = options.get("organization")
        organization = resolve_organization(slug, required=False)
        if organization is None and slug is None and Organization.objects.exists():
            self.stderr.write(_("Several organizations: listing the built-in templates only; give "
                                "--organization SLUG to include an organization's templates."))
        owners = Q(organization__isnull=True)
        if organization is not None:
            owners |= Q(organization=organization)
        templates = Template.objects.filter(owners).with_counts()
        if not options.get("all_versions"):
            templates = templates.latest_versions()
        templates = templates.order_by(F("organization").asc(nulls_first=True), "key", "version")
        return [
            {"key": t.key, "name": t.name, "version": t.version, "items": t.item_count}
            for t in templates
        ]

    def render_text(self, action: str, data: Any) -> str:
        if action == "list":
            if not data:
                return _("No templates.")
            return "\n".join(
                _("%(key)s v%(version)d  %(name)s  (%(items)d items)") % row for row in data
            )
        rows = data if isinstance(data, list) else [data]
        lines = []
        for row in rows:
            if row["unchanged"]:
                lines.append(_("%(key)s v%(version)d: unchanged.") % row)
            else:
                lines.append(_("%(key)s v%(version)d: stored (%(items)d items).") % row)
        return "\n".join(lines)
