"""What an incident reaches: computed from the supply-chain map where it exists, editable by staff.

The reporting supplier's node is the start of a compromise impact (renkei.graph.engine.impact):
what a compromise of that supplier reaches by the map's edges, most severe first. The first
LIMIT reached nodes become AffectedItem rows (origin "map"); a recompute replaces the map rows but
keeps staff's exclusions (by node) and the rows staff added by hand.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from renkei.audit.services import Actor
from renkei.incidents.models import AffectedItem, EventKind, Incident, ItemOrigin

logger = logging.getLogger("renkei.incidents")
# More than this many reached nodes is a map-wide event; the page links to the map for the rest.
LIMIT = 200


def refresh(actor: Actor, incident: Incident) -> int | None:
    """Recompute the map rows; the number of reached nodes, or None when the supplier is not on
    the map (no supplier, or no map). Inside the caller's transaction."""
    from renkei.graph import engine

    if incident.supplier_id is None:
        return None
    graph = engine.load_graph(incident.organization_id)
    key = incident.supplier.code
    try:
        result = engine.impact(graph, key, mode=engine.Via.COMPROMISE)
    except engine.UnknownNode:
        return None
    reached = result.top(LIMIT)
    excluded = set(
        incident.affected.filter(origin=ItemOrigin.MAP, excluded=True).values_list("node_id", flat=True)
    )
    incident.affected.filter(origin=ItemOrigin.MAP).delete()
    nodes = _nodes_by_key(incident.organization_id, [r.id for r in reached])
    suppliers = _suppliers_by_code(incident.organization_id, [r.id for r in reached if r.kind == "supplier"])
    rows = []
    for r in reached:
        node = nodes.get(r.id)
        supplier = suppliers.get(r.id)
        rows.append(
            AffectedItem(
                incident=incident,
                node=node,
                supplier=supplier,
                kind=r.kind,
                name=r.name[:200],
                effect=r.effect,
                hops=r.hops,
                origin=ItemOrigin.MAP,
                excluded=node is not None and node.pk in excluded,
            )
        )
    AffectedItem.objects.bulk_create(rows)
    if len(result) > LIMIT:
        logger.info("incident %s reaches %s nodes; the first %s are listed", incident.pk, len(result), LIMIT)
    return len(result)


def _nodes_by_key(organization_id: int, keys: list[str]) -> dict[str, Any]:
    from renkei.graph.models import Node

    return {n.key: n for n in Node.objects.filter(organization_id=organization_id, key__in=keys)}


def _suppliers_by_code(organization_id: int, codes: list[str]) -> dict[str, Any]:
    from renkei.suppliers.models import Supplier

    return {s.code: s for s in Supplier.objects.filter(organization_id=organization_id, code__in=codes)}


def recompute(actor: Actor, incident: Incident) -> int | None:
    """Staff's "recompute from the map", with its timeline event."""
    from renkei.incidents.services import _event, _staff

    _staff(actor, incident.organization_id)
    with transaction.atomic():
        count = refresh(actor, incident)
        if count is None:
            text = _("The supplier is not on the supply-chain map.")
        else:
            text = _("Recomputed from the supply-chain map: %(n)d reached.") % {"n": count}
        _event(incident, actor, EventKind.TRIAGE, text)
    return count


def set_excluded(actor: Actor, item: AffectedItem, excluded: bool) -> AffectedItem:
    from renkei.incidents.services import _event, _staff

    _staff(actor, item.incident.organization_id)
    with transaction.atomic():
        locked = AffectedItem.objects.select_for_update().get(pk=item.pk)
        if locked.excluded != excluded:
            locked.excluded = excluded
            locked.save(update_fields=["excluded"])
            text = (
                _("Set aside as not affected: %(name)s")
                if excluded
                else _("Counted as affected again: %(name)s")
            ) % {"name": locked.name}
            _event(locked.incident, actor, EventKind.TRIAGE, text)
    return locked


def add_supplier(actor: Actor, incident: Incident, supplier: Any) -> AffectedItem:
    """Staff add an affected supplier the map does not show."""
    from renkei.incidents.services import IncidentError, _event, _staff

    _staff(actor, incident.organization_id)
    if supplier.organization_id != incident.organization_id:
        raise IncidentError(_("Unknown supplier."))
    with transaction.atomic():
        item, created = AffectedItem.objects.get_or_create(
            incident=incident,
            supplier=supplier,
            origin=ItemOrigin.MANUAL,
            defaults={"kind": "supplier", "name": supplier.name[:200]},
        )
        if created:
            _event(
                incident, actor, EventKind.TRIAGE, _("Added as affected: %(name)s") % {"name": supplier.name}
            )
    return item
