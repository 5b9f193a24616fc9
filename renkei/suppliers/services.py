"""Changes to the supplier registry. Views, API, CLI and imports all call these, so every change
is validated the same way and leaves an audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models, transaction

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record, snapshot
from renkei.suppliers.models import Supplier, Tag

M = TypeVar("M", bound=models.Model)


def _snapshot_with_tags(obj: models.Model) -> dict:
    if isinstance(obj, Supplier) and obj.pk:
        return snapshot(obj, {"tags": obj.tags.values_list("name", flat=True)})
    return snapshot(obj)


def normalize_tag_names(names: Iterable[str]) -> list[str]:
    return sorted({name.strip()[:50] for name in names if name and name.strip()})


def set_tags(supplier: Supplier, names: Iterable[str]) -> None:
    wanted = normalize_tag_names(names)
    existing = {
        t.name: t
        for t in Tag.objects.filter(organization=supplier.organization_id, name__in=wanted)
    }
    missing = [
        Tag(organization_id=supplier.organization_id, name=n) for n in wanted if n not in existing
    ]
    for tag in missing:
        tag.save()
        existing[tag.name] = tag
    supplier.tags.set([existing[n] for n in wanted])


def save_record(actor: Actor, instance: M, *, tags: Iterable[str] | None = None) -> M:
    """Validate and save INSTANCE (new or changed) and record what changed."""
    instance.full_clean()
    with transaction.atomic():
        before = None
        if instance.pk is not None:
            stored = type(instance).objects.select_for_update().get(pk=instance.pk)
            before = _snapshot_with_tags(stored)
        instance.save()
        if tags is not None and isinstance(instance, Supplier):
            set_tags(instance, tags)
        after = _snapshot_with_tags(instance)
        action = AuditEntry.Action.CREATE if before is None else AuditEntry.Action.UPDATE
        record(actor, action, instance, before, after)
    return instance


def delete_record(actor: Actor, instance: models.Model) -> None:
    """Delete INSTANCE and record it. A supplier with subcontractors cannot be deleted (PROTECT)."""
    with transaction.atomic():
        before = _snapshot_with_tags(instance)
        if isinstance(instance, Supplier):
            # Children of a supplier disappear with it; each leaves its own entry.
            for related in (
                *instance.contacts.all(),
                *instance.contracts.all(),
                *instance.certifications.all(),
            ):
                record(actor, AuditEntry.Action.DELETE, related, snapshot(related), None)
        record(actor, AuditEntry.Action.DELETE, instance, before, None)
        instance.delete()
