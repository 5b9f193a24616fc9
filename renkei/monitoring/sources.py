"""Attention sources: an open registry, so other apps put their conditions on the attention list.

A source is a function of one organization's context that returns the conditions holding today,
each as a `Condition(key, supplier_id, params)`. The daily job (renkei.monitoring.services) runs
every registered source once per organization and turns the result into Alert rows: a new key
raises an alert (once: keys are unique per organization), a key that is no longer returned
resolves its open alert. Sources must be set-based (one or a few queries for the whole
organization, whatever the number of suppliers).

    from renkei.monitoring.sources import Condition, attention_source

    @attention_source("contract_missing_clauses", _("Contract lacks required clauses"), rank=65,
                      describe=lambda p: _("Missing: %(c)s") % {"c": ", ".join(p["clauses"])})
    def missing_clauses(ctx):
        for contract_id, supplier_id, clauses in ...:  # one query
            yield Condition(f"contract_missing_clauses:{contract_id}", supplier_id,
                            {"clauses": clauses})

`rank` places the kind in the attention order (lower first; docs/monitoring.md lists the built-in
ranks); a condition may override it (`Condition.rank`), e.g. overdue actions rank higher on
high and critical suppliers. Within a rank, suppliers of a higher risk level come first.
Import the module that registers in your AppConfig.ready().
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Condition:
    key: str  # unique within the organization; include what makes a recurrence new (a due date)
    supplier_id: int | None
    params: dict[str, Any] = field(default_factory=dict)
    rank: int | None = None  # None: the source's rank


@dataclass
class Context:
    """What a source gets: the organization, the day, and lazily loaded shared data."""

    organization_id: int
    today: datetime.date
    now: datetime.datetime

    @cached_property
    def config(self) -> dict[str, Any]:
        from renkei.risk.services import config_for

        return config_for(self.organization_id)

    @cached_property
    def levels(self) -> dict[int, tuple[str, int, int]]:
        """{supplier id: (level, level rank, criticality)} from the stored SupplierRisk rows."""
        from renkei.risk.models import SupplierRisk

        return {pk: (level, rank, crit) for pk, level, rank, crit in SupplierRisk.objects.filter(
            organization_id=self.organization_id).values_list(
            "supplier_id", "level", "level_rank", "criticality").iterator(chunk_size=5000)}

    @cached_property
    def cadence(self) -> Any:
        """The reassessment schedule of every rated supplier (renkei.monitoring.cadence.Due)."""
        from renkei.monitoring.cadence import schedule

        return schedule(self)


@dataclass(frozen=True)
class Source:
    kind: str
    label: Any  # lazy text: the kind's name in lists and the digest
    rank: int
    compute: Callable[[Context], Iterable[Condition]]
    describe: Callable[[Mapping[str, Any]], str]
    # The page to open for an alert: link(params, supplier_id) -> path or "".
    link: Callable[[Mapping[str, Any], int | None], str] | None = None


SOURCES: dict[str, Source] = {}


def attention_source(kind: str, label: Any, *, rank: int, describe: Callable[[Mapping[str, Any]], str],
                     link: Callable[[Mapping[str, Any], int | None], str] | None = None
                     ) -> Callable[[Callable[[Context], Iterable[Condition]]], Callable]:
    """Register COMPUTE as the source of alerts of KIND (at import time)."""
    if len(kind) > 40 or ":" in kind:
        raise ValueError(f"bad attention source kind {kind!r}")

    def register(compute: Callable[[Context], Iterable[Condition]]) -> Callable:
        SOURCES[kind] = Source(kind, label, rank, compute, describe, link)
        return compute

    return register


def label(kind: str) -> str:
    source = SOURCES.get(kind)
    return str(source.label) if source else kind


def describe(kind: str, params: Mapping[str, Any]) -> str:
    source = SOURCES.get(kind)
    if source is None:
        return kind
    try:
        return str(source.describe(params))
    except (KeyError, TypeError, ValueError):  # params of an older version of the source
        return str(source.label)


def link(kind: str, params: Mapping[str, Any], supplier_id: int | None) -> str:
    source = SOURCES.get(kind)
    if source is not None and source.link is not None:
        return source.link(params, supplier_id)
    return ""


def priority(rank: int, level_rank: int | None) -> int:
    """The stored sort key: the rank, then suppliers of a higher level first."""
    return rank * 10 + (3 - (level_rank or 0))


def kinds() -> list[tuple[str, str]]:
    """(kind, label) in attention order."""
    return [(s.kind, str(s.label)) for s in sorted(SOURCES.values(), key=lambda s: (s.rank, s.kind))]
