"""Constants and helpers of the browser tests (the fixtures are in conftest.py)."""

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
RENKEI = [sys.executable, "-m", "renkei"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"renkei serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"renkei serve did not answer at {url}")


def login_of(demo, role):
    return next(login for login in demo["logins"] if login["role"] == role)


def log_in(page, base, login):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)




@contextlib.contextmanager
def serving(home, env):
    """`renkei serve` on a free port with ENV (its log in HOME/serve.log); yields the base URL."""
    port = free_port()
    log = (home / "serve.log").open("w")
    server = subprocess.Popen(
        [*RENKEI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/accounts/login/", server)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def wait_for_mail(box, predicate, timeout=20):
    """The messages of BOX (a Mailbox) for which PREDICATE holds, waiting for the first one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in box.messages if predicate(m)]
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"no such mail among {[m.subject for m in box.messages]}")
