"""`renkei osv import`: load OSV records from files into Advisory / AdvisoryPackage, offline.

Semantics (docs/deliveries.md):

- A source (by default the zip's stem or the directory's name) is the unit of a full snapshot:
  after an import, the source's advisories missing from it are marked `gone`.
- Incremental: a record whose (source, id) is stored with the same `modified` is skipped without
  touching any row (only its id and date are read); a changed one has its fields and packages
  replaced in place, so findings pointing at it survive; one that comes back after being gone is
  changed.
- Withdrawn records are stored with their date and counted as withdrawn, like gone ones.
- A record that breaks the schema is rejected (counted, the first ones listed with file, JSON
  path and message) and the others import; its stored version, if any, is kept as it was.
- Anything else (a broken zip, an unreadable file, any exception) aborts the whole import: it
  runs in one transaction, so the database is left as it was.

Writes are batched (bulk inserts, one query for what is stored): the query count does not grow
with the number of records below a batch, and the import runs at tens of thousands of records
a second (bench/bench_osv.py).
"""

from __future__ import annotations

import datetime
import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.deliveries.models import Advisory, AdvisoryPackage, OsvImport
from renkei.deliveries.osv.ecosystems import Key
from renkei.deliveries.osv.reader import Item, ReadError, default_source, iter_items
from renkei.deliveries.osv.records import Record, RecordError, parse_timestamp, read_record
from renkei.graph.io.bulk import insert_rows, update_rows

BATCH = 2000  # records written per round of bulk inserts
IN_CHUNK = 900  # ids per IN (...) list: under SQLite's 999 parameters
MAX_REJECTED_STORED = 100
MAX_SOURCE = 100
ANALYZE_AFTER = 10_000  # records written by one import

_PACKAGE_COLUMNS = ("advisory", "ecosystem", "package", "release", "ranges", "versions")
_ADVISORY_FIELDS = (
    "modified",
    "published",
    "withdrawn",
    "gone",
    "summary",
    "details",
    "aliases",
    "severity",
    "cvss_vector",
    "cvss_score",
    "fixed",
    "references",
    "imported_at",
)


class OsvImportError(Exception):
    """The import could not run (missing path, unreadable file or zip); nothing was changed."""


@dataclass
class ImportResult:
    source: str
    import_id: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: int = 0
    rejected_records: list[dict] = field(default_factory=list)
    # Keys of added, changed (old and new packages), withdrawn and gone records: what to re-match.
    touched: set[Key] = field(default_factory=set)
    # The advisories added, changed, withdrawn or gone: only their findings can change.
    advisory_ids: set[int] = field(default_factory=set)
    new_findings: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "rejected": self.rejected,
        }


def json_text(value: Any) -> str:
    """VALUE as JSON column text (orjson: compact, UTF-8 kept); most lists of a record are empty."""
    if not value and isinstance(value, list):
        return "[]"
    return orjson.dumps(value).decode()


def _sqlite_time(moment: datetime.datetime) -> str:
    """MOMENT as SQLite stores a DateTimeField (naive UTC text): what Django's own adaptation
    gives, at a tenth of its cost (two or three of these per record)."""
    return str(moment.astimezone(datetime.UTC).replace(tzinfo=None))


def _chunks(values: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Run:
    """One import's state: what is stored, what the snapshot held, what is waiting to be written."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.now = timezone.now()
        # Timestamps as database text (COPY takes ISO 8601 with its zone).
        self.to_db = datetime.datetime.isoformat if connection.vendor == "postgresql" else _sqlite_time
        self.now_db = self.to_db(self.now)
        self.result = ImportResult(source=source)
        self.stored: dict[str, tuple[int, datetime.datetime, bool]] = {
            osv_id: (pk, modified, gone)
            for osv_id, pk, modified, gone in Advisory.objects.filter(source=source).values_list(
                "osv_id", "pk", "modified", "gone"
            )
        }
        self.seen: set[str] = set()
        self.new: list[Record] = []
        self.changed: list[tuple[int, Record]] = []

    # -- reading --------------------------------------------------------------------------------

    def reject(self, item: Item, path: str, message: str) -> None:
        self.result.rejected += 1
        if len(self.result.rejected_records) < MAX_REJECTED_STORED:
            where = ".".join(p for p in (item.path, path) if p).replace(".[", "[")
            self.result.rejected_records.append({"file": item.file, "path": where, "message": message})

    def take(self, item: Item) -> None:
        if item.error:
            self.reject(item, "", item.error)
            return
        data = item.data
        osv_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(osv_id, str):
            osv_id = osv_id.strip()
            if osv_id in self.seen:
                self.reject(item, "id", _("%(id)s appears twice in this import.") % {"id": osv_id})
                return
            stored = self.stored.get(osv_id)
            if stored is not None and not stored[2] and self._same_date(data.get("modified"), stored[1]):
                self.seen.add(osv_id)
                self.result.unchanged += 1
                return
        try:
            record = read_record(data)
        except RecordError as exc:
            if isinstance(osv_id, str) and osv_id:
                self.seen.add(osv_id)  # a broken new version does not make the stored one gone
            self.reject(item, exc.path, exc.message)
            return
        self.seen.add(record.osv_id)
        if record.withdrawn is not None:
            self.result.withdrawn += 1
        stored = self.stored.get(record.osv_id)
        if stored is None:
            self.result.added += record.withdrawn is None
            self.new.append(record)
        else:
            self.result.changed += record.withdrawn is None
            self.changed.append((stored[0], record))
        if len(self.new) >= BATCH:
            self.flush_new()
        if len(self.changed) >= BATCH:
            self.flush_changed()

    @staticmethod
    def _same_date(value: Any, stored: datetime.datetime) -> bool:
        try:
            return parse_timestamp(value, "modified") == stored
        except RecordError:
            return False

    # -- writing --------------------------------------------------------------------------------

    def _advisory_row(self, record: Record) -> tuple:
        """A new record as a row of database values in ("source", "osv_id", *_ADVISORY_FIELDS) order."""
        to_db = self.to_db
        return (
            self.source, record.osv_id, to_db(record.modified),
            to_db(record.published) if record.published else None,
            to_db(record.withdrawn) if record.withdrawn else None,
            False, record.summary, record.details, json_text(record.aliases), record.severity,
            record.cvss_vector, record.cvss_score, json_text(record.fixed), json_text(record.references),
            self.now_db,
        )  # fmt: skip

    def _packages(self, pairs: Iterable[tuple[int | str, Record]]) -> None:
        rows = []
        touched = self.result.touched
        changed_ids = self.result.advisory_ids
        for pk, record in pairs:
            changed_ids.add(int(pk))
            for entry in record.packages:
                touched.add(Key(entry.ecosystem, entry.package, entry.release))
                rows.append(
                    (pk, entry.ecosystem, entry.package, entry.release, json_text(entry.ranges),
                     json_text(entry.versions))
                )  # fmt: skip
        # Plain rows, not model instances: COPY on PostgreSQL, executemany elsewhere (~5x faster).
        insert_rows(AdvisoryPackage, _PACKAGE_COLUMNS, rows)

    def _touch_stored(self, pks: list[int]) -> None:
        self.result.advisory_ids.update(pks)
        for chunk in _chunks(pks):
            self.result.touched.update(
                Key(*row)
                for row in AdvisoryPackage.objects.filter(advisory_id__in=chunk)
                .values_list("ecosystem", "package", "release")
                .distinct()
            )

    def flush_new(self) -> None:
        if not self.new:
            return
        columns = ("source", "osv_id", *_ADVISORY_FIELDS)
        if connection.vendor == "postgresql":
            # Ids drawn from the table's sequence up front: COPY returns none, and reading them
            # back would cost a query per IN_CHUNK records.
            table = Advisory._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, len(self.new)],
                )
                pks = [row[0] for row in cursor.fetchall()]
            insert_rows(
                Advisory,
                ("id", *columns),
                [(pk, *self._advisory_row(r)) for pk, r in zip(pks, self.new, strict=True)],
            )
            # Ids as text: rows of strings only take COPY's fast path (one join per row).
            self._packages(zip(map(str, pks), self.new, strict=True))
        else:
            insert_rows(Advisory, columns, [self._advisory_row(r) for r in self.new])
            ids: dict[str, int] = {}
            for chunk in _chunks([record.osv_id for record in self.new]):
                ids.update(
                    Advisory.objects.filter(source=self.source, osv_id__in=chunk).values_list("osv_id", "pk")
                )
            self._packages((ids[record.osv_id], record) for record in self.new)
        self.new = []

    def flush_changed(self) -> None:
        if not self.changed:
            return
        pks = [pk for pk, _record in self.changed]
        self._touch_stored(pks)
        for chunk in _chunks(pks):
            AdvisoryPackage.objects.filter(advisory_id__in=chunk).delete()
        # bulk.update_rows: a COPY into a staging table + one UPDATE … FROM on PostgreSQL (bulk_update's
        # CASE WHEN per field is quadratic in the batch), prepared UPDATEs on SQLite.
        update_rows(
            Advisory, _ADVISORY_FIELDS, [(*self._advisory_row(record)[2:], pk) for pk, record in self.changed]
        )
        self._packages(self.changed)
        self.changed = []

    def mark_gone(self) -> None:
        """The source's advisories absent from this snapshot: gone (their findings resolve)."""
        pks = [
            pk
            for osv_id, (pk, _modified, gone) in self.stored.items()
            if not gone and osv_id not in self.seen
        ]
        if not pks:
            return
        self._touch_stored(pks)
        for chunk in _chunks(pks):
            Advisory.objects.filter(pk__in=chunk).update(gone=True, imported_at=self.now)
        self.result.withdrawn += len(pks)


def import_osv(
    path: str | Path, source: str | None = None, *, on_done: Callable[[ImportResult], Any] | None = None
) -> ImportResult:
    """Import the OSV records under PATH as a full snapshot of SOURCE; see the module docstring.

    ON_DONE(result) runs after the commit (the findings re-check); an int it returns is the number
    of new findings, stored on the OsvImport row. Raises OsvImportError, with nothing changed."""
    path = Path(path)
    if not path.exists():
        raise OsvImportError(_("%(path)s does not exist.") % {"path": path})
    source = (source or default_source(path)).strip()
    if not source or len(source) > MAX_SOURCE:
        raise OsvImportError(_("The source name must be 1 to %(n)d characters.") % {"n": MAX_SOURCE})
    started = timezone.now()
    # Reading creates millions of small acyclic objects; the cyclic collector would walk them
    # again and again (it doubled the time of json.loads here).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with transaction.atomic():
            run = _Run(source)
            for item in iter_items(path):
                run.take(item)
            run.flush_new()
            run.flush_changed()
            run.mark_gone()
            result = run.result
            row = OsvImport.objects.create(
                source=source,
                path=str(path)[:1000],
                started_at=started,
                finished_at=timezone.now(),
                counts=result.counts,
                rejected=result.rejected_records,
                keys_touched=len(result.touched),
            )
            result.import_id = row.pk
    except ReadError as exc:
        raise OsvImportError(str(exc)) from None
    finally:
        if collecting:
            gc.enable()
    if connection.vendor == "postgresql" and result.added + result.changed >= ANALYZE_AFTER:
        # Fresh statistics, or the planner keeps the empty tables' plans (sequential scans) for
        # the matching that follows, until autovacuum gets round to it.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE deliveries_advisory (id, source, osv_id, withdrawn, gone), "
                "deliveries_advisorypackage (advisory_id, ecosystem, package, release)"
            )  # the matching's columns only: the JSON ones would triple its time
    if on_done is not None:
        found = on_done(result)
        if isinstance(found, int) and not isinstance(found, bool):
            result.new_findings = found
            OsvImport.objects.filter(pk=result.import_id).update(new_findings=found)
    return result
