"""Concentration risk on the map (`renkei graph spof`, docs/graph.md):

- **single points of failure** — suppliers whose stop alone halts a product or a site. With
  redundant suppliers this is the dominator question (every supply path goes through the
  supplier); with hard dependencies (`depends_on`, `single_source`) any upstream on a hard chain
  counts. One sweep per candidate supplier, in plain Python over adjacency lists because most
  sweeps touch a handful of nodes (numpy's per-call cost would dominate), and only for suppliers
  that can stop anything at all;
- **shared fourth parties** — one supplier (an MSP, a SaaS, a sub-supplier) that several of the
  buyer's registry suppliers rely on: subcontract to, are supplied by, depend on, or are accessed by;
- **broad access** — suppliers with access into many of the buyer's systems.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from renkei.graph.choices import EdgeKind, NodeKind
from renkei.graph.engine import _EDGE_CODE, _NODE_CODE, Graph

# How far behind a registry supplier a shared party is looked for (fourth, fifth, sixth party).
RELIANCE_HOPS = 3
MIN_SHARED = 2
MIN_SYSTEMS = 3


@dataclass
class Concentration:
    graph: Graph
    single_points: list[tuple[int, list[int]]]
    shared_parties: list[tuple[int, list[int]]]
    broad_access: list[tuple[int, list[int]]]

    def _entry(self, node: int, related: list[int], name: str) -> dict[str, Any]:
        g = self.graph
        return {"id": g.keys[node], "kind": g.kind(node), "name": g.names[node],
                name: [g.keys[i] for i in related], "count": len(related)}

    def to_json(self) -> dict[str, Any]:
        """The contract of `renkei graph spof --json`."""
        return {
            "single_points": [self._entry(n, r, "halts") for n, r in self.single_points],
            "shared_parties": [self._entry(n, r, "behind") for n, r in self.shared_parties],
            "broad_access": [self._entry(n, r, "systems") for n, r in self.broad_access],
        }


def _lists(indptr: np.ndarray, indices: np.ndarray) -> list[list[int]]:
    flat = indices.tolist()
    bounds = indptr.tolist()
    return [flat[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]


def single_points(graph: Graph) -> list[tuple[int, list[int]]]:
    assert graph.outage_hard is not None and graph.outage_soft is not None and graph.soft_in is not None
    hard = _lists(graph.outage_hard.indptr, graph.outage_hard.indices)
    soft = _lists(graph.outage_soft.indptr, graph.outage_soft.indices)
    soft_in = graph.soft_in.tolist()
    kinds = graph.kinds.tolist()
    supplier = _NODE_CODE[NodeKind.SUPPLIER]
    targets = {_NODE_CODE[NodeKind.PRODUCT], _NODE_CODE[NodeKind.SITE]}
    result = []
    for start, kind in enumerate(kinds):
        if kind != supplier:
            continue
        # A supplier with only redundant deliveries, each to a node with another supplier, and
        # no hard dependants stops nothing alone: skip the sweep.
        if not hard[start] and all(soft_in[n] > 1 for n in soft[start]):
            continue
        stopped = {start}
        remaining: dict[int, int] = {}
        frontier = [start]
        while frontier:
            following = []
            for node in frontier:
                for nxt in hard[node]:
                    if nxt not in stopped:
                        stopped.add(nxt)
                        following.append(nxt)
                for nxt in soft[node]:
                    if nxt in stopped:
                        continue
                    left = remaining.get(nxt, soft_in[nxt]) - 1
                    remaining[nxt] = left
                    if left == 0:
                        stopped.add(nxt)
                        following.append(nxt)
            frontier = following
        halted = sorted((n for n in stopped if kinds[n] in targets), key=graph.keys.__getitem__)
        if halted:
            result.append((start, halted))
    result.sort(key=lambda item: (-len(item[1]), graph.keys[item[0]]))
    return result


def shared_parties(graph: Graph) -> list[tuple[int, list[int]]]:
    """Supplier nodes that at least MIN_SHARED registry suppliers rely on within RELIANCE_HOPS."""
    src, dst, kind = graph.edge_source, graph.edge_target, graph.edge_kind
    # "X relies on Y" edges, oriented X → Y.
    forward = np.isin(kind, [_EDGE_CODE[EdgeKind.SUBCONTRACTS], _EDGE_CODE[EdgeKind.DEPENDS_ON]])
    backward = np.isin(kind, [_EDGE_CODE[EdgeKind.SUPPLIES], _EDGE_CODE[EdgeKind.ACCESSES]])
    rel_src = np.concatenate([src[forward], dst[backward]])
    rel_dst = np.concatenate([dst[forward], src[backward]])
    order = np.argsort(rel_src, kind="stable")
    indptr = np.zeros(graph.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rel_src, minlength=graph.size), out=indptr[1:])
    relies = _lists(indptr, rel_dst[order])
    kinds = graph.kinds.tolist()
    supplier = _NODE_CODE[NodeKind.SUPPLIER]
    behind: dict[int, list[int]] = defaultdict(list)
    for start, supplier_id in enumerate(graph.supplier_ids):
        if supplier_id is None:
            continue
        seen = {start}
        frontier = [start]
        for _hop in range(RELIANCE_HOPS):
            following = []
            for node in frontier:
                for nxt in relies[node]:
                    if nxt not in seen:
                        seen.add(nxt)
                        following.append(nxt)
            frontier = following
        for party in seen:
            if party != start and kinds[party] == supplier:
                behind[party].append(start)
    result = [(party, sorted(users, key=graph.keys.__getitem__)) for party, users in behind.items()
              if len(users) >= MIN_SHARED]
    result.sort(key=lambda item: (-len(item[1]), graph.keys[item[0]]))
    return result


def broad_access(graph: Graph, minimum: int = MIN_SYSTEMS) -> list[tuple[int, list[int]]]:
    """Suppliers with direct access into at least MINIMUM systems."""
    accesses = graph.edge_kind == _EDGE_CODE[EdgeKind.ACCESSES]
    src, dst = graph.edge_source[accesses], graph.edge_target[accesses]
    keep = (graph.kinds[src] == _NODE_CODE[NodeKind.SUPPLIER]) & (
        graph.kinds[dst] == _NODE_CODE[NodeKind.SYSTEM])
    systems: dict[int, set[int]] = defaultdict(set)
    for s, t in zip(src[keep].tolist(), dst[keep].tolist(), strict=True):
        systems[s].add(t)
    result = [(s, sorted(ts, key=graph.keys.__getitem__)) for s, ts in systems.items() if len(ts) >= minimum]
    result.sort(key=lambda item: (-len(item[1]), graph.keys[item[0]]))
    return result


def concentration(graph: Graph, min_systems: int = MIN_SYSTEMS) -> Concentration:
    return Concentration(graph, single_points(graph), shared_parties(graph), broad_access(graph, min_systems))
