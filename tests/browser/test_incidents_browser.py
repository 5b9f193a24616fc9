"""End to end, as a new user would: 北陸物流's contact (`hokuriku`) reports a mail-server takeover
on a phone; the analyst triages it, reads the computed obligations and their deadlines, shares
a notice with partners; a partner acknowledges through the link in the (real SMTP) mail; the
analyst sees the acknowledgement and downloads the Excel and PDF exports."""

import io
import re

import openpyxl
import pytest

from tests.browser.support import DESKTOP, PHONE, log_in, login_of, shot, wait_for_mail

pytestmark = pytest.mark.browser

TITLE = "取引先向け請求書メールの不審な送信"


def test_report_triage_share_acknowledge_export(demo_with_mail, mailbox, browser, tmp_path):
    demo, (box, _port) = demo_with_mail, mailbox
    base = demo["base"]
    hokuriku = next(login for login in demo["logins"] if login["username"] == "hokuriku")

    # 1. The supplier's contact reports on a phone, from the company card of the dashboard.
    phone = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page = phone.new_page()
    try:
        log_in(page, base, hokuriku)
        page.click("a[data-portal=incidents]")
        page.wait_for_selector("#report-button")
        page.click("#report-button")
        form = page.locator("#intake-form")
        form.locator("[name=title]").fill(TITLE)
        form.locator("[name=description]").fill(
            "経理担当のメールアカウントから、取引先へ振込先変更を求めるメールが送られていた。"
        )
        form.locator("[name=detected_at]").fill("2026-12-01T09:30")
        form.locator("[name=systems_text]").fill("メールサーバー")
        form.locator("[name=data_text]").fill("取引先担当者の氏名とメールアドレス")
        form.locator("[name=personal_data]").check()
        form.locator("[name=persons_affected]").fill("1500")
        form.locator("[name=current_state]").fill("パスワードを変更し、転送設定を削除した。")
        shot(page, "phone-incident-report-form")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        number = page.locator("#incident-number").inner_text().strip()
        assert re.fullmatch(r"INC-\d{4}-\d{4}", number), number
        shot(page, "phone-incident-reported")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        phone.close()
    assert wait_for_mail(box, lambda m: number in m.subject and any("hokuriku" in r for r in m.recipients))

    # 2. The analyst triages it; the obligations follow, with their deadlines.
    desktop = browser.new_context(viewport=DESKTOP, locale="ja-JP", accept_downloads=True)
    page = desktop.new_page()
    try:
        log_in(page, base, login_of(demo, "analyst"))
        page.goto(f"{base}/incidents/")
        page.click(f"#incident-table a:text('{number}')")
        triage = page.locator("#triage-form")
        triage.locator("[name=status]").select_option("investigating")
        triage.locator("[name=severity]").select_option("high")
        triage.locator("[name=category]").select_option("mail_takeover")
        triage.locator("[name=unauthorized_access]").check()
        with page.expect_navigation():
            triage.locator("button[type=submit]").click()
        rules = page.locator("#obligations li[data-rule]")
        found = {rules.nth(i).get_attribute("data-rule") for i in range(rules.count())}
        assert {"ppc-preliminary", "ppc-final", "partners-share", "police-consultation"} <= found, found
        final = page.locator("#obligations li[data-rule=ppc-final] [data-role=due]").inner_text()
        assert "個人情報保護委員会" in page.locator("#obligations").inner_text()
        assert re.search(r"\d{4}-\d{2}-\d{2}", final)
        shot(page, "desktop-incident-triaged")

        # 3. Share a notice with two partners.
        page.click("#share-button")
        page.locator("input[name=detail][value=notice]").check()
        others = page.locator("#share-suppliers details.other-suppliers")
        if others.count() and others.get_attribute("open") is None:
            others.locator("summary").click()
        codes = ["S-1001", "S-1002"]
        for code in codes:
            page.locator("li.share-choice", has_text=code).locator("input[name=suppliers]").check()
        assert len(codes) == 2, codes
        page.fill("#id_message", "北陸物流株式会社を名乗る請求書メールにご注意ください。")
        shot(page, "desktop-incident-share")
        with page.expect_navigation():
            page.locator("#share-form button[type=submit]").click()
        assert page.locator("#sharing [data-role=counts]").count() >= 1
    finally:
        desktop.close()

    # 4. A partner opens the link in the mail and acknowledges, with no account.
    notices = wait_for_mail(
        box, lambda m: "/incidents/ack/" in m.text and any("tokai" in r for r in m.recipients)
    )
    helper = browser.new_context(viewport=PHONE, locale="ja-JP")
    waiter = helper.new_page()
    # The address starts with RENKEI_BASE_URL (not set for this throwaway server): keep the path.
    link = base + re.search(r"https?://[^/\s]+(/incidents/ack/\S+/)", notices[0].text).group(1)
    assert "請求書" in notices[0].text
    waiter.goto(link)
    assert "北陸物流" in waiter.inner_text("main")
    waiter.fill("[name=name]", "佐藤 一郎")
    with waiter.expect_navigation():
        waiter.locator("#ack button[type=submit]").click()
    assert waiter.locator("#ack-outcome").count() == 1
    shot(waiter, "phone-incident-acknowledged")
    assert waiter.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    helper.close()

    # 5. The analyst sees who acknowledged, and downloads the exports.
    desktop = browser.new_context(viewport=DESKTOP, locale="ja-JP", accept_downloads=True)
    page = desktop.new_page()
    try:
        log_in(page, base, login_of(demo, "analyst"))
        page.goto(f"{base}/incidents/")
        page.click(f"#incident-table a:text('{number}')")
        assert "佐藤 一郎" in page.locator("#sharing").inner_text()
        shot(page, "desktop-incident-shared")
        with page.expect_download() as got:
            page.click("#export-xlsx")
        book = openpyxl.load_workbook(io.BytesIO(open(got.value.path(), "rb").read()))  # noqa: SIM115
        cells = [str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value is not None]
        assert any(number in c for c in cells) and any(TITLE in c for c in cells)
        with page.expect_download() as got:
            page.click("#export-pdf")
        assert open(got.value.path(), "rb").read(5) == b"%PDF-"  # noqa: SIM115
    finally:
        desktop.close()
