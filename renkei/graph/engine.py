"""The in-memory supply-chain graph and the analyses on it (docs/graph.md).

The map's rows (Node, Edge) and the registry (every supplier is a node keyed by its code, every
`subcontracted_by` a subcontracts edge) become integer arrays once per map version; analyses are
breadth-first sweeps over compressed adjacency (CSR) arrays, one numpy step per hop, so a query
on a million edges costs a few dozen vectorised steps instead of a million Python iterations.

Two semantics (documented in docs/graph.md):

- **compromise** spreads along `accesses` (A → B), `hosts_data` (system → data), `network` (both
  ways) and `subcontracts` (both ways: contractor and subcontractor work inside each other's
  processes — the seed 001 subsidiary case);
- an **outage** propagates along `supplies` (A → B) and `depends_on` (A depends on B: B → A).
  A `depends_on` edge and a `supplies` edge with `single_source` are *hard*: the dependent stops
  when the upstream stops. Other `supplies` edges are *redundant*: the dependent stops only when
  every one of its redundant suppliers has stopped, and is *degraded* before that.

A compromised node is treated as stopped (ransomware is the common case), so the impact of a
compromise includes the outages it causes.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from renkei.graph.choices import EdgeKind, NodeKind, Via

NODE_KINDS: tuple[str, ...] = tuple(NodeKind.values)
EDGE_KINDS: tuple[str, ...] = tuple(EdgeKind.values)
_NODE_CODE = {kind: code for code, kind in enumerate(NODE_KINDS)}
_EDGE_CODE = {kind: code for code, kind in enumerate(EDGE_KINDS)}

# Effects of an impact on one node, worst first.
COMPROMISED, STOPS, DEGRADED = "compromised", "stops", "degraded"

# Severity weights: what the buyer loses when a node of this kind is reached.
KIND_WEIGHT = {
    NodeKind.PRODUCT: 60, NodeKind.SITE: 60, NodeKind.ORGANIZATION: 50,
    NodeKind.SYSTEM: 40, NodeKind.DATA: 30, NodeKind.SUPPLIER: 20,
}
EFFECT_FACTOR = {COMPROMISED: 1.0, STOPS: 1.0, DEGRADED: 0.4}
# Data classes whose exposure weighs more (free text in the map; these spellings are documented).
SENSITIVE_CLASSES = frozenset({
    "personal", "sensitive_personal", "customer", "personnel", "financial", "export_controlled",
    "個人情報", "要配慮個人情報", "顧客情報", "人事情報", "財務情報", "輸出管理",
})


class UnknownNode(LookupError):
    """The node id is not on the map."""


@dataclass
class Csr:
    """Adjacency of one propagation: the neighbours of node i are indices[indptr[i]:indptr[i+1]]."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def build(cls, size: int, sources: np.ndarray, targets: np.ndarray) -> Csr:
        order = np.argsort(sources, kind="stable")
        counts = np.bincount(sources, minlength=size)
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, targets[order].astype(np.int32, copy=False))

    def expand(self, frontier: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(neighbours, the frontier node each came from) of every node in FRONTIER."""
        starts = self.indptr[frontier]
        counts = self.indptr[frontier + 1] - starts
        total = int(counts.sum())
        if total == 0:
            empty = np.empty(0, dtype=np.int32)
            return empty, empty
        # Position of each neighbour: its row start plus its rank inside the row.
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        return self.indices[offsets], np.repeat(frontier, counts).astype(np.int32, copy=False)

    def degree(self, node: int) -> int:
        return int(self.indptr[node + 1] - self.indptr[node])

    def neighbours(self, node: int) -> np.ndarray:
        return self.indices[self.indptr[node]:self.indptr[node + 1]]


@dataclass
class Graph:
    """One organization's map as arrays. Built by `build`; read-only afterwards."""

    organization_id: int
    version: Any
    keys: list[str]
    kinds: np.ndarray  # uint8 codes into NODE_KINDS
    names: list[str]
    attributes: list[dict]
    supplier_ids: list[int | None]
    node_ids: list[int | None]  # Node row pk; None for a registry supplier without a row
    edge_source: np.ndarray
    edge_target: np.ndarray
    edge_kind: np.ndarray  # uint8 codes into EDGE_KINDS
    hard: np.ndarray  # bool per edge: an outage along it stops the dependent
    index: dict[str, int] = field(default_factory=dict)
    compromise: Csr | None = None
    outage_hard: Csr | None = None
    outage_soft: Csr | None = None
    soft_in: np.ndarray | None = None
    key_rank: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.keys)

    def kind(self, node: int) -> str:
        return NODE_KINDS[int(self.kinds[node])]

    def prepare(self) -> Graph:
        """Index the keys and build the three propagation adjacencies."""
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.key_rank = np.empty(len(self.keys), dtype=np.int32)
        self.key_rank[sorted(range(len(self.keys)), key=self.keys.__getitem__)] = np.arange(len(self.keys))
        size, src, dst, kind = self.size, self.edge_source, self.edge_target, self.edge_kind

        def code(name: str) -> int:
            return _EDGE_CODE[name]

        forward = np.isin(kind, [code(EdgeKind.ACCESSES), code(EdgeKind.HOSTS_DATA)])
        both = np.isin(kind, [code(EdgeKind.NETWORK), code(EdgeKind.SUBCONTRACTS)])
        comp_src = np.concatenate([src[forward], src[both], dst[both]])
        comp_dst = np.concatenate([dst[forward], dst[both], src[both]])
        self.compromise = Csr.build(size, comp_src, comp_dst)

        supplies = kind == code(EdgeKind.SUPPLIES)
        depends = kind == code(EdgeKind.DEPENDS_ON)
        # Outage flows from the upstream (supplier, or what is depended on) to the dependent.
        up = np.where(depends, dst, src)
        down = np.where(depends, src, dst)
        hard = depends | (supplies & self.hard)
        soft = supplies & ~self.hard
        self.outage_hard = Csr.build(size, up[hard], down[hard])
        # Several redundant edges between the same pair count once.
        soft_pairs = np.unique(np.stack([up[soft], down[soft]], axis=1), axis=0) if soft.any() else (
            np.empty((0, 2), dtype=np.int32))
        self.outage_soft = Csr.build(size, soft_pairs[:, 0], soft_pairs[:, 1])
        self.soft_in = np.bincount(soft_pairs[:, 1], minlength=size).astype(np.int32)
        return self


# --- building from the database, cached per organization and map version -----------------------

_CACHE: dict[int, Graph] = {}
_LOCK = threading.Lock()


def version_key(organization_id: int) -> tuple:
    """What a cached graph is valid for: the map's version and the registry's last change."""
    from django.db.models import Count, Max

    from renkei.graph.models import MapVersion
    from renkei.suppliers.models import Supplier

    version = MapVersion.objects.filter(organization_id=organization_id).values_list("version", flat=True)
    registry = Supplier.objects.filter(organization_id=organization_id).aggregate(
        count=Count("id"), changed=Max("updated_at"))
    return (next(iter(version), 0), registry["count"], registry["changed"])


def load_graph(organization_id: int) -> Graph:
    """The organization's graph, rebuilt only when the map or the registry changed."""
    key = version_key(organization_id)
    cached = _CACHE.get(organization_id)
    if cached is not None and cached.version == key:
        return cached
    with _LOCK:
        cached = _CACHE.get(organization_id)
        if cached is not None and cached.version == key:
            return cached
        graph = build(organization_id, key)
        _CACHE[organization_id] = graph
        return graph


def forget(organization_id: int | None = None) -> None:
    """Drop cached graphs (tests, and after a restore)."""
    with _LOCK:
        if organization_id is None:
            _CACHE.clear()
        else:
            _CACHE.pop(organization_id, None)


def build(organization_id: int, version: Any = None) -> Graph:
    """Read the map and the registry into arrays (three queries whatever the size)."""
    from renkei.graph.models import Edge, Node
    from renkei.suppliers.choices import SupplierStatus
    from renkei.suppliers.models import Supplier

    keys: list[str] = []
    kinds: list[int] = []
    names: list[str] = []
    attributes: list[dict] = []
    supplier_ids: list[int | None] = []
    node_ids: list[int | None] = []
    row_index: dict[int, int] = {}
    rows = Node.objects.filter(organization_id=organization_id).values_list(
        "pk", "key", "kind", "name", "attributes", "supplier_id").order_by("pk")
    for pk, key, kind, name, attrs, supplier_id in rows.iterator(chunk_size=5000):
        row_index[pk] = len(keys)
        keys.append(key)
        kinds.append(_NODE_CODE[kind])
        names.append(name)
        attributes.append(attrs or {})
        supplier_ids.append(supplier_id)
        node_ids.append(pk)
    known = set(keys)
    supplier_index: dict[int, int] = {}
    registry = Supplier.objects.filter(organization_id=organization_id).exclude(
        status=SupplierStatus.REJECTED).values_list(
            "pk", "code", "name", "tier", "country", "subcontracted_by_id")
    parents: list[tuple[int, int]] = []
    by_key = {key: i for i, key in enumerate(keys)}
    for pk, code, name, tier, country, parent_id in registry.iterator(chunk_size=5000):
        if code in known:
            i = by_key[code]
            supplier_ids[i] = supplier_ids[i] or pk
        else:
            i = len(keys)
            keys.append(code)
            kinds.append(_NODE_CODE[NodeKind.SUPPLIER])
            names.append(name)
            attributes.append({"tier": tier, "country": str(country or "")})
            supplier_ids.append(pk)
            node_ids.append(None)
        supplier_index[pk] = i
        if parent_id is not None:
            parents.append((parent_id, pk))

    edges = Edge.objects.filter(organization_id=organization_id).values_list(
        "source_id", "target_id", "kind", "attributes__single_source")
    src: list[int] = []
    dst: list[int] = []
    ekind: list[int] = []
    hard: list[bool] = []
    seen: set[tuple[int, int]] = set()
    sub_code = _EDGE_CODE[EdgeKind.SUBCONTRACTS]
    for source_id, target_id, kind, single_source in edges.iterator(chunk_size=20000):
        s, t, k = row_index[source_id], row_index[target_id], _EDGE_CODE[kind]
        src.append(s)
        dst.append(t)
        ekind.append(k)
        hard.append(single_source is True)
        if k == sub_code:
            seen.add((s, t))
    for parent_id, child_id in parents:
        s, t = supplier_index.get(parent_id), supplier_index[child_id]
        if s is not None and (s, t) not in seen:
            src.append(s)
            dst.append(t)
            ekind.append(sub_code)
            hard.append(False)
    return Graph(
        organization_id=organization_id, version=version, keys=keys,
        kinds=np.array(kinds, dtype=np.uint8), names=names, attributes=attributes,
        supplier_ids=supplier_ids, node_ids=node_ids,
        edge_source=np.array(src, dtype=np.int32), edge_target=np.array(dst, dtype=np.int32),
        edge_kind=np.array(ekind, dtype=np.uint8), hard=np.array(hard, dtype=bool),
    ).prepare()


def from_arrays(keys: list[str], kinds: Iterable[str], names: list[str],
                edges: Iterable[tuple[int, int, str, bool]], attributes: list[dict] | None = None) -> Graph:
    """A graph from plain lists (benchmarks and tests of the algorithms alone)."""
    edge_list = list(edges)
    size = len(keys)
    return Graph(
        organization_id=0, version=None, keys=list(keys),
        kinds=np.array([_NODE_CODE[k] for k in kinds], dtype=np.uint8), names=list(names),
        attributes=attributes or [{} for _ in range(size)], supplier_ids=[None] * size,
        node_ids=[None] * size,
        edge_source=np.array([e[0] for e in edge_list], dtype=np.int32),
        edge_target=np.array([e[1] for e in edge_list], dtype=np.int32),
        edge_kind=np.array([_EDGE_CODE[e[2]] for e in edge_list], dtype=np.uint8),
        hard=np.array([bool(e[3]) for e in edge_list], dtype=bool),
    ).prepare()


# --- impact -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reached:
    index: int
    id: str
    kind: str
    name: str
    hops: int
    via: str
    effect: str
    severity: int
    records: int | None
    classes: tuple[str, ...]


_EFFECT_NAMES = {1: COMPROMISED, 2: STOPS, 3: DEGRADED}


@dataclass
class Impact:
    """The reached nodes as arrays in severity order; `reached` and paths are built on demand."""

    graph: Graph
    node: int
    mode: str
    order: np.ndarray  # reached node indices, most severe first
    hops: np.ndarray  # per node of the graph
    effect: np.ndarray  # per node: 1 compromised, 2 stops, 3 degraded
    severity: np.ndarray  # per reached node, aligned with order
    parent: np.ndarray

    def __len__(self) -> int:
        return len(self.order)

    def entry(self, position: int) -> Reached:
        g, i = self.graph, int(self.order[position])
        attrs = g.attributes[i]
        effect = _EFFECT_NAMES[int(self.effect[i])]
        return Reached(
            index=i, id=g.keys[i], kind=g.kind(i), name=g.names[i], hops=int(self.hops[i]),
            via=Via.COMPROMISE if effect == COMPROMISED else Via.OUTAGE, effect=effect,
            severity=int(self.severity[position]), records=_records(attrs), classes=_classes(attrs),
        )

    @cached_property
    def reached(self) -> list[Reached]:
        return [self.entry(p) for p in range(len(self.order))]

    def top(self, limit: int) -> list[Reached]:
        return [self.entry(p) for p in range(min(limit, len(self.order)))]

    def path(self, node: int) -> list[str]:
        """Node ids from the start to NODE, following the sweep's first arrival."""
        steps = [node]
        while steps[-1] != self.node:
            steps.append(int(self.parent[steps[-1]]))
        return [self.graph.keys[i] for i in reversed(steps)]

    def paths(self) -> dict[int, tuple[str, ...]]:
        """Every reached node's path, each built from its parent's (one pass in hop order)."""
        keys = self.graph.keys
        result: dict[int, tuple[str, ...]] = {self.node: (keys[self.node],)}
        by_hops = self.order[np.argsort(self.hops[self.order], kind="stable")]
        parent = self.parent
        for i in by_hops.tolist():
            result[i] = result[int(parent[i])] + (keys[i],)
        return result

    def to_json(self) -> dict[str, Any]:
        """The contract of `renkei graph impact --json`."""
        # Hundreds of thousands of small containers, none cyclic: the collector would only rescan them.
        collecting = gc.isenabled()
        gc.disable()
        try:
            g, paths = self.graph, self.paths()
            kinds = [NODE_KINDS[k] for k in g.kinds[self.order].tolist()]
            hops = self.hops[self.order].tolist()
            vias = [Via.COMPROMISE.value if e == 1 else Via.OUTAGE.value
                    for e in self.effect[self.order].tolist()]
            reached = [
                {"id": g.keys[i], "kind": kind, "name": g.names[i], "hops": h, "via": via,
                 "path": list(paths[i])}
                for i, kind, h, via in zip(self.order.tolist(), kinds, hops, vias, strict=True)
            ]
        finally:
            if collecting:
                gc.enable()
        return {"node": g.keys[self.node], "reached": reached}

    def counts(self) -> dict[str, dict[str, int]]:
        """{effect: {kind: count}} for summaries."""
        result: dict[str, dict[str, int]] = {}
        effects = self.effect[self.order].tolist()
        for effect, kind in zip(effects, self.graph.kinds[self.order].tolist(), strict=True):
            bucket = result.setdefault(_EFFECT_NAMES[effect], {})
            bucket[NODE_KINDS[kind]] = bucket.get(NODE_KINDS[kind], 0) + 1
        return result


def _records(attrs: dict) -> int | None:
    value = attrs.get("records")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _classes(attrs: dict) -> tuple[str, ...]:
    value = attrs.get("classes") or ()
    return tuple(str(c) for c in value) if isinstance(value, list | tuple) else (str(value),)


_KIND_WEIGHTS = np.array([KIND_WEIGHT[kind] for kind in NODE_KINDS], dtype=np.float64)
_EFFECT_FACTORS = np.array([0.0, EFFECT_FACTOR[COMPROMISED], EFFECT_FACTOR[STOPS], EFFECT_FACTOR[DEGRADED]])


def severity(kind: str, effect: str, attrs: dict) -> int:
    """0–100: what reaching a node of KIND with EFFECT costs (docs/graph.md, “Severity”)."""
    score = KIND_WEIGHT[kind]
    if kind == NodeKind.DATA:
        score += _data_bonus(attrs)
    return min(100, round(score * EFFECT_FACTOR[effect]))


def _data_bonus(attrs: dict) -> int:
    records = _records(attrs) or 0
    bonus = min(30, round(5 * math.log10(records + 1)))
    return bonus + (10 if SENSITIVE_CLASSES.intersection(_classes(attrs)) else 0)


def _first_arrivals(nodes: np.ndarray, parents: np.ndarray, fresh: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The NODES not yet reached (FRESH mask), each once with the parent of its first arrival."""
    keep = fresh[nodes]
    nodes, parents = nodes[keep], parents[keep]
    unique, first = np.unique(nodes, return_index=True)
    return unique, parents[first]


def impact(graph: Graph, key: str, mode: str = Via.COMPROMISE) -> Impact:
    """What a compromise (or, with mode "outage", a stop) of the node KEY reaches.

    Level-synchronous sweeps: each step expands a whole frontier with numpy; cycles end because a
    node is entered once; a node reached at several hops keeps the first (shortest) arrival.
    """
    if key not in graph.index:
        raise UnknownNode(key)
    if mode not in (Via.COMPROMISE, Via.OUTAGE):
        raise ValueError(f"unknown mode {mode!r}")
    start = graph.index[key]
    size = graph.size
    hops = np.full(size, -1, dtype=np.int32)
    parent = np.full(size, -1, dtype=np.int32)
    effect = np.zeros(size, dtype=np.uint8)  # 0 none, 1 compromised, 2 stops, 3 degraded
    hops[start] = 0
    parent[start] = start

    # Phase 1: compromise (skipped for a plain outage).
    stopped_at: dict[int, list[int]] = {0: [start]}
    if mode == Via.COMPROMISE:
        assert graph.compromise is not None
        effect[start] = 1
        frontier = np.array([start], dtype=np.int32)
        level = 0
        while frontier.size:
            level += 1
            neighbours, origins = graph.compromise.expand(frontier)
            frontier, origins = _first_arrivals(neighbours, origins, hops < 0)
            hops[frontier] = level
            parent[frontier] = origins
            effect[frontier] = 1
            if frontier.size:
                stopped_at[level] = frontier.tolist()
    else:
        effect[start] = 2

    # Phase 2: outage from every stopped node, entering each at the hop it stopped.
    assert graph.outage_hard is not None and graph.outage_soft is not None and graph.soft_in is not None
    remaining = graph.soft_in.copy()
    stopped = np.zeros(size, dtype=bool)
    level = 0
    pending = np.empty(0, dtype=np.int32)
    last_level = max(stopped_at)
    while pending.size or level <= last_level:
        seeds = np.array(stopped_at.get(level, []), dtype=np.int32)
        frontier = np.unique(np.concatenate([pending, seeds])) if pending.size else seeds
        frontier = frontier[~stopped[frontier]]
        stopped[frontier] = True
        pending = np.empty(0, dtype=np.int32)
        if not frontier.size:
            level += 1
            continue
        hard_next, hard_from = graph.outage_hard.expand(frontier)
        soft_next, soft_from = graph.outage_soft.expand(frontier)
        if soft_next.size:
            np.subtract.at(remaining, soft_next, 1)
            emptied = remaining[soft_next] == 0
        else:
            emptied = np.zeros(0, dtype=bool)
        # Hard edges and redundant suppliers all gone: the node stops at the next hop.
        stop_nodes = np.concatenate([hard_next, soft_next[emptied]])
        stop_from = np.concatenate([hard_from, soft_from[emptied]])
        stop_nodes, stop_from = _first_arrivals(stop_nodes, stop_from, ~stopped)
        new = hops[stop_nodes] < 0
        hops[stop_nodes[new]] = level + 1
        parent[stop_nodes[new]] = stop_from[new]
        effect[stop_nodes[new]] = 2
        # A node that was only degraded so far and now stops is upgraded, keeping its first arrival.
        effect[stop_nodes[(~new) & (effect[stop_nodes] == 3)]] = 2
        # A node compromised at a later hop keeps that hop and path; it spreads its outage from
        # there (it is a seed of that level), so every path runs through nearer nodes only.
        late = (~new) & (hops[stop_nodes] > level + 1)
        pending = stop_nodes[~late].astype(np.int32)
        degraded, degraded_from = _first_arrivals(soft_next[~emptied], soft_from[~emptied], hops < 0)
        hops[degraded] = level + 1
        parent[degraded] = degraded_from
        effect[degraded] = 3
        level += 1

    reached = np.nonzero(effect)[0]
    reached = reached[reached != start]
    scores = _KIND_WEIGHTS[graph.kinds[reached]]
    data = np.nonzero(graph.kinds[reached] == _NODE_CODE[NodeKind.DATA])[0]
    if data.size:
        scores[data] += [_data_bonus(graph.attributes[i]) for i in reached[data].tolist()]
    scores = np.minimum(100, np.floor(scores * _EFFECT_FACTORS[effect[reached]] + 0.5)).astype(np.int32)
    # Most severe first, then nearest, then by id (the keys' rank, computed once per graph).
    order = np.lexsort((graph.key_rank[reached], hops[reached], -scores))
    return Impact(graph=graph, node=start, mode=str(mode), order=reached[order].astype(np.int32),
                  hops=hops, effect=effect, severity=scores[order], parent=parent)


def stops_of(graph: Graph, start: int) -> np.ndarray:
    """Every node that stops when START alone stops (outage semantics), START excluded."""
    assert graph.outage_hard is not None and graph.outage_soft is not None and graph.soft_in is not None
    stopped = np.zeros(graph.size, dtype=bool)
    stopped[start] = True
    remaining = graph.soft_in.copy()
    frontier = np.array([start], dtype=np.int32)
    while frontier.size:
        hard_next, _ = graph.outage_hard.expand(frontier)
        soft_next, _ = graph.outage_soft.expand(frontier)
        if soft_next.size:
            np.subtract.at(remaining, soft_next, 1)
            soft_next = soft_next[remaining[soft_next] == 0]
        frontier = np.unique(np.concatenate([hard_next, soft_next]))
        frontier = frontier[~stopped[frontier]]
        stopped[frontier] = True
    stopped[start] = False
    return np.nonzero(stopped)[0]
