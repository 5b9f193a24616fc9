"""/api/v1/map-nodes/, /api/v1/map-edges/, impact and concentration: permissions and shapes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from renkei.accounts.models import Membership
from renkei.audit.models import AuditEntry
from renkei.core.permissions import Role
from renkei.graph import portal, services
from renkei.graph.models import Edge, Node
from renkei.graph.tests.helpers_portal import SYSTEM, actor

pytestmark = pytest.mark.django_db

NODES = reverse("mapnode-list")
EDGES = reverse("mapedge-list")
CONCENTRATION = reverse("mapconcentration-list")


def node_url(key, suffix=""):
    return reverse("mapnode-detail", args=[key]) + suffix


@pytest.fixture
def chain(world):
    """Seed 001 in small: S2 (tier 2 below S1) with VPN access into S1; S1 on the buyer's MES,
    the plant depending on S1. S1 declared one subcontractor, S2 another."""
    org = world.buyer.pk
    for key, kind, name in (
        ("MES", "system", "生産管理システム"),
        ("PLAN", "data", "生産計画"),
        ("PLANT", "site", "本社工場"),
    ):
        services.create_node(
            SYSTEM,
            org,
            key=key,
            kind=kind,
            name=name,
            attributes={"records": 5000, "classes": ["personal"]} if kind == "data" else {},
        )
    for source, target, kind in (
        ("S2", "S1", "accesses"),
        ("S1", "MES", "accesses"),
        ("MES", "PLAN", "hosts_data"),
        ("PLANT", "S1", "depends_on"),
    ):
        services.create_edge(SYSTEM, org, source=source, target=target, kind=kind)
    mine = portal.declare(actor(world.supplier1), world.s1, name="一次外注", work="切削")
    theirs = portal.declare(actor(world.supplier2), world.s2, name="北陸の外注", work="配送")
    return mine, theirs


# --- lists and details ----------------------------------------------------------------------------


def test_staff_list_nodes_with_filters_and_shape(world, api_for, chain):
    client = api_for(world.analyst)
    body = client.get(NODES).json()
    keys = [row["key"] for row in body["results"]]
    assert {"MES", "PLAN", "PLANT", "S1", "S2", "S1-SUB-1", "S2-SUB-1"} <= set(keys)
    declared = next(row for row in body["results"] if row["key"] == "S1-SUB-1")
    assert declared | {"id": None, "created_at": None, "updated_at": None, "organization": None} == {
        "id": None,
        "organization": None,
        "key": "S1-SUB-1",
        "kind": "supplier",
        "name": "一次外注",
        "attributes": {"country": "JP", "tier": 2},
        "origin": "portal",
        "supplier": None,
        "supplier_code": None,
        "declared_by": world.s1.pk,
        "declared_by_code": "S1",
        "created_at": None,
        "updated_at": None,
    }
    systems = client.get(NODES + "?kind=system").json()["results"]
    assert [row["key"] for row in systems] == ["MES"]
    assert client.get(NODES + "?kind=spaceship").status_code == 400
    by_origin = client.get(NODES + f"?origin=portal&declared_by={world.s2.pk}").json()["results"]
    assert [row["key"] for row in by_origin] == ["S2-SUB-1"]


@pytest.mark.parametrize("extra", [0, 8])
def test_list_queries_are_constant(world, api_for, chain, django_assert_num_queries, extra):
    for n in range(extra):
        services.create_node(SYSTEM, world.buyer.pk, key=f"N{n}", kind="site", name=f"拠点{n}")
        services.create_edge(SYSTEM, world.buyer.pk, source=f"N{n}", target="S1", kind="depends_on")
    client = api_for(world.analyst)
    with django_assert_num_queries(3):  # token, count, page
        assert client.get(NODES).status_code == 200
    with django_assert_num_queries(3):
        assert client.get(EDGES).status_code == 200


def test_contact_lists_only_its_own_declarations(world, api_for, chain):
    mine, _theirs = chain
    client = api_for(world.supplier1)
    nodes = client.get(NODES).json()["results"]
    assert [row["key"] for row in nodes] == ["S1-SUB-1"]
    edges = client.get(EDGES).json()["results"]
    assert [(e["source"], e["target"], e["kind"]) for e in edges] == [("S1", "S1-SUB-1", "subcontracts")]
    for query in (f"?declared_by={world.s2.pk}", "?kind=system", f"?organization={world.buyer.pk}&kind=site"):
        assert not [row for row in client.get(NODES + query).json()["results"] if row["key"] != "S1-SUB-1"]
    assert client.get(node_url("S1-SUB-1")).json()["name"] == "一次外注"
    for key in ("S2-SUB-1", "MES", "S1", "NOPE"):
        assert client.get(node_url(key)).status_code == 404, key
    assert (
        client.get(reverse("mapedge-detail", args=[Edge.objects.get(target__key="MES").pk])).status_code
        == 404
    )


def test_a_key_in_two_organizations_needs_the_organization(world, api_for, chain):
    Membership.objects.create(user=world.analyst, organization=world.other, role=Role.ANALYST)
    services.create_node(SYSTEM, world.other.pk, key="MES", kind="system", name="他社のMES")
    client = api_for(world.analyst)
    assert client.get(node_url("MES")).status_code == 400
    assert client.get(node_url("MES", f"?organization={world.other.pk}")).json()["name"] == "他社のMES"
    assert client.get(node_url("MES", f"?organization={world.buyer.pk}")).json()["name"] == "生産管理システム"
    # Creating needs it too when the user is staff of several.
    response = client.post(NODES, {"key": "NEW", "kind": "site", "name": "新拠点"}, format="json")
    assert response.status_code == 400 and "organization" in response.json()


# --- writes -------------------------------------------------------------------------------------


def test_staff_create_update_delete_through_the_services(world, api_for, chain):
    client = api_for(world.analyst)
    entries = AuditEntry.objects.count()
    response = client.post(
        NODES,
        {"key": "WMS", "kind": "system", "name": "倉庫管理", "attributes": {"owner": "物流部"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["attributes"] == {"owner": "物流部"} and response.json()["origin"] == "manual"
    response = client.post(
        EDGES,
        {
            "source": "S2",
            "target": "WMS",
            "kind": "accesses",
            "attributes": {"method": "vpn", "privilege": "admin"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    edge_id = response.json()["id"]
    assert (
        client.patch(node_url("WMS"), {"name": "倉庫管理システム"}, format="json").json()["name"]
        == "倉庫管理システム"
    )
    response = client.patch(
        reverse("mapedge-detail", args=[edge_id]), {"attributes": {"method": "rdp"}}, format="json"
    )
    assert response.json()["attributes"] == {"method": "rdp"}
    assert client.delete(reverse("mapedge-detail", args=[edge_id])).status_code == 204
    assert client.delete(node_url("WMS")).status_code == 204
    assert not Node.objects.filter(key="WMS").exists()
    assert AuditEntry.objects.count() == entries + 6
    # The import's rules: a clear message naming the field.
    response = client.post(EDGES, {"source": "S2", "target": "NOPE", "kind": "accesses"}, format="json")
    assert response.status_code == 400 and "NOPE" in response.json()["target"]
    response = client.post(NODES, {"key": "MES", "kind": "system", "name": "重複"}, format="json")
    assert response.status_code == 400 and "key" in response.json()


def test_auditor_reads_but_every_write_is_refused(world, api_for, chain):
    client = api_for(world.auditor)
    entries = AuditEntry.objects.count()
    assert client.get(node_url("MES")).status_code == 200
    assert client.post(NODES, {"key": "X", "kind": "site", "name": "x"}, format="json").status_code == 403
    assert (
        client.post(EDGES, {"source": "S1", "target": "MES", "kind": "network"}, format="json").status_code
        == 403
    )
    assert client.patch(node_url("MES"), {"name": "x"}, format="json").status_code == 403
    assert client.delete(node_url("S1-SUB-1")).status_code == 403
    assert AuditEntry.objects.count() == entries


def test_contact_declares_changes_and_removes_only_its_own(world, api_for, chain):
    mine, theirs = chain
    client = api_for(world.supplier1)
    response = client.post(
        NODES, {"name": "二次外注", "attributes": {"corporate_number": "7000012050002"}}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["key"], response.json()["origin"], response.json()["declared_by"]) == (
        "S1-SUB-2",
        "portal",
        world.s1.pk,
    )
    response = client.post(EDGES, {"source": "S1-SUB-1", "target": "S1-SUB-2"}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "subcontracts"
    # The buyer's nodes and other suppliers' declarations do not exist for the contact.
    for target in ("MES", "S2-SUB-1"):
        response = client.post(EDGES, {"source": "S1", "target": target}, format="json")
        assert response.status_code == 400 and "のノードはありません" in response.json()["target"]
    assert client.post(NODES, {"name": "社内システム", "kind": "system"}, format="json").status_code == 403
    assert client.post(NODES, {"name": "x", "declared_by": world.s2.pk}, format="json").status_code == 400
    assert client.patch(node_url("S1-SUB-1"), {"name": "一次外注（株）"}, format="json").status_code == 200
    assert client.patch(node_url("S2-SUB-1"), {"name": "乗っ取り"}, format="json").status_code == 404
    assert client.delete(node_url("S2-SUB-1")).status_code == 404
    assert client.delete(node_url("MES")).status_code == 404
    assert client.delete(node_url("S1-SUB-2")).status_code == 204
    assert Node.objects.filter(pk=theirs.pk, name="北陸の外注").exists()
    assert (
        AuditEntry.objects.filter(actor=world.supplier1, object_type="graph.node", action="delete").count()
        == 1
    )


# --- analyses -------------------------------------------------------------------------------------


def test_impact_shape_modes_and_errors(world, api_for, chain):
    client = api_for(world.analyst)
    body = client.get(node_url("S2", "impact/")).json()
    assert (body["node"], body["mode"]) == ("S2", "compromise")
    reached = {row["id"]: row for row in body["reached"]}
    assert body["total"] == len(body["reached"])
    assert reached["PLAN"]["path"] == ["S2", "S1", "MES", "PLAN"] and reached["PLAN"]["hops"] == 3
    assert reached["PLAN"]["effect"] == "compromised" and reached["PLAN"]["via"] == "compromise"
    assert reached["PLANT"]["effect"] == "stops" and 0 < reached["PLANT"]["severity"] <= 100
    assert set(body["reached"][0]) == {"id", "kind", "name", "hops", "via", "path", "effect", "severity"}
    severities = [row["severity"] for row in body["reached"]]
    assert severities == sorted(severities, reverse=True)
    outage = client.get(node_url("S1", "impact/?mode=outage")).json()
    assert [(r["id"], r["effect"], r["via"]) for r in outage["reached"]] == [("PLANT", "stops", "outage")]
    limited = client.get(node_url("S2", "impact/?limit=1")).json()
    assert len(limited["reached"]) == 1 and limited["total"] == body["total"]
    assert client.get(node_url("S2", "impact/?mode=flood")).status_code == 400
    assert client.get(node_url("NOPE", "impact/")).status_code == 404


def test_analyses_are_staff_only(world, api_for, chain):
    for user in (world.supplier1, world.nobody):
        client = api_for(user)
        assert client.get(node_url("S1-SUB-1", "impact/")).status_code == 404
        assert client.get(CONCENTRATION).status_code == 403
    outsider = api_for(world.outsider)
    assert outsider.get(node_url("S2", "impact/")).status_code == 404
    assert outsider.get(node_url("S2", f"impact/?organization={world.buyer.pk}")).status_code == 404
    assert outsider.get(CONCENTRATION + f"?organization={world.buyer.pk}").status_code == 404


def test_concentration_shape(world, api_for, chain):
    body = api_for(world.auditor).get(CONCENTRATION).json()
    assert set(body) == {"single_points", "shared_parties", "broad_access"}
    assert body["single_points"][0] | {"name": None} == {
        "id": "S1",
        "kind": "supplier",
        "name": None,
        "halts": ["PLANT"],
        "count": 1,
    }
