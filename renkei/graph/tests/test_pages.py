"""The map pages: the map and its JSON, the node, impact and concentration pages, the edit forms.

The chain is the seed 001 case in small: a tier-2 subsidiary (SUB) with VPN access into its parent
S1 (東海精密部品, a registry supplier), S1 with access into the production systems, every plant
depending on S1 and on the MES, a product on a plant. Built through renkei.graph.services.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.graph import engine, layout, services, views, views_pages
from renkei.graph.choices import Origin
from renkei.graph.converters import escape, unescape
from renkei.graph.models import Edge, Node
from renkei.risk.models import SupplierRisk
from renkei.suppliers.models import Supplier

pytestmark = pytest.mark.django_db

ODD_KEY = "九州/工場~第2"


@pytest.fixture(autouse=True)
def _fresh_caches():
    engine.forget()
    views._DERIVED.clear()
    views_pages._CONCENTRATION.clear()
    yield
    engine.forget()


def node(org, key, kind, name, **attrs):
    return services.create_node(Actor.system("test"), org.pk, key=key, kind=kind, name=name,
                                attributes=attrs, origin=Origin.IMPORT)


def edge(org, source, target, kind, declared_by=None, origin=Origin.IMPORT, **attrs):
    return services.create_edge(Actor.system("test"), org.pk, source=source, target=target, kind=kind,
                                attributes=attrs, origin=origin, declared_by=declared_by)


@pytest.fixture
def chain(world):
    org = world.buyer
    node(org, "SYS-MES", "system", "生産管理システム")
    node(org, "SYS-EDI", "system", "受発注システム")
    node(org, "SYS-ERP", "system", "基幹システム")
    node(org, "DATA-PLAN", "data", "生産計画", records=1200, classes="個人情報; 生産計画")
    node(org, "PLANT-A", "site", "本社工場")
    node(org, ODD_KEY, "site", "九州工場")
    node(org, "PRD", "product", "マシニングセンタ")
    node(org, "MSP", "supplier", "クラウド運用サービス", tier=3)
    services.create_node(Actor.system("test"), org.pk, key="SUB", kind="supplier", name="東海精密テクノ",
                         attributes={"tier": 2}, declared_by=world.s1)
    edge(org, "SUB", "S1", "accesses", declared_by=world.s1, method="vpn", privilege="admin")
    edge(org, "S1", "SYS-MES", "accesses", method="vpn")
    edge(org, "S1", "SYS-EDI", "accesses", origin=Origin.MANUAL, method="shared")
    edge(org, "S1", "SYS-ERP", "accesses", method="rdp")
    edge(org, "SYS-MES", "DATA-PLAN", "hosts_data")
    edge(org, "PLANT-A", "S1", "depends_on")
    edge(org, ODD_KEY, "S1", "depends_on")
    edge(org, "PLANT-A", "SYS-MES", "depends_on")
    edge(org, "PRD", "PLANT-A", "depends_on")
    edge(org, "S1", "MSP", "subcontracts")
    edge(org, "S2", "MSP", "subcontracts")
    SupplierRisk.objects.create(supplier=world.s1, organization=org, impact=5, likelihood=4, level="critical",
                                level_rank=3, criticality=3, computed_at=timezone.now())
    return org


def url(name, key=None, **query):
    path = reverse(f"graph:{name}", kwargs={"key": key} if key is not None else None)
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def ids_in(html, attribute="data-id"):
    return re.findall(rf'<tr {attribute}="([^"]+)"', html)


# --- the map page and its JSON ---------------------------------------------------------------------


def test_map_page_is_in_japanese_with_its_tools_and_no_inline_script(world, chain, client_for):
    response = client_for(world.analyst).get(url("map"))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("サプライチェーンマップ", "集中リスク", "名称またはIDでノードを検索", "侵害された場合",
                 "影響を表示", "ノードを追加", 'aria-current="page">サプライチェーンマップ'):
        assert text in html, text
    assert 'data-data-url="/map/data.json"' in html
    assert 'id="map-labels" type="application/json"' in html
    # CSP: the only scripts are files.
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)


def test_empty_map_explains_the_import_and_lists_registry_suppliers(world, client_for):
    html = client_for(world.analyst).get(url("map")).content.decode()
    assert 'id="map-empty"' in html and 'id="map-app"' not in html
    assert "renkei graph import nodes.csv edges.csv" in html and "docs/graph.md" in html
    assert "東海精密部品株式会社" in html and "北陸物流株式会社" in html
    assert "他社の取引先株式会社" not in html
    assert reverse("graph:node", kwargs={"key": "S1"}) in html


def test_the_map_of_another_organization_is_not_found(world, chain, client_for):
    assert client_for(world.analyst).get(url("map", organization=world.other.pk)).status_code == 404
    assert client_for(world.outsider).get(url("data", organization=world.buyer.pk)).status_code == 404
    # The outsider's own map holds only its registry supplier.
    data = client_for(world.outsider).get(url("data")).json()
    assert [n["id"] for n in data["nodes"]] == ["X1"]


def test_map_json_places_every_node_in_its_column_deterministically(world, chain, client_for):
    client = client_for(world.analyst)
    data = client.get(url("data")).json()
    assert data["view"] == "nodes"
    assert [c["key"] for c in data["columns"]] == [
        "supplier:3", "supplier:2", "supplier:1", "system", "data", "site", "product"]
    assert data["columns"][1]["label"] == "取引先（第2階層）"
    nodes = {n["id"]: n for n in data["nodes"]}
    assert set(nodes) == {"S1", "S2", "SUB", "MSP", "SYS-MES", "SYS-EDI", "SYS-ERP", "DATA-PLAN", "PLANT-A",
                          ODD_KEY, "PRD"}
    # Tier 3 left of tier 2 left of tier 1, then the systems, data, sites, products.
    assert nodes["MSP"]["x"] < nodes["SUB"]["x"] < nodes["S1"]["x"] < nodes["SYS-MES"]["x"] < \
        nodes["DATA-PLAN"]["x"] < nodes["PLANT-A"]["x"] < nodes["PRD"]["x"]
    assert nodes["S1"]["level"] == "critical" and nodes["S2"]["level"] is None
    assert nodes["S1"]["supplier_url"] == reverse("suppliers:detail", args=[world.s1.pk])
    assert nodes[ODD_KEY]["url"] == reverse("graph:node", kwargs={"key": ODD_KEY})
    assert nodes["DATA-PLAN"]["attrs"] == [["records", "件数", "1,200"],
                                           ["classes", "データ分類", "個人情報, 生産計画"]]
    by_index = data["nodes"]
    edges = {(by_index[s]["id"], by_index[t]["id"], k) for s, t, k in data["edges"]}
    assert ("SUB", "S1", 2) in edges and ("S1", "MSP", 1) in edges
    assert len(data["edges"]) == 11
    views._DERIVED.clear()
    engine.forget()
    assert client.get(url("data")).json() == data


def test_barycenter_ordering_removes_crossings_of_two_crossed_pairs():
    # A1 → X2 and A2 → X1 cross if the columns keep the alphabetical order; the sweep uncrosses them.
    g = engine.from_arrays(["A1", "A2", "X1", "X2"], ["supplier", "supplier", "system", "system"],
                           ["a", "b", "c", "d"], [(0, 3, "accesses", False), (1, 2, "accesses", False)])
    placed = layout.place(g, [0, 1, 2, 3], layout.column_keys(g, layout.supplier_tiers(g, {})))
    y = dict(zip(placed.nodes, placed.y, strict=True))
    assert (y[0] < y[1]) == (y[3] < y[2])


def test_map_json_costs_the_same_few_queries_whatever_the_map(world, chain, client_for,
                                                              django_assert_num_queries):
    client = client_for(world.analyst)
    client.get(url("data"))  # warm the graph cache, as every request after a change does
    # session, user, organizations, map version, registry version, levels of the drawn suppliers
    with django_assert_num_queries(6):
        assert client.get(url("data")).status_code == 200
    for key in ("A", "B", "C"):
        node(world.buyer, f"X-{key}", "system", f"システム{key}")
        edge(world.buyer, "S2", f"X-{key}", "accesses")
    client.get(url("data"))
    with django_assert_num_queries(6):
        assert len(client.get(url("data")).json()["nodes"]) == 14


def test_a_large_map_starts_grouped_and_a_group_opens_into_its_nodes(world, chain, client_for, monkeypatch):
    monkeypatch.setattr(layout, "GROUP_THRESHOLD", 5)
    client = client_for(world.analyst)
    data = client.get(url("data")).json()
    assert data["view"] == "groups" and data["total"] == 11
    groups = {g["key"]: g for g in data["groups"]}
    assert groups["supplier:1"]["count"] == 2 and groups["system"]["count"] == 3
    assert groups["system"]["label"] == "システム"
    order = [g["key"] for g in data["groups"]]
    # S1 → three systems: one aggregated edge of kind accesses (code 2) with count 3.
    assert [order.index("supplier:1"), order.index("system"), 2, 3] in data["edges"]
    opened = client.get(url("data", group="system")).json()
    assert opened["view"] == "nodes" and opened["core_total"] == 3 and opened["core_shown"] == 3
    drawn = {n["id"] for n in opened["nodes"]}
    assert {"SYS-MES", "SYS-EDI", "SYS-ERP", "S1", "DATA-PLAN", "PLANT-A"} <= drawn
    focused = client.get(url("data", focus="SUB")).json()
    assert {n["id"] for n in focused["nodes"]} == {"SUB", "S1"}
    assert client.get(url("data", group="nothing")).status_code == 404
    assert client.get(url("data", focus="NOPE")).status_code == 404
    assert client.get(url("search", q="精密")).json()["results"] == [
        {"id": "SUB", "name": "東海精密テクノ", "kind": "supplier"},
        {"id": "S1", "name": "東海精密部品株式会社", "kind": "supplier"}]
    assert [r["id"] for r in client.get(url("search", q="s1")).json()["results"]] == ["S1"]
    assert [r["id"] for r in client.get(url("search", q="sys")).json()["results"]] == [
        "SYS-EDI", "SYS-ERP", "SYS-MES"]


def test_impact_json_gives_reached_nodes_with_paths_and_groups(world, chain, client_for):
    data = client_for(world.analyst).get(url("impact-json", node="SUB", mode="compromise")).json()
    reached = {r["id"]: r for r in data["reached"]}
    assert data["node"] == "SUB" and data["total"] == len(reached)
    assert reached["S1"]["effect"] == "compromised" and reached["S1"]["path"] == ["SUB", "S1"]
    assert reached["PLANT-A"]["effect"] == "stops" and reached["PLANT-A"]["path"] == ["SUB", "S1", "PLANT-A"]
    assert reached["PRD"]["hops"] == 3
    assert data["groups"]["site"] == 2 and data["start_group"] == "supplier:2"
    assert data["url"] == url("impact", "SUB", mode="compromise")
    client = client_for(world.analyst)
    assert client.get(url("impact-json", node="NOPE")).status_code == 404
    assert client.get(url("impact-json", node="SUB", mode="explode")).status_code == 404


# --- the impact page -------------------------------------------------------------------------------


def test_impact_page_lists_what_a_compromise_reaches_most_severe_first(world, chain, client_for):
    response = client_for(world.analyst).get(url("impact", "SUB", mode="compromise"))
    html = response.content.decode()
    assert response.status_code == 200
    expected = [r.id for r in engine.impact(engine.load_graph(world.buyer.pk), "SUB", "compromise").reached]
    assert ids_in(html) == expected
    # Sites and the product stop first (severity 60), the data with personal information (55),
    # the compromised systems (40), the parent supplier last.
    assert expected[:3] == ["PLANT-A", ODD_KEY, "PRD"] and expected[3] == "DATA-PLAN"
    # The parent, then through the fourth party MSP the other supplier using it.
    assert expected[-3:] == ["S1", "MSP", "S2"]
    assert "東海精密テクノが侵害された場合" in html
    assert '<span class="badge effect effect-compromised">侵害</span>' in html
    assert '<span class="badge effect effect-stops">停止</span>' in html
    # The path of the plant: SUB ─ has access → S1 ← depends on ─ PLANT-A.
    row = html[html.index('<tr data-id="PLANT-A">'):]
    row = row[:row.index("</tr>")]
    assert re.sub(r"<[^>]+>", "", row[row.index('class="path"'):]).split("\n")[0].count("→") >= 1
    assert "─ アクセス権あり →" in row and "← 依存 ─" in row
    summary = html[html.index('id="impact-summary"'):html.index("</section>")]
    assert re.search(r'data-kind="data"><span class="num">1</span>', summary)
    assert "合計 1,200 件" in summary and "個人情報" in summary
    assert re.search(r'data-kind="site"><span class="num">2</span>', summary)
    assert re.search(r'data-kind="system"><span class="num">3</span>', summary)
    assert url("map", impact="SUB", mode="compromise").replace("&", "&amp;") in html


def test_impact_page_of_an_outage_shows_what_stops_and_what_is_affected(world, chain, client_for):
    # A second supplier of the plant (redundant supplies): the plant is only affected when S2 stops.
    edge(world.buyer, "S2", "PLANT-A", "supplies")
    edge(world.buyer, "MSP", "PLANT-A", "supplies")
    html = client_for(world.analyst).get(url("impact", "S2", mode="outage")).content.decode()
    assert "北陸物流株式会社が停止した場合" in html
    assert ids_in(html) == ["PLANT-A"]
    assert '<span class="badge effect effect-degraded">影響あり</span>' in html
    html = client_for(world.analyst).get(url("impact", "S1", mode="outage")).content.decode()
    assert ids_in(html)[:3] == ["PLANT-A", ODD_KEY, "PRD"]


def test_impact_page_query_count_does_not_grow_with_the_reached_nodes(world, chain, client_for,
                                                                      django_assert_num_queries):
    client = client_for(world.analyst)
    client.get(url("impact", "SUB"))
    # session, user, organizations, map version, registry version, the role for the navigation
    with django_assert_num_queries(6):
        assert client.get(url("impact", "SUB")).status_code == 200
    for n in range(5):
        node(world.buyer, f"D{n}", "data", f"データ{n}", records=10)
        edge(world.buyer, "SYS-MES", f"D{n}", "hosts_data")
    client.get(url("impact", "SUB"))
    with django_assert_num_queries(6):
        html = client.get(url("impact", "SUB")).content.decode()
    assert len(ids_in(html)) == 15


def test_impact_pages_are_paginated_in_engine_order(world, chain, client_for, monkeypatch):
    monkeypatch.setattr(views_pages, "IMPACT_PAGE_SIZE", 4)
    client = client_for(world.analyst)
    first = ids_in(client.get(url("impact", "SUB")).content.decode())
    second = ids_in(client.get(url("impact", "SUB", page=2)).content.decode())
    expected = [r.id for r in engine.impact(engine.load_graph(world.buyer.pk), "SUB").reached]
    assert first + second == expected[:8] and len(first) == 4


# --- node keys in URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["S-1001", "東海精密-VPN", "a/b", "~2F", "..", ".", "100%", "a b?c#d"])
def test_any_node_id_has_a_url_that_leads_back_to_it(key):
    assert unescape(escape(key)) == key
    path = reverse("graph:node", kwargs={"key": key})
    assert "/" not in path.removeprefix("/map/nodes/").removesuffix("/")


def test_node_page_of_an_id_with_a_slash_and_japanese(world, chain, client_for):
    response = client_for(world.analyst).get(reverse("graph:node", kwargs={"key": ODD_KEY}))
    assert response.status_code == 200
    assert "九州工場" in response.content.decode()


def test_unknown_nodes_are_not_found(world, chain, client_for):
    client = client_for(world.analyst)
    for name in ("node", "impact", "node-edit"):
        assert client.get(url(name, "NOPE")).status_code == 404
    assert client.post(url("node-delete", "NOPE")).status_code == 404


# --- access ----------------------------------------------------------------------------------------


def test_another_organizations_nodes_are_not_found(world, chain, client_for):
    client = client_for(world.outsider)
    for key in ("S1", "SUB", "SYS-MES"):
        for name in ("node", "impact", "node-edit"):
            assert client.get(url(name, key)).status_code == 404, (name, key)
            assert client.get(url(name, key, organization=world.buyer.pk)).status_code == 404
        assert client.post(url("node-delete", key)).status_code == 404
    pk = Edge.objects.get(source__key="S1", target__key="SYS-MES").pk
    assert client.get(reverse("graph:edge-edit", args=[pk])).status_code == 404
    assert client.post(reverse("graph:edge-delete", args=[pk])).status_code == 404
    assert Edge.objects.filter(pk=pk).exists()


def test_supplier_contacts_are_refused_the_map(world, chain, client_for):
    client = client_for(world.supplier1)  # the contact of S1, whose subcontractor SUB is on the map
    for name in ("map", "data", "concentration", "search", "node-new", "edge-new"):
        assert client.get(url(name)).status_code == 403, name
    assert client.get(url("impact-json", node="SUB")).status_code == 404
    for name in ("node", "impact", "node-edit"):
        assert client.get(url(name, "SUB")).status_code == 404
    pk = Edge.objects.get(source__key="SUB").pk
    assert client.post(reverse("graph:edge-delete", args=[pk])).status_code == 404
    assert client.post(url("node-delete", "SUB")).status_code == 404
    assert Node.objects.filter(key="SUB").exists() and Edge.objects.filter(pk=pk).exists()


def test_auditor_sees_the_pages_but_no_forms_and_cannot_write(world, chain, client_for):
    client = client_for(world.auditor)
    for path in (url("map"), url("concentration"), url("node", "S1"), url("impact", "S1"), url("data")):
        assert client.get(path).status_code == 200, path
    html = client.get(url("node", "SYS-MES")).content.decode()
    assert "生産管理システム" in html and "編集" not in html and "エッジを追加" not in html
    assert "ノードを追加" not in client.get(url("map")).content.decode()
    entries = AuditEntry.objects.count()
    pk = Edge.objects.get(source__key="S1", target__key="SYS-MES").pk
    assert client.get(url("node-new")).status_code == 403
    for path, data in ((url("node-new"), {"key": "A1", "kind": "system", "name": "監査"}),
                       (url("edge-new"), {"source": "S1", "target": "SYS-EDI", "kind": "supplies"}),
                       (url("node-edit", "SYS-MES"), {"key": "SYS-MES", "kind": "system", "name": "x"})):
        assert client.post(path, data).status_code == 403, path
    assert client.post(url("node-delete", "SYS-MES")).status_code == 403
    assert client.post(reverse("graph:edge-edit", args=[pk]), {"source": "S1", "target": "SYS-MES",
                                                               "kind": "network"}).status_code == 403
    assert client.post(reverse("graph:edge-delete", args=[pk])).status_code == 403
    assert AuditEntry.objects.count() == entries
    assert Node.objects.get(key="SYS-MES").name == "生産管理システム" and Edge.objects.filter(pk=pk).exists()


# --- the node page and its forms -----------------------------------------------------------------


def test_node_page_lists_edges_both_ways_with_their_origin(world, chain, client_for):
    html = client_for(world.admin).get(url("node", "S1")).content.decode()
    assert "東海精密部品株式会社" in html and "取引先台帳" in html and "重大" in html
    out = html[html.index('id="edges-out"'):html.index('id="edges-in"')]
    incoming = html[html.index('id="edges-in"'):html.index('id="add-edge"')]
    assert re.findall(r'data-other="([^"]+)"', out) == ["SYS-MES", "SYS-EDI", "SYS-ERP", "MSP"]
    assert sorted(re.findall(r'data-other="([^"]+)"', incoming)) == sorted(["SUB", "PLANT-A", ODD_KEY])
    assert "インポート" in out and "委託元が入力" in out
    sub_row = incoming[incoming.index('data-other="SUB"'):]
    sub_row = sub_row[:sub_row.index("</tr>")]
    assert "取引先が申告" in sub_row and "東海精密部品株式会社" in sub_row and "接続方法: VPN" in sub_row
    assert url("impact", "S1", mode="compromise") in html and url("impact", "S1", mode="outage") in html
    # A registry supplier without a row of its own is a node too, edited in the registry.
    Supplier.objects.create(organization=world.buyer, code="S9", name="新規取引先")
    html = client_for(world.admin).get(url("node", "S9")).content.decode()
    assert "取引先台帳で変更してください" in html and url("node-edit", "S9") not in html
    assert client_for(world.admin).get(url("node-edit", "S9")).status_code == 404


def test_analyst_adds_edits_and_deletes_a_node_through_the_forms(world, chain, client_for):
    client = client_for(world.analyst)
    response = client.post(url("node-new"), {"key": "DATA-CUST", "kind": "data", "name": "顧客情報",
                                             "records": "80,000", "classes": "顧客情報; 個人情報",
                                             "other": "owner = 営業部"})
    assert response.status_code == 302 and response["Location"] == url("node", "DATA-CUST")
    created = Node.objects.get(key="DATA-CUST")
    assert created.attributes == {"records": 80000, "classes": ["顧客情報", "個人情報"], "owner": "営業部"}
    assert created.origin == Origin.MANUAL
    assert AuditEntry.objects.filter(object_type="graph.node", object_id=str(created.pk)).count() == 1
    form = client.get(url("node-edit", "DATA-CUST")).content.decode()
    assert 'value="80000"' in form and "owner = 営業部" in form
    response = client.post(url("node-edit", "DATA-CUST"), {
        "key": "DATA-CUST", "kind": "data", "name": "顧客・保守情報", "records": "90000", "classes": "",
        "other": ""})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.name == "顧客・保守情報" and created.attributes == {"records": 90000}
    # The map sees the change at once (the map version moved).
    assert "顧客・保守情報" in {n["name"] for n in client.get(url("data")).json()["nodes"]}
    response = client.post(url("node-delete", "DATA-CUST"))
    assert response.status_code == 302 and response["Location"] == url("map")
    assert not Node.objects.filter(key="DATA-CUST").exists()


def test_node_form_errors_are_shown_next_to_the_fields_in_japanese(world, chain, client_for):
    client = client_for(world.analyst)
    count = Node.objects.count()
    response = client.post(url("node-new"), {"key": "SYS-MES", "kind": "system", "name": "重複",
                                             "records": "多い", "other": "これは属性ではない"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "1行目" in html  # the free attributes: "name = value" per line
    response = client.post(url("node-new"), {"key": "SYS-MES", "kind": "system", "name": "重複",
                                             "records": "多い"})
    html = response.content.decode()
    assert response.status_code == 400
    # The service's refusals: the id is taken, records belong to data nodes.
    key_field = html[html.index('class="field field-key has-error"'):]
    assert "SYS-MES" in key_field[:key_field.index("</div>")]
    assert 'class="field field-records has-error"' in html
    assert Node.objects.count() == count


def test_analyst_adds_edits_and_deletes_an_edge(world, chain, client_for):
    client = client_for(world.analyst)
    response = client.post(url("edge-new"), {"source": "S2", "target": "PLANT-A", "kind": "supplies",
                                             "single_source": "true"})
    assert response.status_code == 302 and response["Location"] == url("node", "S2")
    created = Edge.objects.get(source__key="S2", target__key="PLANT-A")
    assert created.attributes == {"single_source": True} and created.origin == Origin.MANUAL
    # S2 had no row: naming it made its node, linked to the registry supplier.
    assert Node.objects.get(key="S2").supplier == world.s2
    response = client.post(reverse("graph:edge-edit", args=[created.pk]), {
        "source": "S2", "target": "PLANT-A", "kind": "supplies", "single_source": "false"})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.attributes == {"single_source": False}
    response = client.post(url("edge-new"), {"source": "DATA-PLAN", "target": "S1", "kind": "hosts_data"})
    assert response.status_code == 400 and "data" in response.content.decode()
    response = client.post(url("edge-new"), {"source": "S1", "target": "NOWHERE", "kind": "supplies"})
    assert response.status_code == 400 and "NOWHERE" in response.content.decode()
    response = client.post(reverse("graph:edge-delete", args=[created.pk]), {"back": "PLANT-A"})
    assert response.status_code == 302 and response["Location"] == url("node", "PLANT-A")
    assert not Edge.objects.filter(pk=created.pk).exists()


# --- concentration -----------------------------------------------------------------------------------


def test_concentration_page_shows_the_three_sections(world, chain, client_for):
    html = client_for(world.auditor).get(url("concentration")).content.decode()
    for title in ("単一障害点", "共有される委託先（第四者）", "多数のシステムにアクセスする取引先"):
        assert title in html
    single = html[html.index('id="single-points"'):html.index('id="shared-parties"')]
    shared = html[html.index('id="shared-parties"'):html.index('id="broad-access"')]
    broad = html[html.index('id="broad-access"'):]
    assert ids_in(single) == ["S1"] and "本社工場" in single and "九州工場" in single
    assert ids_in(shared) == ["MSP"]
    assert ids_in(broad) == ["S1"] and "基幹システム" in broad
    assert url("impact", "S1", mode="outage").replace("&", "&amp;") in single


def test_a_registry_supplier_is_on_the_map_in_its_registry_tier(world, client_for):
    # No map row: a registry supplier is a node of its own, in the tier the registry gives it.
    Supplier.objects.create(organization=world.buyer, code="S9", name="新規取引先", tier=2)
    data = client_for(world.analyst).get(url("data")).json()
    assert {n["id"]: n["tier"] for n in data["nodes"]}["S9"] == 2
