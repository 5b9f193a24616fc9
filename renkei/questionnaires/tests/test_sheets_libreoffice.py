"""Answer sheets written by LibreOffice Calc itself, not only by openpyxl.

LibreOffice runs headless with its own profile per test run (parallel runs never share one) and a
timeout. Answers are typed into the cells by a small LibreOffice Basic macro through the
.uno:EnterString command, which takes text the way a person's typing is taken: "2024-05-01" becomes a
date serial, "TRUE" a boolean 1, "=1+1" a formula, "00123" a number unless the cell is formatted
as text. LibreOffice then writes the whole workbook again (shared strings, its own styles, the
hidden sheets as `hidden`). Skipped only when `soffice` is not installed.
"""

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import create_assessment, save_answers
from renkei.questionnaires.models import Answer
from renkei.questionnaires.sheets import META_SHEET
from renkei.questionnaires.tests.helpers import load
from renkei.questionnaires.tests.test_sheets import RICH, do_import, exported, fill, rows_by_id, stored
from renkei.suppliers.io.readers import FileRefused

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not "
                       "installed: apt-get install libreoffice-calc-nogui"),
]
TIMEOUT = 180

# Fill(in, out, spec): open IN hidden, type each "CELL<TAB>text" line of SPEC into the first
# sheet through the .uno:EnterString command (as if typed, so a cell formatted as text keeps
# "00123"), save as .xlsx to OUT. (Basic reserves Tab and Line, hence the names; readLine keeps
# the newline of the last line.)
MACRO = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" \
script:language="StarBasic">
Sub Fill(inUrl As String, outUrl As String, specUrl As String)
  Dim opened(0) As New com.sun.star.beans.PropertyValue
  opened(0).Name = &quot;Hidden&quot;
  opened(0).Value = True
  doc = StarDesktop.loadComponentFromURL(inUrl, &quot;_blank&quot;, 0, opened())
  sheet = doc.Sheets.getByIndex(0)
  files = createUnoService(&quot;com.sun.star.ucb.SimpleFileAccess&quot;)
  stream = createUnoService(&quot;com.sun.star.io.TextInputStream&quot;)
  stream.setInputStream(files.openFileRead(specUrl))
  stream.setEncoding(&quot;UTF-8&quot;)
  controller = doc.getCurrentController()
  frame = controller.getFrame()
  dispatcher = createUnoService(&quot;com.sun.star.frame.DispatchHelper&quot;)
  Dim typing(0) As New com.sun.star.beans.PropertyValue
  typing(0).Name = &quot;StringName&quot;
  Do While Not stream.isEOF()
    entry = stream.readLine()
    sep = InStr(entry, Chr(9))
    If sep &gt; 0 Then
      controller.select(sheet.getCellRangeByName(Left(entry, sep - 1)))
      typing(0).Value = Mid(entry, sep + 1)
      If Right(typing(0).Value, 1) = Chr(10) Then
        typing(0).Value = Left(typing(0).Value, Len(typing(0).Value) - 1)
      End If
      dispatcher.executeDispatch(frame, &quot;.uno:EnterString&quot;, &quot;&quot;, 0, typing())
    End If
  Loop
  stream.closeInput()
  Dim saved(0) As New com.sun.star.beans.PropertyValue
  saved(0).Name = &quot;FilterName&quot;
  saved(0).Value = &quot;Calc MS Excel 2007 XML&quot;
  doc.storeToURL(outUrl, saved())
  doc.close(True)
End Sub
</script:module>
"""


def soffice(profile: Path, *args: str) -> None:
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                    *args], check=True, capture_output=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    """A LibreOffice profile of this run only, with the Fill macro installed."""
    path = tmp_path_factory.mktemp("libreoffice-profile")
    soffice(path, "--terminate_after_init")
    module = path / "user" / "basic" / "Standard" / "Module1.xba"
    assert module.exists(), "LibreOffice did not create its Basic library"
    module.write_text(MACRO, encoding="utf-8")
    return path


def convert(profile, source: Path, to: str) -> Path:
    out_dir = source.parent / f"out-{to}"
    soffice(profile, "--convert-to", to, "--outdir", str(out_dir), str(source))
    return out_dir / f"{source.stem}.{to}"


def typed(profile, tmp_path, data: bytes, cells: dict[str, str]) -> bytes:
    """DATA with CELLS typed into its answer sheet in LibreOffice, as saved by LibreOffice."""
    source, out, spec = tmp_path / "typed-in.xlsx", tmp_path / "typed-out.xlsx", tmp_path / "spec.txt"
    source.write_bytes(data)
    spec.write_text("".join(f"{cell}\t{text}\n" for cell, text in cells.items()), encoding="utf-8")
    urls = ",".join(f'"{p.as_uri()}"' for p in (source, out, spec))
    soffice(profile, f"macro:///Standard.Module1.Fill({urls})")
    return out.read_bytes()


@pytest.fixture
def sent(world):
    return create_assessment(Actor.system("t"), world.s1, load(RICH, world.buyer).template)


def sheet_xml(data: bytes) -> tuple[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return (archive.read("xl/workbook.xml").decode(),
                archive.read("xl/worksheets/sheet1.xml").decode())


def test_a_workbook_rewritten_by_libreoffice_keeps_what_the_import_needs(world, sent, profile, tmp_path):
    source = tmp_path / "answers.xlsx"
    source.write_bytes(fill(exported(sent), {"A-01": "◯", "A-03": "いいえ", "B-03": "2024-04-01"}))
    saved = convert(profile, source, "xlsx").read_bytes()
    workbook_xml, sheet_xml_text = sheet_xml(saved)
    # What LibreOffice changes: shared strings instead of inline ones, very hidden becomes
    # hidden, and the workbook structure lock is dropped.
    assert "sharedStrings" in str(zipfile.ZipFile(io.BytesIO(saved)).namelist())
    assert 'name="_renkei" sheetId="3" state="hidden"' in workbook_xml
    assert 'lockStructure' not in workbook_xml
    # What it keeps: the sheet protection and the drop-down lists.
    assert '<sheetProtection sheet="true"' in sheet_xml_text
    assert "<dataValidations" in sheet_xml_text and "_lists!$A$1" in sheet_xml_text
    workbook = load_workbook(io.BytesIO(saved))
    assert workbook[META_SHEET].sheet_state == "hidden"
    result = do_import(saved)
    assert result.errors == [] and result.changed == 3
    assert stored(sent) == {"A-01": "done", "A-03": "no", "B-03": "2024-04-01"}


def test_answers_typed_in_libreoffice_import(world, sent, profile, tmp_path):
    save_answers(Actor.system("t"), sent, {"A-02": "○"}, comments={"A-02": "前の方針"})
    rows = rows_by_id(load_workbook(io.BytesIO(exported(sent))).worksheets[0])
    cells = {f"E{rows['A-01']}": "×", f"E{rows['A-02']}": "△", f"F{rows['A-02']}": "",
             f"E{rows['A-03']}": "TRUE", f"E{rows['A-04']}": "該当なし", f"E{rows['A-05']}": "o",
             f"E{rows['B-01']}": "取得", f"H{rows['B-01']}": "ISMS", f"I{rows['B-01']}": "00123",
             f"J{rows['B-01']}": "2031-12-31", f"E{rows['B-02']}": "１２０",
             f"E{rows['B-03']}": "2024-05-01", f"E{rows['B-04']}": "専任",
             f"E{rows['B-05']}": "Microsoft 365、Google Workspace", f"E{rows['B-06']}": "0123"}
    saved = typed(profile, tmp_path, exported(sent), cells)
    sheet = load_workbook(io.BytesIO(saved)).worksheets[0]
    # LibreOffice typed a date, a boolean and a number; the text cells kept the text.
    assert sheet[f"E{rows['B-03']}"].is_date and sheet[f"J{rows['B-01']}"].is_date
    assert sheet[f"E{rows['A-03']}"].value in (1, True)
    assert sheet[f"I{rows['B-01']}"].value == "00123" and sheet[f"E{rows['B-06']}"].value == "0123"
    result = do_import(saved, world.supplier1)
    assert result.errors == [] and result.changed == 11
    assert stored(sent) == {
        "A-01": "not_done", "A-02": "in_progress", "A-03": "yes", "A-04": "n/a", "A-05": "done",
        "B-01": {"held": True, "kind": "ISMS", "number": "00123", "expires_on": "2031-12-31"},
        "B-02": 120, "B-03": "2024-05-01", "B-04": "full", "B-05": ["m365", "gws"], "B-06": "0123",
    }
    assert Answer.objects.get(assessment=sent, item__item_id="A-02").comment == ""
    # The same LibreOffice file again: nothing changes, and nothing is a conflict.
    again = do_import(saved, world.supplier1)
    assert again.errors == [] and again.changed == 0 and again.unchanged == 11


def test_a_formula_typed_in_libreoffice_is_an_error(world, sent, profile, tmp_path):
    rows = rows_by_id(load_workbook(io.BytesIO(exported(sent))).worksheets[0])
    saved = typed(profile, tmp_path, exported(sent), {f"E{rows['A-01']}": "○",
                                                      f"E{rows['A-02']}": '=IF(1;"○";"×")',
                                                      f"J{rows['B-01']}": "=TODAY()"})
    result = do_import(saved)
    assert [e.cell for e in result.errors] == [f"回答!E{rows['A-02']}", f"回答!J{rows['B-01']}"]
    assert all("数式" in e.reason for e in result.errors)
    assert Answer.objects.count() == 0


def test_a_sheet_taken_through_ods_and_back_imports(world, sent, profile, tmp_path):
    source = tmp_path / "answers.xlsx"
    source.write_bytes(fill(exported(sent), {"A-01": "△", "B-02": 7}))
    ods = convert(profile, source, "ods")
    back = convert(profile, ods, "xlsx").read_bytes()
    result = do_import(back)
    assert result.errors == [] and result.changed == 2
    assert stored(sent) == {"A-01": "in_progress", "B-02": 7}
    # The .ods itself, or renamed to .xlsx, is refused with what to do.
    with pytest.raises(FileRefused, match="xlsx"):
        do_import(ods.read_bytes(), filename="answers.ods")
    with pytest.raises(FileRefused, match="壊れ"):
        do_import(ods.read_bytes(), filename="answers.xlsx")
