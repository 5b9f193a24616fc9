"""Set-based inserts and updates for the map import: a million rows in seconds.

Building a model instance per row (bulk_create) costs ~10 µs of Python each, too much for a
million edges. Rows here are plain tuples of database values, in model column order:

- PostgreSQL: `COPY ... FROM STDIN` (psycopg 3's copy, rows formatted in C); updates COPY the new
  values into a temporary table and run one `UPDATE ... FROM`. Columns of numbers go as COPY's
  binary format laid out by numpy (`copy_numbers`).
- Other databases (SQLite): one prepared INSERT / UPDATE run with executemany per batch.

Values must already be database-ready: JSON as text (`json_text`), timestamps through
`timestamp()`. Only column names from the model's own metadata are put into SQL text.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
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


def quoted_columns(model: type[models.Model], fields: Sequence[str]) -> list[str]:
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


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL only: COPY ROWS (tuples in COLUMNS order) into TABLE; TABLE and COLUMNS are
    quoted names from code, not data."""
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for text in _copy_lines(rows):
            copy.write(text.encode())


# COPY's binary format: a signature, flags and header-extension length (both 0), rows, then -1.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_BINARY_END = b"\xff\xff"
_BINARY_ROWS_PER_WRITE = 100_000


def copy_numbers(table: str, columns: Sequence[str], arrays: Sequence[np.ndarray]) -> None:
    """PostgreSQL only: COPY integer ARRAYS, one per column, into TABLE's COLUMNS (names from code,
    not data) in COPY's binary format. numpy lays out each row (the field count, then each field's
    length and big-endian value): nothing per row in Python, no text for PostgreSQL to parse. An
    array's width must be its column's: int64 for bigint, int32 for integer, int16 for smallint."""
    layout = [("fields", ">i2")]
    for i, values in enumerate(arrays):
        layout += [(f"size{i}", ">i4"), (f"value{i}", values.dtype.newbyteorder(">"))]
    rows = np.empty(len(arrays[0]), dtype=layout)  # packed: no padding between fields
    rows["fields"] = len(arrays)
    for i, values in enumerate(arrays):
        rows[f"size{i}"] = values.dtype.itemsize
        rows[f"value{i}"] = values
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(_BINARY_HEADER)
        for start in range(0, len(rows), _BINARY_ROWS_PER_WRITE):
            copy.write(rows[start : start + _BINARY_ROWS_PER_WRITE].tobytes())
        copy.write(_BINARY_END)


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """INSERT ROWS (tuples in FIELDS order) into MODEL's table."""
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        copy_rows(table, quoted_columns(model, fields), rows)
        return
    columns = ", ".join(quoted_columns(model, fields))
    with connection.cursor() as cursor:
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
    "PositiveIntegerField": "integer",
    "BooleanField": "boolean",
    "TextField": "text",
    "FloatField": "double precision",
}


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE FIELDS of MODEL's rows by primary key; each row is (*values in FIELDS order, pk)."""
    if not rows:
        return
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    columns = quoted_columns(model, fields)
    key = connection.ops.quote_name(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = [_PG_TYPES[meta.get_field(name).get_internal_type()] for name in fields]
            declared = ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
            cursor.execute(
                f"CREATE TEMPORARY TABLE graph_import_update ({declared}, {key} bigint) ON COMMIT DROP"
            )
            copy_rows("graph_import_update", [*columns, key], rows)
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
