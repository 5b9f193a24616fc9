"""Turning stored values into what pages show: audit changes field by field, the n-th parties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from renkei.core.permissions import VIEW
from renkei.suppliers.models import MAX_TIER, Supplier

# A supplier with thousands of subcontractors would make the tab unreadable and slow.
MAX_CHAIN_ROWS = 500


# The row's own id, its supplier and its organization are already said by the page.
HIDDEN_FIELDS = frozenset({"id", "supplier_id", "organization_id"})


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    for candidate in (name, name.removesuffix("_id")):
        try:
            return model._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
    return None


def _show(field: models.Field | None, value: Any, suppliers: dict[int, str] | None = None) -> str:
    if value is None or value in ("", []):
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value)
    if choices:
        return str(choices.get(value, value))
    if field is not None and field.is_relation:
        if field.related_model is Supplier and suppliers and value in suppliers:
            return suppliers[value]
        return f"#{value}"
    return str(value)


def describe_changes(
    object_type: str, changes: dict[str, list[Any]], suppliers: dict[int, str] | None = None
) -> list[FieldChange]:
    """Field-level before/after of an audit entry, with the field's label in the user's language.

    SUPPLIERS maps supplier ids the reader may see to "code name", for references such as
    subcontracted_by (see `supplier_labels`); other references show as #id.
    """
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        model = None
    rows = []
    for name, pair in changes.items():
        if name in HIDDEN_FIELDS:
            continue
        before, after = (list(pair) + [None, None])[:2]
        field = _field(model, name)
        label = capfirst(str(field.verbose_name)) if field is not None else name
        shown = FieldChange(label, _show(field, before, suppliers), _show(field, after, suppliers))
        if shown.before == shown.after == "—":
            continue
        rows.append(shown)
    return rows


def supplier_labels(user: Any, entries: list[Any]) -> dict[int, str]:
    """"code name" of the suppliers referred to in ENTRIES' changes that USER may see (one query)."""
    ids = {
        value
        for entry in entries
        for value in (entry.changes.get("subcontracted_by_id") or [])
        if isinstance(value, int)
    }
    if not ids:
        return {}
    visible = Supplier.objects.for_user(user, VIEW).filter(pk__in=ids)
    return {pk: f"{code} {name}" for pk, code, name in visible.values_list("pk", "code", "name")}


def object_type_label(object_type: str) -> str:
    try:
        return capfirst(str(apps.get_model(object_type)._meta.verbose_name))
    except (LookupError, ValueError):
        return object_type


@dataclass
class ChainRow:
    depth: int
    supplier: Supplier


def ancestors(user: Any, supplier: Supplier) -> list[Supplier]:
    """Who subcontracts SUPPLIER, nearest first, as far up as USER may see."""
    chain: list[Supplier] = []
    parent_id = supplier.subcontracted_by_id
    while parent_id is not None and len(chain) < MAX_TIER:
        parent = Supplier.objects.for_user(user, VIEW).filter(pk=parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.subcontracted_by_id
    return chain


def descendants(user: Any, supplier: Supplier) -> tuple[list[ChainRow], bool]:
    """SUPPLIER's subcontractors, theirs, and so on, depth first; one query per level.

    Returns the rows and whether the list was cut at MAX_CHAIN_ROWS.
    """
    children: dict[int, list[Supplier]] = {}
    frontier = [supplier.pk]
    total = 0
    truncated = False
    for _level in range(MAX_TIER):
        if not frontier:
            break
        level = list(
            Supplier.objects.for_user(user, VIEW)
            .filter(subcontracted_by_id__in=frontier)
            .order_by("code")[: MAX_CHAIN_ROWS - total + 1]
        )
        if total + len(level) > MAX_CHAIN_ROWS:
            level = level[: MAX_CHAIN_ROWS - total]
            truncated = True
        for child in level:
            children.setdefault(child.subcontracted_by_id, []).append(child)
        total += len(level)
        frontier = [child.pk for child in level]
        if truncated:
            break
    rows: list[ChainRow] = []

    def walk(parent_id: int, depth: int) -> None:
        for child in children.get(parent_id, []):
            rows.append(ChainRow(depth, child))
            walk(child.pk, depth + 1)

    walk(supplier.pk, 1)
    return rows, truncated
