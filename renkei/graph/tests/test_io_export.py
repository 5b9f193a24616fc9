"""Exporting the map: the import format, registry included, and a round trip that changes nothing."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.graph import services
from renkei.graph.io import import_files
from renkei.graph.io.exporter import map_rows
from renkei.graph.models import Edge, Node
from renkei.suppliers.models import Supplier

CLI = Actor.cli()


def build_map(world) -> None:
    """A small seed-001-like chain plus awkward values: formula-like text, a list, Japanese."""
    buyer = world.buyer.pk
    child = Supplier.objects.create(
        organization=world.buyer,
        code="S1-1",
        name="東海精密の子会社",
        tier=2,
        subcontracted_by=world.s1,
        country="TH",
    )
    Supplier.objects.create(organization=world.buyer, code="R9", name="選定で却下", status="rejected")
    services.create_node(CLI, buyer, key="P1", kind="site", name="第一工場", attributes={"country": "JP"})
    services.create_node(
        CLI,
        buyer,
        key="SYS",
        kind="system",
        name="=生産管理 (見積)",
        attributes={"owner": "+情報システム部", "memo": "C:\\share\\a;b"},
    )
    services.create_node(
        CLI,
        buyer,
        key="D1",
        kind="data",
        name="顧客DB",
        attributes={"records": 25000, "classes": ["個人情報", "顧客情報"]},
    )
    services.create_edge(
        CLI, buyer, source="S1", target="P1", kind="supplies", attributes={"single_source": True}
    )
    services.create_edge(CLI, buyer, source="S1-1", target="S1", kind="network")
    services.create_edge(
        CLI,
        buyer,
        source="S1",
        target="SYS",
        kind="accesses",
        attributes={"method": "vpn", "privilege": "admin"},
    )
    services.create_edge(CLI, buyer, source="SYS", target="D1", kind="hosts_data")
    services.create_edge(CLI, buyer, source="P1", target="SYS", kind="depends_on")
    assert child.pk


def export(slug: str, directory, fmt: str = "csv") -> dict:
    out = io.StringIO()
    call_command(
        "graph", "export", str(directory), "--organization", slug, "--format", fmt, "--json", stdout=out
    )
    return json.loads(out.getvalue())


def test_export_includes_registry_suppliers_and_their_subcontracting(world):
    build_map(world)
    nodes, edges = map_rows(world.buyer.pk)
    by_id = {n["id"]: n for n in nodes}
    # S1 and S1-1 have Node rows (edges named them); S2 is a registry supplier without one.
    assert by_id["S2"] == {
        "id": "S2",
        "kind": "supplier",
        "name": "北陸物流株式会社",
        "tier": 1,
        "country": "JP",
    }
    assert by_id["S1-1"]["country"] == "TH" and "R9" not in by_id
    assert {"source": "S1", "target": "S1-1", "kind": "subcontracts"} in edges
    assert [n["id"] for n in nodes] == sorted(by_id)
    assert [(e["source"], e["target"], e["kind"]) for e in edges] == sorted(
        (e["source"], e["target"], e["kind"]) for e in edges
    )


def test_csv_export_is_excel_ready(world, tmp_path):
    build_map(world)
    data = export("buyer", tmp_path)
    assert data["nodes"] == 6 and data["edges"] == 6
    raw = (tmp_path / "nodes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["id", "kind", "name", "tier", "country", "records", "classes", "memo", "owner"]
    sys_row = dict(zip(rows[0], next(r for r in rows if r[0] == "SYS"), strict=True))
    # Cells a spreadsheet would run as formulas are neutralised; the import takes the quote off.
    assert sys_row["name"] == "'=生産管理 (見積)" and sys_row["owner"] == "'+情報システム部"
    d1 = dict(zip(rows[0], next(r for r in rows if r[0] == "D1"), strict=True))
    assert d1["records"] == "25000" and d1["classes"] == "個人情報;顧客情報"
    edge_rows = list(csv.reader(io.StringIO((tmp_path / "edges.csv").read_text("utf-8-sig"))))
    assert edge_rows[0] == ["source", "target", "kind", "single_source", "method", "privilege"]
    assert ["S1", "P1", "supplies", "true", "", ""] in edge_rows


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_import_into_a_fresh_organization_and_export_again_gives_identical_files(world, tmp_path, fmt):
    build_map(world)
    first, second = tmp_path / "first", tmp_path / "second"
    export("buyer", first, fmt)
    fresh = Organization.objects.create(name="新設", name_en="Fresh", slug="fresh")
    paths = [first / "map.json"] if fmt == "json" else [first / "nodes.csv", first / "edges.csv"]
    result = import_files(fresh, *paths)
    assert result.ok, result.errors
    assert result.nodes.created == 6 and result.edges.created == 6
    export("fresh", second, fmt)
    names = ["map.json"] if fmt == "json" else ["nodes.csv", "edges.csv"]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert Node.objects.get(organization=fresh, key="SYS").name == "=生産管理 (見積)"
    assert Node.objects.get(organization=fresh, key="SYS").attributes["memo"] == "C:\\share\\a;b"


def test_export_reimported_into_the_same_organization_changes_nothing(world, tmp_path):
    build_map(world)
    export("buyer", tmp_path)
    version = services.current_version(world.buyer.pk)
    result = import_files(world.buyer, tmp_path / "nodes.csv", tmp_path / "edges.csv")
    # The registry supplier without a row and the registry link become rows; nothing else moves.
    assert result.nodes.updated == 0 and result.edges.updated == 0
    assert result.nodes.created == 1 and result.edges.created == 1
    assert result.version == version + 1
    again = import_files(world.buyer, tmp_path / "nodes.csv", tmp_path / "edges.csv")
    assert again.nodes.created == again.nodes.updated == again.edges.created == again.edges.updated == 0
    assert Edge.objects.filter(organization=world.buyer, kind="subcontracts").count() == 1


def test_export_of_an_empty_map_writes_headers_only(world, tmp_path):
    Supplier.objects.filter(organization=world.other).delete()
    export("other", tmp_path)
    assert (tmp_path / "nodes.csv").read_bytes() == b"\xef\xbb\xbfid,kind,name\r\n"
    assert (tmp_path / "edges.csv").read_bytes() == b"\xef\xbb\xbfsource,target,kind\r\n"
    export("other", tmp_path, "json")
    assert json.loads((tmp_path / "map.json").read_text()) == {"nodes": [], "edges": []}


def test_export_needs_a_directory_and_a_role_that_may_view(world, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("graph", "export", str(target), "--organization", "buyer", "--lang", "en")
    with pytest.raises(CommandError, match="may not"):
        call_command(
            "graph",
            "export",
            str(tmp_path / "out"),
            "--organization",
            "buyer",
            "--as",
            "outsider",
            "--lang",
            "en",
        )
    out = io.StringIO()
    call_command(
        "graph",
        "export",
        str(tmp_path / "out"),
        "--organization",
        "buyer",
        "--as",
        "auditor",
        "--lang",
        "en",
        stdout=out,
    )
    assert "Wrote 2 nodes and 0 edges" in out.getvalue()
