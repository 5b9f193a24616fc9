"""Shared by the browser tests: each test module gets its own demo (a throwaway RENKEI_HOME with
SQLite, `renkei demo --no-serve --json`, then `renkei serve`) and headless Debian Chromium."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, RENKEI, ROOT, serving


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    home = tmp_path_factory.mktemp("renkei-home")
    env = {**os.environ, "RENKEI_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("RENKEI_DATABASE_URL", None)  # the demo always gets its own SQLite database
    run = {"env": env, "cwd": ROOT, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run([*RENKEI, "migrate", "-v", "0"], check=True, **run)
    made = subprocess.run([*RENKEI, "demo", "--no-serve", "--json"], check=True, **run)
    data = json.loads(made.stdout[made.stdout.index("{"):])
    with serving(home, env) as base:
        yield {"base": base, "logins": data["logins"]}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def mailbox():
    """A real SMTP server (aiosmtpd) for the module's demo: (Mailbox, port)."""
    from aiosmtpd.controller import Controller

    from renkei.accounts.tests.conftest import Mailbox
    from tests.browser.support import free_port

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def demo_with_mail(tmp_path_factory, mailbox):
    """Like `demo`, with the server's mail going to MAILBOX; also yields its env and home."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    _box, port = mailbox
    home = tmp_path_factory.mktemp("renkei-home")
    env = {
        **os.environ,
        "RENKEI_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
        "RENKEI_EMAIL_HOST": "127.0.0.1",
        "RENKEI_EMAIL_PORT": str(port),
    }
    env.pop("RENKEI_DATABASE_URL", None)
    run = {"env": env, "cwd": ROOT, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run([*RENKEI, "migrate", "-v", "0"], check=True, **run)
    made = subprocess.run([*RENKEI, "demo", "--no-serve", "--json"], check=True, **run)
    data = json.loads(made.stdout[made.stdout.index("{") :])
    with serving(home, env) as base:
        yield {"base": base, "logins": data["logins"], "env": env, "home": home}
