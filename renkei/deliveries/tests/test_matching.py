"""Matching components against imported advisories: keys, releases, unknowns, dedup, queries."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.utils import translation

from renkei.deliveries.matching import (
    MALFORMED_PURL,
    NO_IDENTIFIER,
    NO_VERSION,
    UNPARSABLE_VERSION,
    UNSUPPORTED_ECOSYSTEM,
    component_key,
    match,
    scan,
)
from renkei.deliveries.models import Advisory
from renkei.deliveries.osv.ecosystems import Key
from renkei.deliveries.osv.importer import import_osv

DATA = Path(__file__).parent / "data" / "osv"
pytestmark = pytest.mark.django_db


@dataclass
class C:
    purl: str = ""
    name: str = ""
    version: str = ""


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def feed(db):
    return import_osv(DATA, source="fixtures")


def ids(document):
    return sorted((f["purl"], f["id"]) for f in document["findings"])


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        ("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", ["GHSA-jfh8-c2jp-5v3q"]),
        ("pkg:maven/org.apache.logging.log4j/log4j-core@2.0-beta9", ["GHSA-jfh8-c2jp-5v3q"]),
        ("pkg:maven/org.apache.logging.log4j/log4j-core@2.12.2", []),
        ("pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1", []),
        ("pkg:pypi/Django@4.2.9", ["PYSEC-2024-47"]),
        ("pkg:pypi/django@4.2.10", []),
        ("pkg:pypi/django@3.1.0", []),
        ("pkg:npm/semver@5.7.1", ["GHSA-c2qf-rxjj-qqgw"]),
        ("pkg:npm/semver@6.3.0", ["GHSA-c2qf-rxjj-qqgw"]),
        ("pkg:npm/semver@6.3.1", []),
        ("pkg:npm/semver@7.5.1", ["GHSA-c2qf-rxjj-qqgw"]),
        ("pkg:npm/semver@7.5.2", []),
        ("pkg:npm/xml2js@0.4.0", []),  # withdrawn
        ("pkg:deb/debian/libssl3@3.0.11-1~deb12u1?upstream=openssl&distro=debian-12", ["DSA-5532-1"]),
        ("pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=bookworm", []),
        ("pkg:deb/debian/openssl@1.1.1n-0+deb11u5?distro=debian-11", ["DSA-5532-1"]),
        ("pkg:deb/debian/openssl@1.1.1w-0+deb11u1?distro=debian-11", []),
        (
            "pkg:apk/alpine/libcrypto3@3.1.3-r0?upstream=openssl&distro=alpine-3.18.4",
            ["ALPINE-CVE-2023-5363"],
        ),
        ("pkg:apk/alpine/openssl@3.1.3-r0?distro=alpine-3.19.0", []),  # another release
        ("pkg:apk/alpine/openssl@3.1.4-r0?distro=alpine-3.18.4", []),
        ("pkg:golang/golang.org/x/net@v0.6.0", ["GO-2023-1571"]),
        ("pkg:golang/golang.org/x/net@v0.7.0", []),
        ("pkg:cargo/openssl@0.10.54", ["RUSTSEC-2023-0044"]),
    ],
)
def test_component_versions_are_matched_with_their_ecosystem(feed, purl, expected):
    document = scan([C(purl=purl, name="x")])
    assert [f["id"] for f in document["findings"]] == expected
    assert document["unparsed"] == []


def test_finding_carries_aliases_severity_and_fixed_versions(feed):
    document = scan(
        [C(purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", name="log4j-core", version="2.14.1")]
    )
    assert document == {
        "components": 1,
        "findings": [
            {
                "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
                "name": "log4j-core",
                "version": "2.14.1",
                "id": "GHSA-jfh8-c2jp-5v3q",
                "aliases": ["CVE-2021-44228"],
                "severity": "critical",
                "fixed": ["2.15.0", "2.12.2", "2.3.1"],
            }
        ],
        "unparsed": [],
    }


def test_components_that_cannot_be_matched_are_reported_not_dropped(feed):
    components = [
        C(purl="pkg:npm/semver@7.5.1", name="semver"),
        C(purl="semver@1.0.0", name="semver", version="1.0.0"),
        C(purl="pkg:github/actions/checkout@v4", name="checkout"),
        C(purl="pkg:npm/semver", name="semver"),
        C(purl="pkg:pypi/django@banana", name="django"),
        C(name="in-house-lib", version="1.0"),
    ]
    document = scan(components)
    assert document["components"] == 6
    assert [f["id"] for f in document["findings"]] == ["GHSA-c2qf-rxjj-qqgw"]
    unparsed = {u["name"] + ":" + u["reason"]: u for u in document["unparsed"]}
    assert sorted(unparsed) == sorted(
        [
            f"semver:{MALFORMED_PURL}",
            f"checkout:{UNSUPPORTED_ECOSYSTEM}",
            f"semver:{NO_VERSION}",
            f"django:{UNPARSABLE_VERSION}",
            f"in-house-lib:{NO_IDENTIFIER}",
        ]
    )
    assert unparsed[f"semver:{NO_VERSION}"]["advisories"] == ["GHSA-c2qf-rxjj-qqgw"]
    assert unparsed[f"django:{UNPARSABLE_VERSION}"]["advisories"] == ["PYSEC-2024-47"]
    assert "banana" in unparsed[f"django:{UNPARSABLE_VERSION}"]["message"]
    assert "semver@1.0.0" in unparsed[f"semver:{MALFORMED_PURL}"]["message"]
    assert unparsed[f"checkout:{UNSUPPORTED_ECOSYSTEM}"]["advisories"] == []
    assert set(document["unparsed"][0]) == {"purl", "name", "version", "reason", "message", "advisories"}


def test_an_unparsable_advisory_bound_is_unknown_not_unaffected(tmp_path):
    feed = tmp_path / "deb"
    feed.mkdir()
    (feed / "DEBIAN-X.json").write_text(
        json.dumps(
            {
                "id": "DEBIAN-CVE-2024-0001",
                "modified": "2024-01-01T00:00:00Z",
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": "zlib"},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": "not a version!"}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    import_osv(feed)
    key, version, reason = component_key("pkg:deb/debian/zlib@1:1.2.13.dfsg-1?distro=debian-12", "zlib", "")
    assert reason == ""
    hits, unknowns = match([(key, version)])
    assert [(h.osv_id, h.match) for h in hits] == [("DEBIAN-CVE-2024-0001", "unknown")]
    assert unknowns[0].reason == UNPARSABLE_VERSION
    assert "not a version!" in unknowns[0].message
    document = scan([C(purl="pkg:deb/debian/zlib@1:1.2.13.dfsg-1?distro=debian-12", name="zlib")])
    assert document["findings"] == []
    assert document["unparsed"][0]["advisories"] == ["DEBIAN-CVE-2024-0001"]


def test_the_same_record_from_two_sources_is_reported_once(feed, tmp_path):
    copy = tmp_path / "ghsa"
    copy.mkdir()
    shutil.copy(DATA / "GHSA-c2qf-rxjj-qqgw.json", copy)
    import_osv(copy)
    assert Advisory.objects.filter(osv_id="GHSA-c2qf-rxjj-qqgw").count() == 2
    hits, _unknowns = match([(Key("npm", "semver"), "6.0.0")])
    assert [h.osv_id for h in hits] == ["GHSA-c2qf-rxjj-qqgw"]


def test_gone_advisories_no_longer_match(tmp_path):
    feed = tmp_path / "npm"
    shutil.copytree(DATA, feed)
    import_osv(feed)
    assert match([(Key("npm", "semver"), "6.0.0")])[0]
    (feed / "GHSA-c2qf-rxjj-qqgw.json").unlink()
    import_osv(feed)
    assert match([(Key("npm", "semver"), "6.0.0")]) == ([], [])


def test_component_without_release_matches_every_release(feed):
    # Both releases' entries reach 1.1.1n: the finding names both fixes, one per release.
    hits, _ = match([(Key("Debian", "openssl"), "1.1.1n-0+deb11u5")])
    assert [(h.osv_id, h.match, sorted(h.fixed)) for h in hits] == [
        ("DSA-5532-1", "affected", ["1.1.1w-0+deb11u1", "3.0.11-1~deb12u2"])
    ]
    hits, _ = match([(Key("Debian", "openssl", "11"), "1.1.1n-0+deb11u5")])
    assert [h.fixed for h in hits] == [["1.1.1w-0+deb11u1"]]


def test_hits_carry_the_advisory_and_the_interval(feed):
    hits, unknowns = match([(None, "1.0"), (Key("Maven", "org.apache.logging.log4j:log4j-core"), "2.14.1")])
    assert unknowns == []
    (hit,) = hits
    assert hit.component_index == 1
    assert hit.advisory_id == Advisory.objects.get(osv_id="GHSA-jfh8-c2jp-5v3q").pk
    assert (hit.match, hit.reason, hit.severity) == ("affected", "ECOSYSTEM >=2.13.0, <2.15.0", "critical")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("pkg:pypi/Django@4.2", "Django", "9.9"), (Key("PyPI", "django"), "4.2", "")),
        (("pkg:pypi/Django", "Django", "4.2"), (Key("PyPI", "django"), "4.2", "")),
        (("", "Django_Rest", "3.0", "pypi"), (Key("PyPI", "django-rest"), "3.0", "")),
        (("", "lib", "1.0", "cobol"), (None, "1.0", NO_IDENTIFIER)),
        (("pkg:npm/a@latest", "a", ""), (Key("npm", "a"), "latest", UNPARSABLE_VERSION)),
    ],
)
def test_component_key(args, expected):
    assert component_key(*args) == expected


def test_matching_costs_a_query_per_ecosystem_whatever_the_number_of_components(
    feed, django_assert_num_queries
):
    items = [(Key("npm", f"pkg-{i}"), "1.0.0") for i in range(500)] + [(Key("npm", "semver"), "6.0.0")] * 50
    items += [(Key("PyPI", "django"), "4.2.9")] * 10
    with django_assert_num_queries(2):
        hits, _ = match(items)
    assert len(hits) == 60
