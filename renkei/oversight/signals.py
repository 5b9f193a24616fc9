"""A saved or deleted contract changes which clauses are missing: recompute its supplier's risk
when the transaction commits (the same batching as renkei.risk.signals)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save


def _contract_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        from renkei.risk.signals import mark

        mark([instance.supplier_id])


def connect() -> None:
    from renkei.suppliers.models import Contract

    post_save.connect(_contract_changed, sender=Contract, dispatch_uid="oversight-contract-saved")
    post_delete.connect(_contract_changed, sender=Contract, dispatch_uid="oversight-contract-deleted")
