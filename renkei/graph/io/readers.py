"""Reading map files into tables: `nodes.csv` + `edges.csv`, or `map.json`.

A file that cannot be read at all is refused (`Refused`) before any row is looked at: over the
byte limit (checked before reading), undecodable text (UTF-8 with or without BOM, or Shift_JIS /
CP932 as Japanese Excel writes; the registry's detection), NUL bytes, broken CSV quoting, broken
JSON, too many rows. Rows are kept as read; the importer validates them.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from renkei.suppliers.io.readers import FileRefused, decode_text

DEFAULT_MAX_ROWS = 2_000_000  # per file (per section of a JSON file)
DEFAULT_MAX_MB = 512
CSV_FIELD_LIMIT = 1_000_000
JSON_SECTIONS = ("nodes", "edges")

Source = IO[bytes] | str | Path | bytes


class Refused(Exception):
    """FILE cannot be imported at all; LINE (when known) is where it went wrong."""

    def __init__(self, file: str, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.file = file
        self.reason = reason
        self.line = line


@dataclass
class Table:
    """The rows of one section (nodes or edges) of a map file.

    CSV: ROWS are the cell lists after the header, row i being line i + 2 of the file (a blank
    line is an empty list). JSON: ROWS are the items of the section's array (any JSON value;
    the importer refuses what is not an object) and HEADERS the fields used by any item.
    """

    file: str
    section: str
    fmt: str
    headers: list[str]
    rows: list[Any] = field(default_factory=list)

    def where(self, index: int) -> tuple[int | None, str | None]:
        """(line, item) of row INDEX: a CSV line number, or a JSON path like edges[3]."""
        if self.fmt == "csv":
            return index + 2, None
        return None, f"{self.section}[{index}]"


def max_rows() -> int:
    return int(getattr(settings, "RENKEI_GRAPH_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_bytes() -> int:
    return int(getattr(settings, "RENKEI_GRAPH_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024


def _load(source: Source, name: str) -> bytes:
    """The bytes of SOURCE, refusing it before reading when it is over the limit."""
    limit = max_bytes()
    if isinstance(source, bytes):
        size = len(source)
    elif isinstance(source, str | Path):
        size = Path(source).stat().st_size
    else:
        position = source.tell()
        source.seek(0, os.SEEK_END)
        size = source.tell() - position
        source.seek(position)
    if size > limit:
        raise Refused(
            name,
            _(
                "The file is too large (%(size).1f MB). The limit is %(limit)d MB; split the map "
                "into several imports."
            )
            % {"size": size / 1024 / 1024, "limit": limit // 1024 // 1024},
        )
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | Path):
        return Path(source).read_bytes()
    return source.read()


def _name(source: Source, name: str | None, default: str) -> str:
    if name:
        return name
    if isinstance(source, str | Path):
        return Path(source).name
    return Path(getattr(source, "name", "") or default).name


def _too_many(name: str, limit: int, line: int | None = None) -> Refused:
    return Refused(
        name,
        _("Too many rows: at most %(limit)s can be imported at once. Split the file.")
        % {"limit": f"{limit:,}"},
        line,
    )


def read_csv(source: Source, section: str, name: str | None = None) -> Table:
    """One CSV file of SECTION ("nodes" or "edges"). Raises Refused."""
    name = _name(source, name, f"{section}.csv")
    data = _load(source, name)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise Refused(
            name,
            _("The file contains NUL bytes (near line %(line)d): it is not a text CSV file.")
            % {"line": line},
            line,
        )
    try:
        text = decode_text(data)
    except FileRefused as refused:
        raise Refused(name, refused.reason) from None
    del data
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    limit = max_rows()
    try:
        header = next(reader, None)
        # One C-level pass; a blank line stays in place (as []) so row i is line i + 2.
        rows = list(itertools.islice(reader, limit + 1))
    except csv.Error as exc:
        raise Refused(
            name,
            _("The CSV file is malformed at line %(line)d: %(detail)s. Check for an unbalanced double quote.")
            % {"line": reader.line_num, "detail": exc},
            reader.line_num,
        ) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise Refused(
            name,
            _("The file is empty: the first line must hold the column headers.")
            if header is None
            else _("The first line must hold the column headers, but it is empty."),
            1,
        )
    if len(rows) > limit:
        raise _too_many(name, limit, limit + 2)
    return Table(file=name, section=section, fmt="csv", headers=[h.strip() for h in header], rows=rows)


def read_json(source: Source, name: str | None = None) -> tuple[Table, Table]:
    """A map.json file: {"nodes": [...], "edges": [...]} (either may be left out). Raises Refused."""
    name = _name(source, name, "map.json")
    data = _load(source, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Refused(
            name, _("A JSON file must be UTF-8; this one is not (near line %(line)d).") % {"line": line}, line
        ) from None
    del data
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(
            name,
            _("The JSON is malformed at line %(line)d, column %(column)d: %(detail)s.")
            % {"line": exc.lineno, "column": exc.colno, "detail": exc.msg},
            exc.lineno,
        ) from None
    except RecursionError:
        raise Refused(name, _("The JSON is nested too deeply.")) from None
    if not isinstance(document, dict):
        raise Refused(name, _('The file must hold one JSON object: {"nodes": [...], "edges": [...]}.'))
    unknown = sorted(set(document) - set(JSON_SECTIONS))
    if unknown:
        raise Refused(
            name,
            _('Unknown key “%(key)s” at the top of the file: only "nodes" and "edges" are read.')
            % {"key": unknown[0]},
        )
    limit = max_rows()
    tables = []
    for section in JSON_SECTIONS:
        items = document.get(section, [])
        if not isinstance(items, list):
            raise Refused(name, _('"%(section)s" must be a list.') % {"section": section})
        if len(items) > limit:
            raise _too_many(name, limit)
        headers: dict[str, None] = {}
        for item in items:
            if isinstance(item, dict):
                headers.update(dict.fromkeys(item))
        tables.append(Table(file=name, section=section, fmt="json", headers=list(headers), rows=items))
    return tables[0], tables[1]


def read_files(paths: list[str | Path]) -> tuple[Table, Table]:
    """The command's files: NODES.csv EDGES.csv, or one MAP.json. Raises Refused."""
    if len(paths) == 1:
        path = Path(paths[0])
        if path.suffix.lower() != ".json":
            raise Refused(path.name, _("Give two CSV files (NODES.csv EDGES.csv) or one .json file."))
        return read_json(path)
    if len(paths) != 2:  # noqa: PLR2004 - the nodes file and the edges file
        raise Refused("", _("Give two CSV files (NODES.csv EDGES.csv) or one .json file."))
    return read_csv(paths[0], "nodes"), read_csv(paths[1], "edges")
