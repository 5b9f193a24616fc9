"""Importing a map: nodes and edges from CSV or JSON (docs/graph-format.md).

The services the command, a page and the benchmark call::

    nodes, edges = read_files(["nodes.csv", "edges.csv"])     # or read_json / read_csv
    import_map(organization, nodes, edges, actor=None, replace=False,
               *, dry_run=False, lang=None) -> ImportResult
    import_files(organization, paths, actor=None, replace=False, *, dry_run=False, lang=None)

Rules:
- All or nothing. Every row is checked first (kinds, ids, references, self-loops, duplicates,
  attributes, which node kinds each edge kind joins); with any error nothing is written and the
  errors are listed with file, line (or JSON item) and column, the first ERROR_CAP of them.
- Edge ends are nodes of the file, nodes already on the map, or registry supplier codes (a
  registry supplier is implicitly a node; its Node row is made when an edge names it).
- Merge by default: nodes are upserted by id, edges by (source, target, kind); nothing is deleted.
  An attribute column absent from a file leaves that attribute of existing rows alone; an
  empty cell clears it. `replace=True`: the files are the whole imported map, so imported nodes
  and edges absent from them are deleted; hand-entered and portal-declared ones are kept, and
  so is an imported node that a kept edge still uses.
- Cycles are fine (subcontracting loops happen); nothing here walks the graph.

Cost: a few queries whatever the size (existing nodes, registry, existing edges, then COPY or
batched inserts); edges are checked column by column (renkei.graph.io.edges), and Python's cycle
collector is paused meanwhile (gc_paused).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from renkei.audit.services import Actor
from renkei.graph.choices import NodeKind
from renkei.graph.io import validation as rules
from renkei.graph.io.edges import EdgeChecker, Report
from renkei.graph.io.planner import Planner
from renkei.graph.io.readers import Refused, Table, read_files
from renkei.graph.io.writer import write_plan
from renkei.graph.models import Node
from renkei.suppliers.io.columns import strip_neutralising_prefix

ERROR_CAP = 100
SUPPLIER = NodeKind.SUPPLIER.value


@dataclass(frozen=True)
class RowError:
    file: str
    line: int | None  # CSV line (the header is line 1); None for a JSON item or the whole file
    item: str | None  # JSON path of the item, e.g. edges[3]
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "item": self.item,
            "column": self.column,
            "message": self.reason,
        }

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = _("%(file)s line %(line)d") % {"file": self.file, "line": self.line}
        elif self.item:
            where = f"{self.file} {self.item}"
        if self.column:
            where = _("%(where)s, column %(column)s") % {"where": where, "column": self.column}
        return f"{where}: {self.reason}" if where else self.reason


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


@dataclass
class ImportResult:
    nodes: Counts = field(default_factory=Counts)
    edges: Counts = field(default_factory=Counts)
    version: int | None = None
    errors: list[RowError] = field(default_factory=list)  # the first ERROR_CAP
    error_count: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict[str, Any]:
        """The contract of `renkei graph import --json` (errors: see errors_dict)."""
        data: dict[str, Any] = {
            "nodes": self.nodes.as_dict(),
            "edges": self.edges.as_dict(),
            "version": self.version,
        }
        if self.dry_run:
            data["dry_run"] = True
        return data

    def errors_dict(self) -> dict[str, Any]:
        return {"errors": [e.as_dict() for e in self.errors], "error_count": self.error_count}

    def as_json(self) -> dict[str, Any]:
        """What `renkei graph import --json` prints: the counts, or the errors."""
        return self.as_dict() if self.ok else self.errors_dict()


class _Refused(Exception):
    """Raised inside the transaction to roll it back (errors found, or a dry run)."""


def import_files(
    organization: Any,
    nodes_path: str | Path,
    edges_path: str | Path | None = None,
    actor: Actor | None = None,
    replace: bool = False,
    *,
    dry_run: bool = False,
    lang: str | None = None,
) -> ImportResult:
    """Read NODES.csv and EDGES.csv (or one MAP.json as NODES_PATH, EDGES_PATH None) and import them."""
    lang = lang or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(lang), gc_paused():
        try:
            nodes, edges = read_files([nodes_path] if edges_path is None else [nodes_path, edges_path])
        except Refused as refused:
            result = ImportResult(dry_run=dry_run, error_count=1)
            result.errors.append(RowError(refused.file, refused.line, None, "", refused.reason))
            return result
        return import_map(organization, nodes, edges, actor, replace, dry_run=dry_run, lang=lang)


def import_map(
    organization: Any,
    nodes: Table,
    edges: Table,
    actor: Actor | None = None,
    replace: bool = False,
    *,
    dry_run: bool = False,
    lang: str | None = None,
) -> ImportResult:
    """Import the tables NODES and EDGES into ORGANIZATION's map; see the module docstring."""
    lang = lang or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(lang), gc_paused():
        return _Import(organization, actor or Actor.cli(), replace, dry_run).run(nodes, edges)


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off for the block (on again after the last of nested or
    concurrent blocks). Reading and checking a million rows makes millions of lists and tuples;
    the collector walks all of them again and again as they pile up (~3 s of a million-edge
    import) though they hold no cycles and are freed by reference counting. Process-wide: other
    threads' cycles wait for the end of the import to be collected."""
    global _gc_pauses, _gc_was_enabled  # noqa: PLW0603 - one collector per process
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


@dataclass
class _Columns:
    required: list[int | str]  # CSV positions, or JSON field names, of the required columns
    attributes: list[tuple[int | str, str]]  # (position or field, attribute name)
    width: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for _pos, name in self.attributes)


class _Import(EdgeChecker, Planner):
    def __init__(self, organization: Any, actor: Actor, replace: bool, dry_run: bool) -> None:
        self.organization_id = organization.pk
        self.actor = actor
        self.replace = replace
        self.result = ImportResult(dry_run=dry_run)

    # -- reporting --------------------------------------------------------------------------------

    def error(self, table: Table, index: int | None, column: str, reason: str) -> None:
        self.result.error_count += 1
        if len(self.result.errors) < ERROR_CAP:
            line, item = table.where(index) if index is not None else (None, None)
            self.result.errors.append(RowError(table.file, line, item, column, reason))

    def header_error(self, table: Table, column: str, reason: str) -> None:
        self.result.error_count += 1
        if len(self.result.errors) < ERROR_CAP:
            self.result.errors.append(
                RowError(
                    table.file,
                    1 if table.fmt == "csv" else None,
                    table.section if table.fmt == "json" else None,
                    column,
                    reason,
                )
            )

    @staticmethod
    def where(table: Table, index: int) -> str:
        line, item = table.where(index)
        return _("line %(line)d") % {"line": line} if line is not None else str(item)

    # -- the steps ----------------------------------------------------------------------------------

    def run(self, nodes: Table, edges: Table) -> ImportResult:
        node_columns = self.columns(nodes, rules.NODE_COLUMNS, "node")
        edge_columns = self.columns(edges, rules.EDGE_COLUMNS, "edge")
        if self.result.error_count:
            return self.finish()
        self.parse_nodes(nodes, node_columns)
        try:
            with transaction.atomic():
                from renkei.graph.services import lock_version

                self.version_before = lock_version(self.organization_id)
                self.load()
                self.place_nodes(nodes)
                self.parse_edges(edges, edge_columns)
                if self.result.error_count:
                    raise _Refused
                plan = self.plan(nodes, frozenset(edge_columns.names), frozenset(node_columns.names))
                if self.result.error_count or self.result.dry_run:
                    raise _Refused
                self.result.version = write_plan(plan, self.actor, self.result, self.version_before)
        except _Refused:
            pass
        except IntegrityError:
            self.result.error_count += 1
            self.result.errors.append(
                RowError(
                    "",
                    None,
                    None,
                    "",
                    _(
                        "The map was changed by someone else during the import. Nothing was imported; "
                        "try again."
                    ),
                )
            )
        return self.finish()

    def finish(self) -> ImportResult:
        if self.result.error_count:
            self.result.nodes, self.result.edges, self.result.version = Counts(), Counts(), None
        elif self.result.version is None:
            self.result.version = getattr(self, "version_before", None)
        return self.result

    def columns(self, table: Table, required: tuple[str, ...], owner: str) -> _Columns:
        """Where the required columns and the attribute columns are; header problems reported."""
        other = rules.EDGE_ATTRIBUTES if owner == "node" else rules.NODE_ATTRIBUTES
        own = rules.NODE_ATTRIBUTES if owner == "node" else rules.EDGE_ATTRIBUTES
        found: dict[str, int | str] = {}
        attributes: list[tuple[int | str, str]] = []
        seen: dict[str, str] = {}
        for position, header in enumerate(table.headers):
            where: int | str = position if table.fmt == "csv" else header
            folded = header.casefold() if table.fmt == "csv" else header
            if folded in required:
                if folded in found:
                    self.header_error(table, header, _("The column appears twice."))
                found[folded] = where
                continue
            if not header and table.fmt == "csv":
                if any(position < len(cells) and cells[position].strip() for cells in table.rows):
                    self.header_error(
                        table,
                        _("column %(number)d") % {"number": position + 1},
                        _("This column has values but no header."),
                    )
                continue
            try:
                name = rules.clean_attribute_name(header)
            except rules.Invalid as exc:
                self.header_error(table, header, str(exc))
                continue
            if name in other and name not in own:
                self.header_error(
                    table,
                    header,
                    (
                        _("%(name)s is an attribute of nodes, not of edges.")
                        if owner == "edge"
                        else _("%(name)s is an attribute of edges, not of nodes.")
                    )
                    % {"name": name},
                )
                continue
            if name in seen:
                self.header_error(
                    table,
                    header,
                    _("The column appears twice (also as “%(other)s”).") % {"other": seen[name]},
                )
                continue
            seen[name] = header
            attributes.append((where, name))
        if table.fmt == "csv":  # a JSON item without a required field is reported at the item
            missing = [column for column in required if column not in found]
            for column in missing:
                self.header_error(table, column, _("This required column is missing."))
            if missing and owner == "node" and {"source", "target"} <= {h.casefold() for h in table.headers}:
                self.header_error(
                    table,
                    "",
                    _("This looks like an edges file: give the nodes file first, then the edges file."),
                )
        return _Columns(
            required=[found.get(c, c) for c in required], attributes=attributes, width=len(table.headers)
        )

    def rows(self, table: Table, columns: _Columns, report: Report) -> Iterator[tuple[int, tuple]]:
        """(row index, (the three required values, *the attribute values as read)) per row;
        a row refused as a whole (not a JSON object, too many cells) goes to REPORT instead.

        CSV cells are passed on unstripped: lookups try them as they are first, and whatever
        misses is cleaned (stripped, the export's quote removed) on the slow path.
        """
        fields = [*columns.required, *(where for where, _name in columns.attributes)]
        if table.fmt == "json":
            first = len(rules.NODE_COLUMNS)
            for index, item in enumerate(table.rows):
                if not isinstance(item, dict):
                    report(table, index, "", _("Each item must be a JSON object."))
                    continue
                values = [item.get(f) for f in fields]
                yield index, (*(_hashable(v) for v in values[:first]), *values[first:])
            return
        width = columns.width
        pick = itemgetter(*fields)
        for index, cells in enumerate(table.rows):
            if len(cells) != width:
                if not any(cell.strip() for cell in cells):
                    continue  # a blank line
                if any(cell.strip() for cell in cells[width:]):
                    report(
                        table,
                        index,
                        _("column %(number)d") % {"number": width + 1},
                        _("This line has more cells than there are column headers."),
                    )
                    continue
                yield index, pick(cells[:width] + [""] * (width - len(cells)))
                continue
            yield index, pick(cells)

    @staticmethod
    def text(table: Table, value: Any) -> Any:
        """A CSV cell without the export's neutralising quote (JSON values as they are)."""
        if table.fmt == "csv" and isinstance(value, str):
            return strip_neutralising_prefix(value.strip())
        return value

    def parse_nodes(self, table: Table, columns: _Columns) -> None:
        self.f_key: list[str] = []
        self.f_kind: list[str] = []
        self.f_name: list[str] = []
        self.f_attrs: list[dict[str, Any]] = []
        self.f_row: list[int] = []
        self.file_index: dict[str, int] = {}
        clean_attributes = rules.AttributeCleaner("node", columns.names, table.fmt == "csv")
        for index, row in self.rows(table, columns, self.error):
            cleaned = []
            for column, clean, raw in (
                ("id", rules.clean_key, row[0]),
                ("kind", rules.clean_node_kind, row[1]),
                ("name", rules.clean_name, row[2]),
            ):
                try:
                    cleaned.append(clean(self.text(table, raw)))
                except rules.Invalid as exc:
                    self.error(table, index, column, str(exc))
                    cleaned.append(None)
            key, kind, name = cleaned
            attrs: dict[str, Any] = {}
            if kind is not None and columns.names:
                attrs, problems = clean_attributes(kind, row[3:])
                for attribute, message in problems:
                    self.error(table, index, attribute, message)
            if key is not None and key in self.file_index:
                self.error(
                    table,
                    index,
                    "id",
                    _("The id “%(key)s” is also at %(where)s.")
                    % {"key": key, "where": self.where(table, self.f_row[self.file_index[key]])},
                )
                continue
            if key is None or kind is None or name is None:
                continue
            self.file_index[key] = len(self.f_key)
            self.f_key.append(key)
            self.f_kind.append(kind)
            self.f_name.append(name)
            self.f_attrs.append(attrs)
            self.f_row.append(index)

    def load(self) -> None:
        """The map's nodes and the registry: every id an edge may name."""
        from renkei.suppliers.models import Supplier

        # In pk order, so that index order is pk order (new nodes get higher pks, in index order).
        rows = (
            Node.objects.filter(organization_id=self.organization_id)
            .order_by("pk")
            .values_list("pk", "key", "kind", "name", "attributes", "origin", "supplier_id")
        )
        self.keys: list[str] = []
        self.kinds: list[str] = []
        self.existing: list[tuple[int, str, str, dict, str, int | None]] = []
        for pk, key, kind, name, attrs, origin, supplier_id in rows.iterator(chunk_size=10000):
            self.keys.append(key)
            self.kinds.append(kind)
            self.existing.append((pk, kind, name, attrs or {}, origin, supplier_id))
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.registry = {
            code: (pk, name, tier, str(country or ""))
            for pk, code, name, tier, country in Supplier.objects.filter(organization_id=self.organization_id)
            .order_by()
            .values_list("pk", "code", "name", "tier", "country")
        }
        self.implicit: list[int] = []  # indexes of registry suppliers whose node the import makes

    def place_nodes(self, table: Table) -> None:
        """Give each file node its index (an existing node's, or a new one) and its final kind."""
        self.f_idx: list[int] = []
        self.old_kinds = list(self.kinds)
        for j, key in enumerate(self.f_key):
            kind = self.f_kind[j]
            registered = self.registry.get(key)
            if registered is not None and kind != SUPPLIER:
                self.error(table, self.f_row[j], "kind", rules.registry_kind_problem(key, registered[1]))
            i = self.index.get(key)
            if i is None:
                i = len(self.keys)
                self.index[key] = i
                self.keys.append(key)
                self.kinds.append(kind)
            else:
                self.kinds[i] = kind
            self.f_idx.append(i)
        self.node_table = table


class _Unhashable:
    """A JSON list or object where a text value belongs: never an id or a kind, refused when cleaned."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _hashable(value: Any) -> Any:
    return _Unhashable(value) if isinstance(value, list | dict) else value
