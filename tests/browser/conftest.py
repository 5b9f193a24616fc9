"""Shared by the browser tests: each test module gets its own demo (a throwaway RENKEI_HOME with
SQLite, `renkei demo --no-serve --json`, then `renkei serve`) and headless Debian Chromium."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, RENKEI, ROOT, free_port, wait_until_up


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
    port = free_port()
    log = (home / "serve.log").open("w")
    server = subprocess.Popen(
        [*RENKEI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/accounts/login/", server)
        yield {"base": base, "logins": data["logins"]}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


