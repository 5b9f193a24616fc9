"""End to end: the supplier contact of S-1001 (`tokai`) works through a remediation action on a
phone (390 px) — progress, a note and an evidence file — and the analyst verifies it."""

import pytest

from tests.browser.support import DESKTOP, PHONE, log_in, login_of, shot

pytestmark = pytest.mark.browser

ACTION = "VPN 装置のファームウェアを最新版に更新する"


def by_username(demo, username):
    return next(login for login in demo["logins"] if login["username"] == username)


def test_contact_completes_an_action_on_a_phone_and_the_analyst_verifies_it(demo, browser, tmp_path):
    base = demo["base"]
    evidence = tmp_path / "firmware-update.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% firmware 9.1.2 installed\n")

    phone = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page = phone.new_page()
    try:
        log_in(page, base, by_username(demo, "tokai"))
        page.click("main a[href$='?tab=remediation']")  # the button on the dashboard's company card
        page.wait_for_selector("#supplier-plan-table")
        shot(page, "phone-remediation-tab")
        page.click("#supplier-plan-table a")
        card = page.locator(".action-card", has_text=ACTION)
        assert card.get_attribute("data-status") == "open"
        # No horizontal scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # The buyer-side action has no form for the contact.
        buyer = page.locator(".action-card.side-buyer")
        assert buyer.count() == 1 and buyer.locator("form").count() == 0
        card.locator("input[name=status][value=done]").check()
        card.locator("textarea[name=completion_note]").fill("ファームウェアを 9.1.2 に更新しました。")
        card.locator("input[type=file]").set_input_files(str(evidence))
        with page.expect_navigation():
            card.locator("button[type=submit]").click()
        card = page.locator(".action-card", has_text=ACTION)
        assert card.get_attribute("data-status") == "done"
        assert card.locator("[data-role=evidence]").inner_text() == "firmware-update.pdf"
        shot(page, "phone-remediation-action-done")
        plan_url = page.url.split("#")[0]
    finally:
        phone.close()

    desktop = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = desktop.new_page()
    try:
        log_in(page, base, login_of(demo, "analyst"))
        page.goto(plan_url)
        card = page.locator(".action-card", has_text=ACTION)
        assert card.get_attribute("data-status") == "done"
        card.locator("textarea[name=note]").fill("更新後の版数を確認しました。")
        with page.expect_navigation():
            card.locator("[data-role=verify]").click()
        card = page.locator(".action-card", has_text=ACTION)
        assert card.get_attribute("data-status") == "verified"
        shot(page, "desktop-remediation-verified")
        page.goto(f"{base}/risk/register/")
        assert page.locator("#register-table tbody tr").count() >= 1
        shot(page, "desktop-risk-register")
    finally:
        desktop.close()
