"""`renkei osv import` and `renkei osv list` from the command line."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from renkei.deliveries.models import Advisory, OsvImport

DATA = Path(__file__).parent / "data" / "osv"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


def run(*args):
    out = StringIO()
    call_command("osv", *args, stdout=out)
    return out.getvalue()


def test_import_json_prints_the_counts(tmp_path):
    feed = tmp_path / "ghsa"
    shutil.copytree(DATA, feed)
    (feed / "bad.json").write_text(json.dumps({"id": "GHSA-bad", "modified": "soon"}))
    data = json.loads(run("import", str(feed), "--json"))
    assert data == {
        "source": "ghsa",
        "added": 7,
        "changed": 0,
        "unchanged": 0,
        "withdrawn": 1,
        "rejected": 1,
        "rejected_records": [
            {"file": "bad.json", "path": "modified", "message": data["rejected_records"][0]["message"]}
        ],
        "new_findings": 0,
    }
    assert "soon" in data["rejected_records"][0]["message"]
    again = json.loads(run("import", str(feed), "--json", "--source", "ghsa"))
    assert (again["unchanged"], again["added"]) == (8, 0)


def test_import_text_output_names_the_source_and_its_counts(tmp_path):
    text = run("import", str(DATA), "--source", "fixtures")
    assert "fixtures" in text
    assert "7" in text
    english = run("import", str(DATA), "--source", "fixtures", "--lang", "en")
    assert "8 unchanged" in english


def test_import_of_a_broken_zip_fails_and_changes_nothing(tmp_path):
    run("import", str(DATA), "--source", "npm")
    broken = tmp_path / "npm.zip"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(CommandError, match="npm.zip"):
        run("import", str(broken))
    assert Advisory.objects.filter(source="npm", gone=False).count() == 8
    assert OsvImport.objects.count() == 1


def test_import_of_a_missing_path_fails(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run("import", str(tmp_path / "nothing"), "--lang", "en")


def test_list_shows_sources_with_counts_and_last_import(tmp_path):
    run("import", str(DATA), "--source", "fixtures")
    data = json.loads(run("list", "--json"))
    (row,) = data["sources"]
    assert (row["source"], row["advisories"], row["withdrawn"]) == ("fixtures", 7, 1)
    assert row["last_counts"]["added"] == 7
    assert row["last_import"]
    assert "fixtures" in run("list", "--lang", "en")
