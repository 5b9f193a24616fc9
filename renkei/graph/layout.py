"""Positions of the map page, computed on the server (deterministic: the same map draws the same).

Layered columns, left to right: suppliers by tier (the deepest tier first, tier 1 last), the
organization, systems, data, sites, products — the direction a compromise or an outage travels
towards the buyer. Inside a column, nodes are ordered by barycenter sweeps (each node moves to
the mean position of its neighbours in the columns already placed, alternating left-to-right and
right-to-left), which removes most edge crossings of a layered drawing in a few passes. A column
taller than the drawing is wrapped into sub-columns filled row by row, so the order still reads
top to bottom.

Above GROUP_THRESHOLD nodes the page starts with one box per column (a *group*) and the edge
counts between groups; a group expands into its nodes and their neighbours, laid out the same way.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from renkei.graph.choices import EdgeKind, NodeKind
from renkei.graph.engine import EDGE_KINDS, NODE_KINDS, Graph

GROUP_THRESHOLD = 400  # more nodes than this: the grouped view first
EXPAND_LIMIT = 400  # nodes drawn when a group or a node's neighbourhood is expanded
MAX_TIER = 5  # tiers deeper than this share the last supplier column ("tier 5+")
SWEEPS = 6
COLUMN_GAP = 210
SUB_COLUMN = 180
ROW = 36
MARGIN = 60
ASPECT = 2.0  # width : height the wrapping of tall columns aims at
MIN_ROWS = 8
GROUP_BOX = 170
GROUP_GAP = 250

OTHER_COLUMNS = (NodeKind.ORGANIZATION, NodeKind.SYSTEM, NodeKind.DATA, NodeKind.SITE, NodeKind.PRODUCT)
_SUBCONTRACTS = EDGE_KINDS.index(EdgeKind.SUBCONTRACTS)


def _as_tier(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 1:
        return value
    if isinstance(value, str) and value.strip().isdigit() and int(value) >= 1:
        return int(value)
    return None


def supplier_tiers(graph: Graph, registry_tiers: dict[int, int]) -> list[int | None]:
    """Tier of every supplier node (None for other kinds).

    The node's own `tier` attribute first, then the registry supplier's tier; a supplier with
    neither (a subcontractor declared in the portal, an imported fourth party) is one tier below
    the nearest supplier it is subcontracted by, and tier 1 when nothing subcontracts to it.
    """
    supplier = NODE_KINDS.index(NodeKind.SUPPLIER)
    tiers: list[int | None] = [None] * graph.size
    is_supplier = [k == supplier for k in graph.kinds.tolist()]
    for i in range(graph.size):
        if not is_supplier[i]:
            continue
        tier = _as_tier(graph.attributes[i].get("tier"))
        sid = graph.supplier_ids[i]
        if tier is None and sid is not None:
            tier = registry_tiers.get(sid)
        tiers[i] = tier
    mask = graph.edge_kind == _SUBCONTRACTS
    children: dict[int, list[int]] = defaultdict(list)
    for s, t in zip(graph.edge_source[mask].tolist(), graph.edge_target[mask].tolist(), strict=True):
        children[s].append(t)
    # Breadth first from every known tier, shallowest first: a node gets its smallest inferred tier.
    frontier = sorted((t, i) for i, t in enumerate(tiers) if t is not None)
    known = {i for _t, i in frontier}
    level_nodes: dict[int, list[int]] = defaultdict(list)
    for t, i in frontier:
        level_nodes[t].append(i)
    tier = min(level_nodes) if level_nodes else 1
    while level_nodes:
        nodes = level_nodes.pop(tier, [])
        for node in nodes:
            for child in children.get(node, ()):
                if child not in known and is_supplier[child]:
                    known.add(child)
                    tiers[child] = tier + 1
                    level_nodes[tier + 1].append(child)
        tier += 1
        if level_nodes and tier not in level_nodes:
            tier = min(level_nodes)
    # Nothing known above: a root of the subcontracting tree is tier 1, its children below it.
    roots = [i for i in range(graph.size) if is_supplier[i] and tiers[i] is None]
    for root in roots:
        if tiers[root] is not None:
            continue
        tiers[root] = 1
        stack = [root]
        while stack:
            node = stack.pop()
            for child in children.get(node, ()):
                if tiers[child] is None and is_supplier[child]:
                    tiers[child] = (tiers[node] or 1) + 1
                    stack.append(child)
    return tiers


def column_keys(graph: Graph, tiers: list[int | None]) -> list[str]:
    """The column of every node: "supplier:3" … "supplier:1", then the other kinds by name."""
    names = [str(kind) for kind in NODE_KINDS]
    supplier = NODE_KINDS.index(NodeKind.SUPPLIER)
    return [f"supplier:{min(tiers[i] or 1, MAX_TIER)}" if kind == supplier else names[kind]
            for i, kind in enumerate(graph.kinds.tolist())]


def column_order(keys: set[str]) -> list[str]:
    tiers = sorted((int(k.split(":")[1]) for k in keys if k.startswith("supplier:")), reverse=True)
    return [f"supplier:{t}" for t in tiers] + [str(k) for k in OTHER_COLUMNS if str(k) in keys]


@dataclass
class Placed:
    """Positions of a drawn subset: `nodes` (graph indices) and their centre coordinates."""

    nodes: list[int]
    x: list[float]
    y: list[float]
    columns: list[dict[str, Any]]  # {"key", "x", "count"}
    width: float
    height: float


def _neighbours(graph: Graph, nodes: list[int]) -> dict[int, list[int]]:
    inside = np.zeros(graph.size, dtype=bool)
    inside[nodes] = True
    keep = inside[graph.edge_source] & inside[graph.edge_target]
    adjacency: dict[int, list[int]] = defaultdict(list)
    for s, t in zip(graph.edge_source[keep].tolist(), graph.edge_target[keep].tolist(), strict=True):
        if s != t:
            adjacency[s].append(t)
            adjacency[t].append(s)
    return adjacency


def place(graph: Graph, nodes: list[int], columns: list[str]) -> Placed:
    """Lay out NODES (graph indices) whose column keys are COLUMNS (indexed by graph index)."""
    nodes = sorted(set(nodes), key=lambda i: (graph.kind(i), graph.names[i], graph.keys[i]))
    order = column_order({columns[i] for i in nodes})
    col_index = {key: c for c, key in enumerate(order)}
    layers: list[list[int]] = [[] for _ in order]
    for i in nodes:
        layers[col_index[columns[i]]].append(i)
    adjacency = _neighbours(graph, nodes)
    layer_of = {i: col_index[columns[i]] for i in nodes}
    position: dict[int, float] = {}

    def renumber(layer: list[int]) -> None:
        size = len(layer)
        for rank, node in enumerate(layer):
            position[node] = (rank + 0.5) / size

    for layer in layers:
        renumber(layer)
    passes = [range(1, len(layers)), range(len(layers) - 2, -1, -1)] * (SWEEPS // 2)
    for direction, sweep in enumerate(passes):
        for c in sweep:
            def barycenter(node: int, c: int = c, direction: int = direction) -> float:
                near = [position[n] for n in adjacency.get(node, ())
                        if (layer_of[n] < c if direction % 2 == 0 else layer_of[n] > c)]
                if not near:
                    near = [position[n] for n in adjacency.get(node, ()) if layer_of[n] != c]
                return sum(near) / len(near) if near else position[node]

            layers[c].sort(key=barycenter)  # stable: ties keep their order
            renumber(layers[c])

    shapes = _shapes([len(layer) for layer in layers])
    tallest = max((rows for _subs, rows in shapes), default=1) or 1
    xs: dict[int, float] = {}
    ys: dict[int, float] = {}
    cols = []
    left = MARGIN
    for layer, (subs, rows), key in zip(layers, shapes, order, strict=True):
        top = MARGIN + (tallest - rows) * ROW / 2
        for rank, node in enumerate(layer):
            xs[node] = left + (rank % subs) * SUB_COLUMN
            ys[node] = top + (rank // subs) * ROW
        cols.append({"key": key, "x": left, "count": len(layer)})
        left += (subs - 1) * SUB_COLUMN + COLUMN_GAP
    placed = [i for layer in layers for i in layer]
    return Placed(
        nodes=placed, x=[xs[i] for i in placed], y=[ys[i] for i in placed], columns=cols,
        width=left - COLUMN_GAP + MARGIN * 2, height=MARGIN * 2 + tallest * ROW,
    )


def _shapes(sizes: list[int]) -> list[tuple[int, int]]:
    """(sub-columns, rows) per column: the wrap height that gives the drawing about the shape of
    a screen (ASPECT wide for 1 high), so "fit" keeps labels legible."""

    def shapes_for(max_rows: int) -> list[tuple[int, int]]:
        result = []
        for size in sizes:
            subs = max(1, math.ceil(size / max_rows))
            result.append((subs, math.ceil(size / subs) if size else 0))
        return result

    def badness(shapes: list[tuple[int, int]]) -> float:
        width = sum((subs - 1) * SUB_COLUMN + COLUMN_GAP for subs, _rows in shapes) + MARGIN
        height = max((rows for _subs, rows in shapes), default=1) * ROW + MARGIN * 2
        return abs(math.log(width / height / ASPECT))

    largest = max(sizes, default=1)
    candidates = range(MIN_ROWS, max(MIN_ROWS, largest) + 1)
    best = min(candidates, key=lambda rows: (badness(shapes_for(rows)), rows))
    return shapes_for(best)


def groups(graph: Graph, columns: list[str]) -> dict[str, Any]:
    """One box per column with its node count, and edge counts between boxes (by edge kind)."""
    order = column_order(set(columns))
    code = {key: c for c, key in enumerate(order)}
    group = np.array([code[k] for k in columns], dtype=np.int32) if columns else np.zeros(0, np.int32)
    counts = np.bincount(group, minlength=len(order)) if len(order) else np.zeros(0, np.int64)
    size, kinds = max(len(order), 1), len(EDGE_KINDS)
    # One integer per (source group, target group, edge kind): np.unique on a flat array is fast.
    packed = (group[graph.edge_source].astype(np.int64) * size + group[graph.edge_target]) * kinds \
        + graph.edge_kind
    unique, number = np.unique(packed, return_counts=True)
    edges = [[int(p // kinds // size), int(p // kinds % size), int(p % kinds), int(n)]
             for p, n in zip(unique.tolist(), number.tolist(), strict=True)]
    # Boxes of GROUP_BOX × 68 in one row, arcs above and below them (map.js draws them).
    left, height = MARGIN + GROUP_BOX / 2, 320
    boxes = [{"key": key, "count": int(counts[c]), "x": left + c * GROUP_GAP, "y": height / 2}
             for c, key in enumerate(order)]
    return {"groups": boxes, "edges": edges,
            "width": 2 * left + max(len(order) - 1, 0) * GROUP_GAP, "height": height}


def degrees(graph: Graph) -> np.ndarray:
    return (np.bincount(graph.edge_source, minlength=graph.size)
            + np.bincount(graph.edge_target, minlength=graph.size))


def neighbourhood(graph: Graph, core: list[int], limit: int = EXPAND_LIMIT) -> tuple[list[int], int]:
    """CORE's most connected nodes and their most connected neighbours, LIMIT in all.

    Returns (nodes, how many CORE nodes there were) so the page can say "n of m shown".
    """
    degree = degrees(graph)
    core_sorted = sorted(core, key=lambda i: (-int(degree[i]), graph.keys[i]))
    kept = core_sorted[: max(1, limit * 2 // 3)] if len(core_sorted) > limit * 2 // 3 else core_sorted
    inside = np.zeros(graph.size, dtype=bool)
    inside[kept] = True
    touching = inside[graph.edge_source] | inside[graph.edge_target]
    around = np.unique(np.concatenate([graph.edge_source[touching], graph.edge_target[touching]]))
    around = [int(i) for i in around.tolist() if not inside[i]]
    around.sort(key=lambda i: (-int(degree[i]), graph.keys[i]))
    return kept + around[: max(0, limit - len(kept))], len(core)
