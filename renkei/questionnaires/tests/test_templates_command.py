"""`renkei templates load|list`: exact JSON shapes, owners, errors on stderr with exit status 1."""

import io
import json
import subprocess
import sys

import pytest
import yaml
from django.core.management import CommandError, call_command

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.questionnaires.models import Template
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("templates", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, data, name="mini.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_list_json_is_exactly_key_name_version_items():
    out, _ = run("list", "--json")
    assert json.loads(out) == [
        {"key": "scrm-sheet", "name": "サプライチェーンリスク管理シート", "version": 1, "items": 25}
    ]
    out, _ = run("list", "--json", "--lang", "en")
    assert json.loads(out)[0]["name"] == "Supply-chain risk management sheet"


def test_load_into_the_only_organization(tmp_path):
    Organization.objects.create(name="唯一の組織", slug="only")
    out, _ = run("load", write(tmp_path, small()), "--json")
    assert json.loads(out) == {"key": "mini", "version": 1, "created": True, "unchanged": False,
                               "organization": "only", "items": 5}
    out, _ = run("load", write(tmp_path, small()), "--json")
    assert json.loads(out)["unchanged"] is True
    assert AuditEntry.objects.filter(object_type="questionnaires.template").count() == 1
    out, _ = run("list", "--json")
    assert json.loads(out) == [
        {"key": "scrm-sheet", "name": "サプライチェーンリスク管理シート", "version": 1, "items": 25},
        {"key": "mini", "name": "ミニ質問票", "version": 1, "items": 5},
    ]


def test_several_organizations_need_organization(world, tmp_path):
    path = write(tmp_path, small())
    with pytest.raises(CommandError, match="--organization"):
        run("load", path)
    out, _ = run("load", path, "--organization", "other", "--json")
    assert json.loads(out)["organization"] == "other"
    with pytest.raises(CommandError, match="nope"):
        run("load", path, "--organization", "nope")
    out, err = run("list", "--json")  # without --organization: the built-in only, and a hint
    assert [row["key"] for row in json.loads(out)] == ["scrm-sheet"]
    assert "--organization" in err
    out, _ = run("list", "--organization", "other", "--json")
    assert [row["key"] for row in json.loads(out)] == ["scrm-sheet", "mini"]
    out, _ = run("list", "--organization", "buyer", "--json")
    assert [row["key"] for row in json.loads(out)] == ["scrm-sheet"]


def test_list_all_versions(world, tmp_path):
    load(small(), world.buyer)
    changed = small(name="ミニ質問票 第2版")
    load(changed, world.buyer)
    out, _ = run("list", "--organization", "buyer", "--json")
    assert json.loads(out)[1] == {"key": "mini", "name": "ミニ質問票 第2版", "version": 2, "items": 5}
    out, _ = run("list", "--organization", "buyer", "--all-versions", "--json")
    assert [(r["key"], r["version"]) for r in json.loads(out)] == [
        ("scrm-sheet", 1), ("mini", 1), ("mini", 2)]


def test_builtin_needs_the_flag_and_excludes_organization(world, tmp_path):
    out, _ = run("load", "--builtin", "--json")
    assert json.loads(out) == [{"key": "scrm-sheet", "version": 1, "created": False,
                                "unchanged": True, "organization": None, "items": 25}]
    out, _ = run("load", "--builtin", write(tmp_path, small(key="shared")), "--json")
    assert json.loads(out)["organization"] is None
    assert Template.objects.get(key="shared").organization is None
    with pytest.raises(CommandError):
        run("load", "--builtin", "--organization", "buyer")
    with pytest.raises(CommandError):
        run("load")


def test_errors_go_to_stderr_one_per_line_and_store_nothing(world, tmp_path):
    bad = small(key="Bad!")
    bad["sections"][0]["items"][0]["weight"] = -1
    path = write(tmp_path, bad)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2"):
        call_command("templates", "load", path, "--organization", "buyer", "--lang", "en",
                     "--json", stdout=out, stderr=err)
    assert err.getvalue().splitlines() == [
        "key: must be lowercase letters, digits and “-” (at most 50 characters), starting with a "
        "letter or digit",
        "sections[0].items[0].weight: must be a number between 0 and 1000",
    ]
    assert [e["path"] for e in json.loads(out.getvalue())["errors"]] == [
        "key", "sections[0].items[0].weight"]
    assert not Template.objects.filter(organization=world.buyer).exists()


def test_cli_process_exits_non_zero_with_problems_on_stderr(tmp_path, settings):
    path = write(tmp_path, small(key="Bad!"))
    # A real process against a throwaway database: the exit status and the streams as a script sees them.
    env = {"RENKEI_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "renkei", "migrate", "-v0"], env=env, check=True)
    done = subprocess.run([sys.executable, "-m", "renkei", "templates", "load", "--builtin", path],
                          check=False, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith("key: ")
    assert done.stdout == ""
