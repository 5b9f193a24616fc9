"""CycloneDX VEX for a delivery (docs/deliveries.md, "Triage (VEX)").

Export: a CycloneDX 1.6 JSON document built with cyclonedx-python-lib — the delivery as
metadata.component, the components that have findings, and one vulnerability per (advisory,
component) with its ratings, its source and our triage as `analysis`. Only components with
findings go in, so the library's serialiser (slow on very large BOMs) stays fast.

Import: a CycloneDX VEX in JSON (ours, or the supplier's). Each vulnerability's `analysis` is
applied to the delivery's findings it names: the vulnerability id (or one of its aliases) against
the advisory id and aliases, each `affects[].ref` against the component's bom-ref or purl (a
BOM-Link `urn:cdx:…#ref` is read up to its fragment). Everything is checked before anything is
written; statements that match no finding are reported, not silently dropped.

    ours            CycloneDX analysis.state
    in_triage       in_triage
    affected        exploitable
    not_affected    not_affected (false_positive reads as not_affected)
    fixed           resolved (resolved_with_pedigree reads as fixed)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cyclonedx.model import XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.model.vulnerability import (
    BomTarget,
    ImpactAnalysisJustification,
    ImpactAnalysisState,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from packageurl import PackageURL

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.deliveries.models import Delivery, Finding, Justification, VexState

MAX_VEX_BYTES = 10 * 1024 * 1024
MAX_STATEMENTS = 100_000

TO_CDX = {
    VexState.IN_TRIAGE: ImpactAnalysisState.IN_TRIAGE,
    VexState.AFFECTED: ImpactAnalysisState.EXPLOITABLE,
    VexState.NOT_AFFECTED: ImpactAnalysisState.NOT_AFFECTED,
    VexState.FIXED: ImpactAnalysisState.RESOLVED,
}
FROM_CDX = {
    "in_triage": VexState.IN_TRIAGE,
    "exploitable": VexState.AFFECTED,
    "not_affected": VexState.NOT_AFFECTED,
    "false_positive": VexState.NOT_AFFECTED,
    "resolved": VexState.FIXED,
    "resolved_with_pedigree": VexState.FIXED,
}
SEVERITIES = {
    "critical": VulnerabilitySeverity.CRITICAL,
    "high": VulnerabilitySeverity.HIGH,
    "medium": VulnerabilitySeverity.MEDIUM,
    "low": VulnerabilitySeverity.LOW,
    "none": VulnerabilitySeverity.NONE,
    "unknown": VulnerabilitySeverity.UNKNOWN,
}


class VexError(ValueError):
    """An unreadable VEX document; str() says what and where, in the active language."""


def _source_of(identifier: str) -> VulnerabilitySource:
    """Where an alias is published: NVD for CVE ids, GitHub for GHSA ids, OSV otherwise."""
    if identifier.startswith("CVE-"):
        return VulnerabilitySource(name="NVD", url=XsUri(f"https://nvd.nist.gov/vuln/detail/{identifier}"))
    if identifier.startswith("GHSA-"):
        return VulnerabilitySource(name="GitHub", url=XsUri(f"https://github.com/advisories/{identifier}"))
    return VulnerabilitySource(name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{identifier}"))


def _ref(component: Any) -> str:
    return component.ref or component.purl or f"renkei-component-{component.pk}"


def export_vex(delivery: Delivery) -> bytes:
    """The delivery's findings and their triage as a CycloneDX 1.6 VEX (JSON bytes)."""
    findings = list(
        delivery.findings.filter(resolved_at__isnull=True)
        .select_related("component", "advisory")
        .order_by("osv_id", "component_id")
    )
    bom = Bom()
    bom.metadata.timestamp = timezone.now()
    bom.metadata.component = CdxComponent(
        name=delivery.product,
        version=delivery.version,
        type=ComponentType.APPLICATION,
        bom_ref=f"renkei-delivery-{delivery.pk}",
    )
    components: dict[int, CdxComponent] = {}
    for finding in findings:
        component = finding.component
        if component.pk in components:
            continue
        purl = None
        if component.purl:
            try:
                purl = PackageURL.from_string(component.purl)
            except ValueError:
                purl = None
        components[component.pk] = CdxComponent(
            name=component.name,
            version=component.version or None,
            purl=purl,
            bom_ref=_ref(component),
            type=ComponentType.LIBRARY,
        )
        bom.components.add(components[component.pk])
    # The product depends on every component listed (the VEX lists only those with findings).
    bom.register_dependency(bom.metadata.component, list(components.values()))
    for finding in findings:
        advisory = finding.advisory
        analysis = None
        if finding.vex_state:
            justification = (
                ImpactAnalysisJustification(finding.vex_justification) if finding.vex_justification else None
            )
            analysis = VulnerabilityAnalysis(
                state=TO_CDX[VexState(finding.vex_state)],
                justification=justification,
                detail=finding.vex_detail or None,
            )
        ratings = []
        if advisory.severity and advisory.severity != "unknown" or advisory.cvss_score is not None:
            ratings.append(
                VulnerabilityRating(
                    score=advisory.cvss_score,
                    severity=SEVERITIES.get(advisory.severity),
                    method=VulnerabilityScoreSource.CVSS_V3_1
                    if advisory.cvss_vector.startswith("CVSS:3.1")
                    else (
                        VulnerabilityScoreSource.CVSS_V3
                        if advisory.cvss_vector.startswith("CVSS:3")
                        else None
                    ),
                    vector=advisory.cvss_vector or None,
                )
            )
        vulnerability = Vulnerability(
            bom_ref=f"{finding.osv_id}@{_ref(finding.component)}",
            id=finding.osv_id,
            source=VulnerabilitySource(
                name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{finding.osv_id}")
            ),
            ratings=ratings,
            description=advisory.summary or None,
            analysis=analysis,
            affects=[BomTarget(ref=components[finding.component_id].bom_ref.value)],
        )
        for alias in advisory.aliases or ():
            if isinstance(alias, str) and alias:
                vulnerability.references.add(VulnerabilityReference(id=alias, source=_source_of(alias)))
        bom.vulnerabilities.add(vulnerability)
    return JsonV1Dot6(bom).output_as_string(indent=2).encode("utf-8")


@dataclass
class Statement:
    ids: set[str]
    refs: list[str]
    state: str
    justification: str
    detail: str
    where: str


@dataclass
class VexImportResult:
    updated: int = 0
    unchanged: int = 0
    unknown: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"updated": self.updated, "unchanged": self.unchanged, "unknown": self.unknown}


def _bare_ref(ref: str) -> str:
    return ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref


def _text(value: Any, where: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise VexError(_("%(where)s must be text.") % {"where": where})
    return value[:limit]


def read_statements(data: bytes) -> list[Statement]:
    """The analysis statements of a CycloneDX VEX (JSON); VexError names what is wrong and where."""
    if len(data) > MAX_VEX_BYTES:
        raise VexError(
            _("The VEX file is %(size)d bytes; the limit is %(limit)d MB.")
            % {"size": len(data), "limit": MAX_VEX_BYTES // (1024 * 1024)}
        )
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise VexError(_("The VEX file is not UTF-8 text (byte %(pos)d).") % {"pos": exc.start}) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", 0)
        raise VexError(_("The VEX file is not valid JSON (line %(line)d).") % {"line": line}) from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise VexError(_('This is not a CycloneDX document (bomFormat is not "CycloneDX").'))
    vulnerabilities = document.get("vulnerabilities", [])
    if not isinstance(vulnerabilities, list):
        raise VexError(_("%(where)s must be a list.") % {"where": "vulnerabilities"})
    if len(vulnerabilities) > MAX_STATEMENTS:
        raise VexError(_("The VEX file has more than %(n)d vulnerabilities.") % {"n": MAX_STATEMENTS})
    statements = []
    for index, item in enumerate(vulnerabilities):
        where = f"vulnerabilities[{index}]"
        if not isinstance(item, dict):
            raise VexError(_("%(where)s must be an object.") % {"where": where})
        analysis = item.get("analysis")
        if analysis is None:
            continue
        if not isinstance(analysis, dict):
            raise VexError(_("%(where)s must be an object.") % {"where": f"{where}.analysis"})
        raw_state = analysis.get("state")
        if raw_state not in FROM_CDX:
            raise VexError(
                _("%(where)s: unknown analysis state %(state)s.")
                % {"where": f"{where}.analysis.state", "state": json.dumps(raw_state)[:50]}
            )
        justification = _text(analysis.get("justification"), f"{where}.analysis.justification", 60)
        if justification and justification not in Justification.values:
            raise VexError(
                _("%(where)s: unknown justification %(value)s.")
                % {"where": f"{where}.analysis.justification", "value": justification[:50]}
            )
        ids = {_text(item.get("id"), f"{where}.id", 100)}
        for ref_index, reference in enumerate(item.get("references") or []):
            if isinstance(reference, dict):
                ids.add(_text(reference.get("id"), f"{where}.references[{ref_index}].id", 100))
        ids.discard("")
        if not ids:
            raise VexError(_("%(where)s has no id.") % {"where": where})
        affects = item.get("affects") or []
        if not isinstance(affects, list):
            raise VexError(_("%(where)s must be a list.") % {"where": f"{where}.affects"})
        refs = [
            _bare_ref(_text(a.get("ref"), f"{where}.affects[{i}].ref", 1000))
            for i, a in enumerate(affects)
            if isinstance(a, dict)
        ]
        statements.append(
            Statement(
                ids,
                [r for r in refs if r],
                FROM_CDX[raw_state],
                justification,
                _text(analysis.get("detail"), f"{where}.analysis.detail", 5000),
                where,
            )
        )
    return statements


def import_vex(actor: Actor, delivery: Delivery, data: bytes) -> VexImportResult:
    """Apply a VEX document's analyses to DELIVERY's findings, all or nothing."""
    from renkei.deliveries.services import DeliveryError, NotAllowed, may_triage

    try:
        statements = read_statements(data)
    except VexError as exc:
        raise DeliveryError(str(exc), {"file": str(exc)}) from None
    findings = list(delivery.findings.select_related("component", "advisory"))
    if actor.user is not None and findings and not may_triage(actor.user, findings[0]):
        raise NotAllowed(_("You may not triage this delivery's findings."))
    by_id: dict[str, list[Finding]] = {}
    for finding in findings:
        for name in {finding.osv_id, *(a for a in finding.advisory.aliases or () if isinstance(a, str))}:
            by_id.setdefault(name.upper(), []).append(finding)
    result = VexImportResult()
    planned: dict[int, tuple[Finding, Statement]] = {}
    for statement in statements:
        candidates = {f.pk: f for name in statement.ids for f in by_id.get(name.upper(), [])}
        if statement.refs:
            refs = set(statement.refs)
            candidates = {
                pk: f
                for pk, f in candidates.items()
                if f.component.ref in refs or f.component.purl in refs or _ref(f.component) in refs
            }
        if not candidates:
            result.unknown.append(f"{statement.where}: {sorted(statement.ids)[0]}")
            continue
        for finding in candidates.values():
            planned[finding.pk] = (finding, statement)
    now = timezone.now()
    changed: list[Finding] = []
    entries: list[PendingEntry] = []
    for finding, statement in planned.values():
        justification = statement.justification if statement.state == VexState.NOT_AFFECTED else ""
        if (finding.vex_state, finding.vex_justification, finding.vex_detail) == (
            statement.state,
            justification,
            statement.detail,
        ):
            result.unchanged += 1
            continue
        before = snapshot(finding)
        finding.vex_state, finding.vex_justification, finding.vex_detail = (
            statement.state,
            justification,
            statement.detail,
        )
        finding.vex_by, finding.vex_at = actor.user, now
        changed.append(finding)
        entries.append(
            PendingEntry(
                AuditEntry.Action.UPDATE,
                finding,
                before,
                snapshot(finding),
                organization_id=delivery.organization_id,
                supplier_id=delivery.supplier_id,
            )
        )
    with transaction.atomic():
        Finding.objects.bulk_update(
            changed, ["vex_state", "vex_justification", "vex_detail", "vex_by", "vex_at"], batch_size=1000
        )
        if entries:
            record_many(actor, entries)
        from renkei.deliveries.findings import refresh_summaries
        from renkei.risk import signals

        refresh_summaries([delivery.pk])
        signals.mark([delivery.supplier_id])
    result.updated = len(changed)
    return result


__all__ = ["VexError", "VexImportResult", "export_vex", "import_vex", "read_statements"]
