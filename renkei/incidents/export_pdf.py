"""The incident PDF (renkei.incidents.exports.incident_pdf): A4, the workbook's content.

ReportLab's built-in Japanese CID fonts (HeiseiKakuGo-W5, HeiseiMin-W3) are used: they need no
font file on the server, and PDF viewers supply the glyphs (the fonts are referenced, not
embedded). They cover the Adobe-Japan1 set in Unicode's basic plane; a character outside it (an
emoji, a rare kanji beyond U+FFFF) is printed as 〓 (the geta mark Japanese printing uses for a
character it cannot set) instead of vanishing. Long text is cut into page-sized pieces that flow
over pages, table rows included, so no input can make the layout fail or take long.
"""

from __future__ import annotations

import datetime
import functools
import io
import re
from typing import Any
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _

from renkei.incidents.exports import Line, Report, Sheet, Value

GOTHIC = "HeiseiKakuGo-W5"
MINCHO = "HeiseiMin-W3"
GETA = "\u3013"
# Control characters other than the newline; tabs become spaces first.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Outside the basic plane (emoji, rare kanji) and the replacement character: not in the font.
UNPRINTABLE = re.compile("[\U00010000-\U0010ffff\ufffd]")
BLANK_LINES = re.compile(r"\n{3,}")
# Kana, kanji and full-width forms: such text may break between any two characters.
JAPANESE = re.compile("[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
CELL_SIZE, CELL_LEADING, CELL_PADDING = 8, 10.5, 3
BODY_SIZE, BODY_INDENT = 9.5, 12
# Lines per piece of long text: well within a page (about 70 table lines or 50 body lines).
CELL_BUDGET, BODY_BUDGET = 30, 40


@functools.cache
def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))
    pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))


@functools.cache
def _styles() -> dict[str, Any]:
    """Each style twice: NAME wraps Japanese between any characters; NAME-latin wraps between
    words, so an English word is not cut in the middle."""
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName=MINCHO, fontSize=BODY_SIZE, leading=14, wordWrap="CJK")
    styles = {
        "title": ParagraphStyle("title", parent=base, fontName=GOTHIC, fontSize=16, leading=22, spaceAfter=2),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontName=GOTHIC, fontSize=11, leading=16, spaceAfter=8
        ),
        "section": ParagraphStyle(
            "section", parent=base, fontName=GOTHIC, fontSize=12, leading=17, spaceBefore=10, spaceAfter=4
        ),
        "item": ParagraphStyle(
            "item", parent=base, fontName=GOTHIC, fontSize=10, leading=15, spaceBefore=6, spaceAfter=2
        ),
        "body": ParagraphStyle("body", parent=base, leftIndent=BODY_INDENT),
        "cell": ParagraphStyle(
            "cell", parent=base, fontName=GOTHIC, fontSize=CELL_SIZE, leading=CELL_LEADING
        ),
    }
    for name, style in list(styles.items()):
        styles[f"{name}-latin"] = ParagraphStyle(f"{name}-latin", parent=style, wordWrap=None)
    return styles


def printable(value: str) -> str:
    """VALUE as the fonts can print it: no control characters, 〓 for what the fonts lack, runs
    of blank lines shortened to one (the workbook keeps the text exactly)."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = UNPRINTABLE.sub(GETA, CONTROL.sub("", text))
    return BLANK_LINES.sub("\n\n", text)


def paragraph(text: str, style: str) -> Any:
    """Printable TEXT as a Paragraph: escaped (user text is never markup), line breaks kept."""
    from reportlab.platypus import Paragraph

    key = style if JAPANESE.search(text) else f"{style}-latin"
    return Paragraph(escape(text).replace("\n", "<br/>"), _styles()[key])


def pieces(text: str, per_line: int, budget: int) -> list[str]:
    """TEXT cut at line breaks (inside a line when one line is too long) into pieces of at most
    BUDGET lines of PER_LINE characters. Each piece is a paragraph or a table row that fits on
    a page: ReportLab splits one long paragraph or row over pages at a cost that grows with the
    square of its length (seconds for a few thousand lines), and short pieces avoid it."""
    result: list[str] = []
    current: list[str] = []
    used = 0
    for whole in text.split("\n"):
        line = whole
        while True:
            cost = max(1, -(-len(line) // per_line))
            if used + cost <= budget:
                current.append(line)
                used += cost
                break
            if current:
                result.append("\n".join(current))
                current, used = [], 0
                continue
            take = per_line * budget
            result.append(line[:take])
            line = line[take:]
    if current or not result:
        result.append("\n".join(current))
    return result


def _display(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def render(report: Report) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    _register_fonts()
    out = io.BytesIO()
    with translation.override(report.language):
        document = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=16 * mm,
            rightMargin=16 * mm,
            topMargin=20 * mm,
            bottomMargin=16 * mm,
            title=f"{report.number} {report.heading}",
            author="Renkei",
            creator="Renkei",
            lang=report.language,
        )
        document.build(_story(report, document.width), canvasmaker=_canvas_class(report))
    return out.getvalue()


def _story(report: Report, width: float) -> list[Any]:
    story: list[Any] = [
        paragraph(printable(report.heading), "title"),
        paragraph(printable(f"{report.number}　{report.title}"), "subtitle"),
    ]
    block: list[Line] = []
    for line in [*report.lines, None]:
        if line is not None and not line.section:
            block.append(line)
            continue
        story += _block(block, width, report.missing)
        block = []
        if line is not None:
            story.append(paragraph(printable(line.label), "section"))
    for table in report.tables:
        story.append(paragraph(printable(table.title), "section"))
        story.append(_table(table, width))
    return story


def _block(lines: list[Line], width: float, missing: str) -> list[Any]:
    """Report lines: the items of the report as headed paragraphs (long text flows over pages),
    the facts before them as a two-column table."""
    if not lines:
        return []
    if not any(line.number for line in lines):
        return [
            _table(Sheet("", ["", ""], [30, 70], [[ln.label, ln.value] for ln in lines]), width, header=False)
        ]
    per_line = max(1, int((width - BODY_INDENT) // BODY_SIZE))
    story: list[Any] = []
    for line in lines:
        label = f"{line.number}. {line.label}" if line.number else line.label
        story.append(paragraph(printable(label), "item"))
        text = printable(_display(line.value))
        if not text.strip():
            text = missing
        story += [paragraph(piece, "body") for piece in pieces(text, per_line, BODY_BUDGET)]
    return story


def _table(sheet: Sheet, width: float, *, header: bool = True) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    if header and not sheet.rows:
        return paragraph(_("None recorded."), "body")
    proportions = sheet.pdf_widths or sheet.widths
    widths = [width * w / sum(proportions) for w in proportions]
    data: list[list[Any]] = []
    if header:
        data.append([paragraph(printable(h), "cell") for h in sheet.headers])
    for row in sheet.rows:
        data += _rows(row, widths)
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), GOTHIC, CELL_SIZE, CELL_LEADING),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                (
                    "BACKGROUND",
                    (0, 0),
                    (-1 if header else 0, 0 if header else -1),
                    colors.HexColor("#eeeeee"),
                ),
            ]
        )
    )
    return table


def _rows(values: list[Value], widths: list[float]) -> list[list[Any]]:
    """One table row, or several when a cell is long: its pieces go into rows of their own, so
    no row is taller than a page."""
    columns: list[list[Any]] = []
    for value, width in zip(values, widths, strict=True):
        room = width - 2 * CELL_PADDING
        text = printable(_display(value))
        if isinstance(value, datetime.datetime) and not _fits([text], room):
            text = text.replace(" ", "\n")  # the date above the time in a narrow column
        lines = text.split("\n")
        if len(lines) <= CELL_BUDGET and _fits(lines, room):
            columns.append([text])  # a plain string: drawn line by line, far cheaper than a Paragraph
            continue
        per_line = max(1, int(room // CELL_SIZE))
        columns.append([paragraph(piece, "cell") for piece in pieces(text, per_line, CELL_BUDGET)])
    height = max(len(column) for column in columns)
    return [[column[i] if i < len(column) else "" for column in columns] for i in range(height)]


def _fits(lines: list[str], room: float) -> bool:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    # No glyph is wider than the font size: a short line fits without measuring it.
    return all(len(ln) * CELL_SIZE <= room or stringWidth(ln, GOTHIC, CELL_SIZE) <= room for ln in lines)


def _canvas_class(report: Report) -> type:
    """A canvas that holds the pages until the end, so each can say "page N of M", and draws the
    header (incident number, generation time) and the footer on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    header_left = _clip(f"{report.number}　{report.heading}", 60)
    generated = _("Generated %(when)s (Japan time)") % {"when": _display(report.generated_at)}
    page_label = _("Page %(page)d of %(pages)d")

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            pages = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                self._decorate(number, pages)
                super().showPage()
            super().save()

        def _decorate(self, number: int, pages: int) -> None:
            width, height = A4
            self.saveState()
            self.setFont(GOTHIC, 8)
            self.setFillGray(0.35)
            self.drawString(16 * mm, height - 12 * mm, header_left)
            self.drawRightString(width - 16 * mm, height - 12 * mm, generated)
            self.setLineWidth(0.3)
            self.line(16 * mm, height - 13.5 * mm, width - 16 * mm, height - 13.5 * mm)
            self.drawCentredString(width / 2, 9 * mm, page_label % {"page": number, "pages": pages})
            self.restoreState()

    return NumberedCanvas


def _clip(text: str, length: int) -> str:
    text = printable(text).replace("\n", " ")
    return text if len(text) <= length else text[: length - 1] + "…"
