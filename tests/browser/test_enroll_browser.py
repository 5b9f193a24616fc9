"""End to end on a phone: a supplier contact opens a certificate link (issue 7, enrollment (b)),
makes the certificate, sees the password once and downloads the .p12, which `openssl pkcs12`
opens with that password. Opening the link again shows that it was used.

The demo here has a CA (`renkei pki init`) and a link made with `renkei pki enroll --no-mail`."""

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.support import CHROMIUM, PHONE, RENKEI, ROOT, serving, shot

pytestmark = pytest.mark.browser

PASSPHRASE = "browser-test-pki-passphrase-2026"


@pytest.fixture(scope="module")
def pki_demo(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    home = tmp_path_factory.mktemp("renkei-home-pki")
    env = {**os.environ, "RENKEI_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env["RENKEI_PKI_PASSPHRASE"] = PASSPHRASE
    env.pop("RENKEI_DATABASE_URL", None)
    env.pop("RENKEI_PKI_PASSPHRASE_FILE", None)
    run = {"env": env, "cwd": ROOT, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run([*RENKEI, "migrate", "-v", "0"], check=True, **run)
    subprocess.run([*RENKEI, "demo", "--no-serve", "--json"], check=True, **run)
    subprocess.run([*RENKEI, "pki", "init", "--organization", "minato"], check=True, **run)
    made = subprocess.run(
        [*RENKEI, "pki", "enroll", "--user", "tokai", "--profile", "client", "--device", "営業用PC",
         "--no-mail", "--organization", "minato", "--json"],
        check=True, **run,
    )
    link = json.loads(made.stdout)
    with serving(home, env) as base:
        yield {"base": base, "path": urlsplit(link["url"]).path, "home": home}


def test_a_contact_fetches_a_certificate_on_a_phone(pki_demo, browser, tmp_path):
    context = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True,
                                  accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        url = pki_demo["base"] + pki_demo["path"]
        page.goto(url)
        assert "営業用PC" in page.inner_text("#enroll-form")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "enroll-phone")
        with page.expect_navigation():
            page.click("#enroll-form button[type=submit]")
        password = page.inner_text("#p12-password").strip()
        assert len(password) >= 12
        shot(page, "enroll-phone-done")
        with page.expect_download() as info:
            page.click("#p12-download")
        bundle = tmp_path / "cert.p12"
        info.value.save_as(bundle)
        opened = subprocess.run(
            ["openssl", "pkcs12", "-in", str(bundle), "-passin", f"pass:{password}", "-nodes", "-info"],
            capture_output=True, check=False,
        )
        assert opened.returncode == 0, opened.stderr
        assert b"BEGIN CERTIFICATE" in opened.stdout and b"PRIVATE KEY" in opened.stdout
        wrong = subprocess.run(
            ["openssl", "pkcs12", "-in", str(bundle), "-passin", "pass:wrong-password", "-nodes", "-info"],
            capture_output=True, check=False,
        )
        assert wrong.returncode != 0
        # The link works once: opening it again issues nothing and says why.
        page.goto(url)
        assert page.locator("#p12-password").count() == 0
        assert page.locator("#enroll-form button[type=submit]").count() == 0
        shot(page, "enroll-phone-used")
    finally:
        context.close()
    assert not errors
