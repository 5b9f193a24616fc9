"""The supply-chain map at 100,000 nodes and 1,000,000 edges (issue 5's targets).

    python bench/bench_graph.py [--nodes 100000] [--edges 1000000] [--impacts 20] [--database-url URL]
                                [--only import]

Generates a layered map shaped like a manufacturer's (tiers 1–4 of suppliers supplying and
subcontracting to each other, systems, data, sites, products, group companies, and a dense
shared network), writes it as nodes.csv/edges.csv, then times:

1. the CSV import (`renkei graph import` path: read + validate + write) — target < 30 s;
2. building the in-memory graph from the database (paid once per map version);
3. IMPACTS impact queries on random suppliers (compromise) and tier-1 suppliers (outage) —
   target < 1 s each;
4. the concentration analysis (`renkei graph spof`) — target < 60 s.

Each figure is printed with the same query done by a plain networkx implementation on the same
data (a DiGraph read from the same CSV, the same semantics written with networkx's own BFS and
adjacency), as "ratio = Renkei time / networkx time", and the two results are compared: a
benchmark that gets a different answer fails.

`--only import` times the import alone (no networkx reading, no analyses): the quick loop when
working on the importer.
"""

from __future__ import annotations

import csv
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import bench_organization, parser, setup_django

IMPORT_TARGET_S, IMPACT_TARGET_S, SPOF_TARGET_S = 30, 1, 60


def generate(nodes: int, edges: int, seed: int = 7) -> tuple[list[tuple], list[tuple]]:
    """(node rows (id, kind, name), edge rows (source, target, kind, single_source))."""
    rng = np.random.default_rng(seed)
    counts = {"organization": 20, "system": nodes // 50, "data": nodes // 20, "site": nodes // 200,
              "product": nodes // 50}
    suppliers = nodes - sum(counts.values())
    tiers = [suppliers * 3 // 100, suppliers * 15 // 100, suppliers * 32 // 100]
    tiers.append(suppliers - sum(tiers))
    rows: list[tuple] = []
    groups: dict[str, list[int]] = defaultdict(list)

    def add(kind: str, group: str, name: str) -> None:
        groups[group].append(len(rows))
        rows.append((f"{kind[:3].upper()}-{len(rows):06d}", kind, name))

    for i in range(counts["organization"]):
        add("organization", "organization", f"グループ会社{i}")
    for tier, n in enumerate(tiers, start=1):
        for i in range(n):
            add("supplier", f"tier{tier}", f"取引先{tier}-{i}")
    for kind in ("system", "data", "site", "product"):
        for i in range(counts[kind]):
            add(kind, kind, f"{kind}{i}")
    ids = {g: np.array(v) for g, v in groups.items()}
    out: list[np.ndarray] = []

    def link(src: np.ndarray, dst_pool: np.ndarray, per: tuple[int, int], kind: int, single: float) -> None:
        fan = rng.integers(per[0], per[1] + 1, size=len(src))
        s = np.repeat(src, fan)
        t = rng.choice(dst_pool, size=len(s))
        single_source = rng.random(len(s)) < single
        out.append(np.stack([s, t, np.full(len(s), kind), single_source.astype(int)], axis=1))

    kinds = ["supplies", "subcontracts", "accesses", "hosts_data", "depends_on", "network"]
    k = {name: i for i, name in enumerate(kinds)}
    for tier in (2, 3, 4):  # tier n supplies tier n-1, and tier n-1 subcontracts to tier n
        link(ids[f"tier{tier}"], ids[f"tier{tier - 1}"], (1, 4), k["supplies"], 0.3)
        link(ids[f"tier{tier - 1}"], ids[f"tier{tier}"], (0, 2), k["subcontracts"], 0)
    link(ids["tier1"], ids["site"], (1, 3), k["supplies"], 0.3)
    link(ids["product"], ids["site"], (1, 3), k["depends_on"], 0)
    link(ids["product"], ids["tier1"], (0, 2), k["depends_on"], 0)
    link(ids["site"], ids["system"], (2, 6), k["depends_on"], 0)
    link(ids["system"], ids["data"], (2, 6), k["hosts_data"], 0)
    link(ids["tier1"], ids["system"], (1, 5), k["accesses"], 0)
    link(ids["tier2"], ids["tier1"], (0, 2), k["accesses"], 0)
    link(ids["organization"], ids["system"], (5, 20), k["network"], 0)
    so_far = sum(len(a) for a in out)
    # Networks join organizations, suppliers, systems and sites (never data or products).
    every = np.array([i for i, row in enumerate(rows) if row[1] not in ("data", "product")])
    rest = max(0, edges - so_far)
    if rest:  # the shared networks of the rest of the chain
        s = rng.choice(every, size=int(rest * 1.05))
        t = rng.choice(every, size=len(s))
        out.append(np.stack([s, t, np.full(len(s), k["network"]), np.zeros(len(s), dtype=int)], axis=1))
    table = np.concatenate(out)
    table = table[table[:, 0] != table[:, 1]]
    _unique, first = np.unique(table[:, :3], axis=0, return_index=True)
    table = table[np.sort(first)][:edges]
    keys = [r[0] for r in rows]
    edge_rows = [(keys[s], keys[t], kinds[kk], bool(ss)) for s, t, kk, ss in table.tolist()]
    return rows, edge_rows


def write_csv(directory: Path, nodes: list[tuple], edges: list[tuple]) -> tuple[Path, Path]:
    nodes_path, edges_path = directory / "nodes.csv", directory / "edges.csv"
    with nodes_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "kind", "name"])
        w.writerows(nodes)
    with edges_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source", "target", "kind", "single_source"])
        w.writerows((s, t, kind, ("true" if ss else "")) for s, t, kind, ss in edges)
    return nodes_path, edges_path


# --- the networkx reference: the same semantics, written plainly ---------------------------------

def nx_read(nodes_path: Path, edges_path: Path):  # noqa: ANN201 - networkx graphs
    import networkx as nx

    graph = nx.MultiDiGraph()
    with nodes_path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            graph.add_node(row["id"], kind=row["kind"], name=row["name"])
    with edges_path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            graph.add_edge(row["source"], row["target"], kind=row["kind"],
                           single_source=row["single_source"] == "true")
    return graph


def nx_views(graph):  # noqa: ANN001, ANN201
    """(compromise DiGraph, hard outage DiGraph, soft outage DiGraph)."""
    import networkx as nx

    comp, hard, soft = nx.DiGraph(), nx.DiGraph(), nx.DiGraph()
    for g in (comp, hard, soft):
        g.add_nodes_from(graph.nodes)
    for s, t, data in graph.edges(data=True):
        kind = data["kind"]
        if kind in ("accesses", "hosts_data"):
            comp.add_edge(s, t)
        elif kind in ("network", "subcontracts"):
            comp.add_edge(s, t)
            comp.add_edge(t, s)
        elif kind == "depends_on":
            hard.add_edge(t, s)
        elif kind == "supplies":
            (hard if data["single_source"] else soft).add_edge(s, t)
    return comp, hard, soft


def nx_outage(hard, soft, seeds: dict[str, int], stopped_nodes: set | None = None) -> set:  # noqa: ANN001
    """Nodes that stop (hard edge, or every redundant supplier stopped), level by level."""
    stopped = set(seeds) if stopped_nodes is None else stopped_nodes
    remaining: dict[str, int] = {}
    frontier = list(seeds)
    while frontier:
        following = []
        for node in frontier:
            for nxt in hard.successors(node):
                if nxt not in stopped:
                    stopped.add(nxt)
                    following.append(nxt)
            for nxt in soft.successors(node):
                if nxt in stopped:
                    continue
                remaining[nxt] = remaining.get(nxt, soft.in_degree(nxt)) - 1
                if remaining[nxt] == 0:
                    stopped.add(nxt)
                    following.append(nxt)
        frontier = following
    return stopped


def nx_impact(views, start: str, mode: str) -> set:  # noqa: ANN001
    """Reached node ids (compromised ∪ stopped ∪ degraded) without START."""
    import networkx as nx

    comp, hard, soft = views
    compromised = nx.single_source_shortest_path_length(comp, start) if mode == "compromise" else {start: 0}
    stopped = nx_outage(hard, soft, compromised)
    degraded = {nxt for node in stopped for nxt in soft.successors(node)}
    return (set(compromised) | stopped | degraded) - {start}


def nx_spof(views, kinds: dict[str, str]) -> dict[str, list[str]]:  # noqa: ANN001
    _comp, hard, soft = views
    result = {}
    for node, kind in kinds.items():
        if kind != "supplier":
            continue
        halted = sorted(n for n in nx_outage(hard, soft, {node: 0}) if kinds[n] in ("product", "site"))
        if halted:
            result[node] = halted
    return result


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def line(label: str, ours: float, theirs: float | None, target: float | None) -> None:
    ratio = f"  ratio {ours / theirs:5.2f} (networkx {theirs:7.3f} s)" if theirs else ""
    verdict = "" if target is None else ("  OK" if ours < target else f"  OVER TARGET {target} s")
    print(f"  {label:<44} {ours:8.3f} s{ratio}{verdict}")


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--edges", type=int, default=1_000_000)
    p.add_argument("--impacts", type=int, default=20)
    p.add_argument("--only", choices=["import"], help="time only this step")
    args = p.parse_args()
    database = setup_django(args.database_url)
    from django.db import connection, transaction

    from renkei.audit.services import Actor
    from renkei.graph import engine
    from renkei.graph.concentration import concentration, single_points
    from renkei.graph.io import import_files
    from renkei.graph.io.bulk import delete_rows
    from renkei.graph.models import Edge, Node

    print(f"Supply-chain map on {database}: {args.nodes:,} nodes, {args.edges:,} edges")
    nodes, edges = generate(args.nodes, args.edges)
    print(f"  generated {len(nodes):,} nodes and {len(edges):,} edges")
    org = bench_organization("bench-graph")
    with transaction.atomic():  # bulk: no per-row signals
        delete_rows(Edge, list(Edge.objects.filter(organization=org).values_list("pk", flat=True)))
        delete_rows(Node, list(Node.objects.filter(organization=org).values_list("pk", flat=True)))
    if connection.vendor == "postgresql":
        # The previous run's million deleted rows, reclaimed now: with autovacuum off or behind,
        # every run would otherwise scan (index builds, key checks) a table one run larger.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE graph_edge, graph_node")
    with tempfile.TemporaryDirectory() as tmp:
        nodes_path, edges_path = write_csv(Path(tmp), nodes, edges)
        result, import_s = timed(import_files, org, nodes_path, edges_path, Actor.system("bench"))
        if args.only == "import":
            line("import from CSV (read, validate, write)", import_s, None, IMPORT_TARGET_S)
            print(f"    {result.as_json()}")
            return
        nx_graph, nx_read_s = timed(nx_read, nodes_path, edges_path)
    line("import from CSV (read, validate, write)", import_s, nx_read_s, IMPORT_TARGET_S)
    print(f"    {result.as_json()}")

    engine.forget()
    graph, build_s = timed(engine.load_graph, org.pk)
    views, views_s = timed(nx_views, nx_graph)
    line("build the in-memory graph from the database", build_s, views_s, None)

    rng = random.Random(11)
    suppliers = [k for k, kind, _n in nodes if kind == "supplier"]
    tier1 = [k for k, _kind, name in nodes if name.startswith("取引先1-")]
    queries = [(rng.choice(suppliers), "compromise") for _ in range(args.impacts // 2)]
    queries += [(rng.choice(tier1), "outage") for _ in range(args.impacts - len(queries))]
    ours_s, theirs_s, sizes = [], [], []
    for key, mode in queries:
        impact, seconds = timed(engine.impact, graph, key, mode)
        impact.to_json()
        reference, nx_s = timed(nx_impact, views, key, mode)
        got = {r.id for r in impact.reached}
        if got != reference:
            raise SystemExit(f"impact of {key} ({mode}) differs from networkx: "
                             f"{len(got ^ reference)} nodes")
        ours_s.append(seconds)
        theirs_s.append(nx_s)
        sizes.append(len(got))
    print(f"  impact queries: {len(queries)}, reached {min(sizes):,}–{max(sizes):,} nodes each")
    line("impact query, median", statistics.median(ours_s), statistics.median(theirs_s), IMPACT_TARGET_S)
    line("impact query, slowest", max(ours_s), max(theirs_s), IMPACT_TARGET_S)

    points, points_s = timed(single_points, graph)
    kinds = {k: kind for k, kind, _n in nodes}
    reference, nx_spof_s = timed(nx_spof, views, kinds)
    got = {graph.keys[n]: [graph.keys[i] for i in halted] for n, halted in points}
    if got != reference:
        raise SystemExit(f"single points differ from networkx: {len(set(got) ^ set(reference))} suppliers")
    line("single points of failure", points_s, nx_spof_s, None)
    found, spof_s = timed(concentration, graph)
    line("concentration (single points, shared, access)", spof_s, None, SPOF_TARGET_S)
    print(f"    single points {len(found.single_points):,}, shared parties {len(found.shared_parties):,}, "
          f"broad access {len(found.broad_access):,}")


if __name__ == "__main__":
    main()
