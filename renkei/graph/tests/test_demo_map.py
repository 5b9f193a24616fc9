"""The demo map (issue 5, item 7): the seed 001 chain, and what the analyses say about it."""

import pytest

from renkei.accounts.models import Organization
from renkei.core.demo import ORG_SLUG, build_demo
from renkei.graph.choices import EdgeKind, Origin
from renkei.graph.concentration import concentration
from renkei.graph.demo import PARENT, SUBSIDIARY
from renkei.graph.engine import impact, load_graph
from renkei.graph.models import Edge, MapVersion, Node

PLANTS = {"SITE-HQ", "SITE-KYUSHU", "SITE-HANOI", "SITE-THAI"}


@pytest.fixture
def demo_org(db):
    build_demo()
    return Organization.objects.get(slug=ORG_SLUG)


def test_the_subsidiary_is_declared_by_its_parent_in_the_portal(demo_org):
    node = Node.objects.get(organization=demo_org, name=SUBSIDIARY)
    assert node.origin == Origin.PORTAL
    assert node.declared_by.code == PARENT
    assert node.key.startswith(f"{PARENT}-SUB-")
    assert Edge.objects.filter(source__key=PARENT, target=node, kind=EdgeKind.SUBCONTRACTS).exists()
    vpn = Edge.objects.get(source=node, target__key=PARENT, kind=EdgeKind.ACCESSES)
    assert vpn.attributes["method"] == "vpn"


def test_the_impact_of_the_subsidiary_stops_every_plant(demo_org):
    node = Node.objects.get(organization=demo_org, name=SUBSIDIARY)
    result = impact(load_graph(demo_org.pk), node.key)
    reached = {r.id: r for r in result.reached}
    assert reached[PARENT].via == "compromise" and reached[PARENT].hops == 1
    assert reached["SYS-MES"].effect == "compromised"
    assert reached["DATA-PLAN"].effect == "compromised"
    for plant in PLANTS:
        assert reached[plant].effect == "stops", plant
        assert result.path(reached[plant].index) == [node.key, PARENT, plant]
    assert reached["PROD-MC"].effect == "stops"
    # The plants stop before anything of lower severity is listed.
    severities = [r.severity for r in result.reached]
    assert severities == sorted(severities, reverse=True)


def test_the_analyses_find_the_single_source_the_msp_and_the_broad_access(demo_org):
    graph = load_graph(demo_org.pk)
    found = concentration(graph).to_json()
    assert PARENT in {row["id"] for row in found["single_points"]}
    shared = {row["id"]: row for row in found["shared_parties"]}
    assert "NTH-MSP" in shared
    broad = {row["id"] for row in found["broad_access"]}
    assert "S-5001" in broad


def test_building_the_demo_again_changes_no_map_row(demo_org):
    nodes = list(Node.objects.order_by("key").values_list("key", "name", "attributes"))
    edges = Edge.objects.count()
    version = MapVersion.objects.get(organization=demo_org).version
    build_demo()
    assert list(Node.objects.order_by("key").values_list("key", "name", "attributes")) == nodes
    assert Edge.objects.count() == edges
    assert MapVersion.objects.get(organization=demo_org).version == version
