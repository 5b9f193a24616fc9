"""Declared subcontractors: the supplier portal page, isolation, the buyer's corrections, audit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.graph import portal, services
from renkei.graph.models import Edge, Node
from renkei.graph.tests.helpers_portal import SYSTEM, actor
from renkei.risk.models import SupplierRisk
from renkei.suppliers.models import Supplier

pytestmark = pytest.mark.django_db

FORM = {
    "name": "有限会社 山田加工",
    "corporate_number": "",
    "country": "JP",
    "work": "部品の切削加工",
    "buyer_access": "no",
    "via": "",
}


def _list(world, supplier=None):
    return reverse("graph:portal-subcontractors", args=[(supplier or world.s1).pk])


def _add(client, world, supplier=None, **changes):
    return client.post(
        reverse("graph:portal-subcontractor-add", args=[(supplier or world.s1).pk]), {**FORM, **changes}
    )


def _declared(world, supplier=None, **changes):
    values = {"name": "有限会社 山田加工", "work": "部品の切削加工", **changes}
    return portal.declare(
        actor(world.supplier1 if supplier in (None, world.s1) else world.supplier2),
        supplier or world.s1,
        **values,
    )


# --- the supplier contact ---------------------------------------------------------------------


def test_contact_declares_a_subcontractor_with_attributes_and_audit(world, client_for):
    client = client_for(world.supplier1)
    entries = AuditEntry.objects.count()
    response = _add(
        client,
        world,
        corporate_number="７００００１２０５０００２",
        buyer_access="yes",
        country="VN",
        work="VPN 経由で生産管理システムを保守",
    )
    assert response.status_code == 302 and response.url == _list(world)
    node = Node.objects.get(declared_by=world.s1)
    assert (node.key, node.kind, node.origin, node.name) == (
        "S1-SUB-1",
        "supplier",
        "portal",
        "有限会社 山田加工",
    )
    assert node.attributes == {"country": "VN", "corporate_number": "7000012050002", "tier": 2}
    edge = Edge.objects.get(target=node)
    assert (edge.source.key, edge.kind, edge.origin, edge.declared_by) == (
        "S1",
        "subcontracts",
        "portal",
        world.s1,
    )
    assert edge.attributes == {"work": "VPN 経由で生産管理システムを保守", "buyer_access": "true"}
    # The supplier's registry node, the declared node and the edge: each audited, by the contact.
    new = AuditEntry.objects.order_by("sequence")[entries:]
    assert [(e.action, e.object_type) for e in new] == [
        ("create", "graph.node"),
        ("create", "graph.node"),
        ("create", "graph.edge"),
    ]
    assert {e.actor_id for e in new} == {world.supplier1.pk}
    page = client.get(_list(world)).content.decode()
    assert "有限会社 山田加工" in page and "S1-SUB-1" in page and "ベトナム" in page


def test_keys_are_generated_above_any_taken_one(world):
    services.create_node(SYSTEM, world.buyer.pk, key="S1-SUB-7", kind="supplier", name="バイヤーが入力")
    assert _declared(world).key == "S1-SUB-8"
    assert _declared(world, name="二社目").key == "S1-SUB-9"
    assert _declared(world, world.s2).key == "S2-SUB-1"


def test_invalid_input_is_refused_next_to_its_field_and_nothing_is_written(world, client_for):
    client = client_for(world.supplier1)
    before = (Node.objects.count(), Edge.objects.count(), AuditEntry.objects.count())
    response = _add(client, world, corporate_number="1234567890123", name="", work="x" * 1001)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"name", "work"}
    response = _add(client, world, corporate_number="1234567890123")
    assert "check digit" in str(
        response.context["form"].errors["corporate_number"]
    ) or "チェックディジット" in str(response.context["form"].errors["corporate_number"])
    assert (Node.objects.count(), Edge.objects.count(), AuditEntry.objects.count()) == before


def test_contact_edits_and_removes_its_declaration(world, client_for):
    node = _declared(world)
    client = client_for(world.supplier1)
    response = client.post(
        reverse("graph:portal-subcontractor-edit", args=[node.pk]),
        {**FORM, "name": "山田加工株式会社", "work": "組立", "buyer_access": "yes"},
    )
    assert response.status_code == 302
    node.refresh_from_db()
    edge = Edge.objects.get(target=node)
    assert node.name == "山田加工株式会社" and edge.attributes["work"] == "組立"
    assert AuditEntry.objects.filter(
        object_type="graph.node", object_id=str(node.pk), action="update"
    ).exists()
    assert client.get(reverse("graph:portal-subcontractor-delete", args=[node.pk])).status_code == 200
    response = client.post(reverse("graph:portal-subcontractor-delete", args=[node.pk]))
    assert response.status_code == 302
    assert not Node.objects.filter(pk=node.pk).exists() and not Edge.objects.filter(pk=edge.pk).exists()
    assert AuditEntry.objects.filter(
        object_type="graph.node", object_id=str(node.pk), action="delete"
    ).exists()
    assert AuditEntry.objects.filter(
        object_type="graph.edge", object_id=str(edge.pk), action="delete"
    ).exists()


def test_a_sub_subcontractor_is_declared_through_a_declared_one_and_moves_up_when_it_goes(world, client_for):
    first = _declared(world)
    client = client_for(world.supplier1)
    response = _add(client, world, name="孫請け工業", via=str(first.pk))
    assert response.status_code == 302
    second = Node.objects.get(name="孫請け工業")
    assert Edge.objects.get(target=second).source == first and second.attributes["tier"] == 3
    rows = {row.node.name: row for row in portal.declarations(world.supplier1, world.s1)}
    assert rows["孫請け工業"].via == first
    client.post(reverse("graph:portal-subcontractor-delete", args=[first.pk]))
    assert Edge.objects.get(target=second).source.key == "S1"


def test_dashboard_links_the_page(world, client_for):
    page = client_for(world.supplier1).get(reverse("dashboard")).content.decode()
    assert f'href="{_list(world)}"' in page


# --- isolation ----------------------------------------------------------------------------------


def test_contact_never_sees_other_suppliers_declarations_or_the_buyers_map(world, client_for):
    mine = _declared(world, name="自社の外注先")
    theirs = _declared(world, world.s2, name="北陸の外注先")
    services.create_node(SYSTEM, world.buyer.pk, key="MES", kind="system", name="生産管理システム")
    services.create_edge(SYSTEM, world.buyer.pk, source="S1", target="MES", kind="accesses")
    services.create_node(
        SYSTEM, world.buyer.pk, key="BUYER-KNOWN", kind="supplier", name="バイヤー調べの外注先"
    )
    services.create_edge(SYSTEM, world.buyer.pk, source="S1", target="BUYER-KNOWN", kind="subcontracts")
    Supplier.objects.filter(pk=world.s1.pk).update(notes="社内メモ: 要注意")
    client = client_for(world.supplier1)
    page = client.get(_list(world)).content.decode()
    assert "自社の外注先" in page
    for hidden in ("北陸の外注先", "生産管理システム", "バイヤー調べの外注先", "社内メモ"):
        assert hidden not in page, hidden
    assert [row.node for row in portal.declarations(world.supplier1, world.s1)] == [mine]
    # S2's page, S2's declaration and the buyer's node: 404 on every URL and method.
    buyer_node = Node.objects.get(key="BUYER-KNOWN")
    urls = [
        _list(world, world.s2),
        reverse("graph:portal-subcontractor-add", args=[world.s2.pk]),
        reverse("graph:portal-subcontractor-add", args=[world.x1.pk]),
    ]
    for node in (theirs, buyer_node):
        urls += [
            reverse(f"graph:portal-subcontractor-{name}", args=[node.pk])
            for name in ("edit", "delete", "link")
        ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, FORM).status_code == 404, url
    assert Node.objects.filter(pk=theirs.pk, name="北陸の外注先").exists()


def test_another_buyers_staff_gets_404(world, client_for):
    node = _declared(world)
    client = client_for(world.outsider)
    assert client.get(_list(world)).status_code == 404
    assert client.get(reverse("graph:portal-subcontractor-edit", args=[node.pk])).status_code == 404


def test_contact_cannot_move_a_declaration_through_another_suppliers_node(world, client_for):
    mine = _declared(world)
    theirs = _declared(world, world.s2)
    client = client_for(world.supplier1)
    response = client.post(
        reverse("graph:portal-subcontractor-edit", args=[mine.pk]), {**FORM, "via": str(theirs.pk)}
    )
    assert response.status_code == 200 and "via" in response.context["form"].errors
    assert Edge.objects.get(target=mine).source.key == "S1"
    with pytest.raises(services.GraphError):
        portal.declare(actor(world.supplier1), world.s1, name="x", work="y", via=theirs)


# --- the buyer ----------------------------------------------------------------------------------


def test_buyer_sees_declarations_on_the_registry_page_and_corrects_them(world, client_for):
    node = _declared(world, corporate_number="7000012050002")
    client = client_for(world.analyst)
    page = client.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=chain").content.decode()
    assert 'id="declared-subcontractors"' in page and "有限会社 山田加工" in page
    assert 'data-origin="portal"' in page
    assert reverse("graph:portal-subcontractor-link", args=[node.pk]) in page
    response = client.post(
        reverse("graph:portal-subcontractor-edit", args=[node.pk]),
        {**FORM, "name": "山田加工（株）", "work": "切削と研磨"},
    )
    assert response.status_code == 302 and response.url.endswith("?tab=chain")
    node.refresh_from_db()
    assert node.name == "山田加工（株）" and node.declared_by == world.s1 and node.origin == "portal"
    entry = AuditEntry.objects.filter(object_type="graph.node", object_id=str(node.pk), action="update").get()
    assert entry.actor_id == world.analyst.pk
    # The contact still sees the corrected declaration as its own.
    assert "山田加工（株）" in client_for(world.supplier1).get(_list(world)).content.decode()


def test_auditor_may_look_but_not_correct(world, client_for):
    node = _declared(world)
    client = client_for(world.auditor)
    page = client.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=chain").content.decode()
    assert "有限会社 山田加工" in page
    assert reverse("graph:portal-subcontractor-edit", args=[node.pk]) not in page
    for name in ("edit", "delete", "link"):
        assert (
            client.post(reverse(f"graph:portal-subcontractor-{name}", args=[node.pk]), FORM).status_code
            == 403
        )


def test_contact_cannot_link_to_the_registry(world, client_for):
    node = _declared(world)
    response = client_for(world.supplier1).post(
        reverse("graph:portal-subcontractor-link", args=[node.pk]), {"supplier": "S2"}
    )
    assert response.status_code == 403
    with pytest.raises(services.NotAllowed):
        portal.link(actor(world.supplier1), portal.declaration(world.supplier1, node.pk), world.s2)


def test_buyer_links_a_declaration_to_a_registry_supplier(world, client_for):
    node = _declared(world)
    tier2 = Supplier.objects.create(organization=world.buyer, code="T2", name="山田加工株式会社", tier=2)
    client = client_for(world.admin)
    url = reverse("graph:portal-subcontractor-link", args=[node.pk])
    response = client.post(url, {"supplier": "NOPE"})
    assert response.status_code == 200 and "supplier" in response.context["form"].errors
    response = client.post(url, {"supplier": "X1"})  # another buyer's code: unknown here
    assert response.status_code == 200 and "supplier" in response.context["form"].errors
    response = client.post(url, {"supplier": "T2"})
    assert response.status_code == 302
    node.refresh_from_db()
    assert (node.key, node.supplier, node.declared_by) == ("T2", tier2, world.s1)
    assert Edge.objects.get(target=node).source.key == "S1"


def test_linking_to_a_supplier_already_on_the_map_moves_the_edges(world, client_for):
    node = _declared(world)
    services.create_node(SYSTEM, world.buyer.pk, key="MES", kind="system", name="生産管理システム")
    services.create_edge(SYSTEM, world.buyer.pk, source="S2", target="MES", kind="accesses")
    existing = Node.objects.get(key="S2")
    declared = portal.declaration(world.admin, node.pk)
    result = portal.link(actor(world.admin), declared, world.s2)
    assert result == existing and not Node.objects.filter(pk=node.pk).exists()
    edge = Edge.objects.get(source__key="S1", target=existing, kind="subcontracts")
    assert edge.declared_by == world.s1 and edge.attributes["work"] == "部品の切削加工"
    # The buyer corrects what the supplier said about the work; the name is the buyer's node's.
    response = client_for(world.admin).post(
        reverse("graph:portal-subcontractor-edit", args=[existing.pk]),
        {**FORM, "name": "乗っ取り", "work": "検査"},
    )
    assert response.status_code == 302
    existing.refresh_from_db()
    edge.refresh_from_db()
    assert existing.name == "北陸物流株式会社" and edge.attributes["work"] == "検査"
    # The contact still sees its declaration (the edge), may withdraw it, but not edit the
    # buyer's node.
    rows = portal.declarations(world.supplier1, world.s1)
    assert [(row.node, row.own) for row in rows] == [(existing, False)]
    client = client_for(world.supplier1)
    response = client.post(
        reverse("graph:portal-subcontractor-edit", args=[existing.pk]), {**FORM, "name": "乗っ取り"}
    )
    assert response.status_code == 403
    response = client.post(reverse("graph:portal-subcontractor-delete", args=[existing.pk]))
    assert response.status_code == 302
    assert Node.objects.filter(pk=existing.pk).exists() and not Edge.objects.filter(pk=edge.pk).exists()


def test_a_declaration_raises_the_suppliers_inherited_risk_at_commit(
    world, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _add(client_for(world.supplier1), world)
    factors = {f["name"]: f for f in SupplierRisk.objects.get(supplier=world.s1).factors}
    assert factors["inherited"]["params"]["unrated"] is True
    assert factors["inherited"]["params"]["key"] == "S1-SUB-1"


# --- queries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["portal", "registry"])
def test_pages_take_the_same_queries_whatever_the_number_of_declarations(
    world, client_for, django_assert_num_queries, page
):
    first = _declared(world)
    _declared(world, name="孫請け", via=first)
    client = client_for(world.supplier1 if page == "portal" else world.analyst)
    url = _list(world) if page == "portal" else reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=chain"
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(6):
        _declared(world, name=f"外注{n}", via=first if n % 2 else None)
    with django_assert_num_queries(len(few)):
        client.get(url)
    # Portal: session, user, the supplier, the declared nodes, the declared edges, the contact's
    # role (memberships, contacts) and the page frame's two. Registry: the supplier page's own + 2.
    assert len(few) == 9


def test_sub_subcontractors_are_listed_after_the_one_they_go_through(world):
    first = _declared(world, name="一次")
    _declared(world, name="別の一次")
    _declared(world, name="二次", via=first)
    assert [row.node.name for row in portal.declarations(world.supplier1, world.s1)] == [
        "一次",
        "二次",
        "別の一次",
    ]
