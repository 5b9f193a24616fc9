"""`renkei graph <action>`: the supply-chain map from the command line (docs/graph-format.md).

    renkei graph import NODES.csv EDGES.csv [--organization SLUG] [--replace] [--dry-run] [--json]
    renkei graph import MAP.json [...]
    renkei graph export DIR [--organization SLUG] [--format csv|json] [--json]
    renkei graph impact NODE_ID [--mode compromise|outage] [--organization SLUG] [--json]
    renkei graph spof [--organization SLUG] [--json]

Each action is one `add_<action>` (its arguments) and one `do_<action>` (returns the data printed
as JSON with --json, or as text by `text_<action>`), found by name: adding an action is adding
those methods and naming it in ACTIONS. Errors go to stderr with exit status 1; with --json an
import that finds errors still writes one JSON document ({"errors": [...], "error_count"}).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization, User
from renkei.audit.services import Actor
from renkei.core.management.base import ActionsCommand, fail
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW
from renkei.graph.io.exporter import export_map
from renkei.graph.io.importer import ImportResult, import_files


class Command(ActionsCommand):
    help = "The supply-chain map: import and export nodes and edges."

    ACTIONS: tuple[tuple[str, str], ...] = (
        ("import", "Import nodes and edges (NODES.csv EDGES.csv, or MAP.json)."),
        ("export", "Export the map to nodes.csv and edges.csv (or map.json) in a directory."),
        ("impact", "What a compromise (or a stop) of one node reaches, most severe first."),
        ("spof", "Single points of failure, shared fourth parties and suppliers with broad access."),
    )

    # -- shared ------------------------------------------------------------------------------------

    @staticmethod
    def add_common(parser: Any) -> None:
        parser.add_argument(
            "--organization",
            metavar="SLUG",
            help="The buyer organization; optional when the installation has only one.",
        )
        parser.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            help="Act as this user: recorded in the audit trail and their role applies.",
        )

    def organization(
        self, slug: str | None, username: str | None, *actions: str
    ) -> tuple[Organization, Actor]:
        """The organization to act on and the actor, checking the user's role for every ACTION."""
        user = None
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise fail(_("No active user “%(name)s”.") % {"name": username})
        organizations = Organization.objects.order_by("slug")
        known = ", ".join(organizations.values_list("slug", flat=True))
        if slug:
            organization = organizations.filter(slug=slug).first()
            if organization is None:
                raise fail(
                    _("No organization “%(slug)s”. Organizations: %(known)s.")
                    % {"slug": slug, "known": known}
                )
        else:
            found = list(organizations[:2])
            if not found:
                raise fail(_("There is no organization yet. Create one first."))
            if len(found) > 1:
                raise fail(
                    _(
                        "This installation has several organizations: give --organization SLUG (one of: "
                        "%(known)s)."
                    )
                    % {"known": known}
                )
            organization = found[0]
        if user is not None and not all(staff_may(user, organization.pk, action) for action in actions):
            raise fail(
                _("%(user)s may not do this in organization %(slug)s.")
                % {"user": username, "slug": organization.slug}
            )
        return organization, Actor.cli(user)

    # -- import ------------------------------------------------------------------------------------

    def add_import(self, parser: Any) -> None:
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="NODES.csv EDGES.csv (in that order), or one MAP.json."
        )
        self.add_common(parser)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="The files are the whole imported map: imported nodes and edges absent from "
            "them are deleted (hand-entered and portal-declared ones are kept).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the files and count; write nothing."
        )

    def do_import(self, **options: Any) -> dict[str, Any]:
        paths = [Path(p) for p in options["files"]]
        if len(paths) > 2:  # noqa: PLR2004 - the nodes file and the edges file
            raise fail(_("Give two CSV files (NODES.csv EDGES.csv) or one .json file."))
        for path in paths:
            if not path.is_file():
                raise fail(_("File not found: %(path)s") % {"path": path})
        replace = bool(options.get("replace"))
        actions = (ADD, CHANGE, DELETE) if replace else (ADD, CHANGE)
        organization, actor = self.organization(options.get("organization"), options.get("as_user"), *actions)
        result = import_files(
            organization, *paths, actor=actor, replace=replace, dry_run=bool(options.get("dry_run"))
        )
        if result.ok:
            return result.as_dict()
        self.report_errors(result)
        raise AssertionError  # pragma: no cover - report_errors always raises

    def report_errors(self, result: ImportResult) -> None:
        if self.json_output:
            self.write_json(result.errors_dict())
        for error in result.errors:
            self.stderr.write(str(error))
        more = result.error_count - len(result.errors)
        if more > 0:
            self.stderr.write(_("… and %(count)s more.") % {"count": f"{more:,}"})
        raise CommandError(
            _("%(count)s problem(s) found; nothing was imported.") % {"count": f"{result.error_count:,}"}
        )

    @staticmethod
    def text_import(data: dict[str, Any]) -> str:
        values = {f"{part}_{count}": data[part][count] for part in ("nodes", "edges") for count in data[part]}
        text = (
            _(
                "Nodes: %(nodes_created)d created, %(nodes_updated)d updated, %(nodes_unchanged)d unchanged, "
                "%(nodes_deleted)d deleted. Edges: %(edges_created)d created, %(edges_updated)d updated, "
                "%(edges_unchanged)d unchanged, %(edges_deleted)d deleted."
            )
            % values
        )
        if data.get("dry_run"):
            return text + " " + _("Dry run: nothing was written.")
        return text + " " + _("Map version %(version)s.") % {"version": data["version"]}

    # -- export ------------------------------------------------------------------------------------

    def add_export(self, parser: Any) -> None:
        parser.add_argument("directory", metavar="DIR", help="Where to write the files (made if missing).")
        self.add_common(parser)
        parser.add_argument(
            "--format",
            choices=("csv", "json"),
            default="csv",
            help="csv: nodes.csv and edges.csv (UTF-8 with BOM, for Excel); json: map.json.",
        )

    def do_export(self, **options: Any) -> dict[str, Any]:
        directory = Path(options["directory"])
        if directory.exists() and not directory.is_dir():
            raise fail(_("%(path)s is not a directory.") % {"path": directory})
        organization, _actor = self.organization(options.get("organization"), options.get("as_user"), VIEW)
        directory.mkdir(parents=True, exist_ok=True)
        return export_map(organization.pk, directory, options.get("format") or "csv")

    @staticmethod
    def text_export(data: dict[str, Any]) -> str:
        return _("Wrote %(nodes)d nodes and %(edges)d edges to %(files)s.") % {
            "nodes": data["nodes"],
            "edges": data["edges"],
            "files": ", ".join(data["files"]),
        }

    # -- impact and concentration (docs/graph.md) -------------------------------------------------

    def add_impact(self, parser: Any) -> None:
        parser.add_argument("node", metavar="NODE_ID",
                            help="The node's id (a supplier's code for a supplier).")
        parser.add_argument("--mode", choices=("compromise", "outage"), default="compromise",
                            help="compromise (default): spread by access and networks, then outages; "
                                 "outage: supplies and dependencies only.")
        self.add_common(parser)

    def do_impact(self, **options: Any) -> dict[str, Any]:
        from renkei.graph.engine import UnknownNode, impact, load_graph

        organization, _actor = self.organization(options.get("organization"), options.get("as_user"), VIEW)
        try:
            result = impact(load_graph(organization.pk), options["node"], options.get("mode") or "compromise")
        except UnknownNode:
            raise fail(_("No node has the id “%(key)s” on the map of %(slug)s.")
                       % {"key": options["node"], "slug": organization.slug}) from None
        return result.to_json()

    @staticmethod
    def text_impact(data: dict[str, Any]) -> str:
        lines = [_("Impact of %(node)s: %(count)d nodes reached.") % {"node": data["node"],
                                                                      "count": len(data["reached"])}]
        for entry in data["reached"]:
            lines.append(f"  {entry['hops']:>2}  {entry['via']:<10} {entry['kind']:<12} {entry['id']}  "
                         f"{entry['name']}  ({' → '.join(entry['path'])})")
        return "\n".join(lines)

    def add_spof(self, parser: Any) -> None:
        self.add_common(parser)

    def do_spof(self, **options: Any) -> dict[str, Any]:
        from renkei.graph.concentration import concentration
        from renkei.graph.engine import load_graph

        organization, _actor = self.organization(options.get("organization"), options.get("as_user"), VIEW)
        return concentration(load_graph(organization.pk)).to_json()

    @staticmethod
    def text_spof(data: dict[str, Any]) -> str:
        lines = []
        for section, related, title in (
            ("single_points", "halts", _("Single points of failure")),
            ("shared_parties", "behind", _("Shared fourth parties")),
            ("broad_access", "systems", _("Suppliers with access to many systems")),
        ):
            lines.append(f"{title}: {len(data[section])}")
            for entry in data[section]:
                members = ", ".join(entry[related])
                lines.append(f"  {entry['id']}  {entry['name']}  ({entry['count']}: {members})")
        return "\n".join(lines)
