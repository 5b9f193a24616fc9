"""The incident workbook (renkei.incidents.exports.incident_workbook): four sheets.

User text never becomes a formula: a cell starting with a formula trigger (the same list the
supplier and check-sheet exports use) is written as a string with Excel's quote prefix, so it
stays text even when the cell is edited. Characters XML cannot hold are dropped, and text longer
than Excel's cell limit is cut with a note, so Excel never has to "repair" the file.
"""

from __future__ import annotations

import datetime
import io
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from renkei.incidents.exports import Report, Sheet, Value
from renkei.suppliers.io.columns import FORMULA_TRIGGERS

# Excel's limit of characters in one cell.
CELL_MAX = 32767
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
REPORT_WIDTHS = (6, 48, 100)


def render(report: Report) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.title = f"{report.number} {report.heading}"
    workbook.properties.creator = "Renkei"
    with translation.override(report.language):
        _report_sheet(workbook.active, report)
        for table in report.tables:
            _table_sheet(workbook.create_sheet(), table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _report_sheet(sheet: Any, report: Report) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.title = report.report_title
    _header(sheet, report.report_headers, REPORT_WIDTHS)
    bold = Font(bold=True)
    top = Alignment(vertical="top", wrap_text=True)
    for line in report.lines:
        sheet.append([line.number or None, line.label, None])
        row = sheet.max_row
        _write(sheet.cell(row=row, column=3), line.value)
        for column in (1, 2, 3):
            sheet.cell(row=row, column=column).alignment = top
        if line.section or line.number:
            sheet.cell(row=row, column=2).font = bold
        if line.section:
            sheet.cell(row=row, column=1).font = bold


def _table_sheet(sheet: Any, table: Sheet) -> None:
    from openpyxl.styles import Alignment

    sheet.title = table.title
    _header(sheet, table.headers, table.widths)
    top = Alignment(vertical="top", wrap_text=True)
    for values in table.rows:
        sheet.append([None] * len(values))
        row = sheet.max_row
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column)
            _write(cell, value)
            cell.alignment = top


def _header(sheet: Any, headers: list[str], widths: Any) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _write(cell: Any, value: Value) -> None:
    """VALUE into CELL: datetimes as Excel datetimes (Japan time), text safe, numbers as numbers."""
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: the wall-clock time in Japan, which the header says.
        cell.value = value.replace(tzinfo=None)
        cell.number_format = DATETIME_FORMAT
        return
    if not isinstance(value, str):
        cell.value = value
        return
    text = clean_text(value)
    cell.value = text
    if text.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"  # a string, never a formula
        cell.quotePrefix = True  # and Excel keeps it text when the cell is edited


def clean_text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(text) > CELL_MAX:
        note = _(" … (cut at Excel's cell limit; the full text is in Renkei and the PDF)")
        text = text[: CELL_MAX - len(note)] + note
    return text
