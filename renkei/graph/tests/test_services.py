"""The single-row map services: validation shared with the import, audit, version, who may do what."""

from __future__ import annotations

import pytest

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.graph import services
from renkei.graph.choices import Origin
from renkei.graph.models import Edge, MapVersion, Node

CLI = Actor.cli()


def actor(user) -> Actor:
    return Actor(user=user, address="127.0.0.1", label=str(user))


def entries(organization, object_type: str) -> list[str]:
    return list(
        AuditEntry.objects.filter(organization=organization, object_type=object_type)
        .order_by("sequence")
        .values_list("action", flat=True)
    )


# --- the version -----------------------------------------------------------------------------------


def test_bump_version_creates_the_row_then_adds_one(world):
    assert services.current_version(world.buyer.pk) == 0
    assert services.bump_version(world.buyer.pk) == 1
    assert services.bump_version(world.buyer.pk) == 2
    assert MapVersion.objects.get(organization=world.buyer).version == 2
    assert services.current_version(world.other.pk) == 0


def test_every_change_bumps_the_version_and_leaves_one_audit_entry(world):
    org = world.buyer.pk
    node = services.create_node(actor(world.analyst), org, key="P1", kind="site", name="第一工場")
    assert services.current_version(org) == 1
    node = services.update_node(actor(world.analyst), node, name="第一工場（本館）")
    edge = services.create_edge(actor(world.analyst), org, source="S1", target=node, kind="supplies")
    # The registry supplier S1 became a node row, audited too.
    assert services.current_version(org) == 3
    edge = services.update_edge(actor(world.analyst), edge, attributes={"single_source": "はい"})
    assert edge.attributes == {"single_source": True}
    services.delete_edge(actor(world.analyst), edge)
    services.delete_node(actor(world.analyst), node)
    assert services.current_version(org) == 6
    assert entries(world.buyer, "graph.node") == ["create", "update", "create", "delete"]
    assert entries(world.buyer, "graph.edge") == ["create", "update", "delete"]
    update = AuditEntry.objects.get(object_type="graph.node", action="update")
    assert update.changes == {"name": ["第一工場", "第一工場（本館）"]} and update.actor == world.analyst
    created = AuditEntry.objects.get(object_type="graph.edge", action="create")
    assert created.changes["source_key"] == [None, "S1"] and created.changes["kind"] == [None, "supplies"]


def test_an_update_that_changes_nothing_writes_nothing(world):
    node = services.create_node(CLI, world.buyer.pk, key="P1", kind="site", name="第一工場")
    services.update_node(CLI, node, name="第一工場", attributes={})
    assert services.current_version(world.buyer.pk) == 1
    assert entries(world.buyer, "graph.node") == ["create"]


# --- validation, the same as the import's ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"key": ""}, "key", "Enter the node id"),
        ({"key": "x" * 101}, "key", "100"),
        ({"key": "a\nb"}, "key", "control character"),
        ({"kind": "factory"}, "kind", "factory"),
        ({"name": " "}, "name", "Enter the name"),
        ({"attributes": {"tier": 10}}, "attributes.tier", "1 to 9"),
        ({"attributes": {"records": "many"}}, "attributes.records", "data only"),
        ({"attributes": {"country": "Narnia"}}, "attributes.country", "Narnia"),
        ({"attributes": {"method": "vpn"}}, "attributes.method", "not an attribute of a node"),
    ],
)
def test_create_node_refuses_bad_values_per_field(world, fields, field, fragment, settings):
    settings.LANGUAGE_CODE = "en"
    values = {"key": "T9", "kind": "supplier", "name": "甲", **fields}
    with pytest.raises(services.GraphError) as caught:
        services.create_node(CLI, world.buyer.pk, **values)
    assert field in caught.value.errors and fragment in caught.value.errors[field]
    assert not Node.objects.exists() and services.current_version(world.buyer.pk) == 0


def test_duplicate_ids_and_registry_codes(world):
    services.create_node(CLI, world.buyer.pk, key="P1", kind="site", name="甲")
    with pytest.raises(services.GraphError) as caught:
        services.create_node(CLI, world.buyer.pk, key="P1", kind="site", name="乙")
    assert "key" in caught.value.errors
    with pytest.raises(services.GraphError) as caught:
        services.create_node(CLI, world.buyer.pk, key="S2", kind="system", name="誤り")
    assert world.s2.name in caught.value.errors["kind"]
    node = services.create_node(CLI, world.buyer.pk, key="S2", kind="supplier", name="北陸物流")
    assert node.supplier_id == world.s2.pk
    # The same id in another organization is another node.
    assert services.create_node(CLI, world.other.pk, key="P1", kind="site", name="他社の工場").pk


@pytest.mark.parametrize(
    ("source", "target", "kind", "field", "fragment"),
    [
        ("S1", "S1", "subcontracts", "target", "itself"),
        ("S1", "GHOST", "supplies", "target", "GHOST"),
        ("X1", "S1", "subcontracts", "source", "X1"),  # another organization's supplier
        ("S1", "P1", "owns", "kind", "owns"),
        ("S1", "P1", "hosts_data", "kind", "data"),
        ("P1", "S1", "accesses", "kind", "starts at"),
    ],
)
def test_create_edge_refuses_bad_edges(world, source, target, kind, field, fragment, settings):
    settings.LANGUAGE_CODE = "en"
    services.create_node(CLI, world.buyer.pk, key="P1", kind="site", name="第一工場")
    with pytest.raises(services.GraphError) as caught:
        services.create_edge(CLI, world.buyer.pk, source=source, target=target, kind=kind)
    assert fragment in caught.value.errors[field]
    assert not Edge.objects.exists() and not Node.objects.filter(key="S1").exists()


def test_duplicate_edges_are_refused_and_cycles_accepted(world):
    org = world.buyer.pk
    services.create_edge(CLI, org, source="S1", target="S2", kind="subcontracts")
    with pytest.raises(services.GraphError) as caught:
        services.create_edge(CLI, org, source="S1", target="S2", kind="subcontracts")
    assert "すでにマップにあります" in caught.value.errors["kind"]
    services.create_edge(CLI, org, source="S2", target="S1", kind="subcontracts")
    assert Edge.objects.filter(organization_id=org).count() == 2


def test_a_kind_change_that_breaks_an_edge_is_refused(world):
    org = world.buyer.pk
    system = services.create_node(CLI, org, key="SYS", kind="system", name="基幹")
    services.create_node(CLI, org, key="D1", kind="data", name="顧客DB")
    services.create_edge(CLI, org, source="SYS", target="D1", kind="hosts_data")
    with pytest.raises(services.GraphError) as caught:
        services.update_node(CLI, system, kind="site")
    assert "SYS → D1" in caught.value.errors["kind"]
    assert Node.objects.get(key="SYS").kind == "system"


def test_update_node_relinks_the_registry_when_the_key_changes(world):
    node = services.create_node(CLI, world.buyer.pk, key="NEW", kind="supplier", name="新規")
    node = services.update_node(CLI, node, key="S2")
    assert node.supplier_id == world.s2.pk
    node = services.update_node(CLI, node, key="NEW2")
    assert node.supplier_id is None


def test_delete_node_audits_each_edge_it_takes_along(world):
    org = world.buyer.pk
    plant = services.create_node(CLI, org, key="P1", kind="site", name="第一工場")
    services.create_edge(CLI, org, source="S1", target="P1", kind="supplies")
    services.create_edge(CLI, org, source="S2", target="P1", kind="supplies")
    services.delete_node(CLI, plant)
    assert not Edge.objects.exists()
    assert entries(world.buyer, "graph.edge") == ["create", "create", "delete", "delete"]


# --- who may do what ---------------------------------------------------------------------------------


def test_staff_roles_decide(world):
    with pytest.raises(services.NotAllowed):
        services.create_node(actor(world.auditor), world.buyer.pk, key="P1", kind="site", name="甲")
    with pytest.raises(services.NotAllowed):
        services.create_node(actor(world.outsider), world.buyer.pk, key="P1", kind="site", name="甲")
    node = services.create_node(actor(world.admin), world.buyer.pk, key="P1", kind="site", name="甲")
    with pytest.raises(services.NotAllowed):
        services.delete_node(actor(world.auditor), node)
    with pytest.raises(services.NotAllowed):
        services.update_node(actor(world.outsider), node, name="乗っ取り")
    assert Node.objects.get(pk=node.pk).name == "甲"


def test_a_supplier_contact_declares_its_own_subcontractors_only(world):
    org, contact = world.buyer.pk, actor(world.supplier1)
    sub = services.create_node(
        contact,
        org,
        key="S1-SUB-1",
        kind="supplier",
        name="再委託先",
        declared_by=world.s1,
        origin=Origin.MANUAL,
    )
    assert (sub.origin, sub.declared_by_id) == (Origin.PORTAL, world.s1.pk)
    edge = services.create_edge(
        contact, org, source="S1", target=sub, kind="subcontracts", declared_by=world.s1
    )
    assert edge.origin == Origin.PORTAL
    # Nothing but supplier nodes and subcontracts edges from its own side.
    with pytest.raises(services.NotAllowed):
        services.create_node(contact, org, key="S1-SYS", kind="system", name="x", declared_by=world.s1)
    with pytest.raises(services.GraphError):
        services.create_edge(contact, org, source="S1", target=sub, kind="network", declared_by=world.s1)
    # Another supplier's name, or none at all: refused.
    with pytest.raises(services.NotAllowed):
        services.create_node(contact, org, key="S2-SUB-1", kind="supplier", name="x", declared_by=world.s2)
    with pytest.raises(services.NotAllowed):
        services.create_node(contact, org, key="FREE", kind="supplier", name="x")


def test_a_contact_cannot_reach_the_buyers_nodes_and_cannot_tell_they_exist(world):
    org, contact = world.buyer.pk, actor(world.supplier1)
    services.create_node(CLI, org, key="SECRET", kind="supplier", name="買い手の取引先")
    sub = services.create_node(
        contact, org, key="S1-SUB-1", kind="supplier", name="再委託先", declared_by=world.s1
    )
    messages = []
    for target in ("SECRET", "NOSUCH", "S2"):
        with pytest.raises(services.GraphError) as caught:
            services.create_edge(
                contact, org, source=sub, target=target, kind="subcontracts", declared_by=world.s1
            )
        messages.append(caught.value.errors["target"].replace(target, "ID"))
    assert len(set(messages)) == 1
    buyer_node = Node.objects.get(key="SECRET")
    with pytest.raises(services.NotAllowed):
        services.update_node(contact, buyer_node, name="改ざん")
    with pytest.raises(services.NotAllowed):
        services.delete_node(actor(world.supplier2), sub)


def test_for_user_helpers_show_each_user_only_their_rows(world):
    org = world.buyer.pk
    services.create_node(CLI, org, key="P1", kind="site", name="第一工場")
    services.create_node(
        actor(world.supplier1), org, key="S1-SUB-1", kind="supplier", name="甲", declared_by=world.s1
    )
    services.create_node(CLI, world.other.pk, key="P1", kind="site", name="他社")
    assert set(services.nodes_for(world.auditor, org).values_list("key", flat=True)) == {"P1", "S1-SUB-1"}
    assert list(services.nodes_for(world.supplier1, org).values_list("key", flat=True)) == ["S1-SUB-1"]
    assert not services.nodes_for(world.supplier2, org).exists()
    assert not services.nodes_for(world.outsider, org).exists()
    assert services.node_by_key(world.outsider, org, "P1") is None
    assert services.node_by_key(world.admin, org, "P1").name == "第一工場"
    assert services.node_by_key(world.supplier1, org, "P1") is None
    assert services.node_by_key(world.auditor, org, "P1", "change") is None
    assert not services.edges_for(world.nobody, org).exists()


def test_node_and_edge_data_are_the_json_format(world):
    org = world.buyer.pk
    node = services.create_node(
        CLI,
        org,
        key="D1",
        kind="data",
        name="顧客DB",
        attributes={"records": "1,200", "classes": "個人情報；顧客情報"},
    )
    assert services.node_data(node) == {
        "id": "D1",
        "kind": "data",
        "name": "顧客DB",
        "records": 1200,
        "classes": ["個人情報", "顧客情報"],
    }
    services.create_node(CLI, org, key="SYS", kind="system", name="基幹")
    edge = services.create_edge(
        CLI, org, source="SYS", target="D1", kind="hosts_data", attributes={"note": " 暗号化 "}
    )
    assert services.edge_data(edge) == {
        "source": "SYS",
        "target": "D1",
        "kind": "hosts_data",
        "note": "暗号化",
    }


def test_a_contact_may_still_correct_its_edge_after_the_buyer_linked_it_to_their_node(world):
    org, contact = world.buyer.pk, actor(world.supplier1)
    sub = services.create_node(contact, org, key="S1-SUB-1", kind="supplier", name="甲", declared_by=world.s1)
    edge = services.create_edge(
        contact, org, source="S1", target=sub, kind="subcontracts", declared_by=world.s1
    )
    services.create_node(CLI, org, key="T2", kind="supplier", name="関東精工")
    services.create_node(CLI, org, key="T3", kind="supplier", name="別の取引先")
    edge = services.update_edge(CLI, edge, target="T2")
    edge = services.update_edge(contact, edge, attributes={"work": "検査"})
    assert (edge.target.key, edge.attributes) == ("T2", {"work": "検査"})
    with pytest.raises(services.GraphError):
        services.update_edge(contact, edge, target="T3")
