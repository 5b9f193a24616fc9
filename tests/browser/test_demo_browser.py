"""End to end: the demo data served by `renkei serve`, driven in headless Chromium.

Runs the real commands in subprocesses against a throwaway RENKEI_HOME (SQLite), so it uses
no Django test database. Screenshots go to test-artifacts/ for people to look at.
"""

import time

import pytest

from tests.browser.support import DESKTOP, PHONE, log_in, login_of, shot

pytestmark = pytest.mark.browser

def row_codes(page):
    return page.locator("#supplier-table tbody tr td:first-child").all_inner_texts()


def test_admin_filters_edits_and_sees_history_then_switches_to_english(demo, browser):
    base = demo["base"]
    contact = login_of(demo, "supplier")
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = context.new_page()
    try:
        log_in(page, base, login_of(demo, "admin"))
        assert page.locator("h1").inner_text() == "ダッシュボード"
        shot(page, "desktop-dashboard")

        page.click("nav.main-nav >> text=取引先台帳")
        total = len(row_codes(page))
        assert total > 1
        shot(page, "desktop-list")

        page.click("summary")
        page.check("input[name=relationship][value=contractor]")
        with page.expect_navigation():
            page.click("details button[type=submit]")
        relationships = page.locator("#supplier-table tbody tr td:nth-child(3)").all_inner_texts()
        assert relationships and set(relationships) == {"委託先"}
        assert len(relationships) < total
        shot(page, "desktop-list-filtered")

        page.goto(f"{base}/suppliers/?q={contact['supplier']}")
        assert row_codes(page) == [contact["supplier"]]
        page.click(f"#supplier-table >> text={contact['supplier']}")
        page.wait_for_selector("ul.tabs")
        detail_url = page.url.split("?")[0]
        shot(page, "desktop-supplier")

        note = f"ブラウザ試験で更新 {int(time.time())}"
        page.click("main .actions >> text=編集")
        page.fill("textarea[name=notes]", note)
        page.click("form.card button[type=submit]")
        page.wait_for_url(detail_url)
        assert "変更を保存しました" in page.locator(".messages").inner_text()
        assert note in page.locator("dl.props").inner_text()

        page.click("ul.tabs >> [data-tab=history]")
        first_entry = page.locator("table.history > tbody > tr").first
        assert note in first_entry.inner_text()
        assert "admin" in first_entry.inner_text() or "127.0.0.1" in first_entry.inner_text()
        shot(page, "desktop-history")

        with page.expect_navigation():
            page.click("form.lang-switch button[value=en]")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Supplier registry" in page.locator("nav.main-nav").inner_text()
        assert "History" in page.locator("ul.tabs").inner_text()
        shot(page, "desktop-history-english")
    finally:
        context.close()


def test_pages_fit_a_phone(demo, browser):
    base = demo["base"]
    context = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        log_in(page, base, login_of(demo, "analyst"))
        shot(page, "phone-dashboard")
        page.goto(f"{base}/suppliers/")
        assert len(row_codes(page)) > 1
        # The page itself never scrolls sideways; only the table's own wrapper does.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1
        shot(page, "phone-list")
        page.locator("#supplier-table tbody tr a").first.click()
        page.wait_for_selector("ul.tabs")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        shot(page, "phone-supplier")
    finally:
        context.close()


def test_supplier_contact_sees_only_its_supplier(demo, browser):
    base = demo["base"]
    contact = login_of(demo, "supplier")
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = context.new_page()
    try:
        log_in(page, base, contact)
        assert "取引先担当者" in page.locator(".user-menu").inner_text()
        shot(page, "desktop-supplier-contact-dashboard")
        page.goto(f"{base}/suppliers/")
        assert row_codes(page) == [contact["supplier"]]
        page.locator("#supplier-table tbody tr a").first.click()
        page.wait_for_selector("ul.tabs")
        assert page.locator("[data-tab=history]").count() == 0
        shot(page, "desktop-supplier-contact-page")
    finally:
        context.close()


def test_supplier_contact_answers_the_questionnaire_on_a_phone(demo, browser):
    base = demo["base"]
    # The demo's S-3001 contact has the built-in sheet half answered.
    contact = next(login for login in demo["logins"] if login["supplier"] == "S-3001")
    context = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        log_in(page, base, contact)
        page.goto(f"{base}/suppliers/")
        page.locator("#supplier-table tbody tr a").first.click()
        page.click("ul.tabs >> [data-tab=assessments]")
        page.locator("main table a").first.click()
        page.wait_for_selector("h1")
        answered = page.locator("dl >> text=/\\d+ \\/ 25/").first.inner_text()
        before = int(answered.split("/")[0])
        section = page.locator("form:has(input[name='a-S-13'])")
        section.locator("input[name='a-S-13'][value=not_done]").check()
        with page.expect_navigation():
            section.locator("button[type=submit]:not([form])").click()
        after = int(page.locator("dl >> text=/\\d+ \\/ 25/").first.inner_text().split("/")[0])
        assert after == before + 1
        assert page.locator("input[name='a-S-13'][value=not_done]").is_checked()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        shot(page, "phone-questionnaire")
    finally:
        context.close()


def test_supplier_answers_through_an_answer_link_on_a_phone(demo, browser):
    base = demo["base"]
    staff = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = staff.new_page()
    try:
        log_in(page, base, login_of(demo, "analyst"))  # admin switched to English above
        page.goto(f"{base}/suppliers/")
        page.locator("#supplier-table tbody tr:has-text('S-5001') a").first.click()
        page.click("ul.tabs >> [data-tab=assessments]")
        page.locator("main table a:has-text('サプライチェーンリスク管理シート')").first.click()
        page.wait_for_selector("#issue-link")
        with page.expect_navigation():
            page.click("#issue-link")
        shown = page.locator("#access-link-url").inner_text().strip()
        # The address starts with RENKEI_BASE_URL (not set for this throwaway server).
        path = shown[shown.index("/questionnaires/answer/"):]
        url = base + path
        shot(page, "access-link-issued")
    finally:
        staff.close()
    context = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector("#answer-progress")
        assert page.url.endswith("/questionnaires/portal/")
        items = page.locator("li[data-answer-item]:has(input[type=radio][value=done])")
        chosen = []
        for index in range(2):
            item = items.nth(index)
            chosen.append(item.get_attribute("data-answer-item"))
            item.locator("input[type=radio][value=done]").check()
            item.locator(".autosave-status >> text=保存しました").wait_for()
        assert page.locator("#answer-progress").get_attribute("value") is not None
        assert page.evaluate("document.getElementById('answer-progress').value") == 2
        assert "2" in page.locator("#answer-progress-text").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        page.reload()
        for item_id in chosen:
            assert page.locator(f"input[name='a-{item_id}'][value=done]").is_checked()
        shot(page, "phone-portal-link")
        # The session opens this assessment only.
        page.goto(f"{base}/suppliers/")
        assert "/accounts/login/" in page.url
    finally:
        context.close()
