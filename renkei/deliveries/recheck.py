"""After an OSV import: re-match only the components whose (ecosystem, package) the import touched
(docs/deliveries.md, "Continuous re-check"), then tell the buyers and suppliers concerned."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from renkei.deliveries import findings as finding_rows
from renkei.deliveries.models import Component, OsvImport

PACKAGES_PER_QUERY = 2000


@dataclass(frozen=True, slots=True)
class StoredComponent:
    """What the re-check reads of a stored component (tuples, not model instances: a re-check
    may read a hundred thousand of them)."""

    pk: int
    delivery_id: int
    ecosystem: str
    package: str
    release: str
    version: str


def components_for(keys: Any) -> list[StoredComponent]:
    """Stored components under any of KEYS (Key objects; the release is left to the matcher)."""
    by_ecosystem: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        by_ecosystem[key.ecosystem].add(key.package)
    found: list[StoredComponent] = []
    fields = ("pk", "delivery_id", "ecosystem", "package", "release", "version")
    for ecosystem, packages in sorted(by_ecosystem.items()):
        names = sorted(packages)
        for start in range(0, len(names), PACKAGES_PER_QUERY):
            chunk = names[start : start + PACKAGES_PER_QUERY]
            rows = Component.objects.filter(ecosystem=ecosystem, package__in=chunk).values_list(*fields)
            found.extend(StoredComponent(*row) for row in rows.iterator(chunk_size=10_000))
    return found


def rematch_touched(result: Any) -> finding_rows.Rematched:
    """In one transaction: re-match the stored components under the keys RESULT (an osv importer
    ImportResult) touched, against the advisories it changed, and refresh what depends on them."""
    touched = getattr(result, "touched", None) or ()
    if not touched:
        return finding_rows.Rematched()
    now = timezone.now()
    with transaction.atomic():
        components = components_for(touched)
        rematched = finding_rows.rematch(
            components, now=now, advisories=getattr(result, "advisory_ids", None)
        )
        finding_rows.refresh_summaries(rematched.deliveries, components=False)
        import_id = getattr(result, "import_id", None)
        if import_id:
            OsvImport.objects.filter(pk=import_id).update(new_findings=rematched.new)
        if rematched.deliveries:
            from renkei.deliveries.models import Delivery
            from renkei.risk import signals

            signals.mark(
                set(
                    Delivery.objects.filter(pk__in=rematched.deliveries).values_list("supplier_id", flat=True)
                )
            )
    return rematched


def after_import(result: Any) -> int:
    """Re-match what RESULT touched, then tell the buyers and suppliers concerned (after the
    commit); the number of new findings."""
    rematched = rematch_touched(result)
    if rematched.new:
        from renkei.deliveries import notices

        notices.new_findings(rematched.deliveries)
    return rematched.new
