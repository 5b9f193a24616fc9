"""Reading an uploaded registry file into rows of text cells.

Bad files are refused with a message saying what is wrong and where, before any row is
interpreted: over the size limit (checked before reading), not a CSV/XLSX, undecodable text,
broken CSV quoting, NUL bytes, a corrupt workbook, too many rows.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from renkei.suppliers.io.columns import SHEET_TITLES

DEFAULT_MAX_ROWS = 100_000
CSV_FIELD_LIMIT = 1_000_000
SHEET_NAMES = tuple(title.casefold() for title in SHEET_TITLES.values())


class FileRefused(Exception):
    """The file cannot be imported at all. ROW is the spreadsheet row where it went wrong."""

    def __init__(self, reason: str, row: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells); blank rows left out
    fmt: str = "csv"


def max_upload_bytes() -> int:
    return int(getattr(settings, "RENKEI_MAX_UPLOAD_MB", 20)) * 1024 * 1024


def max_rows() -> int:
    return int(getattr(settings, "RENKEI_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def size_refusal(size: int) -> FileRefused | None:
    limit = max_upload_bytes()
    if size > limit:
        return FileRefused(
            _("The file is too large (%(size).1f MB). The limit is %(limit)d MB.")
            % {"size": size / 1024 / 1024, "limit": limit // 1024 // 1024}
        )
    return None


def file_format(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        raise FileRefused(
            _("Old Excel files (.xls) are not supported. Save the file as .xlsx or CSV.")
        )
    raise FileRefused(
        _("Unsupported file type “%(name)s”: use a .csv or .xlsx file.") % {"name": filename}
    )


def _size_of(source: IO[bytes]) -> int:
    position = source.tell()
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(position)
    return size


def read_table(source: IO[bytes] | str | Path, filename: str | None = None) -> Table:
    """Read SOURCE (a path or a binary file object). Raises FileRefused."""
    if isinstance(source, str | Path):
        path = Path(source)
        filename = filename or path.name
        refusal = size_refusal(path.stat().st_size)
        if refusal:
            raise refusal
        fmt = file_format(filename)
        with path.open("rb") as handle:
            return _read(handle, fmt)
    refusal = size_refusal(_size_of(source))
    if refusal:
        raise refusal
    fmt = file_format(filename or getattr(source, "name", "") or "")
    return _read(source, fmt)


def _read(handle: IO[bytes], fmt: str) -> Table:
    rows = _csv_rows(handle.read()) if fmt == "csv" else _xlsx_rows(handle)
    table = _table(rows)
    table.fmt = fmt
    return table


def _table(rows: Iterator[list[str]]) -> Table:
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    limit = max_rows()
    for number, cells in enumerate(rows, start=1):
        if header is None:
            if not any(cells):
                raise FileRefused(
                    _("The first row must hold the column headers, but it is empty."), row=1
                )
            header = cells
            continue
        if not any(cells):
            continue  # blank rows are allowed anywhere (people leave gaps between groups)
        if len(body) >= limit:
            raise FileRefused(
                _("Too many rows: at most %(limit)s suppliers can be imported at once. "
                  "Split the file.") % {"limit": f"{limit:,}"},
                row=number,
            )
        body.append((number, cells))
    if header is None:
        raise FileRefused(_("The file is empty."))
    return Table(headers=header, rows=body)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then CP932, the superset of Shift_JIS Excel writes.

    Strict decoding in that order is reliable: Japanese text in CP932 is almost never valid
    UTF-8, so a file that decodes as UTF-8 is UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRefused(
            _("The file's character encoding was not recognised (near line %(line)d). Save it "
              "as CSV UTF-8 or as CSV (Shift_JIS).") % {"line": line}
        ) from exc


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise FileRefused(
            _("The file contains NUL bytes (near line %(line)d): it is not a text CSV file. If "
              "it is an Excel workbook, name it .xlsx.") % {"line": line}
        )
    text = decode_text(data)
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    record = 0
    try:
        for record, cells in enumerate(reader, start=1):  # noqa: B007 - used after the loop
            yield [cell.strip() for cell in cells]
    except csv.Error as exc:
        raise FileRefused(
            _("The CSV file is malformed at row %(row)d (line %(line)d): %(detail)s. Check for "
              "an unbalanced double quote.")
            % {"row": record + 1, "line": reader.line_num, "detail": exc},
            row=record + 1,
        ) from exc


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        # Excel stores every number as a float; 1200 must not come back as "1200.0".
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(handle: IO[bytes]) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    corrupt = _("The Excel file is corrupt or is not an .xlsx workbook. Open it in Excel and "
                "save it again as .xlsx.")
    if not zipfile.is_zipfile(handle):
        raise FileRefused(corrupt)
    handle.seek(0)
    try:
        # data_only=False: a formula cell is read as its text ("=A1"), never as a value the
        # formula computed, so a formula is stored as plain text.
        workbook = load_workbook(handle, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for broken archives and XML
        raise FileRefused(corrupt) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        for candidate in workbook.worksheets:
            if candidate.title.strip().casefold() in SHEET_NAMES:
                sheet = candidate
                break
        if sheet is None:
            raise FileRefused(corrupt)
        try:
            for values in sheet.iter_rows(values_only=True):
                cells = [_cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                yield cells
        except FileRefused:
            raise
        except Exception as exc:
            raise FileRefused(corrupt) from exc
    finally:
        workbook.close()
