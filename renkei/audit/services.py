"""Writing and verifying the audit trail.

Services that change buyer-owned records call `record` (or `record_many`) inside the same
transaction as the change, so a change and its entry are committed together or not at all.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from renkei.audit.models import AuditChain, AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where: a web request, the CLI or a background job."""

    user: Any = None
    address: str = ""
    label: str = ""

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, address=client_address(request), label=str(user or "anonymous"))

    @classmethod
    def cli(cls, user: Any = None) -> Actor:
        return cls(user=user, address=f"cli@{socket.gethostname()}", label=str(user or "cli"))

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(user=None, address=f"task@{socket.gethostname()}", label=name)


def client_address(request: Any) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it,
    # and `renkei serve` behind nginx gets REMOTE_ADDR from the proxy protocol setup (docs).
    return request.META.get("REMOTE_ADDR", "")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def snapshot(obj: models.Model, m2m: dict[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """Field values of OBJ as JSON-safe data (foreign keys as ids); M2M passed in explicitly."""
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.name in ("created_at", "updated_at"):
            continue
        data[f.attname if f.is_relation else f.name] = _jsonable(getattr(obj, f.attname))
    for name, values in (m2m or {}).items():
        data[name] = sorted(values)
    return data


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[Any]]:
    before = before or {}
    after = after or {}
    changed = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changed[key] = [before.get(key), after.get(key)]
    return changed


def entry_hash(entry: AuditEntry) -> str:
    payload = {
        "organization": entry.organization_id,
        "sequence": entry.sequence,
        "created_at": entry.created_at.astimezone(datetime.UTC).isoformat(),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "address": entry.address,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "supplier": entry.supplier_id_ref,
        "changes": entry.changes,
        "previous_hash": entry.previous_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class PendingEntry:
    action: str
    obj: models.Model
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    supplier_id: int | None = None
    organization_id: int | None = field(default=None)


def _supplier_id_of(obj: models.Model) -> int | None:
    if obj._meta.label_lower == "suppliers.supplier":
        return obj.pk
    return getattr(obj, "supplier_id", None)


def record(
    actor: Actor,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """Append one entry for a change of OBJ. Nothing is written for an update that changed nothing."""
    entries = record_many(actor, [PendingEntry(action, obj, before, after)])
    return entries[0] if entries else None


def _locked_head(org_id: int) -> AuditChain:
    """The organization's chain head, locked until the transaction ends: one query once the
    organization has entries. A missing head is created first, since a row that does not exist
    cannot be locked (get_or_create lets a parallel first writer win), then locked."""
    try:
        return AuditChain.objects.select_for_update().get(organization_id=org_id)
    except AuditChain.DoesNotExist:
        AuditChain.objects.get_or_create(organization_id=org_id)
        return AuditChain.objects.select_for_update().get(organization_id=org_id)


def record_many(actor: Actor, pending: list[PendingEntry]) -> list[AuditEntry]:
    """Append entries in order, one locked chain head per organization, one bulk insert."""
    now = timezone.now()
    built: list[AuditEntry] = []
    # No savepoint inside the caller's transaction: if the entries cannot be written, the caller's
    # whole transaction must roll back (a change is never committed without its entry), and the
    # two statements a savepoint costs are saved on every audited write.
    with transaction.atomic(savepoint=False):
        heads: dict[int, AuditChain] = {}
        for item in pending:
            changes = diff(item.before, item.after)
            if item.action == AuditEntry.Action.UPDATE and not changes:
                continue
            org_id = item.organization_id or item.obj.owning_organization_id()
            head = heads.get(org_id)
            if head is None:
                head = heads[org_id] = _locked_head(org_id)
            entry = AuditEntry(
                organization_id=org_id,
                sequence=head.last_sequence + 1,
                created_at=now,
                actor=actor.user,
                actor_label=actor.label[:200],
                address=actor.address[:200],
                action=item.action,
                object_type=item.obj._meta.label_lower,
                object_id=str(item.obj.pk),
                object_repr=str(item.obj)[:300],
                supplier_id_ref=item.supplier_id or _supplier_id_of(item.obj),
                changes=changes,
                previous_hash=head.last_hash,
            )
            entry.hash = entry_hash(entry)
            head.last_sequence = entry.sequence
            head.last_hash = entry.hash
            built.append(entry)
        AuditEntry.objects.bulk_create(built, batch_size=1000)
        for head in heads.values():
            head.save(update_fields=["last_sequence", "last_hash"])
    return built


@dataclass
class Problem:
    organization: int
    sequence: int | None
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "sequence": self.sequence,
            "problem": self.problem,
        }


def verify(organization_ids: Iterable[int] | None = None) -> tuple[int, list[Problem]]:
    """Recompute the chain. Returns (entries checked, problems).

    Finds an entry whose content changed (hash), one removed or re-ordered (sequence gap or a
    broken link to the previous hash), and entries removed from the end (chain head mismatch).
    """
    heads = AuditChain.objects.all()
    if organization_ids is not None:
        heads = heads.filter(organization_id__in=list(organization_ids))
    checked = 0
    problems: list[Problem] = []
    for head in heads.order_by("organization_id"):
        expected_sequence = 1
        previous = ""
        entries = (
            AuditEntry.objects.filter(organization_id=head.organization_id)
            .order_by("sequence")
            .iterator(chunk_size=2000)
        )
        for entry in entries:
            checked += 1
            org = head.organization_id
            if entry.sequence != expected_sequence:
                problems.append(
                    Problem(org, entry.sequence, f"sequence gap: expected {expected_sequence}")
                )
            if entry.previous_hash != previous:
                problems.append(
                    Problem(org, entry.sequence, "link to the previous entry is broken")
                )
            if entry_hash(entry) != entry.hash:
                problems.append(Problem(org, entry.sequence, "content does not match its hash"))
            expected_sequence = entry.sequence + 1
            previous = entry.hash
        if expected_sequence - 1 != head.last_sequence or previous != head.last_hash:
            problems.append(
                Problem(
                    head.organization_id,
                    head.last_sequence,
                    "entries are missing at the end of the chain",
                )
            )
    return checked, problems
