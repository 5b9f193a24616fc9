"""Inherited risk (docs/graph.md, “Inherited risk”): a supplier's likelihood includes its
subcontractors'.

The subcontractors of a supplier are what its subcontracts edges reach on the map — the map's
edges (imported, entered by the buyer or declared by suppliers in the portal) and the registry's
`subcontracted_by` — within `likelihood.inherited_hops` hops. Each adds

    (its own likelihood − 1) × inherited_decay ** hops

and the highest one counts (the weakest link; many good subcontractors do not add up to one bad
one). “Own” likelihood is the subcontractor's likelihood without its own inherited contribution,
so a subcontracting loop cannot feed on itself, and each subcontractor counts once at its
shortest distance. A subcontractor without a rating (a declared n-th party that is not in the
registry, or one never computed) counts as `inherited_unrated`, and the reason says so.

Set-based like every factor: the subcontracting part of the map is read in three queries
whatever its size (subcontracts edges, their nodes, the registry suppliers involved), and hops
are walked in memory. A partial recompute (one supplier changed) is widened to the suppliers
that subcontract to it within the maximum hops, and reads the stored ratings of the
subcontractors outside it (one more query); one query first tells whether the suppliers of a
partial recompute take part in any subcontracting at all (if not, nothing more is read).

Map changes recompute at commit (`connect`): a changed subcontracts edge marks the suppliers that
reach its source node (its own, and those subcontracting to it), a changed node those reaching it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db.models import Exists, Q
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from renkei.graph.choices import EdgeKind, NodeKind
from renkei.risk import factors as registry
from renkei.risk.config import MAX_INHERITED_HOPS
from renkei.risk.factors import OWN_LIKELIHOOD, Scope

MEMO_KEY = "subcontracting"
NAME = "inherited"


class Party(NamedTuple):
    """One vertex of the subcontracting graph: a map node or a registry supplier (or both)."""

    key: str
    name: str
    is_supplier: bool
    supplier_id: int | None
    stored_own: int | None  # the stored rating's own likelihood, None if never computed


@dataclass
class Subcontracting:
    """The subcontracts edges of one organization: vertices, forward adjacency, and the
    vertices of each registry supplier."""

    parties: list[Party] = field(default_factory=list)
    following: list[list[int]] = field(default_factory=list)
    preceding: list[list[int]] = field(default_factory=list)
    of_supplier: dict[int, list[int]] = field(default_factory=dict)
    of_node: dict[int, int] = field(default_factory=dict)  # Node pk -> vertex

    def add(self, party: Party) -> int:
        self.parties.append(party)
        self.following.append([])
        self.preceding.append([])
        index = len(self.parties) - 1
        if party.supplier_id is not None:
            self.of_supplier.setdefault(party.supplier_id, []).append(index)
        return index

    def link(self, source: int, target: int) -> None:
        if target not in self.following[source]:
            self.following[source].append(target)
            self.preceding[target].append(source)

    @staticmethod
    def _sweep(starts: Iterable[int], adjacency: list[list[int]], hops: int) -> dict[int, int]:
        """{vertex: hops} reached from STARTS within HOPS (first arrival; loops end)."""
        seen = dict.fromkeys(starts, 0)
        frontier = list(seen)
        for hop in range(1, hops + 1):
            following = []
            for vertex in frontier:
                for nxt in adjacency[vertex]:
                    if nxt not in seen:
                        seen[nxt] = hop
                        following.append(nxt)
            if not following:
                break
            frontier = following
        return seen

    def subcontractors(self, supplier_id: int, hops: int = MAX_INHERITED_HOPS) -> list[tuple[int, int]]:
        """(vertex, hops) of the supplier parties SUPPLIER_ID subcontracts to within HOPS."""
        starts = self.of_supplier.get(supplier_id, [])
        if not any(self.following[s] for s in starts):
            return []
        reached = self._sweep(starts, self.following, hops)
        return sorted(
            (
                (vertex, hop)
                for vertex, hop in reached.items()
                if hop
                and self.parties[vertex].is_supplier
                and self.parties[vertex].supplier_id != supplier_id
            ),
            key=lambda item: (item[1], self.parties[item[0]].key),
        )

    def contractors(
        self,
        supplier_ids: Iterable[int] = (),
        hops: int = MAX_INHERITED_HOPS,
        *,
        node_ids: Iterable[int] = (),
    ) -> set[int]:
        """Registry suppliers that subcontract to any of SUPPLIER_IDS (or of the map nodes
        NODE_IDS) within HOPS, and those suppliers themselves."""
        starts = [v for pk in supplier_ids for v in self.of_supplier.get(pk, [])]
        starts += [self.of_node[pk] for pk in node_ids if pk in self.of_node]
        reached = self._sweep(starts, self.preceding, hops)
        return {self.parties[v].supplier_id for v in reached if self.parties[v].supplier_id is not None}


def load(organization_id: int) -> Subcontracting:
    """The organization's subcontracting graph, read in three queries (the engine's semantics:
    a node whose key is a supplier code is that supplier; rejected suppliers are not on the map).
    Structure only: ratings are read by the evidence loader, and only when needed."""
    from renkei.graph.models import Edge, Node
    from renkei.suppliers.choices import SupplierStatus
    from renkei.suppliers.models import Supplier

    edges = list(
        Edge.objects.filter(organization_id=organization_id, kind=EdgeKind.SUBCONTRACTS).values_list(
            "source_id", "target_id"
        )
    )
    involved = Edge.objects.filter(organization_id=organization_id, kind=EdgeKind.SUBCONTRACTS)
    nodes = list(
        Node.objects.filter(organization_id=organization_id)
        .filter(Q(pk__in=involved.values("source_id")) | Q(pk__in=involved.values("target_id")))
        .values_list("pk", "key", "name", "kind", "supplier_id")
        .order_by("pk")
    )
    keys = (
        Node.objects.filter(organization_id=organization_id)
        .filter(Q(pk__in=involved.values("source_id")) | Q(pk__in=involved.values("target_id")))
        .values("key")
    )
    linked_ids = (
        Node.objects.filter(organization_id=organization_id)
        .filter(Q(pk__in=involved.values("source_id")) | Q(pk__in=involved.values("target_id")))
        .values("supplier_id")
    )
    parents = Supplier.objects.filter(organization_id=organization_id, subcontracted_by__isnull=False).values(
        "subcontracted_by_id"
    )
    suppliers = list(
        Supplier.objects.filter(organization_id=organization_id)
        .exclude(status=SupplierStatus.REJECTED)
        .filter(
            Q(subcontracted_by__isnull=False) | Q(pk__in=parents) | Q(code__in=keys) | Q(pk__in=linked_ids)
        )
        .values_list("pk", "code", "name", "subcontracted_by_id")
        .order_by("pk")
    )
    graph = Subcontracting()
    active = {pk for pk, _code, _name, _parent in suppliers}
    by_code = {code: (pk, name) for pk, code, name, _parent in suppliers}
    vertex_of_node = graph.of_node
    vertex_of_supplier: dict[int, int] = {}
    for pk, key, name, kind, supplier_id in nodes:
        registered = by_code.get(key)
        linked = supplier_id or (registered[0] if registered else None)
        if linked is not None and linked not in active:
            linked = None  # a rejected supplier: the node still counts, unrated
        vertex = graph.add(Party(key, name, kind == NodeKind.SUPPLIER, linked, None))
        vertex_of_node[pk] = vertex
        if registered:
            vertex_of_supplier[registered[0]] = vertex
    for pk, code, name, _parent in suppliers:
        if pk not in vertex_of_supplier:
            vertex_of_supplier[pk] = graph.add(Party(code, name, True, pk, None))
    for source, target in edges:
        graph.link(vertex_of_node[source], vertex_of_node[target])
    for pk, _code, _name, parent in suppliers:
        if parent is not None and parent in vertex_of_supplier:
            graph.link(vertex_of_supplier[parent], vertex_of_supplier[pk])
    return graph


def touches(scope: Scope) -> bool:
    """Whether any supplier of a partial SCOPE takes part in subcontracting (the registry's or
    the map's), in one query: a recompute of suppliers outside every chain reads nothing more."""
    from renkei.accounts.models import Organization
    from renkei.graph.models import Edge, Node
    from renkei.suppliers.models import Supplier

    assert scope.supplier_ids is not None
    org, ids = scope.organization_id, sorted(scope.supplier_ids)
    registry_part = Supplier.objects.filter(organization_id=org).filter(
        Q(pk__in=ids, subcontracted_by__isnull=False) | Q(subcontracted_by__in=ids)
    )
    codes = Supplier.objects.filter(organization_id=org, pk__in=ids).values("code")
    nodes = Node.objects.filter(organization_id=org).filter(Q(supplier_id__in=ids) | Q(key__in=codes))
    map_part = Edge.objects.filter(organization_id=org, kind=EdgeKind.SUBCONTRACTS).filter(
        Q(source__in=nodes) | Q(target__in=nodes)
    )
    return Organization.objects.filter(pk=org).filter(Q(Exists(registry_part)) | Q(Exists(map_part))).exists()


def _graph(scope: Scope) -> Subcontracting:
    graph = scope.memo.get(MEMO_KEY)
    if graph is None:
        graph = scope.memo[MEMO_KEY] = load(scope.organization_id)
    return graph


@registry.widens
def widen(scope: Scope) -> Scope:
    """A partial recompute also rewrites the suppliers that subcontract to its suppliers."""
    assert scope.supplier_ids is not None
    if not touches(scope):
        scope.memo[MEMO_KEY] = Subcontracting()
        return scope
    graph = _graph(scope)
    extra = graph.contractors(scope.supplier_ids) - scope.supplier_ids
    if not extra:
        return scope
    return Scope(scope.organization_id, scope.supplier_ids | extra, memo=scope.memo)


@dataclass(frozen=True)
class Reach:
    """The subcontractors of one supplier: (party, hops), nearest first."""

    parties: tuple[tuple[Party, int], ...]


@registry.evidence("subcontractors")
def subcontractors_evidence(scope: Scope, today: datetime.date) -> dict[int, Reach]:
    """Per supplier of SCOPE, its subcontractors within the maximum hops. In a partial recompute,
    subcontractors outside the scope carry their stored own likelihood (one more query)."""
    from renkei.risk.models import SupplierRisk

    graph = _graph(scope)
    wanted = scope.supplier_ids if scope.supplier_ids is not None else graph.of_supplier.keys()
    reached = {pk: found for pk in wanted if (found := graph.subcontractors(pk))}
    stored: dict[int, int] = {}
    if scope.supplier_ids is not None and graph.parties:
        outside = {graph.parties[v].supplier_id for found in reached.values() for v, _hops in found}
        outside -= {None, *scope.supplier_ids}
        # 0 (never a supplier id) keeps the IN list non-empty, so the query always runs.
        rows = SupplierRisk.objects.filter(supplier_id__in=[0, *sorted(outside)]).values_list(  # type: ignore[list-item]
            "supplier_id", "factors"
        )
        stored = {pk: registry.own_likelihood(factors) for pk, factors in rows}

    def party(vertex: int) -> Party:
        found = graph.parties[vertex]
        if found.supplier_id in stored:
            return found._replace(stored_own=stored[found.supplier_id])
        return found

    return {pk: Reach(tuple((party(v), hops) for v, hops in found)) for pk, found in reached.items()}


def _describe(params: Mapping[str, Any]) -> str:
    values = {
        "name": params.get("name", ""),
        "key": params.get("key", ""),
        "hops": params.get("hops"),
        "likelihood": params.get("likelihood"),
        "weight": params.get("weight"),
        "count": params.get("count", 1),
    }
    hops = values["hops"] if isinstance(values["hops"], int) else 0
    if params.get("unrated"):
        text = (
            ngettext(
                "Unrated subcontractor %(name)s (%(key)s), %(hops)s hop down the chain: counted as "
                "likelihood %(likelihood)s × %(weight)s",
                "Unrated subcontractor %(name)s (%(key)s), %(hops)s hops down the chain: counted as "
                "likelihood %(likelihood)s × %(weight)s",
                hops,
            )
            % values
        )
    else:
        text = (
            ngettext(
                "Subcontractor %(name)s (%(key)s), %(hops)s hop down the chain: likelihood "
                "%(likelihood)s × %(weight)s",
                "Subcontractor %(name)s (%(key)s), %(hops)s hops down the chain: likelihood "
                "%(likelihood)s × %(weight)s",
                hops,
            )
            % values
        )
    if values["count"] > 1:
        text += " " + _("(the highest of %(count)s subcontractors)") % values
    return text


@registry.factor(
    NAME, gettext_lazy("Subcontractors' risk"), needs=("subcontractors",), describe=_describe, chained=True
)
def inherited(
    evidence_of: Mapping[str, Any], settings: Mapping[str, Any], today: datetime.date
) -> tuple[float, dict] | None:
    reach: Reach | None = evidence_of.get("subcontractors")
    hops_limit = settings.get("inherited_hops", 3)
    if reach is None or not hops_limit:
        return None
    decay = settings.get("inherited_decay", 0.5)
    unrated_value = settings.get("inherited_unrated", 3)
    own: Mapping[int, int] = evidence_of.get(OWN_LIKELIHOOD) or {}
    best: tuple[float, dict] | None = None
    count = 0
    for party, hops in reach.parties:
        if hops > hops_limit:
            break
        count += 1
        if party.supplier_id is not None and party.supplier_id in own:
            value, unrated = own[party.supplier_id], False
        elif party.stored_own is not None:
            value, unrated = party.stored_own, False
        else:
            value, unrated = unrated_value, True
        weight = decay**hops
        contribution = (value - 1) * weight
        if best is None or contribution > best[0]:
            best = (
                contribution,
                {
                    "key": party.key,
                    "name": party.name,
                    "hops": hops,
                    "likelihood": value,
                    "weight": round(weight, 4),
                    "unrated": unrated,
                },
            )
    if best is None or best[0] <= 0:
        return None
    best[1]["count"] = count
    return best


# --- Recompute when the map changes ----------------------------------------------------------


def _node_suppliers(node_ids: Iterable[int]) -> set[int]:
    """The registry suppliers of these nodes (linked, or keyed by the supplier's code)."""
    from renkei.graph.models import Node
    from renkei.suppliers.models import Supplier

    rows = list(
        Node.objects.filter(pk__in=list(node_ids)).values_list("organization_id", "key", "supplier_id")
    )
    found = {supplier_id for _org, _key, supplier_id in rows if supplier_id}
    unlinked = [(org, key) for org, key, supplier_id in rows if not supplier_id]
    if unlinked:
        condition = Q()
        for org, key in unlinked:
            condition |= Q(organization_id=org, code=key)
        found |= set(Supplier.objects.filter(condition).values_list("pk", flat=True))
    return found


def _affected(organization_id: int, node_ids: list[int]) -> set[int]:
    """The registry suppliers whose inherited risk a change at these nodes may change: their
    own suppliers, and every supplier subcontracting to them within the maximum hops (through
    declared or imported n-th parties that are not in the registry, too)."""
    graph = load(organization_id)
    return _node_suppliers(node_ids) | graph.contractors(node_ids=node_ids)


def _edge_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    from renkei.risk.signals import mark

    if raw or instance.kind != EdgeKind.SUBCONTRACTS:
        return
    mark(_affected(instance.organization_id, [instance.source_id]))


def _node_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    from renkei.graph.models import Edge
    from renkei.risk.signals import mark

    if raw:
        return
    # Its contractors' reasons name it, and its link to the registry decides its rating; a node
    # outside any subcontracting changes nothing else (one query to find out).
    if Edge.objects.filter(target_id=instance.pk, kind=EdgeKind.SUBCONTRACTS).exists():
        mark(_affected(instance.organization_id, [instance.pk]))
    elif instance.supplier_id:
        mark([instance.supplier_id])


def map_imported(organization_id: int) -> None:
    """After a bulk write that bypasses the model signals (the map import): recompute the whole
    organization when the surrounding transaction commits (the nightly job would otherwise)."""
    from django.db import transaction

    def run() -> None:
        from renkei.risk.services import recompute_organization

        recompute_organization(organization_id)

    transaction.on_commit(run, robust=True)


def connect() -> None:
    from renkei.graph.models import Edge, Node

    post_save.connect(_edge_changed, sender=Edge, dispatch_uid="graph-inherited-edge-saved")
    post_delete.connect(_edge_changed, sender=Edge, dispatch_uid="graph-inherited-edge-deleted")
    post_save.connect(_node_changed, sender=Node, dispatch_uid="graph-inherited-node-saved")
