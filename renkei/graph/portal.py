"""Declared subcontractors (再委託先の申告): a supplier's contact names its subcontractors in the
portal; the buyer sees the declarations on the registry page and corrects them.

A declaration is a supplier node declared by the supplier (`Node.declared_by`, origin portal)
and a subcontracts edge into it, also declared, from the supplier's own node (its registry code)
or from another of its declared nodes (a subcontractor's subcontractor). Node attributes hold the
法人番号 (`corporate_number`) and country; edge attributes what work is subcontracted (`work`) and
whether the subcontractor reaches the buyer's systems or data (`buyer_access`, "true"/"false").
Keys are generated: "<supplier code>-SUB-<n>".

Every write goes through renkei.graph.services (validated, audited, the map version bumped), in
one transaction per declaration; rows are read through `for_user`, so a contact sees only its own
supplier's declarations and never the buyer's nodes, edges or notes. The buyer may also link a
declared node to a registry supplier: the node takes the supplier's code (and so becomes that
supplier on the map), or, when the supplier already has a node, its edges move there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from renkei.audit.services import Actor
from renkei.core.models import staff_may
from renkei.core.permissions import CHANGE, VIEW
from renkei.graph import services
from renkei.graph.choices import EdgeKind, NodeKind, Origin
from renkei.graph.models import Edge, Node
from renkei.suppliers.models import Supplier
from renkei.suppliers.validators import normalize_digits, validate_corporate_number

WORK_MAX = 1000
KEY_RETRIES = 5


@dataclass
class Declaration:
    """One declared subcontractor as a page shows it."""

    node: Node
    edge: Edge | None  # the declared subcontracts edge into it (None: the buyer removed it)
    supplier: Supplier  # who declared it
    via: Node | None  # the declared node it is subcontracted through (None: directly)

    @property
    def own(self) -> bool:
        """The node itself is the supplier's declaration (not a buyer's node it was linked to)."""
        return self.node.declared_by_id == self.supplier.pk

    @property
    def corporate_number(self) -> str:
        return str((self.node.attributes or {}).get("corporate_number", ""))

    @property
    def country(self) -> str:
        return str((self.node.attributes or {}).get("country", ""))

    @property
    def country_name(self) -> str:
        from django_countries import countries

        return str(countries.name(self.country)) if self.country else ""

    @property
    def work(self) -> str:
        return str(((self.edge.attributes if self.edge else None) or {}).get("work", ""))

    @property
    def buyer_access(self) -> bool:
        value = ((self.edge.attributes if self.edge else None) or {}).get("buyer_access")
        return value is True or str(value).lower() == "true"


def declarations(user: Any, supplier: Supplier) -> list[Declaration]:
    """SUPPLIER's declarations that USER may see, in the order they were made (two queries)."""
    nodes = {
        n.pk: n
        for n in Node.objects.for_user(user, VIEW)
        .filter(organization_id=supplier.organization_id, declared_by=supplier, kind=NodeKind.SUPPLIER)
        .select_related("supplier")
        .order_by("pk")
    }
    edges = (
        Edge.objects.for_user(user, VIEW)
        .filter(organization_id=supplier.organization_id, declared_by=supplier, kind=EdgeKind.SUBCONTRACTS)
        .select_related("source", "target", "target__supplier")
        .order_by("pk")
    )
    by_target: dict[int, Edge] = {}
    for edge in edges:
        by_target.setdefault(edge.target_id, edge)
    rows = []
    for pk in sorted(set(nodes) | set(by_target)):
        edge = by_target.get(pk)
        node = nodes.get(pk) or (edge.target if edge else None)
        assert node is not None
        via = edge.source if edge is not None and edge.source.declared_by_id == supplier.pk else None
        rows.append(Declaration(node, edge, supplier, via))
    return _nested(rows)


def _nested(rows: list[Declaration]) -> list[Declaration]:
    """ROWS with each declaration right after the one it is subcontracted through (in order of
    declaration otherwise); a loop of declarations is listed where it is first met."""
    below: dict[int | None, list[Declaration]] = {}
    shown = {row.node.pk for row in rows}
    for row in rows:
        parent = row.via.pk if row.via is not None and row.via.pk in shown else None
        below.setdefault(parent, []).append(row)
    ordered: list[Declaration] = []
    seen: set[int] = set()

    def visit(row: Declaration) -> None:
        if row.node.pk in seen:
            return
        seen.add(row.node.pk)
        ordered.append(row)
        for child in below.get(row.node.pk, []):
            visit(child)

    for row in below.get(None, []):
        visit(row)
    for row in rows:  # declarations only reachable through a loop
        visit(row)
    return ordered


def declaration(user: Any, pk: int) -> Declaration:
    """The declaration whose node is PK, as USER may see it; 404 otherwise (also for a node that
    is not a declaration: the buyer's own nodes are edited on the map)."""
    node = (
        Node.objects.for_user(user, VIEW)
        .filter(pk=pk, declared_by__isnull=False)
        .select_related("declared_by", "supplier")
        .first()
    )
    edges = Edge.objects.for_user(user, VIEW).filter(
        target_id=pk, kind=EdgeKind.SUBCONTRACTS, declared_by__isnull=False
    )
    if node is not None:
        edge = edges.filter(declared_by=node.declared_by_id).select_related("source").order_by("pk").first()
        supplier = node.declared_by
    else:
        edge = (
            edges.select_related("source", "target", "target__supplier", "declared_by").order_by("pk").first()
        )
        if edge is None:
            raise Http404
        node, supplier = edge.target, edge.declared_by
    assert supplier is not None
    via = edge.source if edge is not None and edge.source.declared_by_id == supplier.pk else None
    return Declaration(node, edge, supplier, via)


def may_declare(user: Any, supplier: Supplier) -> bool:
    """A portal contact of SUPPLIER declares; the buyer's staff correct."""
    from renkei.suppliers.models import Contact

    return Contact.objects.filter(user=user, supplier=supplier, portal_access=True).exists()


def may_correct(user: Any, declared: Declaration) -> bool:
    return Node.objects.for_user(user, CHANGE).filter(pk=declared.node.pk).exists() or (
        declared.edge is not None and Edge.objects.for_user(user, CHANGE).filter(pk=declared.edge.pk).exists()
    )


def via_choices(supplier: Supplier, exclude: int | None = None) -> list[Node]:
    """The supplier's own declared nodes a new declaration may be subcontracted through."""
    rows = Node.objects.filter(
        organization_id=supplier.organization_id, declared_by=supplier, kind=NodeKind.SUPPLIER
    ).order_by("pk")
    return list(rows.exclude(pk=exclude) if exclude else rows)


def next_key(supplier: Supplier) -> str:
    """ "<code>-SUB-<n>", n one above the highest such key on the map (whoever made it)."""
    prefix = f"{supplier.code}-SUB-"
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    taken = Node.objects.filter(organization_id=supplier.organization_id, key__startswith=prefix).values_list(
        "key", flat=True
    )
    numbers = [int(m.group(1)) for key in taken if (m := pattern.match(key))]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _clean(corporate_number: str, work: str) -> tuple[str, str]:
    number = normalize_digits(corporate_number or "")
    problems: dict[str, str] = {}
    try:
        validate_corporate_number(number)
    except ValidationError as exc:
        problems["corporate_number"] = " ".join(exc.messages)
    work = (work or "").strip()
    if len(work) > WORK_MAX:
        problems["work"] = _("Too long: at most %(limit)d characters (this value has %(length)d).") % {
            "limit": WORK_MAX,
            "length": len(work),
        }
    if problems:
        raise services.GraphError(" ".join(problems.values()), problems)
    return number, work


def _tier(supplier: Supplier, via: Node | None) -> int:
    from renkei.suppliers.models import MAX_TIER

    base = supplier.tier
    if via is not None:
        tier = (via.attributes or {}).get("tier")
        base = tier if isinstance(tier, int) else base + 1
    return min(MAX_TIER, base + 1)


def _edge_attributes(work: str, buyer_access: bool) -> dict[str, Any]:
    return {"work": work, "buyer_access": "true" if buyer_access else "false"}


def _own_via(supplier: Supplier, via: Node | None) -> Node | None:
    if via is not None and (
        via.declared_by_id != supplier.pk or via.organization_id != supplier.organization_id
    ):
        raise services.GraphError(
            _("Choose one of your own declared subcontractors."),
            {"via": _("Choose one of your own declared subcontractors.")},
        )
    return via


def declare(
    actor: Actor,
    supplier: Supplier,
    *,
    name: str,
    country: str = "JP",
    corporate_number: str = "",
    work: str = "",
    buyer_access: bool = False,
    via: Node | None = None,
) -> Node:
    """A new subcontractor of SUPPLIER (or of its declared node VIA), declared by SUPPLIER."""
    number, work = _clean(corporate_number, work)
    via = _own_via(supplier, via)
    attributes = {"country": country, "corporate_number": number, "tier": _tier(supplier, via)}
    for attempt in range(KEY_RETRIES):
        key = next_key(supplier)
        try:
            with transaction.atomic():
                node = services.create_node(
                    actor,
                    supplier.organization_id,
                    key=key,
                    kind=NodeKind.SUPPLIER,
                    name=name,
                    attributes=attributes,
                    origin=Origin.PORTAL,
                    declared_by=supplier,
                )
                services.create_edge(
                    actor,
                    supplier.organization_id,
                    source=via or supplier.code,
                    target=node,
                    kind=EdgeKind.SUBCONTRACTS,
                    attributes=_edge_attributes(work, buyer_access),
                    origin=Origin.PORTAL,
                    declared_by=supplier,
                )
                return node
        except services.GraphError as exc:
            # Another declaration took the key meanwhile: take the next one.
            if "key" not in exc.errors or attempt == KEY_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def update(
    actor: Actor,
    declared: Declaration,
    *,
    name: str,
    country: str = "JP",
    corporate_number: str = "",
    work: str = "",
    buyer_access: bool = False,
    via: Node | None = None,
) -> Declaration:
    """Correct a declaration (the contact who made it, or the buyer's staff)."""
    number, work = _clean(corporate_number, work)
    supplier = declared.supplier
    via = _own_via(supplier, via)
    if via is not None and via.pk == declared.node.pk:
        raise services.GraphError(
            _("A subcontractor cannot be subcontracted through itself."),
            {"via": _("A subcontractor cannot be subcontracted through itself.")},
        )
    with transaction.atomic():
        node = declared.node
        if declared.own:
            attributes = {**(node.attributes or {}), "country": country, "corporate_number": number}
            if declared.via != via:
                attributes["tier"] = _tier(supplier, via)
            node = services.update_node(actor, node, name=name, attributes=attributes)
        edge_attributes = {
            **((declared.edge.attributes if declared.edge else None) or {}),
            **_edge_attributes(work, buyer_access),
        }
        source = via or supplier.code
        if declared.edge is None:
            edge = services.create_edge(
                actor,
                supplier.organization_id,
                source=source,
                target=node,
                kind=EdgeKind.SUBCONTRACTS,
                attributes=edge_attributes,
                origin=Origin.PORTAL,
                declared_by=supplier,
            )
        else:
            edge = services.update_edge(actor, declared.edge, source=source, attributes=edge_attributes)
    return Declaration(node, edge, supplier, via)


def withdraw(actor: Actor, declared: Declaration) -> None:
    """Remove a declaration: the declared node and its edges; its own declared subcontractors
    then hang directly below the supplier. A buyer's node it was linked to stays: only the
    declared edge into it goes."""
    supplier = declared.supplier
    with transaction.atomic():
        if not declared.own:
            assert declared.edge is not None
            services.delete_edge(actor, declared.edge)
            return
        node = declared.node
        below = list(
            Edge.objects.filter(source=node, kind=EdgeKind.SUBCONTRACTS, declared_by=supplier)
            .select_related("source", "target")
            .order_by("pk")
        )
        for edge in below:
            if Edge.objects.filter(
                target=edge.target,
                kind=EdgeKind.SUBCONTRACTS,
                source__key=supplier.code,
                organization_id=supplier.organization_id,
            ).exists():
                continue  # already directly below the supplier: the cascade removes this one
            services.create_edge(
                actor,
                supplier.organization_id,
                source=supplier.code,
                target=edge.target,
                kind=EdgeKind.SUBCONTRACTS,
                attributes=edge.attributes,
                origin=Origin.PORTAL,
                declared_by=supplier,
            )
        services.delete_node(actor, node)


def link(actor: Actor, declared: Declaration, registry: Supplier) -> Node:
    """The buyer links a declared node to the registry supplier REGISTRY (staff who may change
    the map). The node takes the supplier's code; if the supplier already has a node on the map,
    the declared node's edges move to it and the declared node goes."""
    node = declared.node
    if actor.user is not None and not staff_may(actor.user, node.organization_id, CHANGE):
        raise services.NotAllowed(_("Only your customer's staff link a declaration to the registry."))
    if registry.organization_id != node.organization_id:
        raise services.GraphError(
            _("No supplier has this code."), {"supplier": _("No supplier has this code.")}
        )
    if registry.pk == declared.supplier.pk:
        raise services.GraphError(
            _("A supplier cannot be its own subcontractor."),
            {"supplier": _("A supplier cannot be its own subcontractor.")},
        )
    if not declared.own:
        raise services.GraphError(
            _("This declaration is already linked to the registry."),
            {"supplier": _("This declaration is already linked to the registry.")},
        )
    with transaction.atomic():
        existing = Node.objects.filter(organization_id=node.organization_id, key=registry.code).first()
        if existing is None:
            return services.update_node(actor, node, key=registry.code, kind=NodeKind.SUPPLIER)
        edges = (
            Edge.objects.filter(models.Q(source=node) | models.Q(target=node))
            .select_related("source", "target")
            .order_by("pk")
        )
        for edge in edges:
            source = existing if edge.source_id == node.pk else edge.source
            target = existing if edge.target_id == node.pk else edge.target
            if (
                source.pk == target.pk
                or Edge.objects.filter(source=source, target=target, kind=edge.kind).exists()
            ):
                continue  # a loop onto itself, or already there: deleting the node removes it
            services.update_edge(actor, edge, source=source, target=target)
        services.delete_node(actor, node)
        return existing
