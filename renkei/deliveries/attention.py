"""Vulnerable deliveries on the buyer's attention list (renkei.monitoring, docs/monitoring.md).

One alert per delivery that has open known vulnerabilities of high or critical severity; the daily
job resolves it once they are all fixed, triaged as not affected or withdrawn. Lower severities are
left to the delivery pages and the supplier's risk factor: the list is for what needs a person today.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkei.monitoring.sources import Condition, Context, attention_source

RANK_CRITICAL = 25
RANK_HIGH = 55


def _describe(params: Mapping[str, Any]) -> str:
    return _("%(product)s %(version)s has %(n)s open known vulnerabilities (worst: %(worst)s)") % {
        "product": params["product"],
        "version": params["version"],
        "n": params["open"],
        "worst": _severity_label(params["worst"]),
    }


def _severity_label(value: str) -> str:
    from renkei.deliveries.models import Severity

    return str(dict(Severity.choices).get(value, value))


def _link(params: Mapping[str, Any], supplier_id: int | None) -> str:
    return reverse("deliveries:detail", args=[params["delivery"]])


@attention_source(
    "vulnerable_delivery",
    gettext_lazy("Delivered software with known vulnerabilities"),
    rank=RANK_HIGH,
    describe=_describe,
    link=_link,
)
def vulnerable_deliveries(ctx: Context) -> Iterable[Condition]:
    from renkei.deliveries.models import Delivery

    for pk, supplier_id, product, version, open_count, worst in (
        Delivery.objects.filter(
            organization_id=ctx.organization_id, open_findings__gt=0, worst_severity__in=["critical", "high"]
        )
        .values_list("pk", "supplier_id", "product", "version", "open_findings", "worst_severity")
        .iterator(chunk_size=5000)
    ):
        yield Condition(
            f"vulnerable_delivery:{pk}",
            supplier_id,
            {
                "delivery": pk,
                "product": product[:100],
                "version": version[:50],
                "open": open_count,
                "worst": worst,
            },
            rank=RANK_CRITICAL if worst == "critical" else RANK_HIGH,
        )
