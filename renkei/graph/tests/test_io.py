"""Importing the map (docs/graph-format.md): CSV and JSON, every bad input of issue 5, all or nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.graph import services
from renkei.graph.choices import Origin
from renkei.graph.io import import_files, import_map, read_csv, read_json
from renkei.graph.io.importer import ERROR_CAP
from renkei.graph.models import Edge, Node
from renkei.suppliers.models import Supplier

NODES = """id,kind,name,tier,records,classes,owner
P1,site,第一工場,,,,生産本部
SYS,system,生産管理システム,,,,情報システム部
D1,data,顧客データベース,,1200,個人情報;顧客情報,
T2,supplier,関東精工株式会社,2,,,
"""
EDGES = """source,target,kind,single_source,method,privilege
S1,P1,supplies,true,,
T2,S1,subcontracts,,,
T2,SYS,accesses,,vpn,admin
SYS,D1,hosts_data,,,
P1,SYS,depends_on,,,
"""


def files(
    tmp_path: Path, nodes: str = NODES, edges: str = EDGES, encoding: str = "utf-8"
) -> tuple[Path, Path]:
    nodes_path, edges_path = tmp_path / "nodes.csv", tmp_path / "edges.csv"
    nodes_path.write_bytes(nodes.encode(encoding))
    edges_path.write_bytes(edges.encode(encoding))
    return nodes_path, edges_path


def load(
    organization, tmp_path: Path, nodes: str = NODES, edges: str = EDGES, encoding: str = "utf-8", **options
):
    paths = files(tmp_path, nodes, edges, encoding)
    return import_files(organization, *paths, Actor.cli(), lang="en", **options)


def state(organization) -> tuple[int, int, int, int]:
    """Rows, version and audit entries: what "nothing written" must leave as it was."""
    return (
        Node.objects.filter(organization=organization).count(),
        Edge.objects.filter(organization=organization).count(),
        services.current_version(organization.pk),
        AuditEntry.objects.filter(organization=organization).count(),
    )


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("graph", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def edge_keys(organization) -> set[tuple[str, str, str]]:
    return set(
        Edge.objects.filter(organization=organization).values_list("source__key", "target__key", "kind")
    )


# --- what a good import writes --------------------------------------------------------------------


def test_import_writes_nodes_edges_typed_attributes_and_links_the_registry(world, tmp_path):
    result = load(world.buyer, tmp_path)
    assert result.ok, result.errors
    # Five listed... four in the file and S1, a registry supplier named by an edge.
    assert result.as_dict() == {
        "nodes": {"created": 5, "updated": 0, "unchanged": 0, "deleted": 0},
        "edges": {"created": 5, "updated": 0, "unchanged": 0, "deleted": 0},
        "version": 1,
    }
    s1 = Node.objects.get(organization=world.buyer, key="S1")
    assert (s1.kind, s1.name, s1.origin, s1.supplier_id) == (
        "supplier",
        world.s1.name,
        Origin.REGISTRY,
        world.s1.pk,
    )
    assert s1.attributes == {"tier": 1, "country": "JP"}
    data = Node.objects.get(organization=world.buyer, key="D1")
    assert data.attributes == {"records": 1200, "classes": ["個人情報", "顧客情報"]}
    assert Node.objects.get(organization=world.buyer, key="P1").attributes == {"owner": "生産本部"}
    assert Node.objects.get(organization=world.buyer, key="T2").supplier is None
    supplies = Edge.objects.get(organization=world.buyer, kind="supplies")
    assert supplies.attributes == {"single_source": True} and supplies.origin == Origin.IMPORT
    assert Edge.objects.get(organization=world.buyer, kind="accesses").attributes == {
        "method": "vpn",
        "privilege": "admin",
    }
    assert not Node.objects.filter(organization=world.other).exists()


def test_a_supplier_node_in_the_file_with_a_registry_code_is_linked(world, tmp_path):
    result = load(world.buyer, tmp_path, "id,kind,name\nS2,supplier,北陸物流\n", "source,target,kind\n")
    assert result.ok
    node = Node.objects.get(organization=world.buyer, key="S2")
    assert node.supplier_id == world.s2.pk and node.origin == Origin.IMPORT


def test_the_same_files_again_change_nothing_and_keep_the_version(world, tmp_path):
    load(world.buyer, tmp_path)
    before = state(world.buyer)
    result = load(world.buyer, tmp_path)
    assert result.as_dict() == {
        "nodes": {"created": 0, "updated": 0, "unchanged": 4, "deleted": 0},
        "edges": {"created": 0, "updated": 0, "unchanged": 5, "deleted": 0},
        "version": 1,
    }
    assert state(world.buyer) == before


def test_one_audit_entry_summarises_the_import(world, tmp_path):
    load(world.buyer, tmp_path)
    entries = AuditEntry.objects.filter(organization=world.buyer)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.object_type == "graph.mapversion" and entry.action == "update"
    assert entry.changes["version"] == [0, 1]
    summary = entry.changes["import"][1]
    assert summary["files"] == ["edges.csv", "nodes.csv"] and summary["replace"] is False
    assert summary["nodes"]["created"] == 5 and summary["edges"]["created"] == 5


def test_merge_updates_by_id_and_by_source_target_kind_and_deletes_nothing(world, tmp_path):
    load(world.buyer, tmp_path)
    result = load(
        world.buyer,
        tmp_path,
        "id,kind,name\nP1,site,第一工場（新）\nP2,site,第二工場\n",
        "source,target,kind,single_source\nS1,P1,supplies,false\nS1,P2,supplies,\n",
    )
    assert result.as_dict()["nodes"] == {"created": 1, "updated": 1, "unchanged": 0, "deleted": 0}
    assert result.as_dict()["edges"] == {"created": 1, "updated": 1, "unchanged": 0, "deleted": 0}
    assert Node.objects.filter(organization=world.buyer).count() == 6
    assert Edge.objects.filter(organization=world.buyer).count() == 6
    assert Edge.objects.get(organization=world.buyer, target__key="P1", kind="supplies").attributes == {
        "single_source": False
    }
    # The file had no owner column: P1 keeps its owner.
    assert Node.objects.get(organization=world.buyer, key="P1").attributes == {"owner": "生産本部"}


def test_an_empty_cell_in_a_present_column_clears_the_attribute(world, tmp_path):
    load(world.buyer, tmp_path)
    load(world.buyer, tmp_path, "id,kind,name,owner\nP1,site,第一工場,\n", "source,target,kind\n")
    assert Node.objects.get(organization=world.buyer, key="P1").attributes == {}


def test_cycles_are_accepted(world, tmp_path):
    edges = (
        "source,target,kind\nA,B,subcontracts\nB,C,subcontracts\nC,A,subcontracts\nA,C,network\nC,A,network\n"
    )
    result = load(world.buyer, tmp_path, "id,kind,name\nA,supplier,甲\nB,supplier,乙\nC,supplier,丙\n", edges)
    assert result.ok and result.edges.created == 5


def test_huge_fan_out_is_accepted(world, tmp_path):
    nodes = "id,kind,name\nMSP,supplier,共通保守ベンダー\n" + "".join(
        f"SYS{i},system,システム{i}\n" for i in range(3000)
    )
    edges = "source,target,kind,method\n" + "".join(f"MSP,SYS{i},accesses,rdp\n" for i in range(3000))
    result = load(world.buyer, tmp_path, nodes, edges)
    assert result.ok and result.edges.created == 3000
    assert Edge.objects.filter(source__key="MSP").count() == 3000


def test_edges_may_name_nodes_already_on_the_map(world, tmp_path):
    load(world.buyer, tmp_path)
    result = load(world.buyer, tmp_path, "id,kind,name\n", "source,target,kind\nS1,SYS,accesses\n")
    assert result.ok and result.edges.created == 1 and result.nodes.created == 0


def test_dry_run_counts_and_writes_nothing(world, tmp_path):
    before = state(world.buyer)
    result = load(world.buyer, tmp_path, dry_run=True)
    assert result.as_dict()["nodes"]["created"] == 5 and result.as_dict()["dry_run"] is True
    assert state(world.buyer) == before


# --- bad input: a clear error at file, line and column, and nothing written ---------------------------


def refused(organization, tmp_path, nodes=NODES, edges=EDGES):
    before = state(organization)
    result = load(organization, tmp_path, nodes, edges)
    assert not result.ok
    assert result.as_dict()["nodes"] == {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
    assert state(organization) == before
    return [(e.file, e.line, e.column, e.reason) for e in result.errors]


def test_one_invalid_row_among_valid_ones_writes_nothing(world, tmp_path):
    load(world.buyer, tmp_path)
    edges = EDGES + "SYS,NOWHERE,accesses,,,\n"
    nodes = NODES + "P9,site,第九工場,,,,\n"
    errors = refused(world.buyer, tmp_path, nodes, edges)
    assert [(f, line, c) for f, line, c, _r in errors] == [("edges.csv", 7, "target")]
    assert "NOWHERE" in errors[0][3]
    assert not Node.objects.filter(key="P9").exists()


def test_unknown_node_ids_are_refused(world, tmp_path):
    errors = refused(world.buyer, tmp_path, edges="source,target,kind\nGHOST,P1,supplies\nX1,P1,supplies\n")
    # X1 is a registry supplier of another organization: unknown here too.
    assert [(line, column) for _f, line, column, _r in errors] == [(2, "source"), (3, "source")]
    assert "GHOST" in errors[0][3] and "registry" in errors[0][3]


def test_unknown_kinds_are_refused(world, tmp_path):
    errors = refused(
        world.buyer, tmp_path, "id,kind,name\nP1,factory,工場\n", "source,target,kind\nS1,S2,owns\n"
    )
    assert [(f, line, column) for f, line, column, _r in errors] == [
        ("nodes.csv", 2, "kind"),
        ("edges.csv", 2, "kind"),
    ]
    assert "factory" in errors[0][3] and "site" in errors[0][3]
    assert "owns" in errors[1][3] and "subcontracts" in errors[1][3]


def test_self_loops_are_refused(world, tmp_path):
    errors = refused(world.buyer, tmp_path, edges="source,target,kind\nS1,S1,subcontracts\n")
    assert errors == [("edges.csv", 2, "target", "An edge cannot join a node to itself.")]


def test_duplicate_edges_are_refused_naming_the_first(world, tmp_path):
    edges = "source,target,kind\nS1,S2,subcontracts\nS1,S2,network\n\nS1,S2,subcontracts\n"
    errors = refused(world.buyer, tmp_path, "id,kind,name\n", edges)
    assert [(line, column) for _f, line, column, _r in errors] == [(5, "kind")]
    assert "S1 → S2 (subcontracts)" in errors[0][3] and "line 2" in errors[0][3]


def test_duplicate_node_ids_are_refused(world, tmp_path):
    errors = refused(world.buyer, tmp_path, "id,kind,name\nP1,site,甲\nP1,site,乙\n", "source,target,kind\n")
    assert errors == [("nodes.csv", 3, "id", "The id “P1” is also at line 2.")]


def test_missing_columns_and_swapped_files_are_explained(world, tmp_path):
    errors = refused(world.buyer, tmp_path, "source,target,kind\nS1,S2,subcontracts\n", "id,kind,name\n")
    columns = [(f, line, c) for f, line, c, _r in errors]
    assert ("nodes.csv", 1, "id") in columns and ("nodes.csv", 1, "name") in columns
    assert ("edges.csv", 1, "source") in columns
    assert any("edges file" in reason for *_x, reason in errors)


@pytest.mark.parametrize(
    ("nodes", "column", "fragment"),
    [
        ("id,kind,name,records\nD,data,台帳,-5\n", "records", "-5"),
        ("id,kind,name,tier\nT,supplier,甲,12\n", "tier", "1 to 9"),
        ("id,kind,name,country\nT,supplier,甲,Atlantis\n", "country", "Atlantis"),
        ("id,kind,name,records\nT,supplier,甲,10\n", "records", "data only"),
        ("id,kind,name\nT,supplier,\n", "name", "name"),
        ("id,kind,name\n" + "x" * 101 + ",site,長い\n", "id", "100"),
        ('id,kind,name\n"A\tB",site,タブ\n', "id", "control character"),
    ],
)
def test_bad_node_cells_are_refused_at_their_column(world, tmp_path, nodes, column, fragment):
    errors = refused(world.buyer, tmp_path, nodes, "source,target,kind\n")
    assert [(f, line, c) for f, line, c, _r in errors] == [("nodes.csv", 2, column)]
    assert fragment in errors[0][3]


@pytest.mark.parametrize(
    ("edges", "column", "fragment"),
    [
        ("source,target,kind,single_source\nS1,S2,supplies,maybe\n", "single_source", "maybe"),
        ("source,target,kind,method\nS1,S2,accesses,telnet\n", "method", "vpn"),
        ("source,target,kind,privilege\nS1,S2,accesses,root\n", "privilege", "admin"),
        ("source,target,kind,single_source\nS1,S2,subcontracts,true\n", "single_source", "supplies only"),
        ("source,target,kind\nS1,S2,hosts_data\n", "kind", "data"),
        ("source,target,kind\nD,S1,depends_on\n", "kind", "starts at"),
        ("source,target,kind\nS1,D,accesses\n", "kind", "ends at"),
    ],
)
def test_bad_edge_cells_are_refused_at_their_column(world, tmp_path, edges, column, fragment):
    errors = refused(world.buyer, tmp_path, "id,kind,name\nD,data,台帳\n", edges)
    assert [(f, line, c) for f, line, c, _r in errors] == [("edges.csv", 2, column)]
    assert fragment in errors[0][3]


def test_single_source_reads_japanese_and_excel_spellings(world, tmp_path):
    edges = "source,target,kind,single_source\nS1,P1,supplies,はい\nS2,P1,supplies,FALSE\nS1,P2,supplies,1\n"
    load(world.buyer, tmp_path, "id,kind,name\nP1,site,甲\nP2,site,乙\n", edges)
    values = dict(Edge.objects.filter(organization=world.buyer).values_list("source__key", "attributes"))
    assert values["S2"] == {"single_source": False}
    assert {
        tuple(a.items()) for a in Edge.objects.filter(source__key="S1").values_list("attributes", flat=True)
    } == {(("single_source", True),)}


def test_a_registry_code_must_be_a_supplier_node(world, tmp_path):
    errors = refused(world.buyer, tmp_path, "id,kind,name\nS1,system,誤り\n", "source,target,kind\n")
    assert [(line, column) for _f, line, column, _r in errors] == [(2, "kind")]
    assert world.s1.name in errors[0][3]


def test_changing_a_kind_that_breaks_an_edge_on_the_map_is_refused(world, tmp_path):
    load(world.buyer, tmp_path)
    errors = refused(world.buyer, tmp_path, "id,kind,name\nD1,site,元データ\n", "source,target,kind\n")
    assert [(f, line, c) for f, line, c, _r in errors] == [("nodes.csv", 2, "kind")]
    assert "SYS → D1 (hosts_data)" in errors[0][3]


def test_errors_are_capped_and_counted(world, tmp_path):
    edges = "source,target,kind\n" + "".join(f"S1,GHOST{i},supplies\n" for i in range(ERROR_CAP + 50))
    result = load(world.buyer, tmp_path, "id,kind,name\n", edges)
    assert len(result.errors) == ERROR_CAP and result.error_count == ERROR_CAP + 50


def test_more_cells_than_headers_and_values_under_an_empty_header(world, tmp_path):
    errors = refused(world.buyer, tmp_path, "id,kind,name\nP1,site,甲,余計\n", "source,target,kind\n")
    assert [(f, line, c) for f, line, c, _r in errors] == [("nodes.csv", 2, "column 4")]
    errors = refused(world.buyer, tmp_path, "id,kind,name\n", "source,target,kind,\nS1,S2,network,x\n")
    assert [(f, line, c) for f, line, c, _r in errors] == [("edges.csv", 1, "column 4")]


# --- files: encodings, limits, JSON -------------------------------------------------------------------


def test_shift_jis_files_from_japanese_excel(world, tmp_path):
    result = load(world.buyer, tmp_path, NODES.replace("\n", "\r\n"), EDGES, encoding="cp932")
    assert result.ok
    assert Node.objects.get(organization=world.buyer, key="D1").attributes["classes"] == [
        "個人情報",
        "顧客情報",
    ]


def test_utf8_with_bom(world, tmp_path):
    result = load(world.buyer, tmp_path, "\ufeff" + NODES, "\ufeff" + EDGES)
    assert result.ok and Node.objects.filter(organization=world.buyer, key="P1").exists()


def test_undecodable_bytes_are_refused_before_any_row(world, tmp_path):
    nodes_path, edges_path = files(tmp_path)
    edges_path.write_bytes(b"source,target,kind\n\x81\xff\xfe,P1,supplies\n")
    before = state(world.buyer)
    result = import_files(world.buyer, nodes_path, edges_path, lang="en")
    assert [(e.file, e.column) for e in result.errors] == [("edges.csv", "")]
    assert "encoding" in result.errors[0].reason and state(world.buyer) == before


def test_nul_bytes_and_broken_quotes_are_refused(world, tmp_path):
    nodes_path, edges_path = files(tmp_path)
    nodes_path.write_bytes(b"id,kind,name\nP1,site,\x00\n")
    assert "NUL" in import_files(world.buyer, nodes_path, edges_path, lang="en").errors[0].reason
    nodes_path.write_bytes('id,kind,name\nP1,site,"甲\n'.encode())
    assert "malformed" in import_files(world.buyer, nodes_path, edges_path, lang="en").errors[0].reason


def test_too_many_rows_and_too_many_bytes_are_refused(world, tmp_path, settings):
    settings.RENKEI_GRAPH_MAX_ROWS = 4  # the nodes file has 4 rows, the edges file 5
    result = load(world.buyer, tmp_path)
    assert result.errors[0].file == "edges.csv" and "Too many rows" in result.errors[0].reason
    settings.RENKEI_GRAPH_MAX_ROWS = 100
    settings.RENKEI_GRAPH_MAX_MB = 0
    result = load(world.buyer, tmp_path)
    assert result.errors[0].file == "nodes.csv" and "too large" in result.errors[0].reason
    assert state(world.buyer)[:2] == (0, 0)


def test_json_map_imports_like_csv(world, tmp_path):
    path = tmp_path / "map.json"
    path.write_text(
        json.dumps(
            {
                "nodes": [
                    {"id": "D1", "kind": "data", "name": "顧客DB", "records": 5000, "classes": ["個人情報"]},
                    {"id": "SYS", "kind": "system", "name": "基幹"},
                ],
                "edges": [
                    {"source": "SYS", "target": "D1", "kind": "hosts_data"},
                    {"source": "S1", "target": "SYS", "kind": "accesses", "method": "api", "note": 42},
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = import_files(world.buyer, path)
    assert result.ok and result.nodes.created == 3 and result.edges.created == 2
    assert Node.objects.get(key="D1").attributes == {"records": 5000, "classes": ["個人情報"]}
    # An unknown attribute is kept as text.
    assert Edge.objects.get(kind="accesses").attributes == {"method": "api", "note": "42"}


def test_json_errors_name_the_item(world, tmp_path):
    path = tmp_path / "map.json"
    path.write_text(
        json.dumps(
            {
                "nodes": [{"id": "A", "kind": "site"}, "P2"],
                "edges": [{"source": ["A"], "target": "A", "kind": "network"}],
            }
        )
    )
    before = state(world.buyer)
    result = import_files(world.buyer, path, lang="en")
    assert [(e.file, e.line, e.item, e.column) for e in result.errors] == [
        ("map.json", None, "nodes[0]", "name"),
        ("map.json", None, "nodes[1]", ""),
        ("map.json", None, "edges[0]", "source"),
        ("map.json", None, "edges[0]", "target"),
    ]
    assert str(result.errors[0]).startswith("map.json nodes[0]、列 name:")
    assert state(world.buyer) == before


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"nodes": [', "malformed at line 1"),
        ("[1, 2]", "one JSON object"),
        ('{"node": []}', "node"),
        ('{"nodes": {}}', "must be a list"),
    ],
)
def test_broken_json_documents_are_refused(world, tmp_path, text, fragment):
    path = tmp_path / "map.json"
    path.write_text(text)
    result = import_files(world.buyer, path, lang="en")
    assert result.error_count == 1 and fragment in result.errors[0].reason


def test_a_reader_and_import_map_for_the_benchmark(world, tmp_path):
    nodes_path, edges_path = files(tmp_path)
    nodes, edges = read_csv(nodes_path, "nodes"), read_csv(edges_path, "edges")
    assert nodes.headers[:3] == ["id", "kind", "name"] and len(edges.rows) == 5
    result = import_map(world.buyer, nodes, edges, Actor.system("bench"))
    assert result.ok and result.as_json()["edges"]["created"] == 5
    json_path = tmp_path / "map.json"
    json_path.write_text('{"nodes": [], "edges": []}')
    assert [t.section for t in read_json(json_path)] == ["nodes", "edges"]


def test_text_with_backslashes_tabs_and_line_breaks_is_stored_exactly(world, tmp_path):
    nodes = 'id,kind,name,note\nP1,site,C:\\工場\\第一,"一行目\n\t二行目 \\N"\n'
    load(world.buyer, tmp_path, nodes, "source,target,kind\n")
    node = Node.objects.get(organization=world.buyer, key="P1")
    assert node.name == "C:\\工場\\第一" and node.attributes == {"note": "一行目\n\t二行目 \\N"}


# --- replace ---------------------------------------------------------------------------------------


def test_replace_deletes_imported_rows_absent_from_the_files_and_keeps_the_others(world, tmp_path):
    load(world.buyer, tmp_path)
    actor = Actor.cli()
    services.create_node(actor, world.buyer.pk, key="HAND", kind="site", name="手入力の拠点")
    services.create_edge(actor, world.buyer.pk, source="HAND", target="SYS", kind="depends_on")
    services.create_node(
        Actor(user=world.supplier1),
        world.buyer.pk,
        key="S1-SUB-1",
        kind="supplier",
        name="申告された再委託先",
        declared_by=world.s1,
    )
    result = load(
        world.buyer,
        tmp_path,
        "id,kind,name\nP1,site,第一工場\n",
        "source,target,kind\nS1,P1,supplies\n",
        replace=True,
    )
    assert result.as_dict()["nodes"] == {"created": 0, "updated": 0, "unchanged": 1, "deleted": 2}
    assert result.as_dict()["edges"] == {"created": 0, "updated": 0, "unchanged": 1, "deleted": 4}
    keys = set(Node.objects.filter(organization=world.buyer).values_list("key", flat=True))
    # D1 and T2 went; SYS is kept for the hand-entered edge that uses it; S1 is the registry's.
    assert keys == {"P1", "S1", "SYS", "HAND", "S1-SUB-1"}
    assert edge_keys(world.buyer) == {("S1", "P1", "supplies"), ("HAND", "SYS", "depends_on")}
    summary = AuditEntry.objects.filter(object_type="graph.mapversion").order_by("sequence").last()
    assert summary.changes["import"][1]["replace"] is True


def test_without_replace_nothing_is_deleted(world, tmp_path):
    load(world.buyer, tmp_path)
    result = load(world.buyer, tmp_path, "id,kind,name\n", "source,target,kind\n")
    assert result.ok and state(world.buyer)[:2] == (5, 5)


# --- the command ---------------------------------------------------------------------------------------


def test_command_json_output_has_exactly_the_documented_shape(world, tmp_path):
    nodes_path, edges_path = files(tmp_path)
    out, err = command("import", str(nodes_path), str(edges_path), "--organization", "buyer", "--json")
    assert json.loads(out) == {
        "nodes": {"created": 5, "updated": 0, "unchanged": 0, "deleted": 0},
        "edges": {"created": 5, "updated": 0, "unchanged": 0, "deleted": 0},
        "version": 1,
    }
    assert err == ""


def test_command_errors_give_json_text_on_stderr_and_a_failing_exit(world, tmp_path):
    nodes_path, edges_path = files(tmp_path, edges="source,target,kind\nS1,S1,subcontracts\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "graph",
            "import",
            str(nodes_path),
            str(edges_path),
            "--organization",
            "buyer",
            "--json",
            "--lang",
            "en",
            stdout=out,
            stderr=err,
        )
    assert json.loads(out.getvalue()) == {
        "errors": [
            {
                "file": "edges.csv",
                "line": 2,
                "item": None,
                "column": "target",
                "message": "An edge cannot join a node to itself.",
            }
        ],
        "error_count": 1,
    }
    assert "edges.csv line 2, column target: An edge cannot join a node to itself." in err.getvalue()
    assert state(world.buyer)[:2] == (0, 0)


def test_command_takes_one_json_file_and_replace(world, tmp_path):
    path = tmp_path / "map.json"
    path.write_text('{"nodes": [{"id": "P1", "kind": "site", "name": "第一工場"}]}', encoding="utf-8")
    out, _err = command("import", str(path), "--organization", "buyer", "--replace", "--json")
    assert json.loads(out)["nodes"]["created"] == 1


def test_command_refuses_a_user_whose_role_may_not_change_the_map(world, tmp_path):
    nodes_path, edges_path = files(tmp_path)
    with pytest.raises(CommandError, match="may not"):
        command(
            "import",
            str(nodes_path),
            str(edges_path),
            "--organization",
            "buyer",
            "--as",
            "auditor",
            "--lang",
            "en",
        )
    out, _err = command(
        "import", str(nodes_path), str(edges_path), "--organization", "buyer", "--as", "analyst", "--json"
    )
    entry = AuditEntry.objects.get(object_type="graph.mapversion")
    assert json.loads(out)["version"] == 1 and entry.actor == world.analyst


def test_command_needs_the_organization_when_there_are_several(world, tmp_path):
    nodes_path, edges_path = files(tmp_path)
    with pytest.raises(CommandError, match="several organizations"):
        command("import", str(nodes_path), str(edges_path), "--lang", "en")
    with pytest.raises(CommandError, match="File not found"):
        command("import", str(tmp_path / "none.csv"), str(edges_path), "--lang", "en")


def test_registry_suppliers_stay_untouched(world, tmp_path):
    load(world.buyer, tmp_path)
    assert list(Supplier.objects.filter(organization=world.buyer).values_list("code", "tier")) == [
        ("S1", 1),
        ("S2", 1),
    ]


def test_the_documented_example_imports(world, tmp_path):
    text = (Path(__file__).resolve().parents[3] / "docs" / "graph-format.md").read_text(encoding="utf-8")
    blocks = text.split("```")
    nodes = next(b for b in blocks if b.startswith("\nid,kind,name")).lstrip("\n")
    edges = next(b for b in blocks if b.startswith("\nsource,target,kind")).lstrip("\n")
    result = load(world.buyer, tmp_path, nodes, edges)
    assert result.ok, result.errors
    assert (result.nodes.created, result.edges.created) == (7, 7)


def test_an_attribute_of_the_other_side_is_refused_at_the_header(world, tmp_path):
    errors = refused(world.buyer, tmp_path, "id,kind,name,method\n", "source,target,kind,Tier\n")
    assert [(f, line, c) for f, line, c, _r in errors] == [
        ("nodes.csv", 1, "method"),
        ("edges.csv", 1, "Tier"),
    ]
    assert errors[1][3] == "tier is an attribute of nodes, not of edges."
