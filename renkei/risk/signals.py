"""Keeping ratings current after a change, cheaply.

A saved supplier (its profile), a saved or deleted certification and an assessment whose status
became submitted or approved mark their supplier; when the surrounding transaction commits, all
marked suppliers are recomputed together in one set-based pass (renkei.risk.services). So a
request that changes several records pays for one recompute, and a rolled-back change pays for
nothing but a harmless extra recompute at the next commit. Bulk writes that bypass signals (the
CSV import's bulk_create/bulk_update) are caught by the nightly job, or by
`renkei risk recompute`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger("renkei.risk")

_ATTR = "_renkei_risk_pending"
RECOMPUTE_STATUSES = {"submitted", "approved"}


def mark(supplier_ids: Iterable[int]) -> None:
    """Recompute these suppliers once the current transaction commits (now in autocommit)."""
    pending: set[int] = connection.__dict__.setdefault(_ATTR, set())
    pending.update(pk for pk in supplier_ids if pk)
    transaction.on_commit(_flush, robust=True)


def _flush() -> None:
    pending: set[int] = connection.__dict__.get(_ATTR) or set()
    if not pending:
        return  # an earlier callback of the same commit took them all
    ids = set(pending)
    pending.clear()
    from renkei.risk.services import recompute_suppliers

    recompute_suppliers(ids)


def _supplier_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        mark([instance.pk])


def _certification_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        mark([instance.supplier_id])


def _assessment_saved(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None,
                      **kwargs: Any) -> None:
    if raw or instance.status not in RECOMPUTE_STATUSES:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    mark([instance.supplier_id])


def connect() -> None:
    from renkei.questionnaires.models import Assessment
    from renkei.suppliers.models import Certification, Supplier

    post_save.connect(_supplier_saved, sender=Supplier, dispatch_uid="risk-supplier-saved")
    post_save.connect(_certification_changed, sender=Certification, dispatch_uid="risk-cert-saved")
    post_delete.connect(_certification_changed, sender=Certification, dispatch_uid="risk-cert-deleted")
    post_save.connect(_assessment_saved, sender=Assessment, dispatch_uid="risk-assessment-saved")
