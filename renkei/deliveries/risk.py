"""Vulnerable deliveries as a likelihood factor of their supplier (issue 8, item 9; docs/risk.md).

Per product a supplier delivered, its latest delivery is the one in use: when it has open known
vulnerabilities (not resolved, not triaged as not affected or fixed) it counts
likelihood.vulnerable_delivery, or vulnerable_delivery_high when one of them is high or critical;
the sum is capped at vulnerable_delivery_max. The loader reads the list columns of Delivery that
renkei.deliveries.findings keeps current (one query for the scope).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkei.risk.factors import Scope, evidence, factor

VULNERABLE = 0.25
VULNERABLE_HIGH = 0.75
VULNERABLE_MAX = 1.5
PRODUCTS_SHOWN = 5
HIGH = frozenset({"critical", "high"})


@dataclass(frozen=True)
class DeliveredProduct:
    product: str
    version: str
    open_findings: int
    worst: str


@evidence("deliveries")
def latest_deliveries(scope: Scope, today: datetime.date) -> dict[int, list[DeliveredProduct]]:
    """Each supplier's latest delivery per product (one query, newest first)."""
    from renkei.deliveries.models import Delivery

    rows = (
        scope.restrict(Delivery.objects.all())
        .order_by("supplier_id", "product", "-received_at", "-pk")
        .values_list("supplier_id", "product", "version", "open_findings", "worst_severity")
    )
    found: dict[int, list[DeliveredProduct]] = {}
    seen: set[tuple[int, str]] = set()
    for supplier_id, product, version, open_count, worst in rows.iterator(chunk_size=5000):
        if (supplier_id, product) in seen:
            continue
        seen.add((supplier_id, product))
        found.setdefault(supplier_id, []).append(DeliveredProduct(product, version, open_count, worst))
    return found


def _describe(params: Mapping[str, Any]) -> str:
    text = _("Delivered products with open known vulnerabilities: %(n)s (high or critical: %(high)s)") % {
        "n": params.get("count", 0),
        "high": params.get("high", 0),
    }
    if params.get("products"):
        text += ": " + "、".join(params["products"])
    return text


@factor(
    "vulnerable_deliveries", gettext_lazy("Vulnerable deliveries"), needs=("deliveries",), describe=_describe
)
def vulnerable_deliveries(
    evidence_of: Mapping[str, Any], settings: Mapping[str, Any], today: datetime.date
) -> tuple[float, dict] | None:
    vulnerable = [d for d in evidence_of.get("deliveries") or () if d.open_findings]
    if not vulnerable:
        return None
    high = sum(1 for d in vulnerable if d.worst in HIGH)
    weight = high * settings.get("vulnerable_delivery_high", VULNERABLE_HIGH) + (
        len(vulnerable) - high
    ) * settings.get("vulnerable_delivery", VULNERABLE)
    params = {
        "count": len(vulnerable),
        "high": high,
        "products": [f"{d.product} {d.version}" for d in vulnerable[:PRODUCTS_SHOWN]],
    }
    return min(settings.get("vulnerable_delivery_max", VULNERABLE_MAX), weight), params
