"""Detecting and converting a buyer's Excel check sheet (renkei.questionnaires.sheet_import).

Every workbook is built here with openpyxl to look like sheets buyers really send: the seed 004
layout, a 分類 column with merged cells, drop-down lists, a header below a title, full-width
headings, several sheets, formulas; and files that must be refused.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from django.utils import translation
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from renkei.questionnaires import sheet_import as si
from renkei.questionnaires.loader import validate
from renkei.suppliers.io.readers import FileRefused

LEGEND = "回答 (○：対応済み △：対応中 ×：未対応)"
PROTECTION = [
    "情報セキュリティ方針の策定を行い公表していますか",
    "従業員との間で守秘義務契約を締結していますか",
    "データのバックアップを定期的の実施していますか",
]
CYBER = [
    "セキュリティポリシーを策定し、宣言していますか",
    "インシデントが発生した場合の連絡先・伝達ルートが明確になっていますか",
]


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English here; the Japanese catalog is checked by the page tests.
    with translation.override("en"):
        yield


def to_bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def seed_004_workbook() -> Workbook:
    """The サプライチェーンリスク管理シート: a title, then blocks each with a title row and its own
    header row; the first block's third column is 詳細 with a hint, the others carry the legend."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "管理シート"
    sheet.append(["サプライチェーンリスク管理シート"])
    sheet.append([])
    sheet.append(["情報セキュリティにおける第三者認証の有無"])
    sheet.merge_cells("A3:C3")
    sheet.append(["No", "設問", "詳細"])
    sheet.append([1, "P マークを取得していますか", "取得（番号 /有効期限） / 未取得"])
    sheet.append([2, "ISMS を取得していますか", "取得（番号 /有効期限） / 未取得"])
    sheet.append([3, "その他の認証", None])
    sheet.append([])
    sheet.append(["機密情報の保護"])
    sheet.append(["No", "設問", LEGEND])
    for number, text in enumerate(PROTECTION, start=1):
        sheet.append([number, text, None])
    sheet.append([])
    sheet.append(["サイバーセキュリティ対策"])
    sheet.append(["No", "設問", LEGEND])
    for number, text in enumerate(CYBER, start=1):
        sheet.append([number, text, None])
    sheet.append([])
    sheet.append(["※ ご回答いただいた内容は取引先管理の目的にのみ利用します。"])
    return workbook


def run(data: bytes | Workbook, filename: str = "sheet.xlsx", **overrides) -> si.SheetAnalysis:
    if isinstance(data, Workbook):
        data = to_bytes(data)
    return si.analyse(io.BytesIO(data), filename, overrides or None)


def items_of(analysis: si.SheetAnalysis) -> list[si.DetectedItem]:
    return [item for section in analysis.sections for item in section.items]


# --- Header keywords ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "role"), [
    ("No", "number"), ("No.", "number"), ("Ｎｏ．", "number"), ("項番", "number"), ("#", "number"),
    ("項目番号", "number"), ("分類", "section"), ("大項目", "section"), ("カテゴリー", "section"),
    ("設問", "question"), ("設　問", "question"), ("設問内容", "question"), ("チェック項目", "question"),
    ("確認項目", "question"), ("要求事項", "question"), ("評価項目", "question"),
    ("回答", "answer"), ("回答欄", "answer"), (LEGEND, "answer"), ("回答\n（○・△・×）", "answer"),
    ("対応状況", "answer"), ("備考", "help"), ("補足説明", "help"), ("解説", "help"),
    ("本シートは取引先の皆様に記入いただくものです", None), ("", None), ("2024年4月1日", None),
])
def test_header_cells_are_classified_whatever_the_width_and_spacing(text, role):
    assert si.classify_header(text) == role


@pytest.mark.parametrize(("labels", "kind", "not_applicable"), [
    (["○", "△", "×"], "tri_state", False),
    (["◯", "▲", "✕", "－"], "tri_state", True),
    (["○：対応済み", "△：対応中", "×：未対応", "該当なし"], "tri_state", True),
    (["対応済み", "対応中", "未対応"], "tri_state", False),
    (["はい", "いいえ"], "yes_no", False),
    (["Yes", "No", "N/A"], "yes_no", True),
    (["○", "×"], "yes_no", False),
    (["実施している", "一部実施している", "実施していない"], "single_choice", False),
    (["メモ"], "text", False),
])
def test_drop_down_values_become_answer_types(labels, kind, not_applicable):
    spec = si.answer_from_choices(labels, "validation")
    assert (spec.type, spec.not_applicable) == (kind, not_applicable)


# --- Layouts --------------------------------------------------------------------------------------


def test_seed_004_layout_gives_three_sections_from_the_title_rows():
    analysis = run(seed_004_workbook(), "scrm-sheet.xlsx")
    assert analysis.problems == []
    assert analysis.sheet == "管理シート"
    assert analysis.mapping == si.ColumnMapping(header_row=4, number=1, question=2, answer=3)
    assert analysis.confidence == "high"
    assert analysis.suggested_name == "サプライチェーンリスク管理シート"
    assert [s.title for s in analysis.sections] == [
        "情報セキュリティにおける第三者認証の有無", "機密情報の保護", "サイバーセキュリティ対策",
    ]
    assert [len(s.items) for s in analysis.sections] == [3, 3, 2]
    certs, protection, cyber = analysis.sections
    # The legend in each block's header gives ○△×; the first block has none: free text, and the
    # hint written in its answer cells is kept as help.
    assert [i.answer.type for i in certs.items] == ["text", "text", "text"]
    assert certs.items[0].help == "詳細: 取得（番号 /有効期限） / 未取得"
    assert {i.answer.type for i in protection.items + cyber.items} == {"tri_state"}
    assert [i.text for i in protection.items] == PROTECTION
    # Numbers restart in each block, so ids carry the section.
    assert [i.id for i in items_of(analysis)] == ["S1-1", "S1-2", "S1-3", "S2-1", "S2-2", "S2-3",
                                                  "S3-1", "S3-2"]
    reasons = {row.row: row.reason for row in analysis.skipped}
    assert reasons[10] == reasons[16] == "the header row repeated"
    assert 20 in reasons  # the footnote


def test_seed_004_layout_converts_to_a_valid_template_and_is_stable():
    data = run(seed_004_workbook()).grid
    first = si.to_template_data(run(seed_004_workbook()), {}, "scrm-import", "管理シート")
    second = si.to_template_data(run(seed_004_workbook()), {}, "scrm-import", "管理シート")
    assert first == second and data.title == "管理シート"
    assert first["key"] == "scrm-import"
    assert first["name"] == {"ja": "管理シート"}
    assert first["sections"][1] == {
        "key": "s2", "title": {"ja": "機密情報の保護"},
        "items": [{"id": f"S2-{n}", "text": {"ja": text}, "type": "tri_state"}
                  for n, text in enumerate(PROTECTION, start=1)],
    }
    spec = validate(first)
    assert spec["sections"][1]["items"][0]["choices"][0]["value"] == "done"


def test_section_column_with_merged_cells_is_forward_filled():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["項番", "分類", "チェック項目", "回答", "備考"])
    rows = [
        ("1", "組織", "責任者を任命していますか", "手順書があれば添付してください"),
        ("2", None, "規程を定めていますか", None),
        ("3", None, "教育を行っていますか", None),
        ("4", "技術", "ウイルス対策ソフトを導入していますか", None),
        ("5", None, "パッチを適用していますか", "OS とアプリケーション"),
    ]
    for number, section, text, note in rows:
        sheet.append([number, section, text, None, note])
    sheet.merge_cells("B2:B4")
    sheet.merge_cells("B5:B6")
    dv = DataValidation(type="list", formula1='"○,△,×"')
    dv.add("D2:D6")
    sheet.add_data_validation(dv)
    analysis = run(workbook)
    assert analysis.mapping == si.ColumnMapping(header_row=1, number=1, section=2, question=3,
                                                answer=4, help=5)
    assert [(s.title, len(s.items)) for s in analysis.sections] == [("組織", 3), ("技術", 2)]
    assert [i.id for i in items_of(analysis)] == ["1", "2", "3", "4", "5"]  # unique: kept as is
    assert items_of(analysis)[0].help == "手順書があれば添付してください"
    assert {i.answer.source for i in items_of(analysis)} == {"validation"}
    validate(si.to_template_data(analysis, {}, "org-sheet", "組織シート"))


def test_drop_down_lists_give_each_item_its_choices():
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "設問"
    lists = workbook.create_sheet("選択肢")
    lists.sheet_state = "hidden"
    for value in ("○", "△", "×"):
        lists.append([value])
    sheet.append(["No", "質問", "回答欄"])
    for number in range(1, 7):
        sheet.append([number, f"質問 {number} に回答してください", None])
    for formula, cells in [
        ('"はい,いいえ"', "C2"),
        ('"○,△,×"', "C3"),
        ('"十分に実施,一部実施,未実施,対象外"', "C4"),
        ("'選択肢'!$A$1:$A$3", "C5"),
        ('"○,×"', "C6"),
    ]:
        dv = DataValidation(type="list", formula1=formula)
        dv.add(cells)
        sheet.add_data_validation(dv)
    analysis = run(workbook)
    assert analysis.sheet == "設問"
    answers = [i.answer for i in items_of(analysis)]
    assert [a.type for a in answers] == ["yes_no", "tri_state", "single_choice", "tri_state", "yes_no",
                                         "text"]
    custom = answers[2]
    assert custom.not_applicable is True
    assert [(c["value"], c["label"]["ja"], c["points"]) for c in custom.choices] == [
        ("c1", "十分に実施", 100), ("c2", "一部実施", 50), ("c3", "未実施", 0)]
    assert [c["label"]["ja"] for c in answers[4].choices] == ["○", "×"]
    data = si.to_template_data(analysis, {}, "dv-sheet", "プルダウン")
    validate(data)
    assert data["sections"][0]["items"][2]["not_applicable"] is True


def _add_x14_list(data: bytes, sqref: str, ref: str) -> bytes:
    """Rewrite sheet1 with the extension Excel uses for lists on another sheet."""
    ext = (
        '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        f'<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>{ref}</xm:f>'
        f'</x14:formula1><xm:sqref>{sqref}</xm:sqref></x14:dataValidation></x14:dataValidations>'
        "</ext></extLst></worksheet>"
    )
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.decode().replace("</worksheet>", ext).encode()
            target.writestr(info.filename, content)
    return out.getvalue()


def test_list_on_another_sheet_stored_as_excel_does_is_read():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["No", "設問", "回答"])
    sheet.append([1, "アクセス権を管理していますか", None])
    sheet.append([2, "ログを保管していますか", None])
    lists = workbook.create_sheet("Lists")
    for value in ("はい", "いいえ", "該当なし"):
        lists.append([value])
    analysis = run(_add_x14_list(to_bytes(workbook), "C2:C3", "Lists!$A$1:$A$3"))
    assert [(i.answer.type, i.answer.not_applicable) for i in items_of(analysis)] == [
        ("yes_no", True), ("yes_no", True)]


def test_header_below_a_title_and_instructions_is_found():
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["委託先セキュリティチェックシート（2025年度版）"])
    sheet.append(["回答欄に ○ △ × のいずれかを記入してください。"])
    sheet.append(["会社名：", None, "記入日："])
    sheet.append([])
    sheet.append(["No.", "確認項目", "回答\n(○/△/×)", "補足"])
    sheet.append(["1", "情報資産の台帳を作成していますか", None, "台帳の様式は問いません"])
    sheet.append(["2", "退職者のアカウントを削除していますか", None, None])
    analysis = run(workbook, "委託先チェック.xlsx")
    assert analysis.mapping.header_row == 5
    assert analysis.suggested_name == "委託先セキュリティチェックシート（2025年度版）"
    assert [s.title for s in analysis.sections] == ["Sheet1"]
    assert [(i.id, i.answer.type, i.help) for i in items_of(analysis)] == [
        ("1", "tri_state", "台帳の様式は問いません"), ("2", "tri_state", "")]
    assert si.suggested_key("委託先チェック.xlsx") == "imported-sheet"
    assert si.suggested_key("Vendor Check 2025.xlsx") == "vendor-check-2025"


def test_full_width_headers_are_detected():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Ｎｏ．", "カテゴリー", "設　問", "回　答\n（はい／いいえ）", "解　説"])
    sheet.append(["１", "物理", "サーバ室は施錠されていますか", None, "入退室の記録も確認します"])
    analysis = run(workbook)
    assert analysis.mapping == si.ColumnMapping(header_row=1, number=1, section=2, question=3,
                                                answer=4, help=5)
    item = items_of(analysis)[0]
    assert (item.id, item.answer.type, item.answer.source) == ("1", "yes_no", "header")


def test_the_first_sheet_with_a_header_is_chosen_and_the_user_may_choose_another():
    workbook = Workbook()
    cover = workbook.active
    cover.title = "表紙"
    cover.append(["セキュリティチェックシート"])
    cover.append(["株式会社 連携製作所 調達部"])
    main = workbook.create_sheet("チェック")
    main.append(["No", "設問", "回答"])
    main.append([1, "主シートの設問ですか", None])
    extra = workbook.create_sheet("別紙 クラウド")
    extra.append(["項番", "要求事項", "対応状況"])
    extra.append(["C-1", "クラウドの設定を確認していますか", None])
    extra.append(["C-2", "多要素認証を使っていますか", None])
    auto = run(workbook)
    assert [(s.name, s.header_row) for s in auto.sheets] == [("表紙", None), ("チェック", 1),
                                                             ("別紙 クラウド", 1)]
    assert auto.sheet == "チェック"
    chosen = run(workbook, sheet="別紙 クラウド")
    assert chosen.sheet == "別紙 クラウド"
    assert [i.id for i in items_of(chosen)] == ["C-1", "C-2"]
    with pytest.raises(ValueError, match="different sheet"):
        si.to_template_data(auto, {"sheet": "別紙 クラウド"}, "k", "n")
    unknown = run(workbook, sheet="ありません")
    assert unknown.sheet == "チェック" and unknown.warnings


def test_formula_cells_are_reported_and_their_text_used_when_no_result_is_saved():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["No", "設問", "回答"])
    sheet.append(["=ROW()-1", '="パスワードを"&"設定していますか"', None])
    sheet.append(["=ROW()-1", "USB メモリの利用を制限していますか", None])
    analysis = run(workbook)
    first, second = items_of(analysis)
    assert first.text == '="パスワードを"&"設定していますか"'
    assert (first.number, first.id, second.id) == ("", "S1-1", "S1-2")
    assert any("B2" in w and "formula" in w for w in analysis.warnings)
    assert any("A3" in w for w in analysis.warnings)


def test_no_detectable_header_asks_for_the_row_and_the_user_can_pick_it():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["取引先様 確認事項一覧"])
    sheet.append(["ア", "パスワードは８文字以上ですか", "○"])
    sheet.append(["イ", "画面ロックを設定していますか", "×"])
    analysis = run(workbook)
    assert analysis.mapping.header_row is None
    assert analysis.confidence == "low"
    assert analysis.problems and "header row" in analysis.problems[0]
    assert analysis.sections == []
    with pytest.raises(si.SheetImportError):
        si.to_template_data(analysis, {}, "k", "n")
    picked = run(workbook, header_row=1, number=1, question=2, answer=3)
    assert picked.problems == []
    assert [i.text for i in items_of(picked)] == [
        "パスワードは８文字以上ですか", "画面ロックを設定していますか"]
    data = si.to_template_data(analysis, {"header_row": 1, "number": 1, "question": 2, "answer": 3},
                               "picked", "確認事項")
    assert [i["text"]["ja"] for i in data["sections"][0]["items"]] == [
        "パスワードは８文字以上ですか", "画面ロックを設定していますか"]
    validate(data)


def test_column_overrides_change_the_result_and_none_removes_a_column():
    analysis = run(seed_004_workbook())
    data = si.to_template_data(analysis, {"answer": si.NONE}, "k", "n")
    assert {i["type"] for s in data["sections"] for i in s["items"]} == {"text"}
    same_column_twice = run(seed_004_workbook(), answer=2)
    assert same_column_twice.problems


# --- Files that are refused -----------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "words"), [
    ("check.xlsm", "Macro"), ("check.xls", ".xls"), ("check.csv", "CSV"), ("check.ods", "LibreOffice"),
    ("check.pdf", "Unsupported"),
])
def test_other_file_types_are_refused_with_a_reason(filename, words):
    with pytest.raises(FileRefused, match=words):
        si.analyse(io.BytesIO(to_bytes(seed_004_workbook())), filename)


def test_macro_workbook_renamed_to_xlsx_is_refused():
    data = io.BytesIO(to_bytes(seed_004_workbook()))
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)
    with pytest.raises(FileRefused, match="macros"):
        si.analyse(io.BytesIO(data.getvalue()), "renamed.xlsx")


@pytest.mark.parametrize("data", [
    b"", b"not a workbook at all", b"PK\x03\x04" + b"\x00" * 100,
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500,
])
def test_corrupt_files_are_refused_with_a_clear_message(data):
    with pytest.raises(FileRefused) as refused:
        si.analyse(io.BytesIO(data), "broken.xlsx")
    reason = refused.value.reason
    assert "corrupt" in reason if data[:1] != b"\xd0" else "old-format (.xls) or password" in reason


def test_a_zip_that_is_not_a_workbook_or_has_broken_xml_is_refused():
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(FileRefused, match="corrupt"):
        si.analyse(io.BytesIO(other.getvalue()), "a.xlsx")
    broken = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(to_bytes(seed_004_workbook())))
    with zipfile.ZipFile(broken, "w") as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            archive.writestr(info.filename, content)
    with pytest.raises(FileRefused, match="corrupt"):
        si.analyse(io.BytesIO(broken.getvalue()), "b.xlsx")


def test_oversized_file_is_refused_before_it_is_parsed(settings):
    settings.RENKEI_MAX_UPLOAD_MB = 1
    data = to_bytes(seed_004_workbook()) + b"\x00" * (1024 * 1024)
    with mock.patch("openpyxl.load_workbook") as load, pytest.raises(FileRefused, match="too large"):
        si.analyse(io.BytesIO(data), "big.xlsx")
    load.assert_not_called()


def test_zip_bomb_that_inflates_beyond_the_limit_is_refused_unopened(settings):
    settings.RENKEI_SHEET_IMPORT_MAX_UNPACKED_MB = 5
    bomb = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(to_bytes(seed_004_workbook())))
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info.filename))
        archive.writestr("xl/media/padding.bin", b"\x00" * (8 * 1024 * 1024))
    assert len(bomb.getvalue()) < 100 * 1024
    with mock.patch("openpyxl.load_workbook") as load, pytest.raises(FileRefused, match="unpacks"):
        si.analyse(io.BytesIO(bomb.getvalue()), "bomb.xlsx")
    load.assert_not_called()


def test_zip_member_that_claims_a_huge_size_is_refused_unopened():
    data = bytearray(to_bytes(seed_004_workbook()))
    # Claim 4 GB for the first member in the central directory (uncompressed size at +24).
    entry = data.index(b"PK\x01\x02")
    data[entry + 24: entry + 28] = struct.pack("<I", 0xFFFF0000)
    with mock.patch("openpyxl.load_workbook") as load, pytest.raises(FileRefused, match="unpacks"):
        si.analyse(io.BytesIO(bytes(data)), "claims.xlsx")
    load.assert_not_called()


# --- A file saved by LibreOffice Calc -------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed; "
                    "apt-get install libreoffice-calc-nogui to run this test")
def test_workbook_saved_by_libreoffice_calc_is_detected_the_same(tmp_path):
    workbook = seed_004_workbook()
    sheet = workbook.active
    dv = DataValidation(type="list", formula1='"○,△,×,該当なし"')
    dv.add("C11:C13")
    sheet.add_data_validation(dv)
    sheet["A17"] = "=ROW()-16"  # LibreOffice saves the computed value next to the formula
    source = tmp_path / "in" / "check.xlsx"
    source.parent.mkdir()
    source.write_bytes(to_bytes(workbook))
    out = tmp_path / "out"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=180,
    )
    converted = out / "check.xlsx"
    assert converted.exists()
    analysis = si.analyse(io.BytesIO(converted.read_bytes()), Path(converted).name)
    assert analysis.problems == []
    assert [s.title for s in analysis.sections] == [
        "情報セキュリティにおける第三者認証の有無", "機密情報の保護", "サイバーセキュリティ対策"]
    protection = analysis.sections[1].items
    assert [(i.answer.type, i.answer.not_applicable, i.answer.source) for i in protection] == [
        ("tri_state", True, "validation")] * 3
    cyber_first = analysis.sections[2].items[0]
    assert cyber_first.number == "1" and cyber_first.id == "S3-1"
    assert any("A17" in w and "“1”" in w for w in analysis.warnings)
    validate(si.to_template_data(analysis, {}, "lo-sheet", analysis.suggested_name))
