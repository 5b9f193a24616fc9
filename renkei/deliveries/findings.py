"""Findings follow the matcher (docs/deliveries.md, "Continuous re-check").

`rematch` re-matches a set of components against the advisories stored now and brings their
findings in line: new hits become findings, a finding that no longer applies (advisory withdrawn,
gone from its source, or its ranges moved) is resolved, one that applies again is reopened. The
triage (VEX) of a finding is kept through all of it. New and reopened findings are returned so the
caller can tell people about them (renkei.deliveries.notices).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db.models import Count

from renkei.deliveries.matching import match
from renkei.deliveries.models import CLOSED_VEX_STATES, SEVERITY_RANK, Component, Delivery, Finding
from renkei.deliveries.osv.ecosystems import Key
from renkei.graph.io.bulk import insert_rows, timestamp, update_rows

CHUNK = 5000
# Up to this many changed advisories, a re-check compares only their findings (an IN list in SQL).
MAX_RESTRICTED_ADVISORIES = 5_000
NEW_FIELDS = (
    "delivery",
    "component",
    "advisory",
    "osv_id",
    "match",
    "severity",
    "first_seen",
    "vex_state",
    "vex_justification",
    "vex_detail",
)


class Keyed(Protocol):
    """What rematch reads of a component: a Component, or a lighter row with these attributes."""

    pk: int
    delivery_id: int
    ecosystem: str
    package: str
    release: str
    version: str


@dataclass
class Rematched:
    new: int = 0  # findings made or reopened
    deliveries: set[int] = field(default_factory=set)  # deliveries whose findings changed


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rematch(
    components: Sequence[Keyed], *, now: datetime.datetime, advisories: set[int] | None = None
) -> Rematched:
    """Bring the findings of COMPONENTS in line with the advisories stored now.

    Set-based, for a re-check over a large portfolio: the stored findings are read as tuples, new
    ones are inserted as plain rows (COPY on PostgreSQL, renkei.graph.io.bulk) and changed ones
    updated a chunk at a time per kind of change, never a query per finding. ADVISORIES (after an
    import: the ones it added, changed or dropped) limits the comparison to their findings — the
    others cannot have changed; None compares every finding of the components."""
    result = Rematched()
    keyed = [c for c in components if c.ecosystem]
    if not keyed:
        return result
    hits = match([(Key(c.ecosystem, c.package, c.release), c.version) for c in keyed])[0]
    found: dict[tuple[int, int], tuple[Keyed, Any]] = {}
    restrict = advisories is not None and len(advisories) <= MAX_RESTRICTED_ADVISORIES
    for hit in hits:
        if restrict and hit.advisory_id not in advisories:
            continue
        component = keyed[hit.component_index]
        found[(component.pk, hit.advisory_id)] = (component, hit)
    existing: dict[tuple[int, int], tuple] = {}
    for chunk in _chunks([c.pk for c in keyed]):
        # resolved_at is NULL for nearly every row: no timestamp to convert.
        rows = Finding.objects.filter(component_id__in=chunk)
        if restrict:
            rows = rows.filter(advisory_id__in=sorted(advisories))
        for row in rows.values_list(
            "pk", "component_id", "advisory_id", "resolved_at", "match", "severity", "delivery_id"
        ):
            existing[(row[1], row[2])] = row
    stamp = timestamp(now)
    created: list[tuple] = []
    resolved: list[int] = []
    reopened: list[int] = []
    relabelled: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pair, (component, hit) in found.items():
        severity = hit.severity or "unknown"
        row = existing.get(pair)
        if row is None:
            created.append(
                (
                    component.delivery_id,
                    component.pk,
                    hit.advisory_id,
                    hit.osv_id[:100],
                    hit.match,
                    severity,
                    stamp,
                    "",
                    "",
                    "",
                )
            )
            result.deliveries.add(component.delivery_id)
            continue
        pk, _component, _advisory, resolved_at, old_match, old_severity, delivery_id = row
        if resolved_at is not None:
            reopened.append(pk)  # it applies again: reopened, and news again
            result.deliveries.add(delivery_id)
        if (old_match, old_severity) != (hit.match, severity):
            relabelled[(hit.match, severity)].append(pk)
            result.deliveries.add(delivery_id)
    for pair, row in existing.items():
        if pair not in found and row[3] is None:
            resolved.append(row[0])
            result.deliveries.add(row[6])
    insert_rows(Finding, NEW_FIELDS, created)
    # A few set-based UPDATEs (one per kind of change and chunk), never one per finding.
    for chunk in _chunks(resolved):
        Finding.objects.filter(pk__in=chunk).update(resolved_at=now)
    for chunk in _chunks(reopened):
        Finding.objects.filter(pk__in=chunk).update(resolved_at=None, notified_at=None)
    for (new_match, severity), pks in relabelled.items():
        for chunk in _chunks(pks):
            Finding.objects.filter(pk__in=chunk).update(match=new_match, severity=severity)
    result.new = len(created) + len(reopened)
    return result


def refresh_summaries(delivery_ids: Iterable[int], *, components: bool = True) -> None:
    """Recount the list columns of these deliveries (open findings, worst severity, and the
    components unless COMPONENTS is False: a re-check never changes them)."""
    ids = sorted(set(delivery_ids))
    for chunk in _chunks(ids):
        open_counts: dict[int, int] = defaultdict(int)
        worst: dict[int, str] = {}
        rows = (
            Finding.objects.filter(delivery_id__in=chunk, resolved_at__isnull=True)
            .exclude(vex_state__in=CLOSED_VEX_STATES)
            .values("delivery_id", "severity")
            .annotate(n=Count("pk"))
            .values_list("delivery_id", "severity", "n")
        )
        for delivery_id, severity, n in rows:
            open_counts[delivery_id] += n
            if SEVERITY_RANK.get(severity, 9) < SEVERITY_RANK.get(worst.get(delivery_id, ""), 9):
                worst[delivery_id] = severity
        if not components:
            update_rows(
                Delivery,
                ("open_findings", "worst_severity"),
                [(open_counts.get(pk, 0), worst.get(pk, ""), pk) for pk in chunk],
            )
            continue
        counted = dict(
            Component.objects.filter(delivery_id__in=chunk)
            .values("delivery_id")
            .annotate(n=Count("pk"))
            .values_list("delivery_id", "n")
        )
        update_rows(
            Delivery,
            ("component_count", "open_findings", "worst_severity"),
            [(counted.get(pk, 0), open_counts.get(pk, 0), worst.get(pk, ""), pk) for pk in chunk],
        )


def open_findings(queryset=None):  # noqa: ANN001, ANN201 - a Finding queryset in, the open ones out
    """Findings that still ask for work: not resolved, not triaged as not affected or fixed."""
    queryset = Finding.objects.all() if queryset is None else queryset
    return queryset.filter(resolved_at__isnull=True).exclude(vex_state__in=CLOSED_VEX_STATES)
