"""`renkei suppliers import|export`: JSON output, exit status, organization and actor choice."""

from __future__ import annotations

import io
import json
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.suppliers.io import readers
from renkei.suppliers.management.commands.suppliers import Command
from renkei.suppliers.models import Supplier
from renkei.suppliers.tests.test_import import (
    JA_HEADER,
    NEW_ROW,
    corporate_number,
    csv_bytes,
    wrong_check_digit,
)

BAD_ROW = ["N2", wrong_check_digit(corporate_number(2)), "誤り", "", "", "", "", "", "", "", "", ""]


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("suppliers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(csv_bytes([JA_HEADER, NEW_ROW], "cp932"))
    return path


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([JA_HEADER, NEW_ROW, BAD_ROW]))
    return path


def test_import_with_json_prints_one_document(world, good_file):
    out, err = command("import", str(good_file), "--organization", "buyer", "--json")
    assert json.loads(out) == {
        "dry_run": False, "created": 1, "updated": 0, "unchanged": 0, "errors": []}
    assert err == ""
    supplier = Supplier.objects.get(organization=world.buyer, code="N1")
    entry = AuditEntry.objects.get(object_type="suppliers.supplier", object_id=str(supplier.pk))
    assert entry.actor is None and entry.address.startswith("cli@")


def test_errors_give_json_on_stdout_text_on_stderr_and_a_failing_exit(world, bad_file):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("suppliers", "import", str(bad_file), "--organization", "buyer", "--json",
                     stdout=out, stderr=err)
    data = json.loads(out.getvalue())
    assert data["created"] == 0
    assert [(e["row"], e["column"]) for e in data["errors"]] == [(3, "法人番号")]
    assert "3行目 法人番号" in err.getvalue()
    assert "チェックディジット" in err.getvalue()
    assert not Supplier.objects.filter(code="N1").exists()


def test_the_exit_status_is_non_zero_on_errors(world, bad_file, capsys):
    # run_from_argv is what the `renkei` program calls; it closes connections when done.
    with mock.patch.object(connections, "close_all"), pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(
            ["renkei", "suppliers", "import", str(bad_file), "--organization", "buyer", "--json"]
        )
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["errors"][0]["row"] == 3
    assert "法人番号" in captured.err


def test_english_messages_on_request(world, bad_file):
    with pytest.raises(CommandError) as error:
        command("import", str(bad_file), "--organization", "buyer", "--lang", "en")
    assert "nothing was imported" in str(error.value)


def test_dry_run_writes_nothing(world, good_file):
    out, _err = command("import", str(good_file), "--organization", "buyer", "--dry-run", "--json")
    assert json.loads(out)["dry_run"] is True
    assert json.loads(out)["created"] == 1
    assert not Supplier.objects.filter(code="N1").exists()


def test_several_organizations_need_organization(world, good_file):
    with pytest.raises(CommandError) as error:
        command("import", str(good_file))
    assert "--organization" in str(error.value) and "buyer" in str(error.value)
    with pytest.raises(CommandError):
        command("import", str(good_file), "--organization", "nope")


def test_one_organization_is_used_without_naming_it(db, good_file):
    organization = Organization.objects.create(name="単独", slug="solo")
    out, _err = command("import", str(good_file))
    assert "1" in out
    assert Supplier.objects.filter(organization=organization, code="N1").exists()


def test_acting_as_a_user_is_recorded_and_checked(world, good_file):
    command("import", str(good_file), "--organization", "buyer", "--as", "analyst")
    supplier = Supplier.objects.get(organization=world.buyer, code="N1")
    entry = AuditEntry.objects.get(object_type="suppliers.supplier", object_id=str(supplier.pk))
    assert entry.actor == world.analyst
    for username in ("auditor", "outsider", "supplier1", "ghost"):
        with pytest.raises(CommandError):
            command("import", str(good_file), "--organization", "buyer", "--as", username)


def test_a_file_over_the_limit_is_refused_before_parsing(world, tmp_path, settings):
    settings.RENKEI_MAX_UPLOAD_MB = 1
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([JA_HEADER, NEW_ROW]) + b"#" * (1024 * 1024))
    with mock.patch.object(readers, "_read", side_effect=AssertionError("parsed")), \
            pytest.raises(CommandError):
        command("import", str(path), "--organization", "buyer", "--json")


def test_a_missing_file_is_an_error(world, tmp_path):
    with pytest.raises(CommandError):
        command("import", str(tmp_path / "none.csv"), "--organization", "buyer")


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_then_import_is_unchanged(world, tmp_path, suffix):
    path = tmp_path / f"registry.{suffix}"
    out, _err = command("export", str(path), "--organization", "buyer", "--json")
    assert json.loads(out)["suppliers"] == 2
    out, _err = command("import", str(path), "--organization", "buyer", "--json")
    assert json.loads(out) == {
        "dry_run": False, "created": 0, "updated": 0, "unchanged": 2, "errors": []}


def test_export_in_english_and_as_a_user(world, tmp_path):
    path = tmp_path / "registry.csv"
    command("export", str(path), "--organization", "other", "--lang", "en", "--as", "outsider")
    text = path.read_text(encoding="utf-8-sig")
    assert text.startswith("code,corporate_number,name")
    assert "X1" in text and "S1" not in text
    with pytest.raises(CommandError):
        command("export", str(path), "--organization", "buyer", "--as", "outsider")
    with pytest.raises(CommandError):
        command("export", str(tmp_path / "registry.pdf"), "--organization", "buyer")
