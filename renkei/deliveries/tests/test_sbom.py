"""renkei.deliveries.sbom: reading CycloneDX and SPDX files, NTIA completeness, duplicates, and
refusing hostile input. Pure functions: no database."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
from django.utils import translation

from renkei.deliveries.sbom import (
    COMPONENT_ELEMENTS,
    MAX_SBOM_BYTES,
    SCHEMA_CHECK_MAX_COMPONENTS,
    ParsedSbom,
    SbomError,
    parse_sbom,
)

DATA = Path(__file__).parent / "data" / "sbom"
HAS_LXML = importlib.util.find_spec("lxml") is not None


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def cdx(components: list, dependencies: list | None = None, metadata: dict | None = None, **extra) -> bytes:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"timestamp": "2026-01-15T09:00:00Z", "authors": [{"name": "Author"}]}
        if metadata is None
        else metadata,
        "components": components,
        "dependencies": [{"ref": c["bom-ref"]} for c in components if isinstance(c, dict) and "bom-ref" in c]
        if dependencies is None
        else dependencies,
        **extra,
    }
    return json.dumps(document).encode()


def full_component(i: int = 0, **changes) -> dict:
    component = {
        "type": "library",
        "bom-ref": f"ref-{i}",
        "supplier": {"name": "Supplier"},
        "name": f"package-{i}",
        "version": "1.0",
        "purl": f"pkg:pypi/package-{i}@1.0",
    }
    component.update(changes)
    return {k: v for k, v in component.items() if v is not None}


def spdx(packages: list, relationships: list | None = None, creators: list | None = None) -> bytes:
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "product",
        "documentNamespace": "https://example.com/product",
        "creationInfo": {
            "created": "2026-01-15T09:00:00Z",
            "creators": ["Organization: Acme"] if creators is None else creators,
        },
        "packages": packages,
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": p["SPDXID"],
            }
            for p in packages
        ]
        if relationships is None
        else relationships,
    }
    return json.dumps(document).encode()


def spdx_package(i: int = 0, **changes) -> dict:
    package = {
        "SPDXID": f"SPDXRef-{i}",
        "name": f"package-{i}",
        "versionInfo": "1.0",
        "supplier": "Organization: Supplier",
        "downloadLocation": "NOASSERTION",
        "externalRefs": [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": f"pkg:npm/p{i}@1.0",
            }
        ],
    }
    package.update(changes)
    return {k: v for k, v in package.items() if v is not None}


def error_of(data: bytes, **kwargs) -> SbomError:
    with translation.override("en"), pytest.raises(SbomError) as caught:
        parse_sbom(data, **kwargs)
    return caught.value


# -- every format and version -----------------------------------------------------------------------

FIXTURES = [
    ("cyclonedx-1.4.json", "cyclonedx", "json", "1.4"),
    ("cyclonedx-1.5.json", "cyclonedx", "json", "1.5"),
    ("cyclonedx-1.6.json", "cyclonedx", "json", "1.6"),
    ("cyclonedx-1.4.xml", "cyclonedx", "xml", "1.4"),
    ("cyclonedx-1.5.xml", "cyclonedx", "xml", "1.5"),
    ("cyclonedx-1.6.xml", "cyclonedx", "xml", "1.6"),
    ("spdx-2.2.json", "spdx", "json", "2.2"),
    ("spdx-2.3.json", "spdx", "json", "2.3"),
    ("spdx-2.2.spdx", "spdx", "tag-value", "2.2"),
    ("spdx-2.3.spdx", "spdx", "tag-value", "2.3"),
]


@pytest.mark.parametrize(("name", "fmt", "encoding", "version"), FIXTURES)
def test_each_format_and_version_reads_three_components_with_the_same_gaps(name, fmt, encoding, version):
    sbom = parse_sbom(read(name), name)
    assert (sbom.format, sbom.encoding, sbom.spec_version) == (fmt, encoding, version)
    # Each fixture: a complete component, one (nested in CycloneDX) without a supplier, and an
    # internal library with a name only.
    first, second, third = sbom.components
    assert first.missing == []
    assert second.missing == ["supplier"]
    assert third.name == "internal-lib"
    assert third.missing == ["supplier", "version", "identifier", "dependencies"]
    # (5 + 4 + 1) / 3 component elements and both document elements: 100 × (10/3 + 2) / 7 = 76.19
    assert sbom.completeness == 76
    assert sbom.quality["elements"] == {
        "supplier": {"present": 1, "missing": 2},
        "name": {"present": 3, "missing": 0},
        "version": {"present": 2, "missing": 1},
        "identifier": {"present": 2, "missing": 1},
        "dependencies": {"present": 2, "missing": 1},
    }
    assert sbom.quality["document"] == {"author": True, "timestamp": True}
    assert sbom.quality["problem_count"] == 0
    assert all(c.problem == "" for c in sbom.components)
    json.dumps(sbom.quality)  # stored in a JSONField


@pytest.mark.parametrize("name", [f for f, *_rest in FIXTURES if not f.endswith(".xml")])
def test_small_json_and_tag_value_files_are_schema_checked_and_valid(name):
    sbom = parse_sbom(read(name))
    assert sbom.schema_checked is True
    assert sbom.schema_messages == []


@pytest.mark.parametrize("name", ["cyclonedx-1.4.xml", "cyclonedx-1.5.xml", "cyclonedx-1.6.xml"])
def test_xml_schema_check_runs_only_where_lxml_is_installed(name):
    sbom = parse_sbom(read(name))
    assert sbom.schema_checked is HAS_LXML
    if not HAS_LXML:
        assert len(sbom.schema_messages) == 1


def test_cyclonedx_16_json_fields():
    sbom = parse_sbom(read("cyclonedx-1.6.json"))
    assert sbom.authors == ["山田 太郎"]
    assert sbom.created == "2026-01-15T09:00:00Z"
    assert sbom.tools == ["@cyclonedx cdxgen 11.0.0"]
    assert (sbom.product, sbom.product_version) == ("受注管理システム", "2.1.0")
    django, asgiref, _internal = sbom.components
    assert django.ref == "pkg:pypi/django@5.2.1"
    assert django.purl == "pkg:pypi/django@5.2.1"
    assert django.supplier == "Django Software Foundation"
    assert django.licenses == "BSD-3-Clause"
    assert django.hashes == {"SHA-256": "0f7c9b0a4a1d3e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f"}
    assert asgiref.cpe == "cpe:2.3:a:django:asgiref:3.8.1:*:*:*:*:*:*:*"
    assert asgiref.licenses == "BSD-3-Clause OR MIT"


def test_xml_and_json_of_the_same_sbom_read_the_same():
    for version in ("1.4", "1.5", "1.6"):
        from_json = parse_sbom(read(f"cyclonedx-{version}.json"), validate=False)
        from_xml = parse_sbom(read(f"cyclonedx-{version}.xml"), validate=False)
        assert from_xml.components == from_json.components
        assert (from_xml.authors, from_xml.created, from_xml.tools) == (
            from_json.authors,
            from_json.created,
            from_json.tools,
        )
        assert from_xml.quality == from_json.quality


def test_cyclonedx_15_author_falls_back_to_the_manufacturer_and_a_named_licence_becomes_a_licenseref():
    sbom = parse_sbom(read("cyclonedx-1.5.json"))
    assert sbom.authors == ["サンプル工業株式会社"]
    assert sbom.quality["author_source"] == "metadata.manufacture"
    assert sbom.tools == ["syft 1.18.0", "sbom-service 2"]
    openssl, zlib, _internal = sbom.components
    assert openssl.supplier == "OpenSSL Software Foundation"  # from `publisher`
    assert zlib.licenses == "LicenseRef-zlib-License--custom"


def test_cyclonedx_14_tools_list_author_email_and_swid_identifier():
    sbom = parse_sbom(read("cyclonedx-1.4.json"))
    assert sbom.authors == ["sbom@example.co.jp"]
    assert sbom.tools == ["CycloneDX cyclonedx-maven-plugin 2.7.9"]
    core, api, _internal = sbom.components
    assert core.supplier == "Apache Software Foundation"  # from `author`
    assert api.swid == "swidgen-log4j-api-2.17.1"
    assert "identifier" not in api.missing


def test_spdx_fields_from_json_and_tag_value_agree():
    from_json = parse_sbom(read("spdx-2.3.json"), validate=False)
    from_tags = parse_sbom(read("spdx-2.3.spdx"), validate=False)
    # the Tool creator is not an author
    assert from_json.authors == ["サンプル工業株式会社 (sbom@example.co.jp)"]
    assert from_json.tools == ["syft-1.18.0"]
    assert from_json.product == "受注管理システム 2.1.0"
    django = from_json.components[0]
    assert (django.ref, django.purl, django.supplier) == (
        "SPDXRef-Package-django",
        "pkg:pypi/django@5.2.1",
        "Django Software Foundation",
    )
    assert django.hashes == {"SHA256": "0f7c9b0a4a1d3e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f"}
    assert from_json.components[1].licenses == "BSD-3-Clause OR MIT"  # declared, concluded is NOASSERTION
    assert from_tags.components[1].licenses == "(BSD-3-Clause OR MIT)"
    for a, b in zip(from_json.components, from_tags.components, strict=True):
        assert (a.ref, a.name, a.version, a.purl, a.cpe, a.supplier, a.missing) == (
            b.ref,
            b.name,
            b.version,
            b.purl,
            b.cpe,
            b.supplier,
            b.missing,
        )
    assert (from_tags.authors, from_tags.created, from_tags.tools) == (
        from_json.authors,
        from_json.created,
        from_json.tools,
    )


def test_spdx_22_originator_is_the_supplier_fallback_and_document_describes_counts_as_a_relationship():
    sbom = parse_sbom(read("spdx-2.2.json"))
    openssl = sbom.components[0]
    assert openssl.supplier == "OpenSSL Software Foundation"
    assert "dependencies" not in openssl.missing


def test_format_comes_from_the_content_not_the_file_name():
    sbom = parse_sbom(read("cyclonedx-1.6.json"), "bom.spdx")
    assert sbom.format == "cyclonedx"
    sbom = parse_sbom(read("spdx-2.3.spdx"), "bom.json")
    assert sbom.encoding == "tag-value"


# -- nested components ----------------------------------------------------------------------------


def test_nested_components_are_flattened_in_document_order_and_the_product_is_not_a_component():
    tree = [
        full_component(1, components=[full_component(2, components=[full_component(3)]), full_component(4)]),
        full_component(5),
    ]
    metadata = {"authors": [{"name": "A"}], "component": {"type": "application", "name": "product"}}
    sbom = parse_sbom(cdx(tree, metadata=metadata))
    assert [c.name for c in sbom.components] == [f"package-{i}" for i in range(1, 6)]
    assert sbom.product == "product"


def test_deeply_nested_components_are_read_without_recursion():
    depth = 400  # 800 JSON levels: within json's limit, far beyond a recursive walker's comfort
    component = full_component(depth)
    for i in range(depth - 1, 0, -1):
        component = full_component(i, components=[component])
    sbom = parse_sbom(cdx([component], dependencies=[]), validate=False)
    assert len(sbom.components) == depth
    assert sbom.components[-1].name == f"package-{depth}"


# -- NTIA elements ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({}, []),
        ({"supplier": None}, ["supplier"]),
        ({"name": None}, ["name"]),
        ({"version": None}, ["version"]),
        ({"version": "  "}, ["version"]),
        ({"purl": None}, ["identifier"]),
        ({"purl": None, "cpe": "cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*"}, []),
        ({"purl": None, "swid": {"tagId": "tag", "name": "x"}}, []),
        ({"supplier": None, "publisher": "Publisher"}, []),
        ({"supplier": None, "author": "Author"}, []),
        ({"supplier": None, "manufacturer": {"name": "Maker"}}, []),
        ({"supplier": None, "authors": [{"name": "Person"}]}, []),
        ({"supplier": {"url": ["https://example.com"]}}, ["supplier"]),
    ],
)
def test_cyclonedx_component_elements(changes, missing):
    sbom = parse_sbom(cdx([full_component(0, **changes)]), validate=False)
    assert sbom.components[0].missing == missing


def test_cyclonedx_bom_ref_alone_is_not_an_identifier():
    sbom = parse_sbom(cdx([full_component(0, purl=None)]), validate=False)
    assert sbom.components[0].ref == "ref-0"
    assert sbom.components[0].missing == ["identifier"]


def test_cyclonedx_dependencies_count_a_component_named_as_ref_or_in_depends_on_or_provides():
    components = [full_component(i) for i in range(5)]
    dependencies = [
        {"ref": "ref-0", "dependsOn": ["ref-1"]},
        {"ref": "product", "provides": ["ref-2"]},
        {"ref": "elsewhere", "dependsOn": []},
    ]
    sbom = parse_sbom(cdx(components, dependencies=dependencies), validate=False)
    assert [c.missing for c in sbom.components] == [[], [], [], ["dependencies"], ["dependencies"]]
    assert sbom.quality["elements"]["dependencies"] == {"present": 3, "missing": 2}


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({}, []),
        ({"supplier": "NOASSERTION"}, ["supplier"]),
        ({"supplier": None, "originator": "Person: Someone"}, []),
        ({"versionInfo": None}, ["version"]),
        ({"externalRefs": []}, ["identifier"]),
        (
            {"externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe23Type",
                               "referenceLocator": "cpe:2.3:a:x:y:1:*:*:*:*:*:*:*"}]},
            [],
        ),
    ],
)  # fmt: skip
def test_spdx_package_elements(changes, missing):
    sbom = parse_sbom(spdx([spdx_package(0, **changes)]), validate=False)
    assert sbom.components[0].missing == missing


def test_spdx_relationships_that_are_not_about_dependencies_do_not_count():
    packages = [spdx_package(i) for i in range(3)]
    relationships = [
        {"spdxElementId": "SPDXRef-0", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-1"},
        {"spdxElementId": "SPDXRef-2", "relationshipType": "COPY_OF", "relatedSpdxElement": "NOASSERTION"},
    ]
    sbom = parse_sbom(spdx(packages, relationships), validate=False)
    assert [c.missing for c in sbom.components] == [[], [], ["dependencies"]]


def test_document_author_needs_a_person_or_organization_not_a_tool():
    sbom = parse_sbom(spdx([spdx_package()], creators=["Tool: syft-1.0"]), validate=False)
    assert sbom.authors == []
    assert sbom.tools == ["syft-1.0"]
    assert sbom.quality["document"] == {"author": False, "timestamp": True}
    # 100 × (5/1 + 1) / 7 = 85.7
    assert sbom.completeness == 86


@pytest.mark.parametrize(
    ("metadata", "authors", "source"),
    [
        ({"authors": [{"name": "A"}]}, ["A"], "authors"),
        ({"tools": {"components": [{"type": "application", "name": "t"}]}}, [], ""),
        ({"manufacturer": {"name": "Maker"}}, ["Maker"], "metadata.manufacturer"),
        ({"supplier": {"name": "Supplier Inc."}}, ["Supplier Inc."], "metadata.supplier"),
        (
            {"component": {"type": "application", "name": "p", "supplier": {"name": "Product Co."}}},
            ["Product Co."],
            "metadata.component.supplier",
        ),
    ],
)
def test_cyclonedx_document_author_and_its_fallbacks(metadata, authors, source):
    sbom = parse_sbom(cdx([full_component()], metadata=metadata), validate=False)
    assert sbom.authors == authors
    assert sbom.quality["author_source"] == source
    assert sbom.quality["document"] == {"author": bool(authors), "timestamp": False}


# -- completeness -----------------------------------------------------------------------------------


def test_completeness_of_a_complete_sbom_is_100():
    sbom = parse_sbom(cdx([full_component(i) for i in range(3)]), validate=False)
    assert sbom.completeness == 100


def test_completeness_without_components_counts_the_document_elements_only():
    assert parse_sbom(cdx([])).completeness == 29  # 100 × 2/7 = 28.6
    assert parse_sbom(cdx([], metadata={})).completeness == 0
    assert parse_sbom(cdx([], metadata={"timestamp": "2026-01-01"})).completeness == 14  # 14.3


def test_completeness_averages_components_and_weighs_seven_elements():
    components = [full_component(0), full_component(1, supplier=None, purl=None), {"type": "library"}]
    sbom = parse_sbom(cdx(components, metadata={"timestamp": "2026-01-01"}), validate=False)
    # components: 5 + 3 + 0 of 15; document: 1 of 2 → 100 × (8/3 + 1) / 7 = 52.38
    assert sbom.completeness == 52
    assert sbom.components[2].missing == list(COMPONENT_ELEMENTS)


def test_completeness_rounds_half_up():
    components = [{"type": "library", "name": f"n{i}"} for i in range(7)] + [{"type": "library"}] * 193
    sbom = parse_sbom(cdx(components, dependencies=[], metadata={}), validate=False)
    # 7 elements present of 200 × 5, no document element: 100 × (7/200) / 7 = 0.5 exactly
    assert sbom.completeness == 1


# -- duplicates and conflicts -----------------------------------------------------------------------


def test_duplicates_and_conflicts_are_flagged_after_the_first_and_listed():
    components = [
        full_component(0, purl="pkg:pypi/a@1.0?x=1&y=2", name="a"),
        full_component(1, purl="PKG:PyPI/a@1.0?y=2&x=1", name="A"),  # same package: duplicate
        full_component(2, purl="pkg:npm/b@2.0", name="b", version="2.0"),
        full_component(3, purl="pkg:npm/b@2.0", name="b", version="2.1"),  # same purl, other version
        full_component(4, purl=None, name="c", version="1"),
        full_component(5, purl=None, name="c", version="1"),  # no purl, same name and version
        full_component(6, name="d"),
        full_component(7, **{"bom-ref": "ref-6", "name": "e"}),  # ref reused by another component
        full_component(8, purl=None, name="c", version="2"),  # other version: fine
    ]
    with translation.override("en"):
        sbom = parse_sbom(cdx(components), validate=False)
    assert [c.problem for c in sbom.components] == [
        "",
        "duplicate",
        "",
        "conflict",
        "",
        "duplicate",
        "",
        "conflict",
        "",
    ]
    problems = sbom.quality["problems"]
    assert [(p["kind"], p["field"], p["indexes"]) for p in problems] == [
        ("duplicate", "purl", [0, 1]),
        ("conflict", "purl", [2, 3]),
        ("duplicate", "name", [4, 5]),
        ("conflict", "ref", [6, 7]),
    ]
    assert problems[0]["value"] == "pkg:pypi/a@1.0?x=1&y=2"
    assert problems[1]["names"] == ["b 2.0", "b 2.1"]
    assert problems[3]["refs"] == ["ref-6", "ref-6"]
    assert "ref-6" in problems[3]["message"]
    assert sbom.quality["problem_count"] == 4
    assert (sbom.quality["duplicates"], sbom.quality["conflicts"]) == (2, 2)


def test_spdx_id_reused_for_different_packages_is_a_conflict():
    packages = [spdx_package(0), spdx_package(1, SPDXID="SPDXRef-0")]
    sbom = parse_sbom(spdx(packages), validate=False)
    assert [c.problem for c in sbom.components] == ["", "conflict"]


def test_problem_list_is_capped_but_counted():
    components = [full_component(i % 250, **{"bom-ref": f"r{i}"}) for i in range(500)]
    sbom = parse_sbom(cdx(components), validate=False)
    assert len(sbom.quality["problems"]) == 200
    assert sbom.quality["problem_count"] == 250
    assert sum(c.problem == "duplicate" for c in sbom.components) == 250


# -- schema validation ------------------------------------------------------------------------------


def test_schema_problems_are_reported_not_raised():
    sbom = parse_sbom(cdx([full_component(0, type="not-a-type")]))
    assert sbom.schema_checked is True
    assert sbom.schema_messages
    assert len(sbom.components) == 1


def test_schema_check_is_skipped_on_large_files_unless_forced():
    many = cdx([full_component(i) for i in range(SCHEMA_CHECK_MAX_COMPONENTS + 100)])
    sbom = parse_sbom(many)
    assert sbom.schema_checked is False
    assert sbom.schema_messages == []
    assert parse_sbom(read("cyclonedx-1.6.json"), validate=False).schema_checked is False


def test_schema_check_can_be_forced_on_a_large_spdx_file():
    many = spdx([spdx_package(i) for i in range(SCHEMA_CHECK_MAX_COMPONENTS + 100)])
    sbom = parse_sbom(many, validate=True)
    assert sbom.schema_checked is True
    assert sbom.schema_messages == []


# -- hostile XML ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xml-bomb.xml", "xxe.xml", "dtd.xml"])
def test_xml_with_a_dtd_is_refused_before_anything_expands(name):
    start = time.perf_counter()
    error = error_of(read(name))
    assert time.perf_counter() - start < 1
    assert "DOCTYPE" in str(error)
    assert "root:" not in str(error)  # /etc/passwd was never read


def test_xml_that_is_not_well_formed_says_where():
    error = error_of(
        b'<?xml version="1.0"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.6">\n<components>\n</bom>'
    )
    assert error.location == "line 4"
    assert "line 4" in str(error)


# -- size and encoding ------------------------------------------------------------------------------


def test_a_200_mb_file_is_refused_by_size_before_parsing():
    data = b"{" * (200 * 1024 * 1024)  # would be a JSON error if it were parsed
    start = time.perf_counter()
    error = error_of(data)
    assert time.perf_counter() - start < 0.5
    assert "200.0 MB" in str(error)
    assert f"{MAX_SBOM_BYTES / 1024 / 1024:.1f} MB" in str(error)


def test_the_size_limit_comes_from_the_settings(settings):
    data = read("cyclonedx-1.6.json")
    settings.RENKEI_SBOM_MAX_BYTES = len(data)
    assert parse_sbom(data, validate=False).format == "cyclonedx"
    settings.RENKEI_SBOM_MAX_BYTES = len(data) - 1
    error = error_of(data)
    assert "limit" in str(error)


def test_utf8_with_a_byte_order_mark_is_read():
    assert parse_sbom(b"\xef\xbb\xbf" + read("cyclonedx-1.6.json")).components[0].name == "django"
    assert parse_sbom(b"\xef\xbb\xbf" + read("cyclonedx-1.6.xml")).components[0].name == "django"
    assert parse_sbom(b"\xef\xbb\xbf" + read("spdx-2.3.spdx")).components[0].name == "django"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_json_with_a_byte_order_mark_is_read(codec):
    text = read("cyclonedx-1.6.json").decode()
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec]
    sbom = parse_sbom(bom + text.encode(codec))
    assert sbom.authors == ["山田 太郎"]


def test_utf16_without_a_byte_order_mark_is_refused():
    error = error_of(read("cyclonedx-1.6.json").decode().encode("utf-16-le"))
    assert "UTF-16" in str(error)


def test_undecodable_bytes_are_refused_with_their_offset():
    data = read("cyclonedx-1.6.json")
    offset = data.index("山田".encode())
    broken = data[:offset] + b"\xff" + data[offset + 1 :]
    error = error_of(broken)
    assert error.location == f"byte {offset}"
    assert str(offset) in str(error)
    xml = read("cyclonedx-1.6.xml")
    offset = xml.index("山田".encode())
    error = error_of(xml[:offset] + b"\xff" + xml[offset + 1 :])
    assert error.location == f"byte {offset}"


def test_empty_file_is_refused():
    assert "empty" in str(error_of(b" \n\t"))


# -- wrong types and bad syntax ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "location"),
    [
        (cdx({"a": 1}), "components"),
        (cdx([full_component(i) for i in range(3)] + [full_component(3, name=42)]), "components[3].name"),
        (cdx([*map(full_component, range(3)), full_component(3, version=["1"])]), "components[3].version"),
        (cdx([full_component(0, components=[full_component(1), full_component(2, purl={})])]),
         "components[0].components[1].purl"),
        (cdx([full_component(0, components={"x": 1})]), "components[0].components"),
        (cdx(["text"]), "components[0]"),
        (cdx([full_component(0, supplier="Acme")]), "components[0].supplier"),
        (cdx([full_component(0, licenses=[{"license": {"id": 7}}])]), "components[0].licenses[0].license.id"),
        (cdx([full_component(0, hashes={"alg": "MD5"})]), "components[0].hashes"),
        (cdx([], metadata={"authors": ["Someone"]}), "metadata.authors[0]"),
        (cdx([], metadata=[]), "metadata"),
        (cdx([], dependencies=[{"ref": "a", "dependsOn": [1]}]), "dependencies[0].dependsOn[0]"),
        (spdx([spdx_package(0), spdx_package(1, versionInfo=1.0)]), "packages[1].versionInfo"),
        (spdx([spdx_package(0, externalRefs=[[]])]), "packages[0].externalRefs[0]"),
        (spdx([], relationships={"a": 1}), "relationships"),
    ],
)  # fmt: skip
def test_wrong_types_are_refused_with_their_json_path(document, location):
    error = error_of(document)
    assert error.location == location
    assert str(error).startswith(f"{location}: expected ")


def test_wrong_type_message_keeps_its_location_in_the_default_language():
    with pytest.raises(SbomError) as caught:
        parse_sbom(cdx([full_component(0, name=42)]))
    assert caught.value.location == "components[0].name"
    assert "components[0].name" in str(caught.value)


def test_invalid_json_says_the_line():
    error = error_of(b'{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.6",\n  oops\n}')
    assert error.location == "line 4"


def test_json_nested_too_deeply_is_refused():
    error = error_of(b"[" * 200_000 + b"]" * 200_000)
    assert "nested" in str(error)


def test_huge_strings_are_cut_to_the_model_field_lengths():
    component = full_component(
        0, name="n" * 2000, version="v" * 2000, purl="pkg:npm/" + "p" * 5000, **{"bom-ref": "r" * 2000}
    )
    component["supplier"] = {"name": "s" * 2000}
    component["licenses"] = [{"expression": "LicenseRef-" + "x" * 2000}]
    parsed = parse_sbom(cdx([component]), validate=False).components[0]
    lengths = [len(parsed.name), len(parsed.version), len(parsed.purl), len(parsed.ref), len(parsed.supplier)]
    assert lengths == [500, 200, 1000, 500, 300]
    assert len(parsed.licenses) == 500


# -- unknown or unsupported documents ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"hello world",
        b'{"foo": 1}',
        b"[1, 2]",
        b'{"bomFormat": "Other", "specVersion": "1.6"}',
        b"<html><body/></html>",
        b'<bom xmlns="http://example.com/not-cyclonedx"/>',
        b"PackageName: x\nSPDXVersion: SPDX-2.3",
    ],
)
def test_unknown_documents_are_refused(data):
    assert "not a CycloneDX or SPDX document" in str(error_of(data))


@pytest.mark.parametrize(
    ("data", "version"),
    [
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}', "1.2"),
        (b'<bom xmlns="http://cyclonedx.org/schema/bom/1.3" version="1"/>', "1.3"),
        (b'{"spdxVersion": "SPDX-2.1", "packages": []}', "SPDX-2.1"),
        (b"SPDXVersion: SPDX-2.1\nDataLicense: CC0-1.0\n", "SPDX-2.1"),
    ],
)
def test_unsupported_spec_versions_are_named(data, version):
    error = error_of(data)
    assert "Unsupported" in str(error)
    assert version in str(error)


# -- tag-value --------------------------------------------------------------------------------------


def test_tag_value_line_without_a_tag_says_the_line():
    error = error_of(b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nthis is not a tag\n")
    assert error.location == "line 3"


def test_tag_value_unclosed_text_says_where_it_opened():
    error = error_of(b"SPDXVersion: SPDX-2.3\nDocumentComment: <text>never\nclosed\n")
    assert error.location == "line 2"


def test_tag_value_file_and_snippet_sections_do_not_change_the_package_before_them():
    data = (
        b"SPDXVersion: SPDX-2.3\nCreator: Person: A\nCreated: 2026-01-01T00:00:00Z\n"
        b"PackageName: p\nSPDXID: SPDXRef-p\nPackageVersion: 1\n"
        b"FileName: ./x\nSPDXID: SPDXRef-file\nPackageVersion: 9\n"
    )
    component = parse_sbom(data, validate=False).components[0]
    assert (component.ref, component.version) == ("SPDXRef-p", "1")


def test_tag_value_reads_ten_thousand_packages_linearly():
    lines = ["SPDXVersion: SPDX-2.3", "Creator: Organization: A", "Created: 2026-01-01T00:00:00Z"]
    for i in range(10_000):
        lines += [f"PackageName: p{i}", f"SPDXID: SPDXRef-{i}", "PackageVersion: 1",
                  f"ExternalRef: PACKAGE-MANAGER purl pkg:npm/p{i}@1"]  # fmt: skip
    sbom = parse_sbom("\n".join(lines).encode(), validate=None)
    assert len(sbom.components) == 10_000
    assert sbom.schema_checked is False
    assert isinstance(sbom, ParsedSbom)


@pytest.mark.parametrize(
    "data",
    [
        cdx([full_component(0, components=[full_component(1)]), full_component(2)]),
        read("cyclonedx-1.6.xml"),
        spdx([spdx_package(i) for i in range(3)]),
        read("spdx-2.3.spdx"),
    ],
)
def test_more_components_than_the_limit_are_refused(settings, data):
    settings.RENKEI_SBOM_MAX_COMPONENTS = 3
    assert len(parse_sbom(data, validate=False).components) == 3
    settings.RENKEI_SBOM_MAX_COMPONENTS = 2
    assert "more than 2 components" in str(error_of(data, validate=False))


def test_utf16_xml_with_a_byte_order_mark_is_read():
    text = read("cyclonedx-1.6.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    sbom = parse_sbom(b"\xff\xfe" + text.encode("utf-16-le"))
    assert sbom.authors == ["山田 太郎"]
    assert len(sbom.components) == 3


def test_spdx_schema_problems_are_reported_not_raised():
    sbom = parse_sbom(spdx([spdx_package(0, downloadLocation=None)]))
    assert sbom.schema_checked is True
    assert any(
        "downloadLocation" in message or "download_location" in message for message in sbom.schema_messages
    )
    assert sbom.components[0].missing == []
