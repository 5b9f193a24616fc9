"""Importing the supplier registry from CSV or Excel.

The service the page, the CLI and the benchmark call::

    import_suppliers(
        organization: Organization,
        source: IO[bytes] | str | Path,      # a binary file object or a path
        filename: str | None = None,         # decides CSV or XLSX; default: the path's name
        actor: Actor | None = None,          # recorded in the audit trail; default Actor.cli()
        *, dry_run: bool = False, lang: str | None = None,   # messages; default: active language
    ) -> ImportResult

Rules (docs/import-format.md says the same for users):
- All or nothing. Every row is parsed and checked before anything is written; with any error
  nothing is written and every error is listed as (row, column, reason), rows numbered as the
  spreadsheet shows them (the header is row 1).
- Upsert: a row updates the supplier with its code; when the code is empty or unknown and the
  法人番号 matches a supplier of the organization, that supplier (and an unknown code renames
  it). Otherwise a new supplier is created.
- A column missing from the file leaves that attribute of existing suppliers alone; an empty
  cell in a present column clears it (or sets the default).
- 再委託元コード names a supplier in the file or in the registry, in any row order. The tier of
  a subcontractor is its parent's tier + 1; an empty tier cell is computed; loops are refused.

Cost: one query for the organization's suppliers and one for their tags, then bulk inserts and
updates, so the number of queries does not grow with the number of rows (only with batches).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.suppliers.io.columns import (
    BY_FIELD,
    COLUMNS,
    REQUIRED,
    CellError,
    Column,
    column_for_header,
    parse_cell,
)
from renkei.suppliers.io.readers import FileRefused, Table, read_table
from renkei.suppliers.models import MAX_TIER, Supplier, Tag

BATCH_SIZE = 1000
# Plain attributes copied from a row onto the model; code, tier, parent and tags are special.
PLAIN_FIELDS = tuple(
    c.field for c in COLUMNS if c.field not in ("code", "tier", "subcontracted_by", "tags")
)
WRITTEN_FIELDS = (*PLAIN_FIELDS, "code", "tier", "subcontracted_by")

Node = int | tuple[str, int]  # an existing supplier's pk, or ("row", row number) for a new one


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: the file as a whole
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}

    def __str__(self) -> str:
        where = [_("row %(row)d") % {"row": self.row}] if self.row else []
        if self.column:
            where.append(self.column)
        return f"{' '.join(where)}: {self.reason}" if where else self.reason


@dataclass
class ImportResult:
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass
class _Row:
    number: int
    values: dict[str, Any] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)  # fields whose cell could not be read
    target: Supplier | None = None
    code: str = ""
    parent: Node | None = None
    tier: int | None = None
    instance: Supplier | None = None
    before: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    parent_pending: bool = False

    @property
    def node(self) -> Node:
        return self.target.pk if self.target is not None else ("row", self.number)


def update_rows(instances: list[Supplier], names: Iterable[str]) -> None:
    """UPDATE each instance's NAMES columns by primary key, a batch per executemany call.

    QuerySet.bulk_update builds a CASE expression per field and row; for 10,000 rows of 19
    fields that costs ~15 s of Python. One prepared statement run with executemany costs well
    under a second on SQLite and PostgreSQL (psycopg pipelines it).
    """
    meta = Supplier._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    # Only quoted column names from the model are interpolated; every value is a parameter.
    table, key = quote(meta.db_table), quote(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608
    params = [
        [*(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields), obj.pk]
        for obj in instances
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH_SIZE):
            cursor.executemany(sql, params[start:start + BATCH_SIZE])


def import_suppliers(
    organization: Any,
    source: IO[bytes] | str | Path,
    filename: str | None = None,
    actor: Actor | None = None,
    *,
    dry_run: bool = False,
    lang: str | None = None,
) -> ImportResult:
    """Import SOURCE into ORGANIZATION's registry; see the module docstring."""
    lang = lang or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(lang):
        return _Import(organization, actor or Actor.cli(), dry_run).run(source, filename)


class _Import:
    def __init__(self, organization: Any, actor: Actor, dry_run: bool) -> None:
        self.organization = organization
        self.actor = actor
        self.result = ImportResult(dry_run=dry_run)
        self.headers: dict[str, str] = {}  # field -> the header as written in the file

    # -- reporting -------------------------------------------------------------------------

    def error(self, row: int | None, column: Column | str, reason: str) -> None:
        if isinstance(column, Column):
            column = self.headers.get(column.field) or column.header(translation.get_language())
        self.result.errors.append(RowError(row, column, reason))

    def finish(self) -> ImportResult:
        self.result.errors.sort(key=lambda e: e.row or 0)
        if self.result.errors:
            self.result.created = self.result.updated = self.result.unchanged = 0
        return self.result

    # -- the steps -------------------------------------------------------------------------

    def run(self, source: IO[bytes] | str | Path, filename: str | None) -> ImportResult:
        try:
            table = read_table(source, filename)
        except FileRefused as refused:
            self.error(refused.row, "", refused.reason)
            return self.finish()
        positions = self.map_headers(table)
        if self.result.errors:
            return self.finish()
        rows = self.parse_rows(table, positions)
        self.load_registry()
        self.match(rows)
        self.resolve_parents(rows)
        if not self.result.errors:
            self.compute_tiers(rows)
        if self.result.errors:
            return self.finish()
        self.plan(rows)
        if not self.result.dry_run and (self.result.created or self.result.updated):
            try:
                self.write(rows)
            except IntegrityError:
                # Someone changed the registry between our read and our write (a code or
                # 法人番号 taken meanwhile); the transaction rolled back, so nothing is half-done.
                self.error(None, "", _("The registry was changed by someone else during the "
                                       "import. Nothing was imported; try again."))
        return self.finish()

    def map_headers(self, table: Table) -> list[Column | None]:
        positions: list[Column | None] = []
        seen: dict[str, str] = {}
        for index, header in enumerate(table.headers):
            column = column_for_header(header) if header else None
            positions.append(column)
            if column is None:
                if header:
                    lang = translation.get_language()
                    known = ", ".join(c.header(lang) for c in COLUMNS)
                    self.error(1, header, _("Unknown column. The columns are: %(known)s.")
                               % {"known": known})
                elif any(index < len(cells) and cells[index] for _n, cells in table.rows):
                    self.error(1, _("column %(number)d") % {"number": index + 1},
                               _("This column has values but no header."))
                continue
            if column.field in seen:
                self.error(1, header, _("The column appears twice (also as “%(other)s”).")
                           % {"other": seen[column.field]})
                continue
            seen[column.field] = header
        self.headers = seen
        for column in REQUIRED:
            if column.field not in seen:
                self.error(1, column, _("This required column is missing."))
        return positions

    def parse_rows(self, table: Table, positions: list[Column | None]) -> list[_Row]:
        rows = []
        width = len(positions)
        for number, cells in table.rows:
            row = _Row(number)
            if any(cells[width:]):
                self.error(number, _("column %(number)d") % {"number": width + 1},
                           _("This row has more cells than there are column headers."))
            for index, column in enumerate(positions):
                if column is None:
                    continue
                raw = cells[index] if index < len(cells) else ""
                try:
                    row.values[column.field] = parse_cell(column, raw, table.fmt == "csv")
                except CellError as exc:
                    row.bad.add(column.field)
                    self.error(number, column, str(exc))
            if "name" not in row.bad and not row.values.get("name"):
                row.bad.add("name")
                self.error(number, BY_FIELD["name"], _("Enter the supplier's name."))
            rows.append(row)
        return rows

    def load_registry(self) -> None:
        suppliers = list(Supplier.objects.filter(organization=self.organization).order_by())
        self.by_id = {s.pk: s for s in suppliers}
        self.by_code = {s.code: s for s in suppliers}
        self.by_corporate_number = {s.corporate_number: s for s in suppliers if s.corporate_number}
        self.children: dict[int, list[Supplier]] = defaultdict(list)
        for s in suppliers:
            if s.subcontracted_by_id:
                self.children[s.subcontracted_by_id].append(s)
        self.tag_links: dict[int, dict[str, int]] = defaultdict(dict)  # supplier -> name -> link
        links = Supplier.tags.through.objects.filter(
            supplier__organization=self.organization
        ).values_list("id", "supplier_id", "tag__name")
        for link_id, supplier_id, name in links:
            self.tag_links[supplier_id][name] = link_id

    def match(self, rows: list[_Row]) -> None:
        code_rows: dict[str, int] = {}
        number_rows: dict[str, int] = {}
        target_rows: dict[int, int] = {}
        code_column, number_column = BY_FIELD["code"], BY_FIELD["corporate_number"]
        for row in rows:
            if "code" in row.bad:
                continue
            code = row.values.get("code", "")
            number = row.values.get("corporate_number", "")
            duplicate = False
            if code in code_rows:
                duplicate = True
                self.error(row.number, code_column,
                           _("The code “%(code)s” is also on row %(other)d.")
                           % {"code": code, "other": code_rows[code]})
            elif code:
                code_rows[code] = row.number
            if number in number_rows:
                duplicate = True
                self.error(row.number, number_column,
                           _("The corporate number %(number)s is also on row %(other)d.")
                           % {"number": number, "other": number_rows[number]})
            elif number:
                number_rows[number] = row.number
            if duplicate:
                # Already reported; matching it again would only repeat the same problem.
                row.bad.add("code")
                continue
            target = self.by_code.get(code) if code else None
            if target is None and number:
                target = self.by_corporate_number.get(number)
            if target is None and not code:
                row.bad.add("code")
                self.error(row.number, code_column,
                           _("Enter a supplier code. A row without a code must have the corporate "
                             "number of a supplier already in the registry."))
                continue
            if target is not None:
                if target.pk in target_rows:
                    self.error(row.number, code_column,
                               _("This row and row %(other)d are the same supplier (%(code)s).")
                               % {"other": target_rows[target.pk], "code": target.code})
                target_rows[target.pk] = row.number
            row.target = target
            row.code = code or (target.code if target else "")
        self.targeted = {row.target.pk for row in rows if row.target is not None}
        # A 法人番号 may move to a supplier only if the one holding it gives it up in this file.
        for row in rows:
            if "code" in row.bad:
                continue
            number = row.values.get("corporate_number", "")
            owner = self.by_corporate_number.get(number) if number else None
            if owner is not None and owner is not row.target and owner.pk not in self.targeted:
                self.error(row.number, number_column,
                           _("The corporate number %(number)s is already registered to supplier "
                             "%(code)s.") % {"number": number, "code": owner.code})

    def resolve_parents(self, rows: list[_Row]) -> None:
        # Codes as they will be after the import: a renamed supplier answers to its new code.
        codes: dict[str, Node] = {code: s.pk for code, s in self.by_code.items()}
        for row in rows:
            if row.target is not None and row.code != row.target.code:
                codes.pop(row.target.code, None)
        for row in rows:
            if row.code and "code" not in row.bad:
                codes[row.code] = row.node
        self.parent_of: dict[Node, Node | None] = {
            s.pk: s.subcontracted_by_id for s in self.by_id.values()
        }
        column = BY_FIELD["subcontracted_by"]
        has_column = column.field in self.headers
        for row in rows:
            if "code" in row.bad:
                continue
            if not has_column or "subcontracted_by" in row.bad:
                parent: Node | None = row.target.subcontracted_by_id if row.target else None
            else:
                parent_code = row.values.get("subcontracted_by")
                parent = codes.get(parent_code) if parent_code else None
                if parent_code and parent is None:
                    row.bad.add("subcontracted_by")
                    self.error(row.number, column,
                               _("No supplier has the code “%(code)s”, in this file or in the "
                                 "registry.") % {"code": parent_code})
                elif parent is not None and parent == row.node:
                    row.bad.add("subcontracted_by")
                    parent = None
                    self.error(row.number, column,
                               _("A supplier cannot be its own subcontracting supplier."))
            row.parent = parent
            self.parent_of[row.node] = parent
        self.find_loops(rows)

    def find_loops(self, rows: list[_Row]) -> None:
        done: set[Node] = set()
        column = BY_FIELD["subcontracted_by"]
        names = {row.node: row.code for row in rows}
        names.update({pk: s.code for pk, s in self.by_id.items() if pk not in names})
        row_of = {row.node: row for row in rows}
        for row in rows:
            path: list[Node] = []
            on_path: set[Node] = set()
            node: Node | None = row.node
            while node is not None and node not in done:
                if node in on_path:
                    loop = path[path.index(node):]
                    chain = " → ".join(names.get(n, "?") for n in [*loop, node])
                    for member in loop:
                        if member in row_of:
                            row_of[member].bad.add("subcontracted_by")
                            self.error(row_of[member].number, column,
                                       _("The subcontracting chain loops: %(chain)s.")
                                       % {"chain": chain})
                    break
                path.append(node)
                on_path.add(node)
                node = self.parent_of.get(node)
            done.update(path)

    def compute_tiers(self, rows: list[_Row]) -> None:
        column = BY_FIELD["tier"]
        has_column = column.field in self.headers
        row_of = {row.node: row for row in rows}
        tiers: dict[Node, int] = {
            pk: s.tier for pk, s in self.by_id.items() if pk not in self.targeted
        }

        def own_tier(row: _Row, parent_tier: int | None) -> int:
            explicit = row.values.get("tier") if has_column else None
            if parent_tier is None:
                if explicit is not None:
                    return explicit
                if not has_column and row.target is not None:
                    return row.target.tier
                return 1
            computed = parent_tier + 1
            if explicit is not None and explicit != computed and "tier" not in row.bad:
                self.error(row.number, column,
                           _("A subcontractor of a tier-%(parent)d supplier is tier %(tier)d.")
                           % {"parent": parent_tier, "tier": computed})
            return computed

        # Iterative (a file may chain thousands of rows); parents are resolved before children.
        for row in rows:
            if row.node in tiers:
                continue
            path: list[_Row] = []
            node: Node | None = row.node
            while node is not None and node not in tiers:
                path.append(row_of[node])
                node = self.parent_of.get(node)
            parent_tier = tiers.get(node) if node is not None else None
            for member in reversed(path):
                tier = own_tier(member, parent_tier)
                if tier > MAX_TIER:
                    self.error(member.number, column,
                               _("The subcontracting chain is too deep: this supplier would be "
                                 "tier %(tier)d; the deepest tier is %(max)d.")
                               % {"tier": tier, "max": MAX_TIER})
                tiers[member.node] = tier
                member.tier = tier
                parent_tier = tier
        for row in rows:
            target = row.target
            if target is None or row.tier == target.tier:
                continue
            left_out = [
                c.code for c in self.children.get(target.pk, []) if c.pk not in self.targeted
            ]
            if left_out:
                self.error(row.number, column,
                           _("This changes the tier of %(code)s from %(old)d to %(new)d, so its "
                             "subcontractors must change too; add them to the file: %(children)s.")
                           % {"code": target.code, "old": target.tier, "new": row.tier,
                              "children": ", ".join(sorted(left_out)[:10])})

    # -- building and writing --------------------------------------------------------------

    def plan(self, rows: list[_Row]) -> None:
        """Apply each row to its model instance and count what would change."""
        for row in rows:
            target = row.target
            current_tags = sorted(self.tag_links.get(target.pk, {})) if target else []
            row.tags = row.values["tags"] if "tags" in self.headers else current_tags
            if target is not None:
                row.before = snapshot(target, {"tags": current_tags})
                instance = target
            else:
                instance = Supplier(organization=self.organization)
            for name in PLAIN_FIELDS:
                if name in self.headers:
                    setattr(instance, name, row.values[name])
            instance.code = row.code
            assert row.tier is not None
            instance.tier = row.tier
            parent = row.parent
            row.parent_pending = isinstance(parent, tuple)
            instance.subcontracted_by_id = None if isinstance(parent, tuple) else parent
            row.instance = instance
            if target is None:
                self.result.created += 1
            elif row.parent_pending or snapshot(instance, {"tags": row.tags}) != row.before:
                self.result.updated += 1
            else:
                row.before = None  # unchanged: neither written nor recorded
                self.result.unchanged += 1

    def write(self, rows: list[_Row]) -> None:
        now = timezone.now()
        created = [row for row in rows if row.target is None]
        changed = [row for row in rows if row.target is not None and row.before is not None]
        pk_of: dict[Node, int] = {}
        with transaction.atomic():
            # New suppliers level by level, so a new subcontractor's new parent has its pk.
            for level in self.levels(created):
                for row in level:
                    if row.parent_pending:
                        row.instance.subcontracted_by_id = pk_of[row.parent]
                Supplier.objects.bulk_create([row.instance for row in level], batch_size=BATCH_SIZE)
                for row in level:
                    pk_of[row.node] = row.instance.pk
            for row in changed:
                if row.parent_pending:
                    row.instance.subcontracted_by_id = pk_of[row.parent]
                row.instance.updated_at = now  # bulk_update does not touch auto_now fields
            if changed:
                update_rows([row.instance for row in changed], [*WRITTEN_FIELDS, "updated_at"])
            if "tags" in self.headers:
                self.write_tags([*created, *changed])
            pending = []
            for row in rows:
                if row.target is None:
                    after = snapshot(row.instance, {"tags": row.tags})
                    pending.append(
                        PendingEntry(AuditEntry.Action.CREATE, row.instance, None, after)
                    )
                elif row.before is not None:
                    after = snapshot(row.instance, {"tags": row.tags})
                    pending.append(
                        PendingEntry(AuditEntry.Action.UPDATE, row.instance, row.before, after)
                    )
            record_many(self.actor, pending)

    @staticmethod
    def levels(created: list[_Row]) -> list[list[_Row]]:
        new_nodes = {row.node: row for row in created}
        depth: dict[Node, int] = {}
        for row in created:
            path = []
            node: Node | None = row.node
            while node in new_nodes and node not in depth:
                path.append(node)
                node = new_nodes[node].parent
            base = depth.get(node, -1) if node in new_nodes else -1
            for member in reversed(path):
                base += 1
                depth[member] = base
        grouped: dict[int, list[_Row]] = defaultdict(list)
        for row in created:
            grouped[depth[row.node]].append(row)
        return [grouped[d] for d in sorted(grouped)]

    def write_tags(self, rows: Iterable[_Row]) -> None:
        through = Supplier.tags.through
        tag_ids = dict(
            Tag.objects.filter(organization=self.organization).values_list("name", "id")
        )
        missing = sorted({t for row in rows for t in row.tags} - set(tag_ids))
        if missing:
            made = Tag.objects.bulk_create(
                [Tag(organization=self.organization, name=name) for name in missing],
                batch_size=BATCH_SIZE,
            )
            tag_ids.update({tag.name: tag.pk for tag in made})
        add, remove = [], []
        for row in rows:
            supplier_id = row.instance.pk
            current = self.tag_links.get(supplier_id, {}) if row.target is not None else {}
            wanted = set(row.tags)
            remove.extend(link for name, link in current.items() if name not in wanted)
            add.extend(
                through(supplier_id=supplier_id, tag_id=tag_ids[name])
                for name in sorted(wanted - set(current))
            )
        for start in range(0, len(remove), BATCH_SIZE):
            through.objects.filter(id__in=remove[start:start + BATCH_SIZE]).delete()
        through.objects.bulk_create(add, batch_size=BATCH_SIZE)
