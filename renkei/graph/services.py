"""Changes to the supply-chain map, one node or edge at a time (pages, supplier portal, API).

Every function validates with the rules of the file format (renkei.graph.io.validation, the same
code the importer uses), changes the row, bumps the organization's map version and writes an
audit entry, all in one transaction. Refusals raise `GraphError` (a ServiceError: message plus
{field: message}) or `NotAllowed` (403).

Who may do what:

- the CLI and background jobs (an actor without a user): everything;
- buyer staff: what their role allows (add / change / delete) in their organization;
- a supplier contact with portal access: only rows declared by its own supplier (`declared_by`,
  origin portal) — supplier nodes, and subcontracts edges starting at its own supplier or at a
  node it declared and ending at a node it declared. So a contact can neither read nor link the
  buyer's other nodes, and a refusal never tells whether a foreign node exists.

A registry supplier is implicitly a node keyed by its code: naming its code as an edge end
creates its Node row (origin registry), and a supplier node whose key is a registry code is
linked to that supplier (`Node.supplier`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.errors import NotAllowed as BaseNotAllowed
from renkei.core.errors import ServiceError
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW
from renkei.graph.choices import EdgeKind, NodeKind, Origin
from renkei.graph.io import validation as rules
from renkei.graph.models import Edge, MapVersion, Node
from renkei.suppliers.models import Contact, Supplier


class GraphError(ServiceError):
    """A refused change to the map."""


class NotAllowed(GraphError, BaseNotAllowed):
    """The user may see the row but not do this with it (403)."""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# --- the map version -----------------------------------------------------------------------------


def bump_version(organization_id: int) -> int:
    """Add one to the organization's map version (creating the row at 1) and return it.

    `version = version + 1` in SQL, so concurrent changes never lose a bump; call it inside the
    transaction of the change so the cache key moves exactly when the change commits.
    """
    now = timezone.now()
    with transaction.atomic():
        bumped = MapVersion.objects.filter(organization_id=organization_id)
        if not bumped.update(version=F("version") + 1, updated_at=now):
            try:
                with transaction.atomic():
                    MapVersion.objects.create(organization_id=organization_id, version=1)
                return 1
            except IntegrityError:  # created meanwhile by a concurrent change
                bumped.update(version=F("version") + 1, updated_at=now)
        return bumped.values_list("version", flat=True).get()


def current_version(organization_id: int) -> int:
    """The organization's map version (0 before the first change)."""
    found = MapVersion.objects.filter(organization_id=organization_id).values_list("version", flat=True)
    return next(iter(found), 0)


def lock_version(organization_id: int) -> int:
    """Lock the version row until the transaction ends (serialises whole-map writers); its value."""
    MapVersion.objects.get_or_create(organization_id=organization_id)
    return (
        MapVersion.objects.select_for_update()
        .filter(organization_id=organization_id)
        .values_list("version", flat=True)
        .get()
    )


# --- reading, for one user ------------------------------------------------------------------------


def nodes_for(user: Any, organization_id: int, action: str = VIEW) -> models.QuerySet:
    """The organization's nodes USER may ACTION (staff: all; a contact: those it declared)."""
    return Node.objects.for_user(user, action).filter(organization_id=organization_id)


def edges_for(user: Any, organization_id: int, action: str = VIEW) -> models.QuerySet:
    return Edge.objects.for_user(user, action).filter(organization_id=organization_id)


def node_by_key(user: Any, organization_id: int, key: str, action: str = VIEW) -> Node | None:
    """The node KEY if USER may ACTION it, else None (missing and foreign look the same)."""
    return nodes_for(user, organization_id, action).filter(key=key).first()


def node_data(node: Node) -> dict[str, Any]:
    """A node as in the JSON format (id, kind, name and its attributes)."""
    return {"id": node.key, "kind": node.kind, "name": node.name, **(node.attributes or {})}


def edge_data(edge: Edge) -> dict[str, Any]:
    """An edge as in the JSON format (reads source and target: select_related them)."""
    return {
        "source": edge.source.key,
        "target": edge.target.key,
        "kind": edge.kind,
        **(edge.attributes or {}),
    }


# --- access ---------------------------------------------------------------------------------------


def _contact_suppliers(actor: Actor) -> set[int]:
    if actor.user is None:
        return set()
    return set(
        Contact.objects.filter(user=actor.user, portal_access=True).values_list("supplier_id", flat=True)
    )


def _require(actor: Actor, organization_id: int, action: str, declared_by_id: int | None) -> bool:
    """Allow the change or raise NotAllowed. True when the actor acts as a supplier contact."""
    user = actor.user
    if user is None or staff_may(user, organization_id, action):
        return False
    if declared_by_id is not None and declared_by_id in _contact_suppliers(actor):
        return True
    raise NotAllowed(_("You may not change this map."))


# --- snapshots and audit ---------------------------------------------------------------------------


def _node_snapshot(node: Node) -> dict[str, Any]:
    return {**snapshot(node), "attributes": dict(node.attributes or {})}


def _edge_snapshot(edge: Edge) -> dict[str, Any]:
    return {
        **snapshot(edge),
        "attributes": dict(edge.attributes or {}),
        "source_key": edge.source.key,
        "target_key": edge.target.key,
    }


def _node_entry(action: str, node: Node, before: dict | None, after: dict | None) -> PendingEntry:
    return PendingEntry(action, node, before, after, supplier_id=node.declared_by_id or node.supplier_id)


def _edge_entry(action: str, edge: Edge, before: dict | None, after: dict | None) -> PendingEntry:
    supplier_id = edge.declared_by_id or edge.source.supplier_id
    return PendingEntry(action, edge, before, after, supplier_id=supplier_id)


def _fail(problems: Mapping[str, str]) -> GraphError:
    return GraphError(" ".join(problems.values()), dict(problems))


# --- nodes ------------------------------------------------------------------------------------------


def _registry_supplier(organization_id: int, key: str) -> Supplier | None:
    return Supplier.objects.filter(organization_id=organization_id, code=key).first()


def _clean_node(
    organization_id: int, key: Any, kind: Any, name: Any, attributes: Mapping[str, Any], *, pk: int | None
) -> tuple[str, str, str, dict[str, Any], Supplier | None]:
    problems: dict[str, str] = {}
    cleaned: list[Any] = []
    for field, clean, value in (
        ("key", rules.clean_key, key),
        ("kind", rules.clean_node_kind, kind),
        ("name", rules.clean_name, name),
    ):
        try:
            cleaned.append(clean(value))
        except rules.Invalid as exc:
            problems[field] = str(exc)
            cleaned.append(None)
    key, kind, name = cleaned
    attrs: dict[str, Any] = {}
    supplier = None
    if kind is not None:
        attrs, bad = rules.clean_attributes("node", kind, attributes)
        problems.update({f"attributes.{n}": m for n, m in bad.items()})
    if key is not None:
        if Node.objects.filter(organization_id=organization_id, key=key).exclude(pk=pk).exists():
            problems["key"] = _("A node with the id “%(key)s” is already on the map.") % {"key": key}
        supplier = _registry_supplier(organization_id, key)
        if supplier is not None and kind is not None and kind != NodeKind.SUPPLIER:
            problems["kind"] = rules.registry_kind_problem(key, supplier.name)
    if problems:
        raise _fail(problems)
    return key, kind, name, attrs, supplier


def _check_contact_node(kind: str, declared_by: Supplier | None) -> None:
    if kind != NodeKind.SUPPLIER or declared_by is None:
        raise NotAllowed(_("A supplier declares only its subcontractors (supplier nodes)."))


def create_node(
    actor: Actor,
    organization_id: int,
    *,
    key: str,
    kind: str,
    name: str,
    attributes: Mapping[str, Any] | None = None,
    origin: str = Origin.MANUAL,
    declared_by: Supplier | None = None,
) -> Node:
    """A new node. DECLARED_BY: the supplier whose contact declares it (origin becomes portal)."""
    if declared_by is not None and declared_by.organization_id != organization_id:
        raise NotAllowed(_("You may not change this map."))
    as_contact = _require(actor, organization_id, ADD, declared_by.pk if declared_by else None)
    with transaction.atomic():
        # The version row first: its lock orders this change with imports and other changes.
        bump_version(organization_id)
        key, kind, name, attrs, supplier = _clean_node(
            organization_id, key, kind, name, attributes or {}, pk=None
        )
        if as_contact:
            _check_contact_node(kind, declared_by)
        node = Node(
            organization_id=organization_id,
            key=key,
            kind=kind,
            name=name,
            attributes=attrs,
            supplier=supplier,
            origin=Origin.PORTAL if declared_by is not None else origin,
            declared_by=declared_by,
        )
        _save(node, _("A node with the id “%(key)s” is already on the map.") % {"key": key})
        record_many(actor, [_node_entry(AuditEntry.Action.CREATE, node, None, _node_snapshot(node))])
    return node


def _save(row: Node | Edge, taken: str) -> None:
    """Save ROW; a unique constraint hit meanwhile becomes the user's message TAKEN."""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise GraphError(taken, {"key" if isinstance(row, Node) else "kind": taken}) from None


def _kind_change_problem(node: Node, kind: str) -> str | None:
    """Why NODE may not become KIND: an edge of it would join kinds its edge kind does not allow."""
    edges = Edge.objects.filter(models.Q(source=node) | models.Q(target=node)).select_related(
        "source", "target"
    )
    for edge in edges.order_by("pk"):
        source_kind = kind if edge.source_id == node.pk else edge.source.kind
        target_kind = kind if edge.target_id == node.pk else edge.target.kind
        problem = rules.endpoint_problem(edge.kind, source_kind, target_kind)
        if problem:
            return _("The edge %(source)s → %(target)s (%(kind)s) would no longer fit: %(problem)s") % {
                "source": edge.source.key,
                "target": edge.target.key,
                "kind": edge.kind,
                "problem": problem,
            }
    return None


def update_node(
    actor: Actor,
    node: Node,
    *,
    key: Any = UNSET,
    kind: Any = UNSET,
    name: Any = UNSET,
    attributes: Mapping[str, Any] | Any = UNSET,
) -> Node:
    """Change the given fields of NODE; ATTRIBUTES replaces all its attributes."""
    as_contact = _require(actor, node.organization_id, CHANGE, node.declared_by_id)
    with transaction.atomic():
        bump_version(node.organization_id)
        locked = Node.objects.select_for_update().get(pk=node.pk)
        before = _node_snapshot(locked)
        new_key, new_kind, new_name, attrs, supplier = _clean_node(
            locked.organization_id,
            locked.key if key is UNSET else key,
            locked.kind if kind is UNSET else kind,
            locked.name if name is UNSET else name,
            locked.attributes if attributes is UNSET else attributes,
            pk=locked.pk,
        )
        if as_contact:
            _check_contact_node(new_kind, locked.declared_by)
        if new_kind != locked.kind:
            problem = _kind_change_problem(locked, new_kind)
            if problem:
                raise GraphError(problem, {"kind": problem})
        locked.key, locked.kind, locked.name, locked.attributes = new_key, new_kind, new_name, attrs
        locked.supplier = supplier
        after = _node_snapshot(locked)
        if after == before:
            transaction.set_rollback(True)  # nothing changed: the version stays
            return locked
        _save(locked, _("A node with the id “%(key)s” is already on the map.") % {"key": new_key})
        record_many(actor, [_node_entry(AuditEntry.Action.UPDATE, locked, before, after)])
    return locked


def delete_node(actor: Actor, node: Node) -> None:
    """Delete NODE and its edges (each edge leaves its own audit entry)."""
    _require(actor, node.organization_id, DELETE, node.declared_by_id)
    with transaction.atomic():
        bump_version(node.organization_id)
        locked = Node.objects.select_for_update().get(pk=node.pk)
        edges = (
            Edge.objects.filter(models.Q(source=locked) | models.Q(target=locked))
            .select_related("source", "target")
            .order_by("pk")
        )
        entries = [_edge_entry(AuditEntry.Action.DELETE, e, _edge_snapshot(e), None) for e in edges]
        entries.append(_node_entry(AuditEntry.Action.DELETE, locked, _node_snapshot(locked), None))
        record_many(actor, entries)
        locked.delete()


# --- edges ------------------------------------------------------------------------------------------


def _resolve(
    organization_id: int, end: Node | str, contact_of: Supplier | None, kept: int | None = None
) -> tuple[Node | None, Supplier | None, str | None]:
    """(node, registry supplier to make a node of, problem) for an edge end given as a Node or key.

    For a contact (CONTACT_OF set) only its own supplier, the nodes it declared and the node the
    end already has (KEPT: the buyer may have linked it to one of theirs) exist.
    """
    if isinstance(end, Node):
        if end.organization_id != organization_id:
            return None, None, _("No node has this id.")
        key = end.key
    else:
        try:
            key = rules.clean_key(end)
        except rules.Invalid as exc:
            return None, None, str(exc)
    node = Node.objects.filter(organization_id=organization_id, key=key).first()
    if contact_of is not None:
        own = key == contact_of.code
        if node is not None and not (own or node.declared_by_id == contact_of.pk or node.pk == kept):
            node = None
        if node is None and not own:
            return None, None, _("No node has the id “%(key)s”.") % {"key": key}
    if node is not None:
        return node, None, None
    supplier = _registry_supplier(organization_id, key)
    if supplier is None:
        return (
            None,
            None,
            _("No node has the id “%(key)s”, on the map or in the supplier registry.") % {"key": key},
        )
    return None, supplier, None


def _registry_node(supplier: Supplier) -> Node:
    """The Node row of a registry supplier (implicitly a node until an edge names it)."""
    attributes: dict[str, Any] = {"tier": supplier.tier}
    if supplier.country:
        attributes["country"] = str(supplier.country)
    node = Node(
        organization_id=supplier.organization_id,
        key=supplier.code,
        kind=NodeKind.SUPPLIER,
        name=supplier.name[: rules.MAX_NAME],
        supplier=supplier,
        attributes=attributes,
        origin=Origin.REGISTRY,
    )
    node.save()
    return node


def _clean_edge(
    organization_id: int,
    source: Node | str,
    target: Node | str,
    kind: Any,
    attributes: Mapping[str, Any],
    *,
    contact_of: Supplier | None,
    current: Edge | None,
) -> tuple[list[Node | Supplier], str, dict[str, Any]]:
    """Validated ends (a Node, or a registry Supplier whose node is made), kind and attributes.

    CONTACT_OF: the supplier a contact acts for; CURRENT: the edge being changed, if any.
    """
    problems: dict[str, str] = {}
    ends: list[Node | Supplier] = []
    kinds: list[str] = []
    pk = current.pk if current is not None else None
    kept_target = current.target_id if current is not None else None
    for field, end in (("source", source), ("target", target)):
        kept = getattr(current, f"{field}_id", None)
        node, supplier, problem = _resolve(organization_id, end, contact_of, kept)
        if problem:
            problems[field] = problem
        elif node is not None:
            ends.append(node)
            kinds.append(node.kind)
        elif supplier is not None:
            ends.append(supplier)
            kinds.append(NodeKind.SUPPLIER)
    try:
        kind = rules.clean_edge_kind(kind)
    except rules.Invalid as exc:
        problems["kind"] = str(exc)
        kind = None
    attrs: dict[str, Any] = {}
    if kind is not None:
        attrs, bad = rules.clean_attributes("edge", kind, attributes)
        problems.update({f"attributes.{n}": m for n, m in bad.items()})
    if contact_of is not None and kind is not None and kind != EdgeKind.SUBCONTRACTS:
        problems["kind"] = _("A supplier declares only whom it subcontracts to (subcontracts edges).")
    if len(ends) == 2 and kind is not None and not problems:
        keys = [e.key if isinstance(e, Node) else e.code for e in ends]
        if keys[0] == keys[1]:
            problems["target"] = _("An edge cannot join a node to itself.")
        elif contact_of is not None and not (
            isinstance(ends[1], Node)
            and (ends[1].declared_by_id == contact_of.pk or ends[1].pk == kept_target)
        ):
            problems["target"] = _("No node has the id “%(key)s”.") % {"key": keys[1]}
        else:
            problem = rules.endpoint_problem(kind, kinds[0], kinds[1])
            if problem:
                problems["kind"] = problem
            elif (
                all(isinstance(e, Node) for e in ends)
                and Edge.objects.filter(source=ends[0], target=ends[1], kind=kind).exclude(pk=pk).exists()
            ):
                problems["kind"] = _("The edge %(source)s → %(target)s (%(kind)s) is already on the map.") % {
                    "source": keys[0],
                    "target": keys[1],
                    "kind": kind,
                }
    if problems:
        raise _fail(problems)
    assert kind is not None
    return ends, kind, attrs


def _nodes_of(ends: list[Node | Supplier]) -> tuple[list[Node], list[PendingEntry]]:
    """Nodes for the ends, making the Node rows of registry suppliers (each audited)."""
    nodes, entries = [], []
    for end in ends:
        if isinstance(end, Supplier):
            made = _registry_node(end)
            entries.append(_node_entry(AuditEntry.Action.CREATE, made, None, _node_snapshot(made)))
            nodes.append(made)
        else:
            nodes.append(end)
    return nodes, entries


def create_edge(
    actor: Actor,
    organization_id: int,
    *,
    source: Node | str,
    target: Node | str,
    kind: str,
    attributes: Mapping[str, Any] | None = None,
    origin: str = Origin.MANUAL,
    declared_by: Supplier | None = None,
) -> Edge:
    """A new edge SOURCE → TARGET (Nodes or node ids; a registry supplier's code makes its node)."""
    if declared_by is not None and declared_by.organization_id != organization_id:
        raise NotAllowed(_("You may not change this map."))
    as_contact = _require(actor, organization_id, ADD, declared_by.pk if declared_by else None)
    with transaction.atomic():
        bump_version(organization_id)
        ends, kind, attrs = _clean_edge(
            organization_id,
            source,
            target,
            kind,
            attributes or {},
            contact_of=declared_by if as_contact else None,
            current=None,
        )
        nodes, entries = _nodes_of(ends)
        edge = Edge(
            organization_id=organization_id,
            source=nodes[0],
            target=nodes[1],
            kind=kind,
            attributes=attrs,
            origin=Origin.PORTAL if declared_by is not None else origin,
            declared_by=declared_by,
        )
        _save(edge, _("This edge is already on the map."))
        entries.append(_edge_entry(AuditEntry.Action.CREATE, edge, None, _edge_snapshot(edge)))
        record_many(actor, entries)
    return edge


def update_edge(
    actor: Actor,
    edge: Edge,
    *,
    source: Node | str | Any = UNSET,
    target: Node | str | Any = UNSET,
    kind: Any = UNSET,
    attributes: Mapping[str, Any] | Any = UNSET,
) -> Edge:
    """Change the given fields of EDGE; ATTRIBUTES replaces all its attributes."""
    as_contact = _require(actor, edge.organization_id, CHANGE, edge.declared_by_id)
    with transaction.atomic():
        bump_version(edge.organization_id)
        locked = (
            Edge.objects.select_for_update(of=("self",))
            .select_related("source", "target", "declared_by")
            .get(pk=edge.pk)
        )
        before = _edge_snapshot(locked)
        ends, new_kind, attrs = _clean_edge(
            locked.organization_id,
            locked.source if source is UNSET else source,
            locked.target if target is UNSET else target,
            locked.kind if kind is UNSET else kind,
            locked.attributes if attributes is UNSET else attributes,
            contact_of=locked.declared_by if as_contact else None,
            current=locked,
        )
        nodes, entries = _nodes_of(ends)
        locked.source, locked.target, locked.kind, locked.attributes = nodes[0], nodes[1], new_kind, attrs
        after = _edge_snapshot(locked)
        if after == before:
            transaction.set_rollback(True)  # nothing changed: the version stays
            return locked
        _save(locked, _("This edge is already on the map."))
        entries.append(_edge_entry(AuditEntry.Action.UPDATE, locked, before, after))
        record_many(actor, entries)
    return locked


def delete_edge(actor: Actor, edge: Edge) -> None:
    _require(actor, edge.organization_id, DELETE, edge.declared_by_id)
    with transaction.atomic():
        bump_version(edge.organization_id)
        locked = (
            Edge.objects.select_for_update(of=("self",)).select_related("source", "target").get(pk=edge.pk)
        )
        record_many(actor, [_edge_entry(AuditEntry.Action.DELETE, locked, _edge_snapshot(locked), None)])
        locked.delete()
