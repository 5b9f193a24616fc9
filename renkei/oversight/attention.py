"""Missing contract clauses on the attention list (renkei.monitoring's registry of sources).

`missing_clauses(organization)` is a plain function (one query after the settings) so other
readers can use it too; `contract_missing_clauses` registers it as an attention source when
the monitoring app is installed. One condition per contract; its key carries the contract's end
date, so renewing the contract without the clause raises a new alert, and renewing it with the
clause resolves the alert (the key is no longer returned)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkei.oversight.checklist import annotate_rows, checklist_queryset, clause_label, missing_q
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.models import Contract

RANK_CONTRACT_CLAUSES = 65  # after overdue questionnaires, before overdue actions (monitoring.md)


def missing_clauses(
    organization: Any, today: datetime.date | None = None, config: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every current contract of ORGANIZATION (rejected candidates left out) lacking a clause its
    supplier's 重要度 requires: [{"contract", "supplier_id", "title", "clauses", "renewal_on"}]."""
    from renkei.risk.services import config_for

    today = today or timezone.localdate()
    org_id = organization if isinstance(organization, int) else organization.pk
    contracts_config = (config or config_for(org_id))["contracts"]
    rows = (
        checklist_queryset(
            Contract.objects.filter(supplier__organization_id=org_id).exclude(
                supplier__status=SupplierStatus.REJECTED
            ),
            today,
        )
        .filter(missing_q(contracts_config))
        .order_by("supplier__code", "pk")
    )
    return [
        {
            "contract": c.pk,
            "supplier_id": c.supplier_id,
            "supplier": c.supplier.code,
            "title": c.title,
            "criticality": c.criticality,
            "clauses": c.missing,
            "renewal_on": c.ends_on.isoformat() if c.ends_on else None,
        }
        for c in annotate_rows(rows, contracts_config)
    ]


def _describe(params: Mapping[str, Any]) -> str:
    clauses = "、".join(clause_label(c) for c in params.get("clauses", []))
    if params.get("renewal_on"):
        return _("%(title)s lacks: %(clauses)s (until the renewal on %(date)s)") % {
            "title": params.get("title", ""),
            "clauses": clauses,
            "date": params["renewal_on"],
        }
    return _("%(title)s lacks: %(clauses)s") % {"title": params.get("title", ""), "clauses": clauses}


def _link(params: Mapping[str, Any], supplier_id: int | None) -> str:
    if supplier_id is None:
        return reverse("oversight:contracts")
    return f"{reverse('suppliers:detail', args=[supplier_id])}?tab=contracts"


def register() -> None:
    """Register the source with renkei.monitoring (called from OversightConfig.ready)."""
    try:
        from renkei.monitoring.sources import Condition, Context, attention_source
    except ImportError:  # monitoring not part of this installation
        return

    @attention_source(
        "contract_missing_clauses",
        gettext_lazy("Contract lacks required clauses"),
        rank=RANK_CONTRACT_CLAUSES,
        describe=_describe,
        link=_link,
    )
    def contract_missing_clauses(ctx: Context) -> Iterable[Condition]:
        for row in missing_clauses(ctx.organization_id, ctx.today, ctx.config):
            key = f"contract_missing_clauses:{row['contract']}:{row['renewal_on'] or 'open'}"
            yield Condition(
                key,
                row["supplier_id"],
                {
                    "contract": row["contract"],
                    "title": row["title"],
                    "clauses": row["clauses"],
                    "renewal_on": row["renewal_on"],
                },
            )
