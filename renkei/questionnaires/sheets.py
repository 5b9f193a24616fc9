"""The Excel round trip of an assessment (docs/questionnaires.md, "Excel round trip").

    export_assessment(assessment, out, lang="ja") -> None
    import_assessment_sheet(fileobj, filename, actor, *, expected_assessment=None)
        -> SheetImportResult(assessment, changed, unchanged, errors)

The export writes one sheet (回答 / Answers): a title block, a header row and one row per item,
with the answer cell (column E) and the comment cell (F) unlocked and everything else protected
(no password: it stops accidents, not people). Choice items get a drop-down list. Certificate
items are answered 取得 / 未取得 in E, with the kind in H (a drop-down of the usual kinds that also
takes free text), the registration number in I and the expiry date in J. Cells meant for text
(comments, text answers, kinds, numbers) are formatted as text, so a spreadsheet keeps what is
typed there (a registration number 00123 stays 00123). A very hidden sheet `_renkei` ties the
file to its assessment, organization, template version, the time of the export and, per row, the
item and a digest of the answer it was exported with, under an HMAC (SECRET_KEY).

The import opens the file with the checks of renkei.questionnaires.sheet_import (size, macros,
old formats, zip bombs, corrupt files), verifies the signature, the assessment (visible and
changeable for the actor), the template version and the status, checks that every row still
holds its item, then reads every answer cell: formulas are refused (their cached values are not
trusted), values go through values.parse_answer. An answer changed in Renkei after the export
(answered_at later than the export, or not the answer the sheet was exported with) that the
sheet would change is a conflict: the sheet must not silently undo newer work. Any error or
conflict imports nothing; otherwise save_answers writes all at once.

LibreOffice Calc saves these files differently from openpyxl (shared strings, `hidden` instead of
`veryHidden`, no workbook structure lock, dates typed as serial numbers with a date format,
TRUE as 1 in a boolean format, emptied cells as empty strings); the reader takes all of them.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import warnings
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils import formats, timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from renkei.audit.services import Actor
from renkei.core.permissions import CHANGE
from renkei.questionnaires.assessments_services import (
    AnswersInvalid,
    AssessmentError,
    save_answers,
)
from renkei.questionnaires.choices import ANSWERABLE_STATUSES, NOT_APPLICABLE, AnswerType
from renkei.questionnaires.models import Answer, Assessment, Choice, Item, localized
from renkei.questionnaires.sheet_import import check_archive, corrupt, read_limited, refuse_by_name
from renkei.questionnaires.values import (
    CERTIFICATE_FIELD_MAX,
    COMMENT_MAX,
    AnswerError,
    AnswerSpec,
    is_not_applicable,
    normalize,
    parse_answer,
    parse_date,
    parse_text,
)
from renkei.suppliers.io.columns import FORMULA_TRIGGERS
from renkei.suppliers.io.readers import FileRefused

FORMAT = "renkei-assessment-sheet/2"
# Format 1 had no kind column, no export time and no answer digests: it cannot be checked for
# answers changed in Renkei since, so it is refused with its own message.
OLD_FORMATS = frozenset({"renkei-assessment-sheet/1"})
META_SHEET = "_renkei"
LISTS_SHEET = "_lists"
SIGNING_SALT = "renkei.questionnaires.sheets"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_ROW = 8
FIRST_ROW = HEADER_ROW + 1
# Columns of the answer sheet (1-based).
COL_SECTION, COL_ID, COL_QUESTION, COL_HELP, COL_ANSWER, COL_COMMENT, COL_CRITICAL = 1, 2, 3, 4, 5, 6, 7
COL_CERT_KIND, COL_CERT_NUMBER, COL_CERT_EXPIRES = 8, 9, 10
ANSWER_LETTER, COMMENT_LETTER = "E", "F"
KIND_LETTER, NUMBER_LETTER, EXPIRES_LETTER = "H", "I", "J"
LAST_LETTER = EXPIRES_LETTER
TEXT_FORMAT = "@"
NO_ANSWER = "-"  # the digest column of a row exported without an answer

# Words of the file itself: the language of the export, not of the person running it.
WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "sheet": "回答",
        "title": "セキュリティチェックシート 回答",
        "supplier": "取引先",
        "buyer": "依頼元",
        "template": "質問票",
        "due": "回答期限",
        "instructions": "記入方法",
        "instructions_text": (
            "黄色の「回答」欄と「コメント」欄だけを記入してください（選択肢はプルダウンから選べます）。"
            "○ 対応済み / △ 対応中 / × 未対応、はい / いいえ、該当なし などで回答します。"
            "認証の項目は「取得」または「未取得」を選び、取得している場合は認証の種類、登録番号と"
            "有効期限（例: 2026-03-31）を記入してください。複数選択の項目は「、」で区切って書いてください。"
            "数式は使えません。行や列を追加・削除せず、このファイルのまま Renkei で取り込んでください。"
        ),
        "headers": "分類|項目ID|設問|説明|回答|コメント|重要|認証の種類|登録番号|有効期限",
        "critical": "重要",
        "held": "取得",
        "not_held": "未取得",
        "na": "該当なし",
        "multiple": "複数選択（「、」区切り）: ",
        "file": "（証跡ファイルは Renkei の画面で添付してください）",
        "upload": "ポータルでアップロードしてください",
        "version": "第%(version)d版",
    },
    "en": {
        "sheet": "Answers",
        "title": "Security questionnaire: answers",
        "supplier": "Supplier",
        "buyer": "Requested by",
        "template": "Questionnaire",
        "due": "Due date",
        "instructions": "How to fill in",
        "instructions_text": (
            "Fill in only the yellow Answer and Comment cells (choose from the drop-down lists). "
            "Answer with ○ Done / △ In progress / × Not done, Yes / No, N/A and so on. For "
            "certificates choose Held or Not held and, when held, enter the kind, the registration "
            "number and the expiry date (e.g. 2026-03-31). Separate several choices with commas. "
            "Formulas are not accepted. Do not add or delete rows or columns; import this file into "
            "Renkei as it is."
        ),
        "headers": ("Section|Item ID|Question|Help|Answer|Comment|Critical|Certificate kind|"
                    "Registration no.|Expires"),
        "critical": "Critical",
        "held": "Held",
        "not_held": "Not held",
        "na": "N/A",
        "multiple": "Several choices (comma-separated): ",
        "file": "(attach the evidence file in Renkei)",
        "upload": "Upload the file in the portal",
        "version": "version %(version)d",
    },
}
HELD_WORDS = {"取得", "取得済", "取得済み", "held", "保有", "有"}
NOT_HELD_WORDS = {"未取得", "notheld", "not held", "無"}


@dataclass(frozen=True)
class CellError:
    cell: str  # 回答!E12
    reason: str
    conflict: bool = False  # changed in Renkei after the sheet was downloaded

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cell": self.cell, "reason": self.reason}
        if self.conflict:
            data["conflict"] = True
        return data


@dataclass
class SheetImportResult:
    assessment: Assessment | None
    changed: int = 0
    unchanged: int = 0
    errors: list[CellError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"assessment": self.assessment.pk if self.assessment else None,
                "changed": self.changed, "unchanged": self.unchanged,
                "errors": [e.as_dict() for e in self.errors]}


# --- Signing ------------------------------------------------------------------------------------


META_FIELDS = ("format", "assessment", "organization", "template_id", "template", "version",
               "sheet", "exported_at")


def _payload(meta: dict[str, Any]) -> str:
    fields = (*META_FIELDS, "rows")
    return json.dumps([meta.get(name) for name in fields], ensure_ascii=False, separators=(",", ":"))


def sign(meta: dict[str, Any]) -> str:
    return salted_hmac(SIGNING_SALT, _payload(meta), algorithm="sha256").hexdigest()


def answer_digest(answer: Answer | None) -> str:
    """A short fingerprint of an answer (value and comment), NO_ANSWER for none; it starts with
    a letter so no spreadsheet takes it for a number."""
    if answer is None:
        return NO_ANSWER
    text = json.dumps([answer.score_value, answer.comment], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return "v" + hashlib.sha256(text.encode()).hexdigest()[:16]


def certificate_kinds() -> list[str]:
    """The usual certificate kinds in the active language (the registry's, without "other")."""
    from renkei.suppliers.choices import CertificationKind

    return [str(label) for value, label in CertificationKind.choices if value != CertificationKind.OTHER]


# --- Export -------------------------------------------------------------------------------------


def _items(assessment: Assessment) -> list[Item]:
    from django.db.models import Prefetch

    return list(
        Item.objects.filter(template_id=assessment.template_id).select_related("section")
        .order_by("order")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("order")))
    )


def _text_cell(cell: Any, value: Any) -> None:
    """Write VALUE; text a spreadsheet would run as a formula stays text."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"
        cell.quotePrefix = True


def _choice_labels(item: Item, words: dict[str, str]) -> list[str]:
    spec = AnswerSpec.of(item).with_default_choices()
    if item.answer_type == AnswerType.CERTIFICATE:
        labels = [words["held"], words["not_held"]]
    else:
        labels = [localized(c.label_ja, c.label_en) for c in spec.choices]
    if item.allow_na:
        labels.append(words["na"])
    return labels


def _answer_text(item: Item, answer: Answer | None, words: dict[str, str]) -> Any:
    """The current answer as the cell shows it (a label, a date, a number, text)."""
    if answer is None:
        return None
    if answer.not_applicable or answer.value == NOT_APPLICABLE:
        return words["na"]
    value = answer.value
    if value is None:
        return None
    labels = {c.value: localized(c.label_ja, c.label_en)
              for c in AnswerSpec.of(item).with_default_choices().choices}
    kind = item.answer_type
    if kind == AnswerType.MULTIPLE_CHOICE and isinstance(value, list):
        return ("、" if words is WORDS["ja"] else ", ").join(labels.get(v, v) for v in value)
    if kind in (AnswerType.TRI_STATE, AnswerType.YES_NO, AnswerType.SINGLE_CHOICE):
        return labels.get(value, value)
    if kind == AnswerType.CERTIFICATE and isinstance(value, dict):
        return words["held"] if value.get("held") else words["not_held"]
    if kind == AnswerType.DATE and isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def export_assessment(assessment: Assessment, out: IO[bytes], lang: str = "ja") -> None:
    """Write ASSESSMENT as an .xlsx a supplier fills offline (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    lang = lang if lang in WORDS else "ja"
    words = WORDS[lang]
    with translation.override(lang):
        # Taken before the answers are read: an answer saved in between is either in the sheet
        # or later than this time (never silently lost on import).
        exported_at = timezone.now()
        items = _items(assessment)
        answers = {a.item_id: a for a in Answer.objects.filter(assessment=assessment)}
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = words["sheet"]
        lists = workbook.create_sheet(LISTS_SHEET)
        meta_sheet = workbook.create_sheet(META_SHEET)
        bold = Font(bold=True)
        wrap = Alignment(wrap_text=True, vertical="top")
        editable = PatternFill("solid", fgColor="FFF2CC")
        unlocked = Protection(locked=False)

        template = assessment.template
        title_rows = [
            (words["title"], ""),
            (words["supplier"], f"{assessment.supplier.name} ({assessment.supplier.code})"),
            (words["buyer"], localized(assessment.organization.name,
                                       getattr(assessment.organization, "name_en", ""))),
            (words["template"], f"{template.name} ({template.key} "
                                f"{words['version'] % {'version': template.version}})"),
            (words["due"], assessment.due_on.isoformat() if assessment.due_on else "—"),
            (words["instructions"], words["instructions_text"]),
        ]
        for number, (label, value) in enumerate(title_rows, start=1):
            _text_cell(sheet.cell(number, 1), label)
            sheet.cell(number, 1).font = bold
            _text_cell(sheet.cell(number, 3), value)
            sheet.cell(number, 3).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=6, start_column=3, end_row=6, end_column=COL_CERT_EXPIRES)
        sheet.row_dimensions[6].height = 90
        sheet.cell(1, 1).font = Font(bold=True, size=14)
        for col, header in enumerate(words["headers"].split("|"), start=1):
            cell = sheet.cell(HEADER_ROW, col, header)
            cell.font = bold
        for col, width in zip("ABCDEFGHIJ", (18, 10, 50, 40, 18, 30, 8, 20, 18, 14), strict=True):
            sheet.column_dimensions[col].width = width

        validations: dict[tuple[str, ...], DataValidation] = {}

        def list_validation(labels: tuple[str, ...], strict: bool = True) -> DataValidation:
            """One drop-down per list of labels, its labels on the hidden _lists sheet. Not
            STRICT: the list only suggests, any other text is accepted."""
            key = (*labels, "" if strict else "\0free")
            validation = validations.get(key)
            if validation is None:
                list_row = len(validations) + 1
                for col, label in enumerate(labels, start=1):
                    _text_cell(lists.cell(list_row, col), label)
                end = lists.cell(list_row, len(labels)).column_letter
                validation = DataValidation(
                    type="list", formula1=f"'{LISTS_SHEET}'!$A${list_row}:${end}${list_row}",
                    allow_blank=True, showErrorMessage=strict, showDropDown=False,
                    errorTitle=words["sheet"], error=" / ".join(labels) if strict else None,
                )
                validations[key] = validation
                sheet.add_data_validation(validation)
            return validation

        kinds = tuple(certificate_kinds())
        rows: list[list[Any]] = []
        for offset, item in enumerate(items):
            row = FIRST_ROW + offset
            answer = answers.get(item.pk)
            rows.append([row, item.item_id, answer_digest(answer)])
            help_text = item.help
            if item.answer_type == AnswerType.MULTIPLE_CHOICE:
                choices = ", ".join(localized(c.label_ja, c.label_en) for c in item.choices.all())
                help_text = (words["multiple"] + choices + ("\n" + help_text if help_text else ""))
            if item.answer_type == AnswerType.FILE:
                help_text = (help_text + "\n" if help_text else "") + words["file"]
            values = [item.section.title, item.item_id, item.text, help_text]
            for col, value in enumerate(values, start=1):
                _text_cell(sheet.cell(row, col), value)
                sheet.cell(row, col).alignment = wrap
            if item.critical:
                sheet.cell(row, COL_CRITICAL, words["critical"]).font = Font(bold=True, color="C00000")
            answer_cell = sheet.cell(row, COL_ANSWER)
            comment_cell = sheet.cell(row, COL_COMMENT)
            if item.answer_type != AnswerType.FILE:
                _text_cell(answer_cell, _answer_text(item, answer, words))
                if item.answer_type == AnswerType.DATE:
                    answer_cell.number_format = "yyyy-mm-dd"
                elif item.answer_type == AnswerType.TEXT:
                    answer_cell.number_format = TEXT_FORMAT
                answer_cell.protection = unlocked
                answer_cell.fill = editable
            else:  # the file is the answer: uploaded in Renkei, never read from the sheet
                _text_cell(answer_cell, words["upload"])
            _text_cell(comment_cell, answer.comment if answer else None)
            comment_cell.protection = unlocked
            comment_cell.fill = editable
            comment_cell.alignment = wrap
            comment_cell.number_format = TEXT_FORMAT
            if item.answer_type == AnswerType.CERTIFICATE:
                value = answer.value if answer and isinstance(answer.value, dict) else {}
                kind_cell = sheet.cell(row, COL_CERT_KIND)
                number_cell = sheet.cell(row, COL_CERT_NUMBER)
                expires_cell = sheet.cell(row, COL_CERT_EXPIRES)
                _text_cell(kind_cell, value.get("kind") or None)
                _text_cell(number_cell, value.get("number") or None)
                expires = value.get("expires_on")
                expires_cell.value = datetime.date.fromisoformat(expires) if expires else None
                kind_cell.number_format = number_cell.number_format = TEXT_FORMAT
                expires_cell.number_format = "yyyy-mm-dd"
                for cell in (kind_cell, number_cell, expires_cell):
                    cell.protection = unlocked
                    cell.fill = editable
                if kinds:
                    list_validation(kinds, strict=False).add(kind_cell.coordinate)
            if item.answer_type in (AnswerType.TRI_STATE, AnswerType.YES_NO, AnswerType.SINGLE_CHOICE,
                                    AnswerType.CERTIFICATE):
                list_validation(tuple(_choice_labels(item, words))).add(answer_cell.coordinate)
        sheet.freeze_panes = sheet.cell(FIRST_ROW, COL_QUESTION)
        sheet.protection.sheet = True
        sheet.protection.formatColumns = False
        sheet.protection.formatRows = False
        lists.sheet_state = "veryHidden"

        meta = {"format": FORMAT, "assessment": assessment.pk,
                "organization": assessment.organization_id, "template_id": template.pk,
                "template": template.key, "version": template.version, "sheet": sheet.title,
                "exported_at": exported_at.isoformat(), "rows": rows}
        meta_rows = [[name, meta[name]] for name in META_FIELDS]
        meta_rows += [["signature", sign(meta)], ["row", "item", "answer"]]
        for values in [*meta_rows, *rows]:
            meta_sheet.append(values)
        meta_sheet.sheet_state = "veryHidden"
        meta_sheet.protection.sheet = True
        workbook.security = WorkbookProtection(lockStructure=True)
        workbook.save(out)


def filename_for(assessment: Assessment) -> str:
    return f"assessment-{assessment.pk}-{assessment.supplier.code}-{assessment.template.key}.xlsx"


# --- Import -------------------------------------------------------------------------------------


def _not_renkei() -> FileRefused:
    return FileRefused(_("This is not an answer sheet exported by Renkei (its hidden information is "
                         "missing or was changed). Download the sheet from the assessment page again "
                         "and enter the answers there."))


def _read_meta(workbook: Any) -> dict[str, Any]:
    if META_SHEET not in workbook.sheetnames:
        raise _not_renkei()
    cells = list(workbook[META_SHEET].iter_rows(min_row=1, max_col=3, values_only=True))
    head: dict[str, Any] = {}
    body = None
    for index, (key, value, _extra) in enumerate(cells):
        if key == "row":
            body = index + 1
            break
        if key is not None:
            head[str(key)] = value
    if head.get("format") in OLD_FORMATS:
        raise FileRefused(_("This answer sheet was downloaded from an earlier version of Renkei. It "
                            "cannot show which answers were changed in Renkei after it was "
                            "downloaded, so it is not imported. Download the sheet again from the "
                            "assessment page and copy your answers into it."))
    try:
        meta = {
            "format": str(head["format"]),
            "assessment": int(head["assessment"]),
            "organization": int(head["organization"]),
            "template_id": int(head["template_id"]),
            "template": str(head["template"]),
            "version": int(head["version"]),
            "sheet": str(head["sheet"]),
            "exported_at": str(head["exported_at"]),
            "rows": [[int(r), str(i), NO_ANSWER if d is None else str(d)]
                     for r, i, d in cells[body:] if r is not None] if body else None,
        }
        signature = str(head["signature"])
        exported_at = datetime.datetime.fromisoformat(meta["exported_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _not_renkei() from exc
    if (meta["format"] != FORMAT or meta["rows"] is None or exported_at.tzinfo is None
            or not constant_time_compare(signature, sign(meta))):
        raise _not_renkei()
    return {**meta, "exported_at": exported_at}


def _assessment_for(meta: dict[str, Any], actor: Actor) -> Assessment:
    queryset = Assessment.objects.select_related("supplier", "template", "organization")
    if actor.user is not None:
        queryset = Assessment.objects.for_user(actor.user, CHANGE).select_related(
            "supplier", "template", "organization")
    assessment = queryset.filter(pk=meta["assessment"], organization_id=meta["organization"]).first()
    if assessment is None:
        raise FileRefused(_("This sheet belongs to an assessment you cannot answer, or one that no "
                            "longer exists."))
    template = assessment.template
    if (template.pk, template.key, template.version) != (meta["template_id"], meta["template"],
                                                         meta["version"]):
        raise FileRefused(_("This sheet was made for version %(old)d of “%(key)s”, but the assessment "
                            "uses version %(new)d. Download the current sheet and enter the answers "
                            "there.") % {"old": meta["version"], "key": meta["template"],
                                         "new": template.version})
    if assessment.status not in ANSWERABLE_STATUSES:
        raise FileRefused(_("This assessment is %(status)s; answers can no longer be changed, so the "
                            "sheet was not imported.") % {"status": assessment.get_status_display()})
    return assessment


def _is_formula(cell: Any) -> bool:
    return cell.data_type == "f" or type(cell.value).__name__ in ("ArrayFormula", "DataTableFormula")


def _plain(value: Any) -> Any:
    """A cell value as the parser takes it: whole floats as int, midnight datetimes as dates."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0, 0):
        return value.date()
    return value


def _as_text(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def _held(value: Any) -> Any:
    if isinstance(value, str):
        key = normalize(value).casefold()
        if key in HELD_WORDS or key.replace(" ", "") in HELD_WORDS:
            return "yes"
        if key in NOT_HELD_WORDS or key.replace(" ", "") in NOT_HELD_WORDS:
            return "no"
    return value


# Dates as serial numbers without a date format: 1950-01-01 to 2100-12-31 only, so that a
# stray small number is not read as a day in 1900.
EXCEL_EPOCH = datetime.date(1899, 12, 30)
SERIALS = range(18264, 73416)


def _date_value(value: Any) -> Any:
    """A date cell as the parser takes it: serials and YYYYMMDD typed as a number included."""
    value = _plain(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if 19000101 <= value <= 29991231:
            return str(value)
        if value in SERIALS:
            return EXCEL_EPOCH + datetime.timedelta(days=value)
    return value


def _check_rows(sheet: Any, meta: dict[str, Any]) -> None:
    """Every row must still hold its item: answers of moved rows would land on other items."""
    for row, item_id, _digest in meta["rows"]:
        found = sheet.cell(row, COL_ID).value
        found = "" if found is None else str(_plain(found)).strip()
        if found != item_id:
            raise FileRefused(_("Row %(row)d of the sheet should hold item %(item)s but holds "
                                "“%(found)s”: rows were added, deleted or sorted. Download the sheet "
                                "again and enter the answers without moving rows.")
                              % {"row": row, "item": item_id, "found": found[:50]})


def _certificate(cells: dict[str, Any], held_cell: Any) -> tuple[Any, list[tuple[str, str]]]:
    """The raw certificate answer from E (held), H (kind), I (number), J (expiry), and the errors
    of the H, I and J cells (letter, message). E blank with H, I or J filled is an error: the
    certificate would otherwise be cleared with what was typed."""
    fields = {"kind": _as_text(_plain(cells[KIND_LETTER].value)),
              "number": _as_text(_plain(cells[NUMBER_LETTER].value)),
              "expires_on": _date_value(cells[EXPIRES_LETTER].value)}
    filled = {key: value for key, value in fields.items()
              if value is not None and not (isinstance(value, str) and not value.strip())}
    blank = held_cell is None or (isinstance(held_cell, str) and not held_cell.strip())
    if blank and not filled:
        return None, []
    if is_not_applicable(held_cell):
        return held_cell, []
    errors = []
    for letter, key in ((KIND_LETTER, "kind"), (NUMBER_LETTER, "number")):
        if key in filled:
            try:
                parse_text(filled[key], CERTIFICATE_FIELD_MAX)
            except AnswerError as exc:
                errors.append((letter, exc.message))
    if "expires_on" in filled:
        try:
            parse_date(filled["expires_on"])
        except AnswerError as exc:
            errors.append((EXPIRES_LETTER, exc.message))
    return {"held": "" if blank else _held(held_cell), **fields}, errors


def _conflict(answer: Answer | None, exported_at: datetime.datetime, digest: str) -> str | None:
    """Why ANSWER (the current one) was changed in Renkei after the export, or None."""
    if answer is not None and answer.answered_at and answer.answered_at > exported_at:
        when = formats.date_format(timezone.localtime(answer.answered_at), "Y-m-d H:i")
        return _("Answered in Renkei on %(when)s, after this sheet was downloaded; download a new "
                 "sheet or change the answer there.") % {"when": when}
    if answer_digest(answer) != digest:
        if answer is None:
            return _("Cleared in Renkei after this sheet was downloaded; download a new sheet or "
                     "change the answer there.")
        return _("Changed in Renkei after this sheet was downloaded; download a new sheet or change "
                 "the answer there.")
    return None


def import_assessment_sheet(
    fileobj: IO[bytes], filename: str, actor: Actor, *, expected_assessment: Assessment | None = None,
) -> SheetImportResult:
    """Import a filled answer sheet. Raises FileRefused when the file cannot be used at all;
    returns errors by cell (and imports nothing) when some answers are refused or would undo
    answers changed in Renkei after the sheet was downloaded (conflicts)."""
    refuse_by_name(filename)
    data = read_limited(fileobj)
    check_archive(data)
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        try:
            workbook = load_workbook(io.BytesIO(data), data_only=False)
        except Exception as exc:  # openpyxl raises many types for broken archives and XML
            raise corrupt() from exc
    meta = _read_meta(workbook)
    if expected_assessment is not None and meta["assessment"] != expected_assessment.pk:
        raise FileRefused(_("This sheet belongs to another assessment. Upload it on that "
                            "assessment's page."))
    assessment = _assessment_for(meta, actor)
    if meta["sheet"] not in workbook.sheetnames:
        raise _not_renkei()
    sheet = workbook[meta["sheet"]]
    _check_rows(sheet, meta)
    items = {item.item_id: item for item in _items(assessment)}
    existing = {a.item_id: a for a in Answer.objects.filter(assessment=assessment)}
    title = meta["sheet"]
    errors: list[CellError] = []
    mapping: dict[str, Any] = {}
    comments: dict[str, str] = {}
    changed = unchanged = 0
    for row, item_id, digest in meta["rows"]:
        item = items.get(item_id)
        if item is None:
            raise _not_renkei()

        def cell_ref(letter: str, row: int = row) -> str:
            return f"{title}!{letter}{row}"

        letters = [ANSWER_LETTER, COMMENT_LETTER]
        if item.answer_type == AnswerType.CERTIFICATE:
            letters += [KIND_LETTER, NUMBER_LETTER, EXPIRES_LETTER]
        cells = {letter: sheet[f"{letter}{row}"] for letter in letters}
        bad = [letter for letter, cell in cells.items() if _is_formula(cell)]
        for letter in bad:
            errors.append(CellError(cell_ref(letter), _("Formulas are not accepted; type the "
                                                         "answer itself.")))
        if bad:
            continue
        comment = cells[COMMENT_LETTER].value
        comment = "" if comment is None else str(_as_text(_plain(comment))).strip()
        if len(comment) > COMMENT_MAX:
            errors.append(CellError(cell_ref(COMMENT_LETTER),
                                    _("The comment is longer than %(limit)d characters.")
                                    % {"limit": COMMENT_MAX}))
            continue
        answer = existing.get(item.pk)
        before = (answer.score_value, answer.comment) if answer else (None, "")
        if item.answer_type == AnswerType.FILE:  # evidence is attached in Renkei, not in the sheet
            if comment == before[1]:
                unchanged += 1
                continue
            conflict = _conflict(answer, meta["exported_at"], digest)
            if conflict:
                errors.append(CellError(cell_ref(COMMENT_LETTER), conflict, conflict=True))
                continue
            comments[item_id] = comment
            changed += 1
            continue
        raw = _plain(cells[ANSWER_LETTER].value)
        if item.answer_type in (AnswerType.TEXT, AnswerType.SINGLE_CHOICE, AnswerType.MULTIPLE_CHOICE,
                                AnswerType.TRI_STATE, AnswerType.YES_NO):
            raw = _as_text(raw)
        elif item.answer_type == AnswerType.DATE:
            raw = _date_value(raw)
        elif item.answer_type == AnswerType.CERTIFICATE:
            raw, field_errors = _certificate(cells, raw)
            if field_errors:
                errors += [CellError(cell_ref(letter), message) for letter, message in field_errors]
                continue
        try:
            parsed = parse_answer(item, raw)
        except AnswerError as exc:
            errors.append(CellError(cell_ref(ANSWER_LETTER), exc.message))
            continue
        after = (parsed.as_value if not parsed.is_empty else None, comment)
        if before == after:
            unchanged += 1
            continue
        conflict = _conflict(answer, meta["exported_at"], digest)
        if conflict:
            letter = COMMENT_LETTER if before[0] == after[0] else ANSWER_LETTER
            errors.append(CellError(cell_ref(letter), conflict, conflict=True))
            continue
        mapping[item_id] = raw
        comments[item_id] = comment
        changed += 1
    if errors:
        return SheetImportResult(assessment, 0, 0, errors)
    if mapping or comments:
        try:
            save_answers(actor, assessment, mapping, comments=comments)
        except AnswersInvalid as exc:
            rows = {item_id: row for row, item_id, _digest in meta["rows"]}
            return SheetImportResult(assessment, 0, 0, [
                CellError(f"{title}!{ANSWER_LETTER}{rows.get(item_id, '')}", message)
                for item_id, message in exc.errors.items()])
        except AssessmentError as exc:
            raise FileRefused(exc.message) from exc
    return SheetImportResult(assessment, changed, unchanged, [])
