"""Inherited risk (renkei.graph.inherited) at scale: what the factor adds to a recompute.

    python bench/bench_inherited.py [--suppliers 50000] [--declared 10000] [--database-url URL]

Generates the suppliers if missing (bench/generate.py: registry subcontracting chains), adds
DECLARED portal-declared subcontractors (one node and one subcontracts edge each, written in
bulk, spread over the suppliers, a tenth of them a second hop below another declaration), then
prints: the subcontracting graph read (`inherited.load`) and the evidence loader; a whole
recompute with and without the factor (ratio printed); a partial recompute of one deep
supplier, widened to its contractors; and the query counts.
"""

from __future__ import annotations

import statistics
import time

from common import bench_organization, parser, setup_django

REPEAT = 3


def declared_rows(org, wanted: int) -> int:  # noqa: ANN001
    from renkei.graph.models import Edge, Node
    from renkei.suppliers.models import Supplier

    have = Node.objects.filter(organization=org, origin="portal").count()
    if have >= wanted:
        return 0
    suppliers = list(
        Supplier.objects.filter(organization=org).order_by("pk").values_list("pk", "code", "name")
    )
    registry_nodes = {n.key: n for n in Node.objects.filter(organization=org, origin="registry")}
    missing = [
        Node(organization=org, key=code, kind="supplier", name=name, supplier_id=pk, origin="registry")
        for pk, code, name in suppliers
        if code not in registry_nodes
    ]
    Node.objects.bulk_create(missing, batch_size=2000)
    registry_nodes = {n.key: n for n in Node.objects.filter(organization=org, origin="registry")}
    made = []
    for n in range(have, wanted):
        pk, code, _name = suppliers[(n * 7) % len(suppliers)]
        made.append(
            (
                pk,
                code,
                Node(
                    organization=org,
                    key=f"{code}-SUB-B{n}",
                    kind="supplier",
                    name=f"申告外注{n}",
                    origin="portal",
                    declared_by_id=pk,
                    attributes={"country": "JP"},
                ),
            )
        )
    Node.objects.bulk_create([node for _pk, _code, node in made], batch_size=2000)
    edges = []
    for i, (pk, code, node) in enumerate(made):
        source = made[i - 1][2] if i % 10 == 9 and made[i - 1][0] == pk else registry_nodes[code]
        edges.append(
            Edge(
                organization=org,
                source=source,
                target=node,
                kind="subcontracts",
                origin="portal",
                declared_by_id=pk,
                attributes={"work": "加工"},
            )
        )
    Edge.objects.bulk_create(edges, batch_size=2000)
    return len(made)


def timed(run) -> tuple[float, int]:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples = []
    queries = 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            run()
            samples.append(time.perf_counter() - started)
        queries = len(captured)
    return statistics.median(samples), queries


def main() -> None:
    p = parser("Inherited risk: the subcontracting graph and the recompute with and without it.")
    p.add_argument("--suppliers", type=int, default=50000)
    p.add_argument("--declared", type=int, default=10000)
    args = p.parse_args()
    db = setup_django(args.database_url)
    import datetime

    from generate import ensure_suppliers

    from renkei.graph import inherited
    from renkei.risk import factors
    from renkei.risk.factors import Scope
    from renkei.risk.services import recompute_organization, recompute_suppliers
    from renkei.suppliers.models import Supplier

    org = bench_organization()
    ensure_suppliers(org, args.suppliers)
    added = declared_rows(org, args.declared)
    print(f"{db}: {args.suppliers} suppliers, {args.declared} declared subcontractors ({added} added now)")
    graph = inherited.load(org.pk)
    edges = sum(len(f) for f in graph.following)
    print(f"subcontracting graph: {len(graph.parties)} parties, {edges} subcontracts edges")
    seconds, queries = timed(lambda: inherited.load(org.pk))
    print(f"read the subcontracting graph (inherited.load): {seconds:.2f} s, {queries} queries")
    today = datetime.date.today()
    seconds, queries = timed(lambda: inherited.subcontractors_evidence(Scope(org.pk), today))
    print(f"evidence for every supplier (read + hop sweeps): {seconds:.2f} s, {queries} queries")
    reaching = inherited.subcontractors_evidence(Scope(org.pk), today)
    print(
        f"suppliers with subcontractors: {len(reaching)}; "
        f"pairs within {inherited.MAX_INHERITED_HOPS} hops: {sum(len(r.parties) for r in reaching.values())}"
    )

    recompute_organization(org)  # every row written once with the factor
    with_factor, queries_with = timed(lambda: recompute_organization(org))
    saved = factors.FACTORS.pop(inherited.NAME), factors.WIDENERS[:], factors.LOADERS.pop("subcontractors")
    factors.WIDENERS.clear()
    try:
        recompute_organization(org)  # rows rewritten without it
        without, queries_without = timed(lambda: recompute_organization(org))
    finally:
        factors.FACTORS[inherited.NAME], factors.LOADERS["subcontractors"] = saved[0], saved[2]
        factors.WIDENERS[:] = saved[1]
    rewritten, _q = timed(lambda: recompute_organization(org))
    print(
        f"recompute the organization, warm: {with_factor:.2f} s ({queries_with} queries) with the factor, "
        f"{without:.2f} s ({queries_without} queries) without: ratio {with_factor / without:.2f}"
    )
    print(f"recompute after switching the factor back on (rows rewritten): {rewritten:.2f} s")
    deep = (
        Supplier.objects.filter(organization=org, tier=4).order_by("pk").values_list("pk", flat=True).first()
    )
    graph = inherited.load(org.pk)
    alone = (
        Supplier.objects.filter(organization=org)
        .exclude(pk__in=list(graph.of_supplier))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if alone is not None:
        seconds, queries = timed(lambda: recompute_suppliers([alone]))
        print(f"recompute one supplier outside every chain: {seconds * 1000:.0f} ms, {queries} queries")
    if deep is not None:
        widened = len(factors.widen(Scope(org.pk, frozenset([deep]))).supplier_ids or ())
        seconds, queries = timed(lambda: recompute_suppliers([deep]))
        print(
            f"recompute one tier-4 supplier, widened to {widened} suppliers: {seconds * 1000:.0f} ms, "
            f"{queries} queries"
        )


if __name__ == "__main__":
    main()
