"""The impact and concentration sweeps (renkei.graph.engine, renkei.graph.concentration)."""

from __future__ import annotations

import pytest

from renkei.graph import engine
from renkei.graph.concentration import broad_access, concentration, shared_parties, single_points
from renkei.graph.engine import UnknownNode, from_arrays, impact, stops_of
from renkei.graph.models import Edge, MapVersion, Node
from renkei.suppliers.models import Supplier


def graph(nodes: list[tuple[str, str]], edges: list[tuple[str, str, str, bool]], attributes=None):
    keys = [key for key, _kind in nodes]
    index = {key: i for i, key in enumerate(keys)}
    return from_arrays(
        keys, [kind for _key, kind in nodes], keys,
        [(index[s], index[t], kind, single) for s, t, kind, single in edges],
        [attributes.get(key, {}) for key in keys] if attributes else None,
    )


def seed001():
    """Seed 001: a tier-2 subsidiary with a VPN device into its tier-1 parent, the parent on the
    buyer's production system, every plant depending on the parent."""
    return graph(
        [("SUB", "supplier"), ("T1", "supplier"), ("MES", "system"), ("PLAN", "data"),
         ("PLANT-A", "site"), ("PLANT-B", "site"), ("CAR", "product"), ("OTHER", "supplier")],
        [("SUB", "T1", "accesses", False), ("T1", "SUB", "subcontracts", False),
         ("T1", "MES", "accesses", False), ("MES", "PLAN", "hosts_data", False),
         ("PLANT-A", "T1", "depends_on", False), ("PLANT-B", "T1", "depends_on", False),
         ("CAR", "PLANT-A", "depends_on", False), ("OTHER", "PLANT-B", "supplies", False)],
        {"PLAN": {"records": 120000, "classes": ["personal"]}},
    )


def by_id(result) -> dict[str, object]:
    return {r.id: r for r in result.reached}


def test_seed001_compromise_of_the_subsidiary_stops_every_plant():
    result = impact(seed001(), "SUB")
    reached = by_id(result)
    assert reached["T1"].via == "compromise" and reached["T1"].hops == 1
    assert reached["MES"].effect == "compromised" and reached["MES"].hops == 2
    assert reached["PLAN"].effect == "compromised" and reached["PLAN"].records == 120000
    for plant in ("PLANT-A", "PLANT-B"):
        assert reached[plant].effect == "stops" and reached[plant].via == "outage"
        assert reached[plant].hops == 2
        assert result.path(reached[plant].index) == ["SUB", "T1", plant]
    assert reached["CAR"].effect == "stops" and reached["CAR"].hops == 3
    assert "OTHER" not in reached  # suppliers of a stopped plant are not reached
    assert result.to_json() == {
        "node": "SUB",
        "reached": [
            {"id": r.id, "kind": r.kind, "name": r.name, "hops": r.hops, "via": r.via,
             "path": result.path(r.index)}
            for r in result.reached
        ],
    }


def test_a_node_compromised_late_but_stopped_early_keeps_paths_through_nearer_nodes():
    """X is compromised at hop 3 (SUB → A → B → X) but stops at outage level 1 (it depends on
    SUB); its dependant Y must not be reported nearer than X, and every path must be whole."""
    g = graph(
        [("SUB", "supplier"), ("A", "system"), ("B", "system"), ("X", "system"), ("Y", "site")],
        [("SUB", "A", "accesses", False), ("A", "B", "accesses", False), ("B", "X", "accesses", False),
         ("X", "SUB", "depends_on", False), ("Y", "X", "depends_on", False)],
    )
    result = impact(g, "SUB")
    reached = by_id(result)
    assert reached["X"].hops == 3 and reached["X"].effect == "compromised"
    assert reached["Y"].hops == 4 and reached["Y"].effect == "stops"
    assert result.path(reached["Y"].index) == ["SUB", "A", "B", "X", "Y"]
    paths = result.to_json()["reached"]
    assert all(len(row["path"]) == row["hops"] + 1 for row in paths)


def test_impact_is_ordered_by_severity_then_hops():
    result = impact(seed001(), "SUB")
    severities = [r.severity for r in result.reached]
    assert severities == sorted(severities, reverse=True)
    # 120,000 personal records (30 + 25 + 10) before the plants (60, nearest first) and the
    # product, then the system (40) and the supplier (20).
    assert [r.id for r in result.reached] == ["PLAN", "PLANT-A", "PLANT-B", "CAR", "MES", "T1"]
    assert [r.severity for r in result.reached] == [65, 60, 60, 60, 40, 20]


def test_outage_mode_does_not_spread_compromise():
    reached = by_id(impact(seed001(), "T1", "outage"))
    assert set(reached) == {"PLANT-A", "PLANT-B", "CAR"}
    assert all(r.via == "outage" for r in reached.values())


def test_redundant_suppliers_degrade_until_the_last_one_stops():
    g = graph(
        [("A1", "supplier"), ("A2", "supplier"), ("MSP", "supplier"), ("PLANT", "site"), ("X", "supplier")],
        [("A1", "PLANT", "supplies", False), ("A2", "PLANT", "supplies", False),
         ("A1", "MSP", "depends_on", False), ("A2", "MSP", "depends_on", False),
         ("X", "A1", "supplies", False)],
    )
    assert by_id(impact(g, "A1", "outage"))["PLANT"].effect == "degraded"
    # The shared party behind both redundant suppliers stops the plant: the dominator case.
    reached = by_id(impact(g, "MSP", "outage"))
    assert reached["PLANT"].effect == "stops" and reached["PLANT"].hops == 2
    assert [g.keys[i] for i in stops_of(g, g.index["MSP"])] == ["A1", "A2", "PLANT"]
    # X is A1's only supplier but A1 has no hard need of it: X's stop degrades A1 only.
    assert by_id(impact(g, "X", "outage"))["A1"].effect == "stops"
    points = {g.keys[n]: [g.keys[i] for i in halted] for n, halted in single_points(g)}
    assert points == {"MSP": ["PLANT"]}


def test_single_source_supply_is_a_hard_dependency():
    g = graph(
        [("A1", "supplier"), ("A2", "supplier"), ("A3", "supplier"), ("PLANT", "site")],
        [("A1", "PLANT", "supplies", True), ("A2", "PLANT", "supplies", False),
         ("A3", "PLANT", "supplies", False)],
    )
    assert by_id(impact(g, "A1", "outage"))["PLANT"].effect == "stops"
    assert by_id(impact(g, "A2", "outage"))["PLANT"].effect == "degraded"
    # The hard supplier does not count among the redundant ones: A2 and A3 gone is enough.
    assert [g.keys[i] for i in stops_of(g, g.index["A2"])] == []


def test_cycles_and_subcontracting_loops_end():
    g = graph(
        [("A", "supplier"), ("B", "supplier"), ("C", "supplier"), ("SITE", "site")],
        [("A", "B", "subcontracts", False), ("B", "C", "subcontracts", False),
         ("C", "A", "subcontracts", False), ("A", "B", "supplies", True), ("B", "A", "supplies", True),
         ("B", "SITE", "supplies", True), ("SITE", "A", "depends_on", False)],
    )
    reached = by_id(impact(g, "A"))
    assert set(reached) == {"B", "C", "SITE"}
    assert reached["C"].hops == 1  # both directions of subcontracting
    assert by_id(impact(g, "A", "outage"))["SITE"].hops == 1


def test_network_edges_spread_both_ways_and_a_lone_node_reaches_nothing():
    g = graph([("S1", "system"), ("S2", "system"), ("LONE", "site")],
              [("S1", "S2", "network", False)])
    assert set(by_id(impact(g, "S2"))) == {"S1"}
    assert impact(g, "LONE").reached == []


def test_unknown_node_and_mode_are_refused():
    with pytest.raises(UnknownNode):
        impact(seed001(), "NOPE")
    with pytest.raises(ValueError):
        impact(seed001(), "SUB", "flood")


def test_huge_fan_out_is_one_hop():
    nodes = [("HUB", "supplier")] + [(f"S{i}", "system") for i in range(5000)]
    edges = [("HUB", f"S{i}", "accesses", False) for i in range(5000)]
    result = impact(graph(nodes, edges), "HUB")
    assert len(result.reached) == 5000 and {r.hops for r in result.reached} == {1}


def test_broad_access_and_shared_parties():
    g = graph(
        [("MSP", "supplier"), ("A", "supplier"), ("B", "supplier"), ("S1", "system"),
         ("S2", "system"), ("S3", "system")],
        [("MSP", "S1", "accesses", False), ("MSP", "S2", "accesses", False),
         ("MSP", "S3", "accesses", False), ("A", "MSP", "subcontracts", False),
         ("MSP", "B", "accesses", False), ("A", "S1", "accesses", False)],
    )
    assert [(g.keys[n], len(s)) for n, s in broad_access(g)] == [("MSP", 3)]
    assert shared_parties(g) == []  # no registry suppliers in a bare graph
    g.supplier_ids[g.index["A"]] = 1
    g.supplier_ids[g.index["B"]] = 2
    assert [(g.keys[n], [g.keys[i] for i in behind]) for n, behind in shared_parties(g)] == [
        ("MSP", ["A", "B"])]
    assert concentration(g).to_json()["shared_parties"] == [
        {"id": "MSP", "kind": "supplier", "name": "MSP", "behind": ["A", "B"], "count": 2}]


# --- built from the database ---------------------------------------------------------------------

@pytest.fixture
def mapped(world):
    buyer = world.buyer
    sub = Supplier.objects.create(organization=buyer, code="S1-SUB", name="東海精密テクノ", tier=2,
                                  subcontracted_by=world.s1)
    mes = Node.objects.create(organization=buyer, key="MES", kind="system", name="生産管理システム")
    plant = Node.objects.create(organization=buyer, key="PLANT", kind="site", name="本社工場")
    s1 = Node.objects.create(organization=buyer, key="S1", kind="supplier", name="東海精密部品",
                             supplier=world.s1)
    Edge.objects.create(organization=buyer, source=s1, target=mes, kind="accesses")
    Edge.objects.create(organization=buyer, source=plant, target=s1, kind="depends_on")
    other = Node.objects.create(organization=world.other, key="MES", kind="system", name="他社のシステム")
    Node.objects.create(organization=world.other, key="X", kind="site", name="他社工場")
    Edge.objects.create(organization=world.other, source=other, target=Node.objects.get(key="X"),
                        kind="depends_on")
    engine.forget()
    return sub


def test_built_graph_holds_registry_suppliers_and_their_subcontracting(world, mapped):
    g = engine.load_graph(world.buyer.pk)
    assert {"S1", "S2", "S1-SUB", "MES", "PLANT"} <= set(g.keys)
    assert "X" not in g.keys  # another organization's map
    assert g.supplier_ids[g.index["S1-SUB"]] == mapped.pk and g.node_ids[g.index["S1-SUB"]] is None
    reached = by_id(impact(g, "S1-SUB"))
    assert reached["S1"].hops == 1 and reached["MES"].hops == 2
    assert reached["PLANT"].effect == "stops"


def test_graph_cache_follows_the_map_version_and_the_registry(world, mapped, django_assert_num_queries):
    first = engine.load_graph(world.buyer.pk)
    with django_assert_num_queries(2):  # the version key only
        assert engine.load_graph(world.buyer.pk) is first
    MapVersion.objects.update_or_create(organization=world.buyer, defaults={"version": 5})
    assert engine.load_graph(world.buyer.pk) is not first
    second = engine.load_graph(world.buyer.pk)
    Supplier.objects.filter(pk=world.s2.pk).update(name="北陸物流(新)")
    Supplier.objects.get(pk=world.s2.pk).save()
    third = engine.load_graph(world.buyer.pk)
    assert third is not second and third.names[third.index["S2"]] == "北陸物流(新)"


def test_build_reads_the_map_in_constant_queries(world, mapped, django_assert_num_queries):
    with django_assert_num_queries(3):
        engine.build(world.buyer.pk)
    for i in range(30):
        Node.objects.create(organization=world.buyer, key=f"N{i}", kind="data", name=f"データ{i}")
    with django_assert_num_queries(3):
        engine.build(world.buyer.pk)
