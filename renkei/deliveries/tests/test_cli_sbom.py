"""`renkei sbom scan FILE --json`: a file alone, matched against the imported advisories."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from renkei.deliveries.osv.importer import import_osv

DATA = Path(__file__).parent / "data" / "osv"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


def cyclonedx(components):
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {"timestamp": "2024-05-01T00:00:00Z", "authors": [{"name": "Example Corp"}]},
            "components": [
                {
                    "type": "library",
                    "bom-ref": f"c{i}",
                    "name": name,
                    "version": version,
                    **({"purl": purl} if purl else {}),
                }
                for i, (name, version, purl) in enumerate(components)
            ],
        }
    )


def scan(path, *extra):
    out = StringIO()
    call_command("sbom", "scan", str(path), *extra, stdout=out)
    return out.getvalue()


def test_scan_json_lists_findings_and_unparsed_components(tmp_path):
    import_osv(DATA, source="fixtures")
    sbom = tmp_path / "product.cdx.json"
    sbom.write_text(
        cyclonedx(
            [
                ("log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
                ("Django", "4.2.9", "pkg:pypi/Django@4.2.9"),
                ("semver", "7.5.4", "pkg:npm/semver@7.5.4"),
                ("in-house", "1.0", ""),
                ("semver", "", "pkg:npm/semver"),
            ]
        )
    )
    data = json.loads(scan(sbom, "--json"))
    assert data["components"] == 5
    assert [(f["name"], f["id"], f["aliases"], f["severity"]) for f in data["findings"]] == [
        ("log4j-core", "GHSA-jfh8-c2jp-5v3q", ["CVE-2021-44228"], "critical"),
        ("Django", "PYSEC-2024-47", ["CVE-2024-24680", "GHSA-xxj9-f6rv-m3x4"], "unknown"),
    ]
    assert data["findings"][1]["fixed"] == ["3.2.24", "4.2.10", "5.0.2"]
    assert set(data["findings"][0]) == {"purl", "name", "version", "id", "aliases", "severity", "fixed"}
    assert [(u["name"], u["reason"], u["advisories"]) for u in data["unparsed"]] == [
        ("in-house", "no_identifier", []),
        ("semver", "no_version", ["GHSA-c2qf-rxjj-qqgw"]),
    ]
    text = scan(sbom, "--lang", "en")
    assert "GHSA-jfh8-c2jp-5v3q" in text and "5 components" in text


def test_scan_without_advisories_finds_nothing(tmp_path):
    sbom = tmp_path / "a.json"
    sbom.write_text(cyclonedx([("semver", "7.5.1", "pkg:npm/semver@7.5.1")]))
    assert json.loads(scan(sbom, "--json")) == {"components": 1, "findings": [], "unparsed": []}


def test_scan_of_an_unreadable_file_fails_with_its_name(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="bad.json"):
        scan(bad, "--json")
    with pytest.raises(CommandError, match="missing.json"):
        scan(tmp_path / "missing.json", "--json")
