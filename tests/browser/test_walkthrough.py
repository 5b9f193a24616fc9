"""Issue 3's "done when", tried as a new user would with the demo: the analyst sends the built-in
risk management sheet to ten suppliers in one campaign; one supplier answers through an answer
link on a phone, another's answers come back in an Excel file (written by openpyxl, then saved
again by LibreOffice Calc when it is installed); the analyst reviews, approves, and sees the
scores, the critical × and the campaign's completion rate.
"""

import datetime
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from tests.browser.support import DESKTOP, PHONE, log_in, login_of, shot

pytestmark = pytest.mark.browser

TEMPLATE = "サプライチェーンリスク管理シート (v1)"
# The demo's ten suppliers with relationship 取引先 (S-1001's last assessment is approved).
PORTAL_SUPPLIER = "S-1003"
EXCEL_SUPPLIER = "S-1004"
CRITICAL_NOT_DONE = "P-03"  # a critical item answered × on purpose


def open_assessment(page, base, campaign_url, code):
    page.goto(campaign_url)
    with page.expect_navigation():
        page.locator(f"tr[data-supplier='{code}'] a").first.click()
    page.wait_for_selector("h1")


def save_with_libreoffice(source: Path, workdir: Path) -> Path:
    """Open SOURCE in LibreOffice Calc and save it again as .xlsx (LibreOffice rewrites the whole
    workbook: shared strings, styles, validations, sheet states)."""
    out = workdir / "libreoffice"
    out.mkdir()
    profile = (workdir / "lo-profile").as_uri()
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile}",
                    "--convert-to", "xlsx", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=180)
    return out / source.name


def fill_sheet(path: Path) -> None:
    """Answer every item the way people type: 〇 for ○, ✕ for ×, 未取得 for certificates."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    header = next(row[0].row for row in sheet.iter_rows(min_col=2, max_col=2)
                  if row[0].value == "項目ID")
    for row in sheet.iter_rows(min_row=header + 1):
        item_id = row[1].value
        if not item_id:
            continue
        answer = row[4]
        if item_id.startswith("C-0") and item_id != "C-03":
            answer.value = "未取得"
        elif item_id == "C-03":
            answer.value = "なし"
        elif item_id == CRITICAL_NOT_DONE:
            answer.value = "✕"
        else:
            answer.value = "〇"
    workbook.save(path)


def test_campaign_portal_link_excel_review_and_scores(demo, browser, tmp_path):
    base = demo["base"]
    due = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    staff = browser.new_context(viewport=DESKTOP, locale="ja-JP", accept_downloads=True)
    page = staff.new_page()
    log_in(page, base, login_of(demo, "analyst"))

    # 1. A campaign: the built-in sheet to the ten 取引先.
    page.goto(f"{base}/campaigns/new/")
    page.fill("#id_name", "2026年度 取引先セキュリティ調査")
    page.select_option("#id_template", label=TEMPLATE)
    page.fill("#id_due_on", due)
    page.check("input[name=relationship][value=supplier]")
    with page.expect_navigation():
        page.click("button[name=preview]")
    counts = page.locator("#campaign-preview .stat .num").all_inner_texts()
    assert counts == ["10", "0", "10"], counts
    shot(page, "walkthrough-1-campaign-preview")
    with page.expect_navigation():
        page.click("button[name=confirm]")
    campaign_url = page.url.split("?")[0]
    assert page.locator("tr[data-supplier]").count() == 10
    shot(page, "walkthrough-2-campaign")

    # 2. The analyst issues an answer link for a supplier without an account ...
    open_assessment(page, base, campaign_url, PORTAL_SUPPLIER)
    with page.expect_navigation():
        page.click("#issue-link")
    shown = page.locator("#access-link-url").inner_text().strip()
    link = base + shown[shown.index("/questionnaires/answer/"):]

    # ... and the supplier answers every item on a phone, then submits.
    phone = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    supplier = phone.new_page()
    supplier.goto(link)
    supplier.wait_for_selector("#answer-progress")
    for item_id in ("C-01", "C-02"):
        supplier.select_option(f"select[name='a-{item_id}-held']", "no")
        supplier.locator(f"#item-{item_id} .autosave-status >> text=保存しました").wait_for()
    radios = supplier.locator("li[data-answer-item]:has(input[type=radio][value=done])")
    for index in range(radios.count()):
        item = radios.nth(index)
        item_id = item.get_attribute("data-answer-item")
        value = "not_done" if item_id == CRITICAL_NOT_DONE else "done"
        item.locator(f"input[type=radio][value={value}]").check()
        item.locator(".autosave-status >> text=保存しました").wait_for()
    assert supplier.evaluate("document.getElementById('answer-progress').value") == \
        supplier.evaluate("document.getElementById('answer-progress').max")
    assert supplier.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    # Evidence for the security policy: choosing the file uploads it and reloads at the item.
    policy = tmp_path / "情報セキュリティ方針.pdf"
    policy.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    with supplier.expect_navigation():
        supplier.set_input_files("#item-P-01 input[type=file][data-evidence-upload]", str(policy))
    assert "情報セキュリティ方針.pdf" in supplier.locator("#item-P-01 .evidence-current").inner_text()
    shot(supplier, "walkthrough-3-portal-answered")
    with supplier.expect_navigation():
        supplier.click("text=回答を提出する")
    assert "提出" in supplier.locator("main").inner_text()
    shot(supplier, "walkthrough-4-portal-submitted")
    phone.close()

    # 3. Another supplier's answers arrive as the Excel sheet, filled and saved by LibreOffice.
    open_assessment(page, base, campaign_url, EXCEL_SUPPLIER)
    with page.expect_download() as download:
        page.click("text=Excel でダウンロード")
    sheet = tmp_path / download.value.suggested_filename
    download.value.save_as(sheet)
    fill_sheet(sheet)
    if shutil.which("soffice"):
        sheet = save_with_libreoffice(sheet, tmp_path)
    page.set_input_files("#sheet-upload input[type=file]", str(sheet))
    with page.expect_navigation():
        page.locator("#sheet-upload button[type=submit]").click()
    assert "Excel から取り込みました" in page.locator(".messages").inner_text()
    assert page.locator("#submit-card .help").count() == 0, page.locator("#submit-card").inner_text()
    with page.expect_navigation():
        page.click("text=回答を提出する")
    assert "提出済" in page.locator("main").inner_text()
    shot(page, "walkthrough-5-excel-imported")

    # 4. Review: the portal answers, one item at a time, then approve.
    open_assessment(page, base, campaign_url, PORTAL_SUPPLIER)
    critical = page.locator(f"#item-{CRITICAL_NOT_DONE}")
    critical.locator("input[name=comment]").fill("バックアップの実施計画を提出してください。")
    with page.expect_navigation():
        critical.locator("button[value=evidence]").click()
    assert "証跡の提出を依頼" in page.locator(f"#item-{CRITICAL_NOT_DONE}").inner_text()
    item = page.locator("#item-P-01")
    with page.expect_navigation():
        item.locator("button[value=accepted]").click()
    assert "承認" in page.locator("#item-P-01").inner_text()
    # An evidence request blocks approval until it is settled; accept it with the plan promised.
    critical = page.locator(f"#item-{CRITICAL_NOT_DONE}")
    critical.locator("input[name=comment]").fill("改善計画で対応")
    with page.expect_navigation():
        critical.locator("button[value=accepted]").click()
    with page.expect_navigation():
        page.click("text=承認する")
    summary = page.locator("main").inner_text()
    assert "承認済" in summary or "承認" in page.locator(".badge").first.inner_text()
    # The critical × is visible at a glance, and the score is shown.
    assert CRITICAL_NOT_DONE in page.locator("#critical-failures").inner_text()
    assert "重要 ×" in page.locator(f"#item-{CRITICAL_NOT_DONE}").inner_text()
    shot(page, "walkthrough-6-approved")

    # 5. The campaign: two answered of ten, with their scores.
    page.goto(campaign_url)
    rows = {code: page.locator(f"tr[data-supplier='{code}']").inner_text()
            for code in (PORTAL_SUPPLIER, EXCEL_SUPPLIER)}
    assert "承認" in rows[PORTAL_SUPPLIER] and "提出済" in rows[EXCEL_SUPPLIER]
    for text in rows.values():
        score = text.split()[-1]
        assert score.replace(".", "").isdigit() and 0 < float(score) < 100, text
    assert "(2 / 10)" in page.locator("#campaign-progress").inner_text()
    shot(page, "walkthrough-7-campaign-scores")
    staff.close()
