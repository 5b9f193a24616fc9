"""`import_osv`: incremental full-snapshot imports, rejection, atomicity, query counts."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from renkei.deliveries.models import Advisory, AdvisoryPackage, OsvImport
from renkei.deliveries.osv.ecosystems import Key
from renkei.deliveries.osv.importer import OsvImportError, import_osv

DATA = Path(__file__).parent / "data" / "osv"
FIXTURE_IDS = {
    "GHSA-jfh8-c2jp-5v3q",
    "PYSEC-2024-47",
    "GHSA-c2qf-rxjj-qqgw",
    "DSA-5532-1",
    "ALPINE-CVE-2023-5363",
    "GHSA-8gq5-9w4m-x7qw",
    "GO-2023-1571",
    "RUSTSEC-2023-0044",
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def feed(tmp_path):
    """A writable copy of the fixture records, as a directory named "feed"."""
    target = tmp_path / "feed"
    shutil.copytree(DATA, target)
    return target


def record(osv_id, name="left-pad", fixed="1.3.0", modified="2024-01-01T00:00:00Z", **extra):
    return {
        "id": osv_id,
        "modified": modified,
        "aliases": [f"CVE-2024-{osv_id[-4:]}"],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": name},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
        **extra,
    }


def write(directory, records):
    directory.mkdir(parents=True, exist_ok=True)
    for data in records:
        (directory / f"{data['id']}.json").write_text(json.dumps(data))
    return directory


def snapshot():
    return sorted(
        Advisory.objects.values_list("source", "osv_id", "modified", "gone", "withdrawn", "imported_at")
    ), sorted(AdvisoryPackage.objects.values_list("advisory_id", "ecosystem", "package", "release"))


def test_directory_import_stores_every_record_and_counts_them(feed):
    result = import_osv(feed)
    assert result.source == "feed"
    assert result.counts == {"added": 7, "changed": 0, "unchanged": 0, "withdrawn": 1, "rejected": 0}
    assert set(Advisory.objects.values_list("osv_id", flat=True)) == FIXTURE_IDS
    log4j = Advisory.objects.get(osv_id="GHSA-jfh8-c2jp-5v3q")
    assert (log4j.severity, log4j.cvss_score, log4j.aliases) == ("critical", 10.0, ["CVE-2021-44228"])
    assert Advisory.objects.get(osv_id="GHSA-8gq5-9w4m-x7qw").withdrawn is not None
    debian = AdvisoryPackage.objects.filter(advisory__osv_id="DSA-5532-1").order_by("release")
    assert [(p.ecosystem, p.package, p.release) for p in debian] == [
        ("Debian", "openssl", "11"),
        ("Debian", "openssl", "12"),
    ]
    assert Key("Maven", "org.apache.logging.log4j:log4j-core", "") in result.touched
    assert Key("Alpine", "openssl", "v3.18") in result.touched
    row = OsvImport.objects.get(pk=result.import_id)
    assert row.counts == result.counts
    assert row.keys_touched == len(result.touched)
    assert row.finished_at is not None


def test_reimporting_the_same_snapshot_changes_nothing(feed):
    import_osv(feed)
    before = snapshot()
    result = import_osv(feed)
    assert result.counts == {"added": 0, "changed": 0, "unchanged": 8, "withdrawn": 0, "rejected": 0}
    assert result.touched == set()
    assert snapshot() == before


def test_a_changed_record_replaces_its_packages_in_place(tmp_path):
    feed = write(tmp_path / "npm", [record("GHSA-0001", name="old-name"), record("GHSA-0002")])
    import_osv(feed)
    pk = Advisory.objects.get(osv_id="GHSA-0001").pk
    write(feed, [record("GHSA-0001", name="new-name", fixed="2.0.0", modified="2024-02-01T00:00:00Z")])
    result = import_osv(feed)
    assert result.counts == {"added": 0, "changed": 1, "unchanged": 1, "withdrawn": 0, "rejected": 0}
    assert result.touched == {Key("npm", "old-name"), Key("npm", "new-name")}
    advisory = Advisory.objects.get(osv_id="GHSA-0001")
    assert advisory.pk == pk
    assert advisory.fixed == ["2.0.0"]
    assert list(advisory.packages.values_list("package", flat=True)) == ["new-name"]


def test_records_missing_from_the_snapshot_are_gone_and_come_back_as_changed(tmp_path):
    feed = write(tmp_path / "npm", [record("GHSA-0001"), record("GHSA-0002", name="other")])
    import_osv(feed)
    (feed / "GHSA-0002.json").unlink()
    result = import_osv(feed)
    assert result.counts == {"added": 0, "changed": 0, "unchanged": 1, "withdrawn": 1, "rejected": 0}
    assert result.touched == {Key("npm", "other")}
    assert Advisory.objects.get(osv_id="GHSA-0002").gone
    assert not Advisory.objects.get(osv_id="GHSA-0001").gone
    write(feed, [record("GHSA-0002", name="other")])
    result = import_osv(feed)
    assert result.counts["changed"] == 1
    assert not Advisory.objects.get(osv_id="GHSA-0002").gone


def test_a_snapshot_only_covers_its_own_source(tmp_path):
    import_osv(write(tmp_path / "a", [record("GHSA-0001")]))
    result = import_osv(write(tmp_path / "b", [record("GHSA-0002")]))
    assert result.counts["withdrawn"] == 0
    assert not Advisory.objects.filter(gone=True).exists()
    # The same id from two sources: two advisories.
    import_osv(write(tmp_path / "c", [record("GHSA-0001")]))
    assert Advisory.objects.filter(osv_id="GHSA-0001").count() == 2


def test_zip_import_and_zip_inside_a_directory(tmp_path, feed):
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(feed.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(feed).as_posix())
    result = import_osv(archive)
    assert result.source == "all"
    assert result.added + result.withdrawn == 8
    nested = tmp_path / "mirror" / "PyPI"
    nested.mkdir(parents=True)
    shutil.copy(archive, nested / "all.zip")
    result = import_osv(tmp_path / "mirror", source="mirror")
    assert result.added + result.withdrawn == 8
    assert Advisory.objects.filter(source="mirror").count() == 8


def test_source_name_can_be_given(feed):
    assert import_osv(feed, source="ghsa").source == "ghsa"
    assert Advisory.objects.filter(source="ghsa").count() == 8


def test_rejected_records_are_listed_and_the_others_imported(tmp_path):
    feed = write(tmp_path / "npm", [record("GHSA-0001"), {"id": "GHSA-0002"}])
    (feed / "broken.json").write_text('{"id": "GHSA-0003", "modified": ')
    (feed / "list.json").write_text(json.dumps([record("GHSA-0004"), {"modified": "2024-01-01T00:00:00Z"}]))
    (feed / "bad.yaml").write_text("id: [unclosed\n")
    result = import_osv(feed)
    assert (result.added, result.rejected) == (2, 4)
    files = {(r["file"], r["path"]) for r in result.rejected_records}
    assert files == {
        ("GHSA-0002.json", "modified"),
        ("broken.json", ""),
        ("list.json", "[1].id"),
        ("bad.yaml", ""),
    }
    assert all(r["message"] for r in result.rejected_records)
    assert OsvImport.objects.get(pk=result.import_id).rejected == result.rejected_records


def test_a_broken_new_version_keeps_the_stored_one(tmp_path):
    feed = write(tmp_path / "npm", [record("GHSA-0001")])
    import_osv(feed)
    broken = record("GHSA-0001", modified="2024-05-01T00:00:00Z")
    broken["affected"][0]["ranges"][0]["type"] = "NOPE"
    write(feed, [broken])
    result = import_osv(feed)
    assert (result.rejected, result.withdrawn) == (1, 0)
    advisory = Advisory.objects.get(osv_id="GHSA-0001")
    assert not advisory.gone
    assert advisory.packages.count() == 1


def test_an_id_twice_in_one_snapshot_is_rejected_once(tmp_path):
    feed = write(tmp_path / "npm", [record("GHSA-0001")])
    (feed / "copy.json").write_text(json.dumps(record("GHSA-0001")))
    result = import_osv(feed)
    assert (result.added, result.rejected) == (1, 1)
    assert "twice" in result.rejected_records[0]["message"]


def test_a_broken_zip_is_an_error_naming_it_and_changes_nothing(tmp_path, feed):
    import_osv(feed)
    before = snapshot()
    bad = tmp_path / "feed2"
    shutil.copytree(feed, bad)
    (bad / "zz.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    (bad / "GHSA-c2qf-rxjj-qqgw.json").unlink()
    with pytest.raises(OsvImportError, match="zz.zip"):
        import_osv(bad, source="feed")
    assert snapshot() == before
    assert OsvImport.objects.count() == 1


def test_a_zip_corrupt_in_its_second_member_rolls_everything_back(tmp_path):
    archive = tmp_path / "npm.zip"
    first, second = json.dumps(record("GHSA-0001")).encode(), json.dumps(record("GHSA-0002")).encode()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("GHSA-0001.json", first)
        zf.writestr("GHSA-0002.json", second)
    raw = bytearray(archive.read_bytes())
    at = raw.rindex(second)  # stored uncompressed: flip bytes of the second member's data
    raw[at + 10 : at + 14] = b"\xde\xad\xbe\xef"
    archive.write_bytes(bytes(raw))
    with pytest.raises(OsvImportError, match=r"npm.zip!/GHSA-0002.json"):
        import_osv(archive)
    assert Advisory.objects.count() == 0
    assert AdvisoryPackage.objects.count() == 0
    assert OsvImport.objects.count() == 0


def test_a_missing_path_is_an_error(tmp_path):
    with pytest.raises(OsvImportError, match="does not exist"):
        import_osv(tmp_path / "nowhere")


def test_on_done_gets_the_result_and_its_count_is_stored(feed):
    seen = []

    def after(result):
        seen.append(result)
        return 3

    result = import_osv(feed, on_done=after)
    assert seen == [result]
    assert result.new_findings == 3
    assert OsvImport.objects.get(pk=result.import_id).new_findings == 3


def _queries(directory):
    with CaptureQueriesContext(connection) as captured:
        import_osv(directory)
    return len(captured)


def test_query_count_does_not_grow_with_records(tmp_path):
    few = _queries(write(tmp_path / "few", [record(f"GHSA-{i:04d}", name=f"p{i}") for i in range(5)]))
    many = _queries(write(tmp_path / "many", [record(f"GHSA-{i:04d}", name=f"p{i}") for i in range(60)]))
    assert few == many
    # Changing and dropping records costs a constant number of queries too.
    feed = tmp_path / "many"
    for i in range(30):
        (feed / f"GHSA-{i:04d}.json").unlink()
    write(
        feed, [record(f"GHSA-{i:04d}", name=f"q{i}", modified="2024-06-01T00:00:00Z") for i in range(30, 40)]
    )
    changed_few = _queries(feed)
    for i in range(40, 60):
        (feed / f"GHSA-{i:04d}.json").unlink()
    write(
        feed, [record(f"GHSA-{i:04d}", name=f"r{i}", modified="2024-07-01T00:00:00Z") for i in range(30, 40)]
    )
    assert _queries(feed) == changed_few
