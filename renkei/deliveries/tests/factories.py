"""Small builders for delivery tests: SBOM documents, OSV records and stored advisories."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from renkei.audit.services import Actor
from renkei.deliveries import services
from renkei.deliveries.models import Advisory, AdvisoryPackage

SYSTEM = Actor.system("tests")


def cyclonedx(
    components: list[tuple[str, str, str]], *, author: bool = True, licences: dict | None = None
) -> bytes:
    """A CycloneDX 1.6 JSON SBOM of (name, version, purl) components, all depending on the first."""
    licences = licences or {}
    items = []
    for name, version, purl in components:
        item: dict[str, Any] = {
            "type": "library",
            "bom-ref": purl or name,
            "name": name,
            "version": version,
            "supplier": {"name": "OSS"},
        }
        if purl:
            item["purl"] = purl
        if name in licences:
            item["licenses"] = [{"expression": licences[name]}]
        items.append(item)
    refs = [c["bom-ref"] for c in items]
    document: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "metadata": {
            "timestamp": "2026-11-30T09:00:00Z",
            "component": {"type": "application", "name": "製品", "version": "1.0"},
        },
        "components": items,
        "dependencies": [{"ref": "root", "dependsOn": refs}] + [{"ref": r} for r in refs],
    }
    if author:
        document["metadata"]["authors"] = [{"name": "東海精密 開発部"}]
    return json.dumps(document, ensure_ascii=False).encode()


def advisory(
    osv_id: str,
    ecosystem: str,
    package: str,
    events: list[dict],
    *,
    severity: str = "high",
    aliases: list[str] | None = None,
    fixed: list[str] | None = None,
    source: str = "test",
    versions: list[str] | None = None,
    release: str = "",
) -> Advisory:
    row = Advisory.objects.create(
        source=source,
        osv_id=osv_id,
        modified=timezone.now() - datetime.timedelta(days=1),
        summary=f"{package} vulnerability",
        aliases=aliases or [],
        severity=severity,
        fixed=fixed or [],
        imported_at=timezone.now(),
    )
    AdvisoryPackage.objects.create(
        advisory=row,
        ecosystem=ecosystem,
        package=package,
        release=release,
        ranges=[{"type": "ECOSYSTEM", "events": events}],
        versions=versions or [],
    )
    return row


def upload(name: str, data: bytes) -> ContentFile:
    return ContentFile(data, name=name)


def register(
    world: Any,
    sbom: bytes | None = None,
    *,
    supplier: Any = None,
    artifacts: Any = None,
    actor: Actor = SYSTEM,
    **extra: Any,
) -> Any:
    return services.register_delivery(
        actor,
        world.buyer,
        supplier or world.s1,
        product=extra.pop("product", "生産管理システム"),
        version=extra.pop("version", "2.4.0"),
        source=extra.pop("source", "staff"),
        artifacts=artifacts or [],
        sbom=upload("bom.json", sbom) if sbom is not None else None,
        **extra,
    )


def log4shell(**extra: Any) -> Advisory:
    """GHSA-jfh8-c2jp-5v3q (Log4Shell) as stored: log4j-core from 2.0-beta9 before 2.15.0, critical."""
    return advisory(
        "GHSA-jfh8-c2jp-5v3q",
        "Maven",
        "org.apache.logging.log4j:log4j-core",
        [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}],
        severity="critical",
        aliases=["CVE-2021-44228"],
        fixed=["2.15.0"],
        **extra,
    )
