"""Brute-force protection of the login page (django-axes, renkei.accounts.lockout).

Failures are counted per username and client address together: an attacker guessing one
user's password from one address is stopped, and the same user still logs in from elsewhere.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from renkei.core.testing import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 3
HOME = "203.0.113.7"
AWAY = "198.51.100.20"
LOCKED_JA = "ログインの失敗が多すぎます"
LOCKED_EN = "Too many failed logins"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


def log_in(username, password, address=HOME, client=None, **extra):
    client = client or Client(REMOTE_ADDR=address, **extra)
    return client.post(reverse("login"), {"username": username, "password": password})


def fail(username, times=LIMIT, address=HOME):
    for _ in range(times):
        response = log_in(username, "wrong-password-1", address)
    return response


def logged_in(response):
    return response.status_code == 302 and response["Location"] == reverse("dashboard")


def run(*args):
    out = io.StringIO()
    call_command("users", *args, stdout=out)
    return out.getvalue()


def test_defaults_come_from_the_environment():
    assert django_settings.RENKEI_LOGIN_FAILURE_LIMIT == int(
        os.environ.get("RENKEI_LOGIN_FAILURE_LIMIT") or 10
    )
    assert django_settings.RENKEI_LOGIN_COOLOFF_MINUTES == int(
        os.environ.get("RENKEI_LOGIN_COOLOFF_MINUTES") or 15
    )
    assert django_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesBackend"
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_wrong_passwords_below_the_limit_only_show_the_form_error(world):
    response = fail("analyst", times=LIMIT - 1)
    assert response.status_code == 200
    assert LOCKED_JA not in response.content.decode()
    assert logged_in(log_in("analyst", PASSWORD))


def test_the_limit_locks_the_username_from_that_address_even_with_the_right_password(world):
    response = fail("analyst")
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED_JA in page
    assert "15 分後にもう一度お試しいただくか、管理者にロックの解除を依頼してください。" in page
    assert '<html lang="ja">' in page  # the site's base template
    right = log_in("analyst", PASSWORD)
    assert right.status_code == 429
    assert LOCKED_JA in right.content.decode()
    assert "_auth_user_id" not in Client().session


def test_the_page_is_english_for_english_users(world):
    fail("analyst")
    client = Client(REMOTE_ADDR=HOME)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    response = log_in("analyst", PASSWORD, client=client)
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED_EN in page and LOCKED_JA not in page
    assert "Wait 15 minutes and try again, or ask an administrator to unlock the login." in page


def test_another_address_still_logs_in(world):
    fail("analyst")
    assert logged_in(log_in("analyst", PASSWORD, AWAY))
    assert log_in("analyst", PASSWORD, HOME).status_code == 429


def test_other_usernames_from_the_same_address_are_not_locked(world):
    fail("analyst")
    assert logged_in(log_in("auditor", PASSWORD, HOME))


def test_a_successful_login_resets_the_count(world):
    fail("analyst", times=LIMIT - 1)
    assert logged_in(log_in("analyst", PASSWORD))
    assert not AccessAttempt.objects.filter(username="analyst").exists()
    response = fail("analyst", times=LIMIT - 1)
    assert response.status_code == 200
    assert logged_in(log_in("analyst", PASSWORD))


def test_login_works_again_after_the_cool_off(world, settings):
    fail("analyst")
    assert log_in("analyst", PASSWORD).status_code == 429
    # The last failure happened longer ago than the cool-off.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - datetime.timedelta(minutes=16)
    )
    assert logged_in(log_in("analyst", PASSWORD))


def test_a_short_cool_off_from_settings(world, settings):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(seconds=1)
    fail("analyst")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - datetime.timedelta(seconds=2)
    )
    assert logged_in(log_in("analyst", PASSWORD))


def test_failures_during_the_lockout_keep_it(world):
    fail("analyst")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - datetime.timedelta(minutes=14)
    )
    assert fail("analyst", times=1).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - datetime.timedelta(minutes=5)
    )
    assert log_in("analyst", PASSWORD).status_code == 429


def test_users_unlock_clears_the_lockout_from_every_address(world):
    fail("analyst", address=HOME)
    fail("analyst", address=AWAY)
    fail("auditor", address=HOME)
    text = run("unlock", "analyst")
    assert "analyst のログイン失敗の記録を消去し、ロックを解除しました。" in text
    assert logged_in(log_in("analyst", PASSWORD, HOME))
    assert logged_in(log_in("analyst", PASSWORD, AWAY))
    assert log_in("auditor", PASSWORD, HOME).status_code == 429  # only the named login
    assert "analyst のログイン失敗の記録はありません。" in run("unlock", "analyst")


def test_users_unlock_json():
    out = io.StringIO()
    fail("somebody")
    call_command("users", "unlock", "somebody", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"username": "somebody", "cleared": 1}


def test_the_page_is_the_same_for_an_existing_and_a_missing_username(world):
    existing = fail("analyst")
    missing = fail("no-such-user")
    assert existing.status_code == missing.status_code == 429

    def body(response):
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())

    assert "analyst" not in existing.content.decode()
    assert "no-such-user" not in missing.content.decode()
    assert body(existing) == body(missing)
    assert log_in("no-such-user", PASSWORD).status_code == 429


def test_behind_the_proxy_the_address_is_the_one_the_proxy_reports(world, settings):
    settings.RENKEI_BEHIND_PROXY = True
    for _ in range(LIMIT):
        Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=HOME).post(
            reverse("login"), {"username": "analyst", "password": "wrong-password-1"}
        )
    proxied = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=HOME)
    assert log_in("analyst", PASSWORD, client=proxied).status_code == 429
    elsewhere = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=AWAY)
    assert logged_in(log_in("analyst", PASSWORD, client=elsewhere))


def test_without_the_proxy_setting_the_header_is_ignored(world):
    for _ in range(LIMIT):
        Client(REMOTE_ADDR=HOME, HTTP_X_REAL_IP=AWAY).post(
            reverse("login"), {"username": "analyst", "password": "wrong-password-1"}
        )
    spoofed = Client(REMOTE_ADDR=HOME, HTTP_X_REAL_IP="192.0.2.99")
    assert log_in("analyst", PASSWORD, client=spoofed).status_code == 429


def test_test_clients_and_force_login_are_unaffected(world, client_for):
    fail("analyst")
    assert client_for(world.analyst).get(reverse("dashboard")).status_code == 200
    # Client.login() calls authenticate() without a request: AxesBackend refuses that, so tests
    # pass one (or use force_login).
    assert Client().login(request=RequestFactory().post("/"), username="admin", password=PASSWORD)


def test_bad_limits_are_a_clear_error(tmp_path):
    renkei = str(Path(sys.executable).with_name("renkei"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    for name in ("RENKEI_LOGIN_FAILURE_LIMIT", "RENKEI_LOGIN_COOLOFF_MINUTES"):
        result = subprocess.run(
            [renkei, "check"], env={**env, "RENKEI_HOME": str(tmp_path), name: "0"},
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 2, result.stderr
        assert name in result.stderr and "Traceback" not in result.stderr
