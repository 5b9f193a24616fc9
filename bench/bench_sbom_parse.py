"""SBOM reading speed (issue 8): renkei.deliveries.sbom.parse_sbom on generated files.

    python bench/bench_sbom_parse.py [--components 10000] [--repeat 5]

Generates one SBOM per format (CycloneDX 1.6 JSON and XML, SPDX 2.3 JSON and tag-value) with
COMPONENTS packages, each with a supplier, purl, licence, hash and a dependency edge, then prints
the median time of parse_sbom without schema validation (target: < 0.5 s for 10,000 CycloneDX
JSON components), and the time of a parse with validation at SCHEMA_CHECK_MAX_COMPONENTS
components (what a small upload pays). No database is used.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET_S = 0.5


def cyclonedx_json(n: int) -> bytes:
    components = [
        {
            "type": "library",
            "bom-ref": f"ref-{i}",
            "name": f"package-{i}",
            "version": f"1.{i % 50}.{i % 7}",
            "purl": f"pkg:pypi/package-{i}@1.{i % 50}.{i % 7}",
            "supplier": {"name": f"Supplier {i % 300}"},
            "licenses": [{"license": {"id": "MIT"}}],
            "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
        }
        for i in range(n)
    ]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-15T09:00:00Z",
            "authors": [{"name": "Bench Author"}],
            "component": {"type": "application", "bom-ref": "root", "name": "product", "version": "1.0"},
        },
        "components": components,
        "dependencies": [{"ref": "root", "dependsOn": [f"ref-{i}" for i in range(n)]}]
        + [{"ref": f"ref-{i}", "dependsOn": []} for i in range(n)],
    }
    return json.dumps(document).encode()


def cyclonedx_xml(n: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">',
        "<metadata><timestamp>2026-01-15T09:00:00Z</timestamp>"
        "<authors><author><name>Bench Author</name></author></authors></metadata><components>",
    ]
    for i in range(n):
        parts.append(
            f'<component type="library" bom-ref="ref-{i}">'
            f"<supplier><name>Supplier {i % 300}</name></supplier>"
            f"<name>package-{i}</name><version>1.{i % 50}</version>"
            f'<hashes><hash alg="SHA-256">{i:064x}</hash></hashes>'
            f"<licenses><license><id>MIT</id></license></licenses>"
            f"<purl>{escape(f'pkg:pypi/package-{i}@1.{i % 50}')}</purl></component>"
        )
    parts.append("</components><dependencies>")
    parts += [f'<dependency ref="ref-{i}"/>' for i in range(n)]
    parts.append("</dependencies></bom>")
    return "".join(parts).encode()


def spdx_json(n: int) -> bytes:
    packages = [
        {
            "SPDXID": f"SPDXRef-Package-{i}",
            "name": f"package-{i}",
            "versionInfo": f"1.{i % 50}",
            "downloadLocation": "NOASSERTION",
            "supplier": f"Organization: Supplier {i % 300}",
            "licenseConcluded": "MIT",
            "checksums": [{"algorithm": "SHA256", "checksumValue": f"{i:064x}"}],
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": f"pkg:pypi/package-{i}@1.{i % 50}",
                }
            ],
        }
        for i in range(n)
    ]
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "product",
        "documentNamespace": "https://example.com/product-1.0",
        "creationInfo": {"created": "2026-01-15T09:00:00Z", "creators": ["Organization: Bench"]},
        "packages": packages,
        "relationships": [
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
             "relatedSpdxElement": f"SPDXRef-Package-{i}"}
            for i in range(n)
        ],
    }  # fmt: skip
    return json.dumps(document).encode()


def spdx_tag_value(n: int) -> bytes:
    lines = [
        "SPDXVersion: SPDX-2.3",
        "DataLicense: CC0-1.0",
        "SPDXID: SPDXRef-DOCUMENT",
        "DocumentName: product",
        "DocumentNamespace: https://example.com/product-1.0",
        "Creator: Organization: Bench",
        "Created: 2026-01-15T09:00:00Z",
    ]
    for i in range(n):
        lines += [
            "",
            f"PackageName: package-{i}",
            f"SPDXID: SPDXRef-Package-{i}",
            f"PackageVersion: 1.{i % 50}",
            f"PackageSupplier: Organization: Supplier {i % 300}",
            "PackageDownloadLocation: NOASSERTION",
            f"PackageChecksum: SHA256: {i:064x}",
            "PackageLicenseConcluded: MIT",
            f"ExternalRef: PACKAGE-MANAGER purl pkg:pypi/package-{i}@1.{i % 50}",
            f"Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-{i}",
        ]
    return "\n".join(lines).encode()


GENERATORS = {
    "CycloneDX 1.6 JSON": cyclonedx_json,
    "CycloneDX 1.6 XML": cyclonedx_xml,
    "SPDX 2.3 JSON": spdx_json,
    "SPDX 2.3 tag-value": spdx_tag_value,
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--components", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    os.environ.setdefault("RENKEI_HOME", str(REPO / "bench" / "out" / "home"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renkei.settings")
    import django

    django.setup()
    from renkei.deliveries.sbom import SCHEMA_CHECK_MAX_COMPONENTS, parse_sbom

    failed = False
    print(f"parse_sbom, {args.components:,} components, median of {args.repeat}, no schema check")
    for label, generate in GENERATORS.items():
        data = generate(args.components)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            sbom = parse_sbom(data, validate=False)
            times.append(time.perf_counter() - start)
        assert len(sbom.components) == args.components, label
        assert sbom.completeness == 100, (label, sbom.completeness, sbom.quality)
        median = statistics.median(times)
        mark = ""
        if label == "CycloneDX 1.6 JSON":
            ok = median < TARGET_S * args.components / 10_000
            failed |= not ok
            mark = f"  (target < {TARGET_S} s per 10,000: {'ok' if ok else 'MISSED'})"
        print(f"  {label:<22} {len(data) / 1e6:6.1f} MB  {median:6.3f} s  "
              f"{args.components / median:9,.0f} components/s{mark}")  # fmt: skip
    print(f"with schema check, {SCHEMA_CHECK_MAX_COMPONENTS} components (validate=None)")
    for label, generate in GENERATORS.items():
        data = generate(SCHEMA_CHECK_MAX_COMPONENTS)
        start = time.perf_counter()
        sbom = parse_sbom(data)
        elapsed = time.perf_counter() - start
        state = f"checked, {len(sbom.schema_messages)} messages" if sbom.schema_checked else "not checked"
        print(f"  {label:<22} {elapsed:6.3f} s  ({state})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
