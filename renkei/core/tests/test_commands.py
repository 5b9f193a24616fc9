"""The platform commands: organizations, users, audit verify, serve."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from django.utils import translation
from rest_framework.authtoken.models import Token

from renkei.accounts.models import Membership
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.testing import tamper
from renkei.suppliers.models import Supplier
from renkei.suppliers.services import save_record

RENKEI = str(Path(sys.executable).with_name("renkei"))


@pytest.fixture(autouse=True)
def _english():
    # Commands speak the installation's language (Japanese by default); tests match English.
    with translation.override("en"):
        yield


def run_json(*args, **kwargs):
    out = io.StringIO()
    call_command(*args, "--json", stdout=out, **kwargs)
    return json.loads(out.getvalue())


def sqlite_env(home: Path) -> dict[str, str]:
    """Environment for a `renkei` subprocess with its own embedded database in HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    env["RENKEI_HOME"] = str(home)
    return env


@pytest.mark.django_db
class TestOrganizationsCommand:
    def test_create_and_list_as_json(self):
        created = run_json(
            "organizations", "create", "minato", "株式会社みなと精機", "--name-en", "Minato Seiki"
        )
        assert created == {
            "slug": "minato",
            "name": "株式会社みなと精機",
            "name_en": "Minato Seiki",
            "corporate_number": "",
        }
        listed = run_json("organizations", "list")
        assert listed == [{**created, "suppliers": 0, "members": 0}]

    def test_creation_starts_the_organizations_audit_chain(self):
        run_json("organizations", "create", "minato", "みなと")
        entry = AuditEntry.objects.get()
        assert (entry.sequence, entry.object_type) == (1, "accounts.organization")

    def test_duplicate_slug_is_an_error(self, world):
        with pytest.raises(CommandError, match="already exists"):
            call_command("organizations", "create", "buyer", "重複", "--lang", "en")

    def test_text_list(self, world):
        out = io.StringIO()
        call_command("organizations", "list", stdout=out)
        assert "buyer" in out.getvalue() and "other" in out.getvalue()


@pytest.mark.django_db
class TestUsersCommand:
    def test_create_with_password_from_stdin_can_log_in(self, world):
        data = run_json(
            "users",
            "create",
            "hanako",
            "--email",
            "hanako@example.jp",
            "--role",
            "analyst",
            "--organization",
            "buyer",
            "--password-stdin",
            stdin=io.StringIO("Kaizen-no-michi-42\n"),
        )
        assert data["memberships"] == [{"organization": "buyer", "role": "analyst"}]
        assert data["password"] is None
        assert authenticate(
            RequestFactory().post("/"), username="hanako", password="Kaizen-no-michi-42"
        ) is not None

    def test_create_without_password_prints_a_generated_one(self, world):
        data = run_json(
            "users",
            "create",
            "ken",
            "--email",
            "ken@example.jp",
            "--role",
            "auditor",
            "--organization",
            "buyer",
        )
        assert authenticate(
            RequestFactory().post("/"), username="ken", password=data["password"]
        ) is not None
        assert Membership.objects.get(user__username="ken").role == "auditor"

    def test_membership_is_recorded_in_the_audit_trail(self, world):
        run_json(
            "users",
            "create",
            "ken",
            "--email",
            "ken@example.jp",
            "--role",
            "auditor",
            "--organization",
            "buyer",
        )
        entry = AuditEntry.objects.get(object_type="accounts.membership")
        assert entry.organization == world.buyer and entry.changes["role"] == [None, "auditor"]

    def test_weak_password_is_refused(self, world):
        with pytest.raises(CommandError):
            call_command(
                "users",
                "create",
                "weak",
                "--email",
                "w@example.jp",
                "--role",
                "admin",
                "--organization",
                "buyer",
                "--password-stdin",
                stdin=io.StringIO("12345678\n"),
            )

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--role", "admin", "--organization", "nowhere"], "nowhere"),
            (["--role", "admin", "--organization", "buyer", "--email", "not-an-address"], "e-mail"),
        ],
    )
    def test_bad_input_is_an_error(self, world, args, message):
        base = ["users", "create", "newbie", "--email", "n@example.jp", "--lang", "en"]
        with pytest.raises(CommandError, match=message):
            call_command(*base, *args)

    def test_unknown_role_is_refused(self, world):
        with pytest.raises(CommandError):
            call_command(
                "users",
                "create",
                "x",
                "--email",
                "x@example.jp",
                "--role",
                "root",
                "--organization",
                "buyer",
            )

    def test_existing_username_is_an_error(self, world):
        with pytest.raises(CommandError, match="already exists"):
            call_command(
                "users",
                "create",
                "--lang",
                "en",
                "admin",
                "--email",
                "a@example.jp",
                "--role",
                "admin",
                "--organization",
                "buyer",
            )

    def test_token_is_created_once_and_printed(self, world):
        out = io.StringIO()
        call_command("users", "token", "analyst", stdout=out)
        key = out.getvalue().strip()
        assert key == Token.objects.get(user=world.analyst).key
        assert run_json("users", "token", "analyst") == {"username": "analyst", "token": key}

    def test_token_for_unknown_user_is_an_error(self, db):
        with pytest.raises(CommandError, match="ghost"):
            call_command("users", "token", "ghost")

    def test_list_shows_memberships_and_supplier_contacts(self, world):
        users = {u["username"]: u for u in run_json("users", "list")}
        assert users["auditor"]["memberships"] == [{"organization": "buyer", "role": "auditor"}]
        assert users["supplier1"]["suppliers"] == ["buyer/S1"]
        assert users["nobody"]["memberships"] == [] and users["nobody"]["suppliers"] == []


@pytest.mark.django_db
class TestAuditVerifyCommand:
    @pytest.fixture
    def trail(self, world):
        actor = Actor.cli(world.admin)
        s1 = world.s1
        s1.name = "東海精密部品株式会社(新)"
        save_record(actor, s1)
        save_record(actor, Supplier(organization=world.buyer, code="S3", name="三番株式会社"))
        save_record(actor, Supplier(organization=world.other, code="X2", name="他社2株式会社"))
        return world

    def test_intact_trail_reports_ok(self, trail):
        assert run_json("audit", "verify") == {"ok": True, "checked": 3, "problems": []}

    def test_text_output(self, trail):
        out = io.StringIO()
        call_command("audit", "verify", "--lang", "en", stdout=out)
        assert out.getvalue().strip() == "Audit trail intact: 3 entries checked."

    def test_text_output_in_japanese(self, trail):
        out = io.StringIO()
        with translation.override("ja"):
            call_command("audit", "verify", stdout=out)
        assert "監査ログは改ざんされていません" in out.getvalue()

    def test_tampered_entry_is_reported_with_exit_status_1(self, trail):
        tamper(
            "UPDATE audit_auditentry SET actor_label = %s WHERE sequence = 1 "
            "AND organization_id = %s",
            ["someone-else", trail.buyer.id],
        )
        out = io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command("audit", "verify", "--json", stdout=out)
        assert raised.value.returncode == 1
        report = json.loads(out.getvalue())
        assert report["ok"] is False and report["checked"] == 3
        assert {
            "organization": "buyer",
            "sequence": 1,
            "problem": "content does not match its hash",
        } in report["problems"]

    def test_organization_filter(self, trail):
        tamper("DELETE FROM audit_auditentry WHERE organization_id = %s", [trail.buyer.id])
        assert run_json("audit", "verify", "--organization", "other")["ok"] is True
        with pytest.raises(CommandError):
            call_command("audit", "verify", "--organization", "buyer", stdout=io.StringIO())

    def test_unknown_organization_is_an_error(self, db):
        with pytest.raises(CommandError, match="nowhere"):
            call_command("audit", "verify", "--organization", "nowhere")


def test_audit_verify_exit_status_in_a_subprocess(tmp_path):
    env = sqlite_env(tmp_path)
    subprocess.run([RENKEI, "migrate", "-v0"], env=env, check=True, timeout=120)
    subprocess.run(
        [RENKEI, "organizations", "create", "minato", "みなと"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    ok = subprocess.run(
        [RENKEI, "audit", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout) == {
        "ok": True,
        "checked": 1,
        "problems": [],
    }
    import sqlite3

    with sqlite3.connect(tmp_path / "renkei.sqlite3") as db:
        db.execute("UPDATE audit_auditentry SET object_repr = 'tampered'")
    broken = subprocess.run(
        [RENKEI, "audit", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["ok"] is False
    assert broken.stderr.strip()  # the message on stderr, in the installation's language


def test_serve_answers_and_stops_on_sigterm(tmp_path):
    env = sqlite_env(tmp_path)
    subprocess.run([RENKEI, "migrate", "-v0"], env=env, check=True, timeout=120)
    proc = subprocess.Popen(
        [RENKEI, "serve", "--port", "0", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.split("http://", 1)[1].split()[0]
        with urllib.request.urlopen(f"http://{url}api/schema/", timeout=10) as response:
            assert response.status == 200
            assert b"Renkei API" in response.read()
        # Static files come from WhiteNoise inside the application.
        with urllib.request.urlopen(
            f"http://{url}static/rest_framework/css/bootstrap.min.css", timeout=10
        ) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "Renkei" in proc.stdout.read()  # "Renkei stopped." / "Renkei を停止しました。"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_an_unmigrated_database(tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        [RENKEI, "serve", "--port", "0"],
        env=sqlite_env(tmp_path),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "renkei migrate" in result.stderr
    assert time.monotonic() - started < 60


def test_a_command_on_an_unmigrated_database_says_to_migrate(tmp_path):
    result = subprocess.run(
        [RENKEI, "users", "list", "--json"], env=sqlite_env(tmp_path),
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode == 2
    assert "renkei migrate" in result.stderr and "Traceback" not in result.stderr
