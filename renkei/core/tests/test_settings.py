"""Configuration from RENKEI_* variables (renkei.env, renkei.settings)."""

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from renkei.env import ConfigError, envbool, envint, envlist, envstr, secret_key

RENKEI = str(Path(sys.executable).with_name("renkei"))


def renkei(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    clean.update(RENKEI_HOME=str(home), **env)
    return subprocess.run(
        [RENKEI, *args], env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = renkei(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        RENKEI_DEBUG="0",
        RENKEI_HTTPS="1",
        RENKEI_SECRET_KEY=secrets.token_urlsafe(60),
        RENKEI_ALLOWED_HOSTS="renkei.example.jp",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_embedded_default_is_not_production_ready(tmp_path):
    # Plain HTTP on 127.0.0.1 for the demo: the deploy check must say so, not stay silent.
    result = renkei(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr + result.stdout


def test_bad_debug_value_is_a_clear_error(tmp_path):
    result = renkei(tmp_path, "check", RENKEI_DEBUG="maybe")
    assert result.returncode == 2
    assert "RENKEI_DEBUG='maybe'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_secret_key_file_is_a_clear_error(tmp_path):
    result = renkei(tmp_path, "check", RENKEI_SECRET_KEY_FILE=str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "RENKEI_SECRET_KEY_FILE" in result.stderr


def test_sqlite_under_renkei_home_is_the_default(tmp_path):
    result = renkei(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
    )
    assert result.stdout.strip().endswith(str(tmp_path / "renkei.sqlite3"))


class TestSecretKey:
    @pytest.fixture(autouse=True)
    def _no_configured_key(self, monkeypatch):
        monkeypatch.delenv("RENKEI_SECRET_KEY", raising=False)
        monkeypatch.delenv("RENKEI_SECRET_KEY_FILE", raising=False)

    def test_generated_once_with_mode_0600_and_reused(self, tmp_path):
        first = secret_key(tmp_path)
        path = tmp_path / "secret_key"
        assert len(first) >= 50
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert secret_key(tmp_path) == first
        assert path.read_text().strip() == first

    def test_environment_variable_wins(self, tmp_path, monkeypatch):
        monkeypatch.setenv("RENKEI_SECRET_KEY", "k" * 60)
        assert secret_key(tmp_path) == "k" * 60
        assert not (tmp_path / "secret_key").exists()

    def test_secret_key_file(self, tmp_path, monkeypatch):
        key_file = tmp_path / "mounted-secret"
        key_file.write_text("from-a-docker-secret-" + "x" * 40 + "\n")
        monkeypatch.setenv("RENKEI_SECRET_KEY_FILE", str(key_file))
        assert secret_key(tmp_path / "home") == "from-a-docker-secret-" + "x" * 40


class TestReaders:
    @pytest.mark.parametrize(
        "raw, value",
        [
            ("1", True),
            ("true", True),
            ("Yes", True),
            ("on", True),
            ("0", False),
            ("false", False),
            ("NO", False),
            ("off", False),
            ("", False),
        ],
    )
    def test_envbool(self, monkeypatch, raw, value):
        monkeypatch.setenv("RENKEI_X", raw)
        assert envbool("RENKEI_X") is value

    def test_envbool_rejects_anything_else(self, monkeypatch):
        monkeypatch.setenv("RENKEI_X", "maybe")
        with pytest.raises(ConfigError, match="RENKEI_X"):
            envbool("RENKEI_X")

    def test_envint(self, monkeypatch):
        monkeypatch.setenv("RENKEI_N", "42")
        assert envint("RENKEI_N", 1) == 42
        monkeypatch.setenv("RENKEI_N", "forty")
        with pytest.raises(ConfigError, match="integer"):
            envint("RENKEI_N", 1)
        monkeypatch.delenv("RENKEI_N")
        assert envint("RENKEI_N", 7) == 7

    def test_envlist(self, monkeypatch):
        monkeypatch.setenv("RENKEI_L", " a.example.jp, b.example.jp ,,")
        assert envlist("RENKEI_L", []) == ["a.example.jp", "b.example.jp"]

    def test_envstr_file_variant(self, tmp_path, monkeypatch):
        (tmp_path / "pw").write_text("s3cret\n")
        monkeypatch.setenv("RENKEI_EMAIL_PASSWORD_FILE", str(tmp_path / "pw"))
        assert envstr("RENKEI_EMAIL_PASSWORD") == "s3cret"


def test_bad_log_level_is_a_clear_error(tmp_path):
    result = renkei(tmp_path, "check", RENKEI_LOG_LEVEL="LOUD")
    assert result.returncode == 2
    assert "RENKEI_LOG_LEVEL" in result.stderr and "Traceback" not in result.stderr


def test_log_level_is_case_insensitive(tmp_path):
    assert renkei(tmp_path, "check", RENKEI_LOG_LEVEL="debug").returncode == 0
