"""Reading one OSV record: validation, normalisation, severity."""

import datetime
import json
from pathlib import Path

import pytest
import yaml
from django.utils import translation

from renkei.deliveries.osv.records import RecordError, cvss3_base_score, read_record

DATA = Path(__file__).parent / "data" / "osv"


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


def load(name):
    text = (DATA / name).read_text()
    return yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)


def test_log4j_record_is_read_with_its_severity_aliases_and_fixed_versions():
    record = read_record(load("GHSA-jfh8-c2jp-5v3q.json"))
    assert record.osv_id == "GHSA-jfh8-c2jp-5v3q"
    assert record.aliases == ["CVE-2021-44228"]
    assert (record.severity, record.cvss_score) == ("critical", 10.0)
    assert record.cvss_vector.startswith("CVSS:3.1/AV:N")
    assert record.fixed == ["2.15.0", "2.12.2", "2.3.1", "1.9.2", "1.10.8"]
    assert record.modified == datetime.datetime(2024, 3, 1, 17, 12, 38, tzinfo=datetime.UTC)
    assert [(p.ecosystem, p.package, p.release) for p in record.packages] == [
        ("Maven", "org.apache.logging.log4j:log4j-core", ""),
        ("Maven", "org.ops4j.pax.logging:pax-logging-log4j2", ""),
    ]


def test_yaml_record_names_are_normalised_and_dates_accepted():
    record = read_record(load("PYSEC-2024-47.yaml"))
    assert record.packages[0].package == "django"
    assert record.packages[0].versions[:2] == ["3.2", "3.2.1"]
    assert record.modified.tzinfo is not None
    assert record.severity == "unknown"


def test_distribution_releases_come_from_the_ecosystem_suffix():
    record = read_record(load("DSA-5532-1.json"))
    assert [(p.ecosystem, p.release) for p in record.packages] == [("Debian", "12"), ("Debian", "11")]
    alpine = read_record(load("ALPINE-CVE-2023-5363.json"))
    assert (alpine.packages[0].ecosystem, alpine.packages[0].release) == ("Alpine", "v3.18")
    assert (alpine.severity, alpine.cvss_score) == ("high", 7.5)


def test_withdrawn_date_is_kept():
    record = read_record(load("GHSA-8gq5-9w4m-x7qw.json"))
    assert record.withdrawn is not None
    assert record.severity == "medium"  # GitHub's MODERATE


def test_cvss4_vector_without_score_falls_back_to_the_database_severity():
    rust = read_record(load("more/GO-2023-1571.json")[1])
    assert rust.cvss_vector.startswith("CVSS:4.0/")
    assert (rust.severity, rust.cvss_score) == ("low", None)
    data = load("more/GO-2023-1571.json")[1]
    del data["database_specific"]
    assert read_record(data).severity == "unknown"


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.8),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:A/AC:L/PR:L/UI:N/S:C/C:H/I:L/A:N", 7.6),
    ],
)
def test_cvss3_base_score_follows_the_specification(vector, score):
    assert cvss3_base_score(vector) == score


def test_numeric_score_is_taken_as_given():
    data = {
        "id": "X-1",
        "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": "5.3"}],
    }
    record = read_record(data)
    assert (record.severity, record.cvss_score, record.cvss_vector) == ("medium", 5.3, "")


def test_unsupported_ecosystems_are_dropped_but_the_advisory_kept():
    data = {
        "id": "X-2",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "OSS-Fuzz", "name": "libxml2"},
                "ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "a" * 40}]}],
            }
        ],
    }
    assert read_record(data).packages == []


def test_git_ranges_are_kept_without_commits_and_add_no_fixed_versions():
    data = {
        "id": "X-3",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "x"},
                "ranges": [
                    {"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}, {"fixed": "b" * 40}]}
                ],
                "versions": ["1.0"],
            }
        ],
    }
    record = read_record(data)
    assert record.packages[0].ranges == [{"type": "GIT"}]
    assert record.fixed == []


BASE = {"id": "X-9", "modified": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"id": None}, "id", "no id"),
        ({"modified": None}, "modified", "no modified"),
        ({"modified": "yesterday"}, "modified", "not a date"),
        ({"published": "2024-13-45"}, "published", "not a date"),
        ({"affected": {"package": {}}}, "affected", "must be a list"),
        ({"aliases": [1]}, "aliases", "strings"),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "npm", "name": "a"},
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}],
                    }
                ]
            },
            "affected[0].ranges[0].events[0]",
            "exactly one",
        ),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "npm", "name": "a"},
                        "ranges": [{"type": "SEMVER", "events": [{"fixed": "1.0.0"}]}],
                    }
                ]
            },
            "affected[0].ranges[0].events",
            "introduced",
        ),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "npm", "name": "a"},
                        "ranges": [{"type": "RPM", "events": [{"introduced": "0"}]}],
                    }
                ]
            },
            "affected[0].ranges[0].type",
            "Unknown range type",
        ),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "npm", "name": "a"},
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"removed": "1"}]}],
                    }
                ]
            },
            "affected[0].ranges[0].events[1]",
            "Unknown event",
        ),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "a"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": 1.10}]}],
                    }
                ]
            },
            "affected[0].ranges[0].events[0].introduced",
            "decimal number",
        ),
        ({"affected": [{"package": {"ecosystem": "PyPI"}}]}, "affected[0].package", "ecosystem and a name"),
    ],
)
def test_schema_breaks_are_rejected_with_their_path(change, path, message):
    data = {**BASE, **change}
    with pytest.raises(RecordError, match=message) as caught:
        read_record(data)
    assert caught.value.path == path


def test_a_record_that_is_not_an_object_is_rejected():
    with pytest.raises(RecordError, match="JSON object"):
        read_record(["GHSA-1"])
