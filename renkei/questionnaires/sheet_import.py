"""Turning a buyer's own Excel check sheet into a questionnaire template (docs/sheet-import.md).

`analyse` reads the workbook once into a small grid and detects the sheet, the header row, the
columns (item number, section, question, answer, help), the sections and each item's answer
choices. `to_template_data` applies the user's corrections to that grid and returns the structure
of docs/questionnaire-format.md. Pure Python over openpyxl: no database, nothing stored.

Files are refused before openpyxl parses them when they are too large, not .xlsx, contain macros,
or unpack to more than RENKEI_SHEET_IMPORT_MAX_UNPACKED_MB (a zip bomb).
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl.utils import get_column_letter, range_boundaries

from renkei.questionnaires.choices import AnswerType
from renkei.suppliers.io.readers import FileRefused, size_refusal

HEADER_SCAN_ROWS = 30
MAX_ROWS = 3000  # rows of the chosen sheet read; check sheets have tens to hundreds
MAX_COLUMNS = 40
MAX_ZIP_MEMBERS = 2000
MAX_LIST_CELLS = 100  # cells read for one drop-down list given as a range
ROLES = ("number", "section", "question", "answer", "help")
NONE = 0  # an override meaning "the sheet has no such column"

# Header keywords per column role, compared after _header_key() (NFKC, no spaces, lower case).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "number": ("no", "#", "番号", "項番", "項目番号", "項目no", "通番", "管理番号", "id", "item no"),
    "section": ("分類", "区分", "カテゴリ", "カテゴリー", "大項目", "分野", "セクション", "項目",
                "category", "section", "domain"),
    "question": ("設問", "質問", "確認項目", "チェック項目", "質問項目", "内容", "要求事項", "確認内容",
                 "確認事項", "点検項目", "評価項目", "質問内容", "設問内容", "question", "requirement"),
    "answer": ("回答", "回答欄", "選択肢", "対応状況", "評価", "実施状況", "回答結果", "answer",
               "response", "status"),
    "help": ("備考", "補足", "説明", "解説", "ガイド", "留意事項", "note", "notes", "remarks",
             "guidance"),
}

DONE, IN_PROGRESS, NOT_DONE, YES, NO = "done", "in_progress", "not_done", "yes", "no"
SYMBOLS = {DONE: "○◯〇", IN_PROGRESS: "△▲▵", NOT_DONE: "×✕✖"}
WORDS = {
    DONE: {"o", "対応済み", "対応済", "済", "実施済み"},
    IN_PROGRESS: {"対応中", "一部対応", "検討中"},
    NOT_DONE: {"x", "未対応", "未実施"},
    YES: {"はい", "yes", "y", "有", "有り", "あり"},
    NO: {"いいえ", "no", "n", "無", "無し", "なし"},
}
NOT_APPLICABLE_WORDS = {"-", "ー", "―", "該当なし", "該当無し", "対象外", "非該当", "n/a", "na"}
NOTE_PREFIXES = ("※", "*", "注", "(注", "【注")


class SheetImportError(Exception):
    """The analysis cannot become a template; `problems` says why, in the user's language."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ColumnMapping:
    """Where things are: the header row and the 1-based column of each role (None: absent)."""

    header_row: int | None = None
    number: int | None = None
    section: int | None = None
    question: int | None = None
    answer: int | None = None
    help: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {"header_row": self.header_row, **{role: getattr(self, role) for role in ROLES}}


@dataclass(frozen=True)
class Validation:
    ranges: tuple[tuple[int, int, int, int], ...]  # (min_col, min_row, max_col, max_row)
    choices: tuple[str, ...] | None  # None: a list formula Renkei cannot read
    formula: str

    def covers(self, row: int, col: int) -> bool:
        return any(c1 <= col <= c2 and r1 <= row <= r2 for c1, r1, c2, r2 in self.ranges)


@dataclass
class Grid:
    """The chosen sheet as text: the cached value of each cell, or the formula if none."""

    title: str
    rows: list[list[str]]
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    validations: list[Validation] = field(default_factory=list)
    truncated: bool = False

    def cell(self, row: int | None, col: int | None) -> str:
        if not row or not col or row > len(self.rows):
            return ""
        cells = self.rows[row - 1]
        return cells[col - 1] if col <= len(cells) else ""

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


@dataclass(frozen=True)
class SheetInfo:
    name: str
    header_row: int | None
    hidden: bool


@dataclass
class AnswerSpec:
    type: str
    not_applicable: bool = False
    choices: list[dict[str, Any]] | None = None  # None: the type's default choices
    source: str = "none"  # validation | cell | header | none

    def labels(self) -> list[str]:
        if self.choices:
            labels = [c["label"]["ja"] for c in self.choices]
        else:
            labels = list(DEFAULT_LABELS.get(self.type, ()))
        return labels + ([pgettext("sheet import", "Not applicable")] if self.not_applicable else [])

    @property
    def type_label(self) -> str:
        return str(AnswerType(self.type).label)

    @property
    def source_label(self) -> str:
        return {
            "validation": _("from the drop-down list"),
            "cell": _("from the answer cell"),
            "header": _("from the header legend"),
        }.get(self.source, "")


DEFAULT_LABELS = {"tri_state": ("○ 対応済み", "△ 対応中", "× 未対応"), "yes_no": ("はい", "いいえ")}


@dataclass
class DetectedItem:
    row: int
    id: str
    number: str
    text: str
    help: str
    answer: AnswerSpec


@dataclass
class DetectedSection:
    key: str
    title: str
    row: int | None  # where the title came from (None: generated)
    items: list[DetectedItem] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedRow:
    row: int
    text: str
    reason: str


@dataclass
class SheetAnalysis:
    filename: str
    sheets: list[SheetInfo]
    sheet: str
    grid: Grid
    detected: ColumnMapping  # what detection found on this sheet, before the user's corrections
    mapping: ColumnMapping  # what is used: detection with the overrides applied
    sections: list[DetectedSection]
    skipped: list[SkippedRow]
    warnings: list[str]
    problems: list[str]  # anything here blocks creating the template
    confidence: str  # high | medium | low
    suggested_name: str

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    def columns(self) -> list[tuple[int, str]]:
        """(column number, "B: 設問") for each column, labelled from the header row."""
        width = max(self.grid.width, 1)
        return [
            (col, f"{get_column_letter(col)}: {_one_line(self.grid.cell(self.mapping.header_row, col))}"
             .rstrip(": "))
            for col in range(1, width + 1)
        ]

    def column_letters(self) -> list[str]:
        return [get_column_letter(col) for col in range(1, max(self.grid.width, 1) + 1)]

    def head_rows(self, count: int = HEADER_SCAN_ROWS) -> list[tuple[int, list[str]]]:
        width = max(self.grid.width, 1)
        return [
            (number, [_one_line(self.grid.cell(number, col), 40) for col in range(1, width + 1)])
            for number in range(1, min(count, len(self.grid.rows)) + 1)
        ]

    def row_of(self, path: str) -> int | None:
        """The sheet row behind a loader problem path such as sections[1].items[3].text.ja."""
        match = re.match(r"sections\[(\d+)\](?:\.items\[(\d+)\])?", path)
        if not match:
            return None
        s_index, i_index = int(match.group(1)), match.group(2)
        if s_index >= len(self.sections):
            return None
        section = self.sections[s_index]
        if i_index is None:
            return section.row
        items = section.items
        return items[int(i_index)].row if int(i_index) < len(items) else None


# --- Reading the file -----------------------------------------------------------------------------


def max_unpacked_bytes() -> int:
    return int(settings.RENKEI_SHEET_IMPORT_MAX_UNPACKED_MB) * 1024 * 1024


def refuse_by_name(filename: str) -> None:
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx":
        return
    if suffix in (".xlsm", ".xltm", ".xlsb"):
        raise FileRefused(_("Macro-enabled workbooks (%(suffix)s) are not accepted, because macros can "
                            "run code. Save the check sheet as an Excel workbook (.xlsx) and upload "
                            "that.") % {"suffix": suffix})
    if suffix == ".xls":
        raise FileRefused(_("Old Excel files (.xls) are not supported. Open the file in Excel and "
                            "save it as an Excel workbook (.xlsx)."))
    if suffix in (".csv", ".txt"):
        raise FileRefused(_("A CSV file has no drop-down lists or layout to read. Upload the sheet as "
                            "an Excel workbook (.xlsx)."))
    if suffix == ".ods":
        raise FileRefused(_("OpenDocument spreadsheets (.ods) are not supported. In LibreOffice Calc, "
                            "save the file as “Excel 2007-365 (.xlsx)”."))
    raise FileRefused(_("Unsupported file type “%(name)s”: upload an Excel workbook (.xlsx).")
                      % {"name": filename})


def corrupt() -> FileRefused:
    return FileRefused(_("The Excel file is corrupt or is not an .xlsx workbook. Open it in Excel and "
                         "save it again as .xlsx."))


def read_limited(fileobj: IO[bytes]) -> bytes:
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    refusal = size_refusal(size)
    if refusal:
        raise refusal
    fileobj.seek(0)
    return fileobj.read()


def check_archive(data: bytes) -> None:
    """Refuse what openpyxl should never see: not a zip, macros, a zip bomb."""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRefused(_("This is an old-format (.xls) or password-protected workbook. Remove the "
                            "password and save it as an Excel workbook (.xlsx)."))
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise corrupt()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise corrupt() from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise corrupt()
    names = {m.filename.lower() for m in members}
    if "xl/workbook.xml" not in names:
        raise corrupt()
    if any(name.endswith("vbaproject.bin") for name in names):
        raise FileRefused(_("This workbook contains macros (VBA). Macro-enabled workbooks are not "
                            "accepted; save the check sheet as an Excel workbook (.xlsx) without "
                            "macros."))
    # Declared sizes bound what zipfile will inflate (it stops at the declared size), so their
    # sum is a safe upper bound of the work openpyxl can be made to do.
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_unpacked_bytes():
        raise FileRefused(_("The workbook unpacks to %(size)d MB, more than the %(limit)d MB a check "
                            "sheet can need; it was not opened. Remove images or unused sheets and "
                            "save it again.")
                          % {"size": unpacked // 1024 // 1024,
                             "limit": max_unpacked_bytes() // 1024 // 1024})


def _open_workbooks(data: bytes) -> tuple[Any, Any]:
    from openpyxl import load_workbook

    try:
        values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for broken archives and XML
        raise corrupt() from exc
    return values, formulas


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.strip() for line in text.strip().split("\n") if line.strip())


def _formula_text(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("="):
        return value
    text = getattr(value, "text", None)  # ArrayFormula
    return text if isinstance(text, str) and text.startswith("=") else None


def _rows(sheet: Any, max_row: int) -> Iterator[tuple[Any, ...]]:
    yield from sheet.iter_rows(min_row=1, max_row=max_row, min_col=1, max_col=MAX_COLUMNS,
                               values_only=True)


def _trimmed(values: tuple[Any, ...]) -> list[str]:
    cells = [_text(v) for v in values]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _read_grid(values_sheet: Any, formula_sheet: Any, workbook: Any) -> Grid:
    rows: list[list[str]] = []
    formulas: dict[tuple[int, int], str] = {}
    truncated = False
    pairs = zip(_rows(values_sheet, MAX_ROWS + 1), _rows(formula_sheet, MAX_ROWS + 1), strict=False)
    for number, (cached, raw) in enumerate(pairs, start=1):
        if number > MAX_ROWS:
            truncated = True
            break
        cells = _trimmed(cached)
        for col, value in enumerate(raw, start=1):
            formula = _formula_text(value)
            if formula is None:
                continue
            formulas[(number, col)] = formula
            while len(cells) < col:
                cells.append("")
            if not cells[col - 1]:
                cells[col - 1] = formula  # no cached value (e.g. written by a script): the formula
        rows.append(cells)
    while rows and not any(rows[-1]):
        rows.pop()
    grid = Grid(title=values_sheet.title, rows=rows, formulas=formulas, truncated=truncated)
    grid.validations = _validations(workbook, values_sheet)
    return grid


# --- Drop-down lists (data validation) ------------------------------------------------------------

MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
X14_NS = "{http://schemas.microsoft.com/office/spreadsheetml/2009/9/main}"
XM_NS = "{http://schemas.microsoft.com/office/excel/2006/main}"
RANGE_REF = re.compile(
    r"^(?:(?P<sheet>'(?:[^']|'')+'|[^'!]+)!)?(?P<range>\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?)$"
)


def _validations(workbook: Any, sheet: Any) -> list[Validation]:
    """List validations of SHEET, read straight from its XML: read-only openpyxl skips them, and
    lists that point at another sheet are stored in an extension (x14) openpyxl drops anyway."""
    path = getattr(sheet, "_worksheet_path", None)
    archive = getattr(workbook, "_archive", None)
    if not path or archive is None:
        return []
    found: list[Validation] = []
    try:
        with archive.open(path) as source:
            # The parser openpyxl itself uses: expat (>= 2.4) refuses entity-expansion bombs and
            # ElementTree never fetches external entities.
            for _event, element in ElementTree.iterparse(source, events=("end",)):  # noqa: S314
                tag = element.tag
                if tag == f"{MAIN_NS}row":
                    element.clear()
                elif tag == f"{MAIN_NS}dataValidation" and element.get("type") == "list":
                    formula = element.findtext(f"{MAIN_NS}formula1") or ""
                    found.append(_validation(workbook, sheet, element.get("sqref") or "", formula))
                elif tag == f"{X14_NS}dataValidation" and element.get("type") == "list":
                    formula = element.findtext(f"{X14_NS}formula1/{XM_NS}f") or ""
                    sqref = element.findtext(f"{XM_NS}sqref") or ""
                    found.append(_validation(workbook, sheet, sqref, formula))
    except (ElementTree.ParseError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise corrupt() from exc
    return [v for v in found if v.ranges]


def _validation(workbook: Any, sheet: Any, sqref: str, formula: str) -> Validation:
    ranges = []
    for part in sqref.split():
        try:
            ranges.append(range_boundaries(part))
        except ValueError:
            continue
    return Validation(tuple(ranges), _list_values(workbook, sheet, formula.strip()), formula.strip())


def _list_values(workbook: Any, sheet: Any, formula: str) -> tuple[str, ...] | None:
    formula = formula.lstrip("=")
    if len(formula) >= 2 and formula.startswith('"') and formula.endswith('"'):
        values = [v.strip() for v in formula[1:-1].replace('""', '"').split(",")]
        return tuple(v for v in values if v) or None
    name = workbook.defined_names.get(formula) if hasattr(workbook, "defined_names") else None
    if name is not None:
        formula = (name.attr_text or "").lstrip("=")
    match = RANGE_REF.match(formula.replace(" ", ""))
    if not match:
        return None  # INDIRECT(), OFFSET() and the like: not a list we can read
    target = sheet
    sheet_name = match.group("sheet")
    if sheet_name:
        sheet_name = sheet_name[1:-1].replace("''", "'") if sheet_name.startswith("'") else sheet_name
        if sheet_name not in workbook.sheetnames:
            return None
        target = workbook[sheet_name]
    min_col, min_row, max_col, max_row = range_boundaries(match.group("range").replace("$", ""))
    if (max_col - min_col + 1) * (max_row - min_row + 1) > MAX_LIST_CELLS:
        return None
    values = [
        _text(v)
        for row in target.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col,
                                    max_col=max_col, values_only=True)
        for v in row
    ]
    return tuple(v for v in values if v) or None


# --- Header and column detection ------------------------------------------------------------------


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


def _header_key(text: str) -> str:
    key = re.sub(r"\s+", "", _normalise(text))
    key = re.split(r"[(\[【<]", key, maxsplit=1)[0]  # drop legends: 回答(○:対応済み …)
    return key.rstrip(".:：")


KEYWORD_KEYS = {role: tuple(_header_key(w) for w in words) for role, words in KEYWORDS.items()}


def classify_header(text: str) -> str | None:
    """The role a header cell names ("question" for 設問, 設問内容, ＃設問 …), or None."""
    key = _header_key(text)
    if not key or len(key) > 20:
        return None
    best, best_score = None, 0
    for role, words in KEYWORD_KEYS.items():
        for word in words:
            if key == word:
                score = 100 + len(word)
            elif len(key) - len(word) <= 3 and (key.startswith(word) or key.endswith(word)):
                score = len(word)
            else:
                continue
            if score > best_score:
                best, best_score = role, score
    return best


def header_roles(cells: list[str]) -> dict[str, int]:
    roles: dict[str, int] = {}
    for col, text in enumerate(cells, start=1):
        role = classify_header(text)
        if role and role not in roles:
            roles[role] = col
    if "question" not in roles and "section" in roles:
        roles["question"] = roles.pop("section")  # "No | 項目 | 回答": the items are the questions
    return roles


def _is_header(roles: dict[str, int]) -> bool:
    return "question" in roles and len(roles) >= 2


def find_header_row(rows: list[list[str]]) -> int | None:
    """The first of the first 30 rows naming a question column and one more role."""
    for number, cells in enumerate(rows[:HEADER_SCAN_ROWS], start=1):
        if _is_header(header_roles(cells)):
            return number
    return None


def _mapping_from_header(grid: Grid, header_row: int | None) -> ColumnMapping:
    if not header_row:
        return ColumnMapping()
    roles = header_roles(grid.rows[header_row - 1] if header_row <= len(grid.rows) else [])
    # Sheets that repeat the header per block (seed 004) may name a column only in a later block.
    if "question" in roles:
        for cells in grid.rows[header_row:]:
            again = header_roles(cells)
            if _is_header(again) and again.get("question") == roles["question"]:
                for role, col in again.items():
                    if role not in roles and col not in roles.values():
                        roles[role] = col
    if "answer" not in roles and "question" in roles:
        col = _column_with_lists(grid, header_row, set(roles.values()))
        if col:
            roles["answer"] = col
    return ColumnMapping(header_row=header_row, **roles)


def _column_with_lists(grid: Grid, header_row: int, taken: set[int]) -> int | None:
    counts: dict[int, int] = {}
    for validation in grid.validations:
        for c1, _r1, c2, r2 in validation.ranges:
            if r2 <= header_row:
                continue
            for col in range(c1, min(c2, MAX_COLUMNS) + 1):
                if col not in taken:
                    counts[col] = counts.get(col, 0) + 1
    return max(counts, key=lambda c: (counts[c], -c)) if counts else None


def _apply_overrides(detected: ColumnMapping, overrides: Mapping[str, Any], grid: Grid) -> ColumnMapping:
    mapping = detected
    header = overrides.get("header_row")
    if header and header != detected.header_row:
        mapping = _mapping_from_header(grid, int(header))
        if mapping.question is None:
            mapping = replace(mapping, header_row=int(header))
    changes: dict[str, int | None] = {}
    for role in ROLES:
        value = overrides.get(role)
        if value is None:
            continue
        changes[role] = None if int(value) == NONE else int(value)
    return replace(mapping, **changes)


# --- Answer choices -------------------------------------------------------------------------------


def _choice_kind(label: str) -> str | None:
    text = _normalise(label).strip()
    if not text:
        return None
    if text in NOT_APPLICABLE_WORDS:
        return "n/a"
    for kind, symbols in SYMBOLS.items():
        if text[0] in symbols:
            return kind
    word = re.split(r"[\s:：(]", text, maxsplit=1)[0]
    for kind, words in WORDS.items():
        if text in words or word in words:
            return kind
    return None


def answer_from_choices(labels: list[str] | tuple[str, ...], source: str) -> AnswerSpec:
    """The answer type a drop-down list stands for: ○△× → tri_state, はい/いいえ → yes_no, ○× →
    yes_no shown as ○/×, anything else → single_choice scored from the first (100) to the last (0)."""
    kinds = [_choice_kind(label) for label in labels]
    not_applicable = "n/a" in kinds
    real = [(label, kind) for label, kind in zip(labels, kinds, strict=True) if kind != "n/a"]
    real_kinds = [kind for _label, kind in real]
    if sorted(real_kinds, key=str) == sorted([DONE, IN_PROGRESS, NOT_DONE]):
        return AnswerSpec("tri_state", not_applicable, None, source)
    if sorted(real_kinds, key=str) == [NO, YES]:
        return AnswerSpec("yes_no", not_applicable, None, source)
    if sorted(real_kinds, key=str) == [DONE, NOT_DONE]:
        by_kind = {kind: label for label, kind in real}
        choices = [
            {"value": "yes", "label": {"ja": by_kind[DONE], "en": "Yes"}, "points": 100},
            {"value": "no", "label": {"ja": by_kind[NOT_DONE], "en": "No"}, "points": 0},
        ]
        return AnswerSpec("yes_no", not_applicable, choices, source)
    labels_left = list(dict.fromkeys(label for label, _kind in real))
    if len(labels_left) < 2:
        return AnswerSpec("text", not_applicable, None, source)
    last = len(labels_left) - 1
    choices = [
        {"value": f"c{index + 1}", "label": {"ja": label[:200]},
         "points": round(100 * (last - index) / last)}
        for index, label in enumerate(labels_left[:50])
    ]
    return AnswerSpec("single_choice", not_applicable, choices, source)


def answer_from_legend(text: str, source: str) -> AnswerSpec | None:
    """Choices described in words: 回答 (○：対応済み △：対応中 ×：未対応), はい／いいえ."""
    norm = _normalise(text)
    def has(kind: str) -> bool:
        return any(symbol in norm for symbol in SYMBOLS[kind])
    not_applicable = any(word in norm for word in ("該当なし", "該当無し", "対象外", "n/a"))
    if has(DONE) and has(IN_PROGRESS) and has(NOT_DONE):
        return AnswerSpec("tri_state", not_applicable, None, source)
    if "はい" in norm and "いいえ" in norm or re.search(r"\byes\b.*\bno\b", norm):
        return AnswerSpec("yes_no", not_applicable, None, source)
    if has(DONE) and has(NOT_DONE):
        return answer_from_choices(["○", "×"] + (["該当なし"] if not_applicable else []), source)
    return None


# --- Rows to sections and items -------------------------------------------------------------------


def _one_line(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _title_like(text: str) -> bool:
    flat = text.strip()
    return (
        0 < len(flat) <= 60
        and not flat.startswith(NOTE_PREFIXES)
        and not re.fullmatch(r"[\d.\-\s]+", flat)
        and not flat.endswith(("。", "か", "?", "？"))
    )


@dataclass
class _Row:
    number: int
    kind: str  # item | title | header | skip
    text: str = ""
    reason: str = ""


def _classify_rows(grid: Grid, mapping: ColumnMapping) -> list[_Row]:
    result: list[_Row] = []
    assert mapping.header_row is not None and mapping.question is not None
    for number in range(mapping.header_row + 1, len(grid.rows) + 1):
        cells = grid.rows[number - 1]
        filled = [text for text in cells if text]
        if not filled:
            continue
        roles = header_roles(cells)
        if _is_header(roles) and roles.get("question") == mapping.question:
            result.append(_Row(number, "header", _one_line(" / ".join(filled)),
                               _("the header row repeated")))
            continue
        question = grid.cell(number, mapping.question)
        item_no = grid.cell(number, mapping.number)
        lone = len(filled) == 1
        if question:
            if lone and mapping.number and not item_no and mapping.section is None and _title_like(question):
                result.append(_Row(number, "title", question))
            else:
                result.append(_Row(number, "item", question))
        elif lone and _title_like(filled[0]) and mapping.section is None:
            result.append(_Row(number, "title", filled[0]))
        elif _looks_like_number(item_no):
            result.append(_Row(number, "skip", _one_line(" / ".join(filled)),
                               _("the question cell is empty")))
        else:
            result.append(_Row(number, "skip", _one_line(" / ".join(filled)),
                               _("no question in the question column")))
    return result


def _looks_like_number(text: str) -> bool:
    flat = unicodedata.normalize("NFKC", text).strip()
    return 0 < len(flat) <= 12 and not flat.startswith(("=", *NOTE_PREFIXES)) and any(
        ch.isdigit() for ch in flat)


def _title_above(grid: Grid, header_row: int) -> tuple[int, str] | None:
    for number in range(header_row - 1, max(header_row - 4, 0), -1):
        filled = [text for text in grid.rows[number - 1] if text]
        if not filled:
            continue
        if len(filled) == 1 and _title_like(filled[0]):
            return number, filled[0]
        return None
    return None


def _suggested_name(grid: Grid, header_row: int | None, skip_row: int | None, filename: str) -> str:
    for number in range(1, (header_row or 6)):
        if number > len(grid.rows) or number == skip_row:
            continue
        filled = [text for text in grid.rows[number - 1] if text]
        if len(filled) == 1 and _title_like(filled[0]):
            return filled[0][:200]
    if not re.fullmatch(r"(sheet|シート)\s*\d*", grid.title.strip(), re.I):
        return grid.title[:200]
    return (Path(filename).stem or grid.title)[:200]


def _answer_for(grid: Grid, mapping: ColumnMapping, row: int, block: AnswerSpec | None,
                header_label: str) -> tuple[AnswerSpec, str]:
    """The item's answer type and any text written in its answer cell (kept as help)."""
    if mapping.answer is None:
        return AnswerSpec("text"), ""
    for validation in grid.validations:
        if validation.covers(row, mapping.answer) and validation.choices:
            return answer_from_choices(list(validation.choices), "validation"), ""
    written = grid.cell(row, mapping.answer)
    if written and not written.startswith("="):
        spec = answer_from_legend(written, "cell")
        if spec is not None:
            return spec, ""
        if _choice_kind(written) is None:
            note = f"{header_label}: {written}" if header_label else written
            return (block or AnswerSpec("text")), note
    return (block or AnswerSpec("text")), ""


def _clean_id(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"[^A-Za-z0-9._-]", "-", text).strip("-._")
    return text[:24]


def _assign_ids(sections: list[DetectedSection]) -> None:
    numbers = [_clean_id(i.number) for s in sections for i in s.items]
    unique = all(numbers) and len(set(numbers)) == len(numbers)
    used: set[str] = set()
    for position, section in enumerate(sections, start=1):
        for index, item in enumerate(section.items, start=1):
            number = _clean_id(item.number)
            if unique:
                candidate = number
            elif number:
                candidate = f"S{position}-{number}"
            else:
                candidate = f"S{position}-{index}"
            base, suffix = candidate, 2
            while candidate in used:
                candidate = f"{base}-{suffix}"
                suffix += 1
            used.add(candidate)
            item.id = candidate


def _extract(grid: Grid, mapping: ColumnMapping) -> tuple[list[DetectedSection], list[SkippedRow]]:
    rows = _classify_rows(grid, mapping)
    skipped = [SkippedRow(r.number, r.text, r.reason) for r in rows if r.kind in ("header", "skip")]
    header_text = grid.cell(mapping.header_row, mapping.answer)
    header_label = _one_line(re.split(r"[\(（\n]", header_text, maxsplit=1)[0].strip(), 30)
    block = answer_from_legend(header_text, "header")
    sections: list[DetectedSection] = []
    by_title: dict[str, DetectedSection] = {}

    def section_for(title: str, row: int | None) -> DetectedSection:
        if title not in by_title:
            by_title[title] = DetectedSection(f"s{len(by_title) + 1}", title[:200], row)
            sections.append(by_title[title])
        return by_title[title]

    uses_titles = any(r.kind == "title" for r in rows)
    current: DetectedSection | None = None
    if mapping.section is None and uses_titles:
        above = _title_above(grid, mapping.header_row or 1)
        if above:
            current = section_for(above[1], above[0])
    last_section_value = ""
    for row in rows:
        if row.kind == "header":
            text = grid.cell(row.number, mapping.answer)
            header_label = _one_line(re.split(r"[\(（\n]", text, maxsplit=1)[0].strip(), 30)
            block = answer_from_legend(text, "header")
            continue
        if row.kind == "title":
            current = section_for(row.text, row.number)
            continue
        if row.kind != "item":
            continue
        if mapping.section is not None:
            value = grid.cell(row.number, mapping.section) or last_section_value
            last_section_value = value
            current = section_for(value or grid.title, None if not value else row.number)
        elif current is None:
            fallback = pgettext("sheet import", "General") if uses_titles else grid.title
            current = section_for(fallback, None)
        answer, note = _answer_for(grid, mapping, row.number, block, header_label)
        help_text = "\n".join(t for t in (grid.cell(row.number, mapping.help), note) if t)
        number = grid.cell(row.number, mapping.number)
        current.items.append(DetectedItem(
            row=row.number, id="", number="" if number.startswith("=") else number,
            text=row.text, help=help_text, answer=answer,
        ))
    for section in [s for s in sections if not s.items]:
        sections.remove(section)
        if section.row:
            skipped.append(SkippedRow(section.row, section.title, _("a heading with no questions under it")))
    for index, section in enumerate(sections, start=1):
        section.key = f"s{index}"
    _assign_ids(sections)
    skipped.sort(key=lambda s: s.row)
    return sections, skipped


def _formula_warnings(grid: Grid, mapping: ColumnMapping, sections: list[DetectedSection]) -> list[str]:
    columns = [c for c in (mapping.number, mapping.section, mapping.question, mapping.help) if c]
    rows = [mapping.header_row] + [item.row for s in sections for item in s.items]
    warnings = []
    for row in rows:
        for col in columns:
            formula = grid.formulas.get((row or 0, col))
            if formula is None:
                continue
            shown = grid.cell(row, col)
            ref = f"{get_column_letter(col)}{row}"
            if shown == formula:
                warnings.append(_("%(cell)s holds the formula %(formula)s with no saved result; its text "
                                  "is used as is.") % {"cell": ref, "formula": _one_line(formula, 40)})
            else:
                warnings.append(_("%(cell)s holds the formula %(formula)s; the value shown in Excel "
                                  "(“%(value)s”) is used.")
                                % {"cell": ref, "formula": _one_line(formula, 40),
                                   "value": _one_line(shown, 40)})
    return warnings


# --- Public API -----------------------------------------------------------------------------------


def analyse(fileobj: IO[bytes], filename: str, overrides: Mapping[str, Any] | None = None) -> SheetAnalysis:
    """Read FILEOBJ (an .xlsx) and detect what it holds. Raises FileRefused for unusable files.

    OVERRIDES corrects the detection: "sheet" (a sheet name), "header_row" (a row number), and a
    column number per role (ROLES), NONE (0) meaning "no such column". Missing keys are detected.
    """
    overrides = dict(overrides or {})
    refuse_by_name(filename)
    data = read_limited(fileobj)
    check_archive(data)
    with warnings.catch_warnings():
        # openpyxl warns that it drops list extensions (x14); _validations reads them itself.
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        values_wb, formulas_wb = _open_workbooks(data)
        try:
            return _analyse_workbooks(values_wb, formulas_wb, filename, overrides)
        except FileRefused:
            raise
        except Exception as exc:  # broken XML inside an otherwise valid archive
            raise corrupt() from exc
        finally:
            values_wb.close()
            formulas_wb.close()


def _analyse_workbooks(values_wb: Any, formulas_wb: Any, filename: str,
                       overrides: dict[str, Any]) -> SheetAnalysis:
    sheets = []
    for sheet in values_wb.worksheets:
        head = [_trimmed(row) for row in _rows(sheet, HEADER_SCAN_ROWS)]
        hidden = getattr(sheet, "sheet_state", "visible") != "visible"
        sheets.append(SheetInfo(sheet.title, find_header_row(head), hidden))
    if not sheets:
        raise corrupt()
    warnings: list[str] = []
    wanted = overrides.get("sheet")
    chosen = next((s for s in sheets if s.name == wanted), None)
    if wanted and chosen is None:
        warnings.append(_("There is no sheet named “%(name)s”; the detected sheet is used.")
                        % {"name": wanted})
    if chosen is None:
        chosen = next((s for s in sheets if s.header_row and not s.hidden), None)
    if chosen is None:
        chosen = next((s for s in sheets if not s.hidden), sheets[0])
    values_sheet = values_wb[chosen.name]
    grid = _read_grid(values_sheet, formulas_wb[chosen.name], values_wb)
    return analyse_grid(grid, filename, sheets, overrides, warnings)


def analyse_grid(grid: Grid, filename: str, sheets: list[SheetInfo], overrides: Mapping[str, Any],
                 warnings: list[str] | None = None) -> SheetAnalysis:
    warnings = list(warnings or [])
    detected = _mapping_from_header(grid, find_header_row(grid.rows))
    mapping = _apply_overrides(detected, overrides, grid)
    problems: list[str] = []
    sections: list[DetectedSection] = []
    skipped: list[SkippedRow] = []
    if grid.truncated:
        warnings.append(_("Only the first %(rows)s rows of the sheet were read.") % {"rows": f"{MAX_ROWS:,}"})
    if not mapping.header_row:
        problems.append(_("No header row was found in the first %(rows)d rows (a row with headings such "
                          "as “No”, “設問” and “回答”). Choose the header row and the columns below.")
                        % {"rows": HEADER_SCAN_ROWS})
    elif mapping.header_row > len(grid.rows):
        problems.append(_("Row %(row)d is below the last row of the sheet.") % {"row": mapping.header_row})
    elif not mapping.question:
        problems.append(_("Choose the column that holds the questions."))
    else:
        used = [c for c in (mapping.number, mapping.section, mapping.question, mapping.answer, mapping.help)
                if c]
        if len(used) != len(set(used)):
            problems.append(_("The same column is chosen for two roles; choose a different column for each."))
        sections, skipped = _extract(grid, mapping)
        if not sections:
            problems.append(_("No questions were found below the header row. Check the header row and "
                              "the question column."))
        warnings.extend(_formula_warnings(grid, mapping, sections))
        unreadable = [v.formula for v in grid.validations
                      if v.choices is None and mapping.answer
                      and any(c1 <= mapping.answer <= c2 for c1, _r1, c2, _r2 in v.ranges)]
        if unreadable:
            warnings.append(_("The drop-down list %(formula)s could not be read; those items are "
                              "imported as text answers.") % {"formula": _one_line(unreadable[0], 40)})
    if problems or not detected.header_row:
        confidence = "low"
    elif mapping == detected and detected.answer and detected.number:
        confidence = "high"
    else:
        confidence = "medium"
    title_row = sections[0].row if sections and sections[0].row and sections[0].row < (
        mapping.header_row or 0) else None
    return SheetAnalysis(
        filename=filename, sheets=sheets, sheet=grid.title, grid=grid, detected=detected,
        mapping=mapping, sections=sections, skipped=skipped, warnings=warnings, problems=problems,
        confidence=confidence,
        suggested_name=_suggested_name(grid, mapping.header_row, title_row, filename),
    )


def suggested_key(filename: str) -> str:
    stem = unicodedata.normalize("NFKC", Path(filename or "").stem).lower()
    key = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:40]
    return key or "imported-sheet"


def to_template_data(analysis: SheetAnalysis, mapping_overrides: Mapping[str, Any] | None,
                     key: str, name: str) -> dict[str, Any]:
    """The template of docs/questionnaire-format.md for ANALYSIS with MAPPING_OVERRIDES applied.

    Raises SheetImportError when the sheet (with those corrections) holds no usable questions.
    A different sheet needs a new `analyse`, since only the chosen sheet was read.
    """
    overrides = dict(mapping_overrides or {})
    if overrides.get("sheet") not in (None, "", analysis.sheet):
        raise ValueError("a different sheet needs a new analyse()")
    overrides.pop("sheet", None)
    if overrides:
        analysis = analyse_grid(analysis.grid, analysis.filename, analysis.sheets, overrides)
    if analysis.problems:
        raise SheetImportError(analysis.problems)
    sections = []
    for section in analysis.sections:
        items = []
        for detected in section.items:
            item: dict[str, Any] = {"id": detected.id, "text": {"ja": detected.text}}
            if detected.help:
                item["help"] = {"ja": detected.help}
            item["type"] = detected.answer.type
            if detected.answer.not_applicable:
                item["not_applicable"] = True
            if detected.answer.choices:
                item["choices"] = detected.answer.choices
            items.append(item)
        sections.append({"key": section.key, "title": {"ja": section.title}, "items": items})
    return {
        "key": key,
        "name": {"ja": name},
        "source": {"ja": f"{analysis.filename} / {analysis.sheet}"[:1000],
                   "en": f"{analysis.filename} / {analysis.sheet}"[:1000]},
        "sections": sections,
    }
