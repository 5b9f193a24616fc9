"""The Excel round trip: export an assessment, fill it as a supplier would, import it back."""

import io
import zipfile

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import approve, create_assessment, save_answers, submit
from renkei.questionnaires.models import Answer, Assessment
from renkei.questionnaires.sheets import (
    META_SHEET,
    export_assessment,
    import_assessment_sheet,
    sign,
)
from renkei.questionnaires.tests.helpers import load
from renkei.suppliers.io.readers import FileRefused

pytestmark = pytest.mark.django_db

RICH = {
    "key": "rich",
    "name": {"ja": "取引先チェック", "en": "Supplier check"},
    "sections": [
        {"key": "a", "title": {"ja": "基本", "en": "Basics"}, "items": [
            {"id": "A-01", "text": "バックアップ", "type": "tri_state", "critical": True,
             "help": "=HYPERLINK(\"http://evil\")"},
            {"id": "A-02", "text": "教育", "type": "tri_state"},
            {"id": "A-03", "text": "委託先", "type": "yes_no"},
            {"id": "A-04", "text": "暗号化", "type": "tri_state", "not_applicable": True},
            {"id": "A-05", "text": "ログ", "type": "tri_state"},
        ]},
        {"key": "b", "title": "その他", "items": [
            {"id": "B-01", "text": "P マーク", "type": "certificate", "not_applicable": True},
            {"id": "B-02", "text": "従業員数", "type": "number", "required": False},
            {"id": "B-03", "text": "最終監査日", "type": "date", "required": False},
            {"id": "B-04", "text": "体制", "type": "single_choice",
             "choices": [{"value": "full", "label": "専任", "points": 100},
                         {"value": "part", "label": "兼任", "points": 50}]},
            {"id": "B-05", "text": "クラウド", "type": "multiple_choice",
             "choices": [{"value": "m365", "label": "Microsoft 365", "points": 80},
                         {"value": "gws", "label": "Google Workspace", "points": 80}]},
            {"id": "B-06", "text": "備考", "type": "text", "required": False},
        ]},
    ],
}


@pytest.fixture
def sent(world):
    return create_assessment(Actor.system("t"), world.s1, load(RICH, world.buyer).template)


def exported(assessment, lang="ja"):
    out = io.BytesIO()
    export_assessment(assessment, out, lang=lang)
    return out.getvalue()


def rows_by_id(sheet):
    return {sheet.cell(r, 2).value: r for r in range(9, sheet.max_row + 1) if sheet.cell(r, 2).value}


def fill(data, answers, *, cells=None):
    """Fill answer cells (item id -> value) like a supplier in Excel; CELLS: extra coordinates."""
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    rows = rows_by_id(sheet)
    for item_id, value in answers.items():
        cell = sheet.cell(rows[item_id], 5)
        cell.value = value
        if isinstance(value, str) and value.startswith("=") and " " in value:
            cell.data_type = "s"  # typed as text with a leading quote
    for coordinate, value in (cells or {}).items():
        sheet[coordinate] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def do_import(data, user=None, filename="answers.xlsx", **kwargs):
    actor = Actor.system("t") if user is None else Actor(user=user)
    return import_assessment_sheet(io.BytesIO(data), filename, actor, **kwargs)


def stored(assessment):
    return {a.item.item_id: a.score_value for a in Answer.objects.filter(assessment=assessment)}


FILLED = {"A-01": "◯", "A-02": "▲", "A-03": "ｙｅｓ", "A-04": "該当なし", "A-05": "✕",
          "B-01": "取得", "B-02": "１２０", "B-04": "兼任", "B-05": "Microsoft 365、Google Workspace",
          "B-06": "=1+1 ではなく文字"}


def test_round_trip_saves_answers_and_scores(world, sent):
    data = exported(sent)
    filled = fill(data, FILLED, cells={"I14": "10820123(05)", "J14": "2030-03-31", "F9": "方針あり"})
    result = do_import(filled, world.supplier1)
    assert result.errors == [] and result.changed == 10 and result.unchanged == 1
    assert stored(sent) == {
        "A-01": "done", "A-02": "in_progress", "A-03": "yes", "A-04": "n/a", "A-05": "not_done",
        "B-01": {"held": True, "kind": "", "number": "10820123(05)", "expires_on": "2030-03-31"},
        "B-02": 120, "B-04": "part", "B-05": ["m365", "gws"], "B-06": "=1+1 ではなく文字",
    }
    assert Answer.objects.get(assessment=sent, item__item_id="A-01").comment == "方針あり"
    sent.refresh_from_db()
    assert sent.status == "in_progress" and sent.score is not None
    assert sent.critical_failures == []
    # Importing the same file again changes nothing.
    again = do_import(filled, world.supplier1)
    assert again.errors == [] and again.changed == 0 and again.unchanged == 11


@pytest.mark.parametrize("typed,value", [("〇", "done"), ("o", "done"), ("O", "done"), ("▵", "in_progress"),
                                         ("x", "not_done"), ("X", "not_done"), ("✖", "not_done"),
                                         ("○ 対応済み", "done"), ("対応中", "in_progress")])
def test_characters_people_type(world, sent, typed, value):
    result = do_import(fill(exported(sent), {"A-01": typed}))
    assert result.errors == [] and stored(sent)["A-01"] == value


def test_export_prefills_answers_and_reimport_is_unchanged(world, sent):
    save_answers(Actor.system("t"), sent, {"A-01": "○", "B-01": {"held": "yes", "number": "N1",
                                                                  "expires_on": "2031-01-31"},
                                           "B-03": "2024-05-01", "B-05": ["m365"]},
                 comments={"A-02": "検討中"})
    data = exported(sent)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = rows_by_id(sheet)
    assert sheet.cell(rows["A-01"], 5).value == "○ 対応済み"
    assert sheet.cell(rows["B-01"], 5).value == "取得" and sheet.cell(rows["B-01"], 9).value == "N1"
    assert sheet.cell(rows["A-02"], 6).value == "検討中"
    result = do_import(data)
    assert result.errors == [] and result.changed == 0 and result.unchanged == 11


def test_export_has_dropdowns_protection_and_signed_metadata(world, sent):
    workbook = load_workbook(io.BytesIO(exported(sent)))
    sheet = workbook.worksheets[0]
    assert sheet.title == "回答" and sheet.protection.sheet is True
    assert workbook.security.lockStructure
    rows = rows_by_id(sheet)
    assert sheet.cell(rows["A-01"], 5).protection.locked is False
    assert sheet.cell(rows["A-01"], 6).protection.locked is False
    assert sheet.cell(rows["A-01"], 3).protection.locked is not False
    assert sheet.cell(rows["A-01"], 7).value == "重要"
    lists = workbook["_lists"]
    by_cell = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        ref = validation.formula1.split("!")[1].replace("$", "")
        labels = [c.value for row in lists[ref] for c in row]
        for coordinate in str(validation.sqref).split():
            by_cell[coordinate] = labels
    assert by_cell[f"E{rows['A-01']}"] == ["○ 対応済み", "△ 対応中", "× 未対応"]
    assert by_cell[f"E{rows['A-04']}"] == ["○ 対応済み", "△ 対応中", "× 未対応", "該当なし"]
    assert by_cell[f"E{rows['A-03']}"] == ["はい", "いいえ"]
    assert by_cell[f"E{rows['B-04']}"] == ["専任", "兼任"]
    assert by_cell[f"E{rows['B-01']}"] == ["取得", "未取得", "該当なし"]
    meta = workbook[META_SHEET]
    assert meta.sheet_state == "veryHidden" and lists.sheet_state == "veryHidden"
    assert meta["B2"].value == sent.pk
    # Text a spreadsheet would run as a formula is written as text.
    help_cell = sheet.cell(rows["A-01"], 4)
    assert help_cell.data_type == "s" and help_cell.value.startswith("=HYPERLINK")


def test_english_export(world, sent):
    sheet = load_workbook(io.BytesIO(exported(sent, "en"))).worksheets[0]
    assert sheet.title == "Answers" and sheet.cell(8, 5).value == "Answer"
    result = do_import(fill(exported(sent, "en"), {"A-01": "○ Done", "A-04": "N/A", "B-01": "Not held"}))
    assert result.errors == []
    assert stored(sent)["A-04"] == "n/a" and stored(sent)["B-01"]["held"] is False


def test_formula_in_an_answer_cell_is_an_error_by_cell(world, sent):
    data = fill(exported(sent), {"A-01": "○", "A-02": '=IF(TRUE,"○","×")'})
    result = do_import(data)
    assert [e.as_dict() for e in result.errors] == [
        {"cell": "回答!E10", "reason": "数式は使えません。回答そのものを入力してください。"}]
    assert Answer.objects.count() == 0


def test_invalid_value_is_an_error_with_the_cell_and_nothing_imported(world, sent):
    result = do_import(fill(exported(sent), {"A-01": "○", "A-05": "maybe", "B-02": "たくさん"}))
    assert [e.cell for e in result.errors] == ["回答!E13", "回答!E15"]
    assert "maybe" in result.errors[0].reason and "○ 対応済み" in result.errors[0].reason
    assert result.changed == 0 and Answer.objects.count() == 0


def test_tampered_metadata_is_refused(world, sent):
    other = create_assessment(Actor.system("t"), world.s2, sent.template)
    workbook = load_workbook(io.BytesIO(exported(sent)))
    workbook[META_SHEET]["B2"] = other.pk
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(FileRefused, match="Renkei"):
        do_import(out.getvalue())
    assert Answer.objects.count() == 0


def test_a_sheet_of_another_organization_is_refused(world, sent):
    data = fill(exported(sent), {"A-01": "○"})
    for user in (world.outsider, world.supplier2, world.xcontact):
        with pytest.raises(FileRefused) as refused:
            do_import(data, user)
        assert str(sent.pk) not in refused.value.reason and "S1" not in refused.value.reason
    assert Answer.objects.count() == 0


def resigned(workbook, **changes):
    """The workbook's metadata changed as given and signed again (as only Renkei could)."""
    meta_sheet = workbook[META_SHEET]
    cells = list(meta_sheet.iter_rows(values_only=True, max_col=3))
    body = next(n for n, row in enumerate(cells) if row[0] == "row") + 1
    values = {row[0]: row[1] for row in cells[:body - 1]}
    values.update(changes)
    values["rows"] = [list(row) for row in cells[body:]]
    for number, row in enumerate(cells[:body - 1], start=1):
        if row[0] in changes:
            meta_sheet.cell(number, 2).value = changes[row[0]]
        if row[0] == "signature":
            meta_sheet.cell(number, 2).value = sign(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_superseded_template_version_is_refused(world, sent):
    data = resigned(load_workbook(io.BytesIO(exported(sent))), version=7)
    with pytest.raises(FileRefused, match="第7版用"):
        do_import(data)


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_a_closed_assessment_is_refused(world, sent, status):
    data = exported(sent)
    save_answers(Actor.system("t"), sent, {**FILLED, "B-01": "はい"})
    submit(Actor.system("t"), sent)
    if status == "approved":
        approve(Actor.system("t"), sent)
    with pytest.raises(FileRefused, match="回答を変更できません"):
        do_import(fill(data, {"A-01": "×"}))
    assert Assessment.objects.get(pk=sent.pk).status == status


def test_the_wrong_assessment_page_is_refused(world, sent):
    other = create_assessment(Actor.system("t"), world.s2, sent.template)
    with pytest.raises(FileRefused, match="別の質問票"):
        do_import(exported(sent), expected_assessment=other)


def test_bad_files_get_clear_messages(world, sent, settings):
    data = exported(sent)
    with pytest.raises(FileRefused, match="マクロ"):
        do_import(data, filename="answers.xlsm")
    with pytest.raises(FileRefused, match="壊れ"):
        do_import(b"not a zip at all", filename="answers.xlsx")
    with pytest.raises(FileRefused, match="Renkei"):
        empty = io.BytesIO()
        from openpyxl import Workbook
        Workbook().save(empty)
        do_import(empty.getvalue())
    settings.RENKEI_MAX_UPLOAD_MB = 0
    with pytest.raises(FileRefused, match="大き"):
        do_import(data)
    settings.RENKEI_MAX_UPLOAD_MB = 20
    settings.RENKEI_SHEET_IMPORT_MAX_UNPACKED_MB = 1
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            for info in source.infolist():
                archive.writestr(info.filename, source.read(info.filename))
        archive.writestr("xl/media/padding.bin", b"\0" * (3 * 1024 * 1024))
    with pytest.raises(FileRefused, match="MB"):
        do_import(bomb.getvalue())


# --- Certificates: held, kind, number, expiry ---------------------------------------------------


def test_certificate_kind_column_round_trip(world, sent):
    save_answers(Actor.system("t"), sent, {"B-01": {"held": "yes", "kind": "ISMS", "number": "N1",
                                                    "expires_on": "2031-01-31"}})
    workbook = load_workbook(io.BytesIO(exported(sent)))
    sheet = workbook.worksheets[0]
    row = rows_by_id(sheet)["B-01"]
    assert [sheet.cell(8, col).value for col in (8, 9, 10)] == ["認証の種類", "登録番号", "有効期限"]
    assert sheet.cell(row, 8).value == "ISMS" and sheet.cell(row, 8).protection.locked is False
    # Text cells stay text whatever is typed (a number 00123 keeps its zeros).
    assert {sheet.cell(row, col).number_format for col in (6, 8, 9)} == {"@"}
    (kinds,) = [v for v in sheet.data_validations.dataValidation if f"H{row}" in str(v.sqref)]
    assert kinds.showErrorMessage is False  # a suggestion: any other kind may be typed
    ref = kinds.formula1.split("!")[1].replace("$", "")
    labels = [c.value for line in workbook["_lists"][ref] for c in line]
    assert "プライバシーマーク（Pマーク）" in labels and "SOC 2" in labels
    result = do_import(fill(exported(sent), {}, cells={f"H{row}": "プライバシーマーク",
                                                       f"I{row}": "00123", f"J{row}": "20300331"}))
    assert result.errors == [] and result.changed == 1
    assert stored(sent)["B-01"] == {"held": True, "kind": "プライバシーマーク", "number": "00123",
                                    "expires_on": "2030-03-31"}


def test_certificate_fields_are_checked_by_cell(world, sent):
    row = rows_by_id(load_workbook(io.BytesIO(exported(sent))).worksheets[0])["B-01"]
    result = do_import(fill(exported(sent), {"B-01": "取得"},
                            cells={f"H{row}": "K" * 101, f"J{row}": "来年"}))
    assert [e.cell for e in result.errors] == [f"回答!H{row}", f"回答!J{row}"]
    assert "100" in result.errors[0].reason and "YYYY-MM-DD" in result.errors[1].reason
    # A number without 取得 / 未取得 is an error, not a cleared answer.
    with translation.override("en"):
        result = do_import(fill(exported(sent), {}, cells={f"I{row}": "10820123(05)"}))
    assert [e.cell for e in result.errors] == [f"回答!E{row}"]
    assert "whether the certificate is held" in result.errors[0].reason
    assert Answer.objects.count() == 0


def test_cell_values_as_spreadsheets_store_them(world, sent):
    rows = rows_by_id(load_workbook(io.BytesIO(exported(sent))).worksheets[0])
    # A date serial without a date format, a date typed as a number, a boolean, a float.
    workbook = load_workbook(io.BytesIO(fill(exported(sent), {"A-03": True, "B-02": 120.0})))
    sheet = workbook.worksheets[0]
    for coordinate, value in ((f"E{rows['B-03']}", 45413), (f"J{rows['B-01']}", 20300331)):
        sheet[coordinate] = value
        sheet[coordinate].number_format = "General"
    sheet[f"E{rows['B-01']}"] = "はい"
    out = io.BytesIO()
    workbook.save(out)
    result = do_import(out.getvalue())
    assert result.errors == []
    values = stored(sent)
    assert values["A-03"] == "yes" and values["B-02"] == 120 and values["B-03"] == "2024-05-01"
    assert values["B-01"]["expires_on"] == "2030-03-31"


# --- Files Renkei cannot trust ------------------------------------------------------------------


def test_a_sheet_of_the_previous_format_is_refused_with_the_reason(world, sent):
    workbook = load_workbook(io.BytesIO(exported(sent)))
    workbook[META_SHEET]["B1"] = "renkei-assessment-sheet/1"
    out = io.BytesIO()
    workbook.save(out)
    with translation.override("en"), pytest.raises(FileRefused, match="earlier version of Renkei"):
        do_import(out.getvalue())


def test_moved_rows_are_refused(world, sent):
    workbook = load_workbook(io.BytesIO(fill(exported(sent), {"A-01": "○"})))
    sheet = workbook.worksheets[0]
    sheet.protection.sheet = False
    sheet.insert_rows(10)
    sheet["E10"] = "×"
    out = io.BytesIO()
    workbook.save(out)
    with translation.override("en"), pytest.raises(FileRefused, match="rows were added") as refused:
        do_import(out.getvalue())
    assert "Row 10" in refused.value.reason and "A-02" in refused.value.reason
    assert Answer.objects.count() == 0


# --- Conflicts: answers changed in Renkei after the download ------------------------------------


def test_answers_changed_in_renkei_after_the_download_are_conflicts(world, sent):
    save_answers(Actor.system("t"), sent, {"A-01": "○", "A-05": "○"})
    data = exported(sent)
    save_answers(Actor(user=world.supplier1), sent, {"A-01": "×", "B-02": "5", "A-05": ""},
                 comments={"A-02": "ポータルで"})
    answered = Answer.objects.get(assessment=sent, item__item_id="A-01").answered_at
    # A-01 differs from the newer answer, B-02 would be cleared, A-05 was cleared in Renkei and
    # A-02's newer comment would be dropped; A-03 is new and would be fine.
    with translation.override("en"):
        result = do_import(fill(data, {"A-01": "△", "A-03": "はい"}))
    when = timezone.localtime(answered).strftime("%Y-%m-%d %H:%M")
    assert [(e.cell, e.conflict) for e in result.errors] == [
        ("回答!E9", True), ("回答!F10", True), ("回答!E13", True), ("回答!E15", True)]
    by_cell = {e.cell: e.reason for e in result.errors}
    assert by_cell["回答!E9"] == (f"Answered in Renkei on {when}, after this sheet was downloaded; "
                                 "download a new sheet or change the answer there.")
    assert by_cell["回答!E13"].startswith("Cleared in Renkei after this sheet was downloaded")
    assert result.as_dict()["errors"][0]["conflict"] is True
    assert stored(sent) == {"A-01": "not_done", "A-02": None, "B-02": 5}
    # The same sheet with the newer values where they changed imports cleanly, and again.
    same = fill(data, {"A-01": "×", "B-02": 5, "A-03": "はい", "A-05": None},
                cells={"F10": "ポータルで"})
    result = do_import(same)
    assert result.errors == [] and result.changed == 1
    assert do_import(same).changed == 0


def test_an_unchanged_sheet_after_changes_in_renkei_imports_nothing_and_reports_nothing(world, sent):
    data = exported(sent)
    save_answers(Actor.system("t"), sent, {"A-01": "○"})
    result = do_import(fill(data, {"A-01": "○ 対応済み"}))
    assert result.errors == [] and result.changed == 0
