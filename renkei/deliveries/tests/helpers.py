"""Deliveries built with the ORM (no parser, no importer), for the page and API tests and the
security sweep (renkei/core/tests/test_security.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from renkei.deliveries.models import (
    CLOSED_VEX_STATES,
    SEVERITY_RANK,
    Advisory,
    AdvisoryPackage,
    Artifact,
    Component,
    Delivery,
    Finding,
    ForbiddenLicence,
    Sbom,
    Source,
)

# The advisory the sweep opens by id: it reaches every foreign delivery and none of the viewer's.
SWEEP_ADVISORY = "RENKEI-TEST-0001"
NOW = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


def advisory(
    osv_id: str,
    *,
    severity: str = "high",
    aliases: list[str] | None = None,
    source: str = "PyPI",
    package: str = "",
    fixed: list[str] | None = None,
    summary: str = "",
    **extra: Any,
) -> Advisory:
    row, _created = Advisory.objects.get_or_create(
        source=source,
        osv_id=osv_id,
        defaults={
            "modified": NOW,
            "imported_at": NOW,
            "severity": severity,
            "aliases": aliases or [],
            "fixed": fixed or [],
            "summary": summary or f"Summary of {osv_id}",
            **extra,
        },
    )
    if package and not row.packages.exists():
        ecosystem, _sep, name = package.partition("/")
        AdvisoryPackage.objects.create(
            advisory=row,
            ecosystem=ecosystem,
            package=name,
            ranges=[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": (fixed or ["9"])[0]}]}],
        )
    return row


def delivery(
    supplier: Any,
    *,
    product: str = "生産管理システム",
    version: str = "1.0",
    components: int = 3,
    signature_status: str = "none",
    sbom: bool = True,
    artifacts: int = 1,
    **extra: Any,
) -> Delivery:
    """A delivery of SUPPLIER with an SBOM of COMPONENTS pypi components `lib-0` … and ARTIFACTS files."""
    row = Delivery.objects.create(
        organization_id=supplier.organization_id,
        supplier=supplier,
        product=product,
        version=version,
        source=extra.pop("source", Source.STAFF),
        received_at=extra.pop("received_at", timezone.now()),
        signature_status=signature_status,
        **extra,
    )
    for index in range(artifacts):
        Artifact.objects.create(
            delivery=row,
            name=f"setup-{index}.zip",
            size=1024 * (index + 1),
            sha256=f"{index:064x}",
            file=f"deliveries/test/setup-{index}.zip",
            signature_status=signature_status,
        )
    if sbom:
        document = Sbom.objects.create(
            delivery=row,
            name="bom.cdx.json",
            size=2048,
            sha256="a" * 64,
            file="deliveries/test/bom.cdx.json",
            format="cyclonedx",
            encoding="json",
            spec_version="1.6",
            authors=["ACME CI"],
            created="2026-10-30T12:00:00Z",
            tools=["cyclonedx-py 4.0"],
            component_count=components,
            completeness=80,
            quality={
                "components": components,
                "elements": {
                    "supplier": {"present": 0, "missing": components},
                    "name": {"present": components, "missing": 0},
                },
                "document": {"author": True, "timestamp": False},
                "problems": [
                    {
                        "kind": "duplicate",
                        "field": "purl",
                        "value": "pkg:pypi/lib-0@1.0",
                        "count": 2,
                        "message": "The package pkg:pypi/lib-0@1.0 is listed 2 times.",
                    }
                ],
                "problem_count": 1,
                "duplicates": 1,
                "conflicts": 0,
            },
        )
        Component.objects.bulk_create(
            [
                Component(
                    delivery=row,
                    sbom=document,
                    ref=f"ref-{i}",
                    name=f"lib-{i}",
                    version=f"1.{i}",
                    purl=f"pkg:pypi/lib-{i}@1.{i}",
                    ecosystem="PyPI",
                    package=f"lib-{i}",
                    licenses="MIT" if i % 2 == 0 else "GPL-3.0-only",
                    missing=["supplier"],
                )
                for i in range(components)
            ]
        )
    refresh(row)
    return row


def finding(delivery: Delivery, component: Component, adv: Advisory, **extra: Any) -> Finding:
    row = Finding.objects.create(
        delivery=delivery,
        component=component,
        advisory=adv,
        osv_id=adv.osv_id,
        severity=extra.pop("severity", adv.severity),
        first_seen=NOW,
        **extra,
    )
    refresh(delivery)
    return row


def refresh(delivery: Delivery) -> None:
    """The list columns, as renkei.deliveries.findings.refresh_summaries keeps them."""
    open_rows = Finding.objects.filter(delivery=delivery, resolved_at__isnull=True).exclude(
        vex_state__in=list(CLOSED_VEX_STATES)
    )
    severities = [s for s in open_rows.values_list("severity", flat=True)]
    worst = min(severities, key=lambda s: SEVERITY_RANK.get(s, 9)) if severities else ""
    Delivery.objects.filter(pk=delivery.pk).update(
        component_count=Component.objects.filter(delivery=delivery).count(),
        open_findings=len(severities),
        worst_severity=worst,
    )
    delivery.refresh_from_db()


def vulnerable(
    supplier: Any, *, findings: int = 1, product: str = "生産管理システム", **extra: Any
) -> Delivery:
    """A delivery with FINDINGS open findings, one per component, by advisories `RENKEI-TEST-1xxx`."""
    row = delivery(supplier, product=product, components=max(findings, extra.pop("components", 3)), **extra)
    components = list(row.components.order_by("pk"))
    severities = ["critical", "high", "medium", "low", "unknown"]
    for index in range(findings):
        adv = advisory(
            f"RENKEI-TEST-{1000 + index}",
            severity=severities[index % 5],
            aliases=[f"CVE-2026-{1000 + index}"],
            package=f"PyPI/lib-{index}",
            fixed=["2.0"],
        )
        Finding.objects.create(
            delivery=row,
            component=components[index],
            advisory=adv,
            osv_id=adv.osv_id,
            severity=adv.severity,
            first_seen=NOW,
        )
    refresh(row)
    return row


def foreign_objects(suppliers: list[Any]) -> dict[str, list[Any]]:
    """For each supplier: a delivery titled LEAK-{code}-DELIVERY with a component, a finding of the
    sweep advisory, an artifact and an SBOM; and a forbidden licence of each supplier's organization."""
    adv = advisory(SWEEP_ADVISORY, aliases=["CVE-2099-0001"])
    found: dict[str, list[Any]] = {
        "delivery": [],
        "softwarefinding": [],
        "forbiddenlicence": [],
        "artifact": [],
        "sbom": [],
    }
    for supplier in suppliers:
        row = delivery(
            supplier,
            product=f"LEAK-{supplier.code}-DELIVERY",
            components=1,
            description=f"LEAK-{supplier.code}-DESCRIPTION",
        )
        component = row.components.get()
        Component.objects.filter(pk=component.pk).update(name=f"LEAK-{supplier.code}-COMPONENT")
        found["delivery"].append(row)
        found["softwarefinding"].append(finding(row, component, adv, vex_detail=f"LEAK-{supplier.code}-VEX"))
        found["artifact"].append(row.artifacts.get())
        found["sbom"].append(row.sboms.get())
    by_organization = {s.organization_id: s.code for s in suppliers}
    for organization_id, code in sorted(by_organization.items()):
        found["forbiddenlicence"].append(
            ForbiddenLicence.objects.create(
                organization_id=organization_id, identifier="AGPL-3.0-only", note=f"LEAK-{code}-POLICY"
            )
        )
    return found
