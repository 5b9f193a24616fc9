"""Set-based inserts and updates for the map import: a million rows in seconds.

Building a model instance per row (bulk_create) costs ~10 µs of Python each, too much for a
million edges. Rows here are plain tuples of database values, in model column order:

- PostgreSQL: `COPY ... FROM STDIN` (psycopg 3's copy, rows formatted in C); updates COPY the new
  values into a temporary table and run one `UPDATE ... FROM`.
- Other databases (SQLite): one prepared INSERT / UPDATE run with executemany per batch.

Values must already be database-ready: JSON as text (`json_text`), timestamps through
`timestamp()`. Only column names from the model's own metadata are put into SQL text.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection, models

BATCH_SIZE = 2000


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class JsonTexts:
    """json_text with a memory: a million edges carry a handful of distinct attribute sets."""

    def __init__(self) -> None:
        self.known: dict[tuple, str] = {(): "{}"}

    def __call__(self, value: dict[str, Any] | None) -> str:
        if not value:
            return "{}"
        try:
            key = tuple(value.items())
            text = self.known.get(key)
        except TypeError:  # a list value (classes): not hashable, not worth remembering
            return json_text(value)
        if text is None:
            text = json_text(value)
            if len(self.known) < 100_000:
                self.known[key] = text
        return text


def timestamp(moment: datetime.datetime) -> Any:
    """MOMENT as insert_rows and update_rows take a DateTimeField: the backend's text form."""
    if connection.vendor == "postgresql":
        return moment.isoformat()
    return connection.ops.adapt_datetimefield_value(moment)


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[str]:
    meta = model._meta
    return [connection.ops.quote_name(meta.get_field(name).column) for name in fields]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_OTHER = re.compile(r"[\\\n\r]")  # specials besides the field separators


def copy_text(value: Any) -> str:
    """VALUE as a field of COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def _copy_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Chunks of COPY text: psycopg's write_row costs ~10 µs a row, a joined line ~1 µs."""
    chunk: list[str] = []
    for row in rows:
        try:
            line = "\t".join(row)
        except TypeError:  # a number or a NULL: field by field
            line = "\t".join([copy_text(value) for value in row])
        else:
            # The separators are the only specials of a plain row: as many tabs as gaps.
            if line.count("\t") != len(row) - 1 or _COPY_OTHER.search(line):
                line = "\t".join([copy_text(value) for value in row])
        chunk.append(line)
        if len(chunk) >= BATCH_SIZE * 5:
            yield "\n".join(chunk) + "\n"
            chunk = []
    if chunk:
        yield "\n".join(chunk) + "\n"


def copy_lines(model: type[models.Model], fields: Sequence[str], chunks: Iterable[str]) -> None:
    """PostgreSQL only: COPY CHUNKS, text already in COPY's format (lines ending in newlines), into
    MODEL's FIELDS. The caller vouches for the escaping (see copy_text)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(_columns(model, fields))
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for text in chunks:
            copy.write(text.encode())


@contextlib.contextmanager
def foreign_keys_checked_once(model: type[models.Model]) -> Iterator[None]:
    """PostgreSQL: check MODEL's foreign keys once for the whole table instead of per row.

    A foreign key is a trigger per inserted row (a lookup and a row lock on the referenced
    table, at commit when deferred): 3 million of them for a million edges, most of an import's
    time. Inside this block the table's foreign keys are dropped and on leaving it they are
    added again with their exact definitions, which PostgreSQL validates in one join over the
    table — a violation raises and rolls the whole transaction back, as a row check would.

    Must run inside a transaction. ALTER TABLE holds an exclusive lock on the table until the
    commit: other organizations' map pages wait for a big import to finish. So the importer uses
    this only for large imports (writer.BULK_FK_ROWS). Elsewhere (SQLite) it does nothing.
    """
    if connection.vendor != "postgresql":
        yield
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [model._meta.db_table],
        )
        keys = cursor.fetchall()
        # ALTER TABLE refuses while checks of earlier rows (the nodes just written) are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name, _definition in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        additions = ", ".join(
            f"ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}" for name, definition in keys
        )
        if additions:
            cursor.execute(f"ALTER TABLE {table} {additions}")


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """INSERT ROWS (tuples in FIELDS order) into MODEL's table."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(_columns(model, fields))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for text in _copy_lines(rows):
                    copy.write(text.encode())
            return
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - model names only
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH_SIZE:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


_PG_TYPES = {
    "JSONField": "jsonb",
    "DateTimeField": "timestamptz",
    "CharField": "text",
    "BigAutoField": "bigint",
    "ForeignKey": "bigint",
    "BigIntegerField": "bigint",
}


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE FIELDS of MODEL's rows by primary key; each row is (*values in FIELDS order, pk)."""
    if not rows:
        return
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    columns = _columns(model, fields)
    key = connection.ops.quote_name(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = [_PG_TYPES[meta.get_field(name).get_internal_type()] for name in fields]
            declared = ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
            cursor.execute(
                f"CREATE TEMPORARY TABLE graph_import_update ({declared}, {key} bigint) ON COMMIT DROP"
            )
            with cursor.cursor.copy(
                f"COPY graph_import_update ({', '.join(columns)}, {key}) FROM STDIN"
            ) as copy:
                for text in _copy_lines(rows):
                    copy.write(text.encode())
            assignments = ", ".join(f"{c} = u.{c}" for c in columns)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM graph_import_update u "  # noqa: S608
                f"WHERE {table}.{key} = u.{key}"
            )
            cursor.execute("DROP TABLE graph_import_update")
            return
        assignments = ", ".join(f"{c} = %s" for c in columns)
        sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608 - model names only
        for start in range(0, len(rows), BATCH_SIZE):
            cursor.executemany(sql, rows[start : start + BATCH_SIZE])


def delete_rows(model: type[models.Model], pks: Sequence[int]) -> None:
    """DELETE MODEL's rows PKS by primary key, a batch per statement.

    Plain SQL: no model signals (a per-row signal would cost a graph rebuild per edge) and no
    cascade collection. The caller deletes dependent rows first (edges before their nodes); the
    database's foreign keys refuse anything left behind.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    key = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        for start in range(0, len(pks), BATCH_SIZE):
            batch = list(pks[start : start + BATCH_SIZE])
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(f"DELETE FROM {table} WHERE {key} IN ({marks})", batch)  # noqa: S608 - model names
