"""`renkei graph impact` and `renkei graph spof`: the JSON contracts of issue 5."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from renkei.graph import engine
from renkei.graph.models import Edge, Node


@pytest.fixture
def chain(world):
    buyer = world.buyer
    sub = Node.objects.create(organization=buyer, key="SUB", kind="supplier", name="東海精密テクノ")
    s1 = Node.objects.create(organization=buyer, key="S1", kind="supplier", name="東海精密部品",
                             supplier=world.s1)
    mes = Node.objects.create(organization=buyer, key="MES", kind="system", name="生産管理システム")
    plant = Node.objects.create(organization=buyer, key="PLANT", kind="site", name="本社工場")
    Edge.objects.create(organization=buyer, source=sub, target=s1, kind="accesses")
    Edge.objects.create(organization=buyer, source=s1, target=mes, kind="accesses")
    Edge.objects.create(organization=buyer, source=plant, target=s1, kind="depends_on")
    engine.forget()


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command("graph", *args, "--organization", "buyer", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_impact_json_is_the_documented_shape(chain):
    data = run("impact", "SUB")
    assert data["node"] == "SUB"
    assert {entry["id"] for entry in data["reached"]} == {"S1", "MES", "PLANT"}
    for entry in data["reached"]:
        assert set(entry) == {"id", "kind", "name", "hops", "via", "path"}
    plant = next(e for e in data["reached"] if e["id"] == "PLANT")
    assert (plant["via"], plant["hops"], plant["path"]) == ("outage", 2, ["SUB", "S1", "PLANT"])
    assert data["reached"][0]["id"] == "PLANT"  # most severe first
    outage = run("impact", "S1", "--mode", "outage")
    assert [e["id"] for e in outage["reached"]] == ["PLANT"]


def test_impact_of_an_unknown_node_is_an_error(chain):
    with pytest.raises(CommandError, match="NOPE"):
        run("impact", "NOPE")


def test_spof_json_lists_the_single_point(chain):
    data = run("spof")
    assert set(data) == {"single_points", "shared_parties", "broad_access"}
    assert data["single_points"] == [
        {"id": "S1", "kind": "supplier", "name": "東海精密部品", "halts": ["PLANT"], "count": 1}]
