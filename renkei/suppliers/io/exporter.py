"""Exporting the supplier registry in the import layout, so the file can be edited and re-imported.

    export_suppliers(queryset: QuerySet[Supplier], out: IO[bytes], fmt: "csv" | "xlsx",
                     lang: str = "ja") -> int   # the number of suppliers written

The caller restricts QUERYSET (`Supplier.objects.for_user(user, "view")`, filters); the export
reads it in two queries whatever its size. Text that a spreadsheet would run as a formula is
neutralised: in CSV with a leading single quote (the import removes it again), in XLSX by
writing the cell as a string with Excel's quote-prefix style.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import QuerySet

from renkei.suppliers.io.columns import (
    COLUMNS,
    FORMULA_TRIGGERS,
    SHEET_TITLES,
    format_cell,
    headers,
    neutralise,
)
from renkei.suppliers.models import Supplier

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_VALUE_FIELDS = [c.field for c in COLUMNS if c.field not in ("subcontracted_by", "tags")]


def export_rows(queryset: QuerySet[Supplier], lang: str) -> Iterator[list[str | int]]:
    """The header row, then one row per supplier ordered by code."""
    tags: dict[int, list[str]] = defaultdict(list)
    links = Supplier.tags.through.objects.filter(
        supplier__in=queryset.order_by().values("pk")
    ).values_list("supplier_id", "tag__name")
    for supplier_id, name in links:
        tags[supplier_id].append(name)
    yield headers(lang)
    records = queryset.order_by("code").values("pk", *_VALUE_FIELDS, "subcontracted_by__code")
    for record in records.iterator(chunk_size=2000):
        record["subcontracted_by"] = record.pop("subcontracted_by__code")
        record["tags"] = tags.get(record["pk"], [])
        yield [format_cell(column, record[column.field], lang) for column in COLUMNS]


def export_suppliers(
    queryset: QuerySet[Supplier], out: IO[bytes], fmt: str, lang: str = "ja"
) -> int:
    if fmt == "csv":
        return _write_csv(export_rows(queryset, lang), out)
    if fmt == "xlsx":
        return _write_xlsx(export_rows(queryset, lang), out, SHEET_TITLES.get(lang, "suppliers"))
    raise ValueError(f"unknown export format {fmt!r}")


def _write_csv(rows: Iterator[list[Any]], out: IO[bytes]) -> int:
    # UTF-8 with a BOM: Japanese Excel then opens the file without garbling it.
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    count = -1
    for row in rows:
        writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
        count += 1
    text.detach()  # leave OUT open for the caller
    return count


def _write_xlsx(rows: Iterator[list[Any]], out: IO[bytes], title: str) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    count = -1
    for row in rows:
        cells: list[Any] = []
        for value in row:
            if not isinstance(value, str):
                cells.append(value)
                continue
            # XML cannot hold most control characters; openpyxl would refuse the cell.
            text = ILLEGAL_CHARACTERS_RE.sub("", value)
            if text.startswith(FORMULA_TRIGGERS):
                cell = WriteOnlyCell(sheet, text)
                cell.data_type = "s"  # a string, never a formula
                cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
                cells.append(cell)
            else:
                cells.append(text)
        sheet.append(cells)
        count += 1
    workbook.save(out)
    return count
