"""Importing a big map: the bulk path (keys and indexes built once) and the column-by-column checks."""

from __future__ import annotations

import pytest

from renkei.audit.services import Actor
from renkei.graph import services
from renkei.graph.models import Edge, Node
from renkei.graph.tests.test_io import EDGES, edge_keys, load, refused
from renkei.suppliers.models import Supplier

# --- the bulk path: keys and indexes built once --------------------------------------------------------


@pytest.fixture
def bulk_path(monkeypatch):
    """Every load goes through rebuild.rebuilt_once, however small; returns the tables it rebuilt."""
    from renkei.graph.io import rebuild, writer

    monkeypatch.setattr(rebuild, "MIN_ROWS", 1)
    monkeypatch.setattr(rebuild, "MAX_TABLE_RATIO", 10**9)
    rebuilt: list[str] = []

    def recording(model):
        rebuilt.append(model._meta.db_table)
        return rebuild.rebuilt_once(model)

    monkeypatch.setattr(writer, "rebuilt_once", recording)
    return rebuilt


def schema(table: str) -> list[tuple]:
    """TABLE's constraints and indexes as the database defines them."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT conname, contype, pg_get_constraintdef(oid), convalidated, condeferrable, "
                "condeferred FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY conname",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisunique, indisprimary, "
                "indisvalid FROM pg_index WHERE indrelid = %s::regclass ORDER BY 1",
                [table],
            )
            return constraints + cursor.fetchall()
        cursor.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s ORDER BY name", [table])
        return cursor.fetchall()


def index_objects(table: str) -> dict[str, int]:
    """PostgreSQL: each index's object id, new when the index is built again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, indexrelid::bigint FROM pg_index "
            "WHERE indrelid = %s::regclass",
            [table],
        )
        return dict(cursor.fetchall())


def foreign_keys() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'graph_edge'::regclass AND contype = 'f' ORDER BY conname"
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_bulk_import_writes_the_same_rows_and_restores_keys_and_indexes_exactly(world, tmp_path, bulk_path):
    from django.db import connection

    tables = ("graph_edge", "graph_node")
    before = {table: schema(table) for table in tables}
    objects = index_objects("graph_edge") if connection.vendor == "postgresql" else {}
    edges = EDGES.replace("SYS,D1,hosts_data,,,", "SYS,D1,hosts_data,,,\nT2,P1,supplies,false,,")
    result = load(world.buyer, tmp_path, edges=edges)
    assert result.ok, result.errors
    assert bulk_path == ["graph_edge"]
    assert result.nodes.created == 5 and result.edges.created == 6
    assert ("T2", "SYS", "accesses") in edge_keys(world.buyer)
    access = Edge.objects.get(source__key="T2", kind="accesses")
    assert access.attributes == {"method": "vpn", "privilege": "admin"}
    assert Edge.objects.get(source__key="T2", kind="supplies").attributes == {"single_source": False}
    assert Node.objects.get(key="D1").attributes == {"records": 1200, "classes": ["個人情報", "顧客情報"]}
    for table in tables:
        assert schema(table) == before[table]
    if connection.vendor == "postgresql":
        keys = foreign_keys()
        assert len(keys) == 4 and all("DEFERRABLE INITIALLY DEFERRED" in key for key in keys)
        # The plain indexes were dropped and built again; the key and unique indexes stayed.
        kept = {name for name, oid in index_objects("graph_edge").items() if objects[name] == oid}
        assert kept == {"graph_edge_pkey", "graph_edge_unique"}


def test_a_failure_inside_the_bulk_block_rolls_the_dropped_indexes_back(world):
    from django.db import transaction

    from renkei.graph.io.rebuild import rebuilt_once

    before = schema("graph_edge")
    with transaction.atomic():
        try:
            with rebuilt_once(Edge):
                assert schema("graph_edge") != before  # dropped inside the block
                raise ValueError("a row could not be written")
        except ValueError:
            pass  # caught: the transaction must still not keep the table without its indexes
    assert schema("graph_edge") == before


def test_a_bulk_load_of_edges_with_awkward_attribute_text_stores_it_exactly(world, tmp_path, bulk_path):
    note = 'a "quoted" \\ back\\slash, {braces}, tab\tand\nnewline 日本語'
    cell = '"' + note.replace('"', '""') + '"'
    edges = f"source,target,kind,note\nS1,P1,supplies,{cell}\nS2,P1,supplies,\n"
    result = load(world.buyer, tmp_path, "id,kind,name\nP1,site,工場\n", edges)
    assert result.ok, result.errors
    assert Edge.objects.get(source__key="S1").attributes == {"note": note}
    assert Edge.objects.get(source__key="S2").attributes == {}


def test_the_bulk_path_still_refuses_an_edge_to_a_missing_node(world):
    from django.db import IntegrityError, connection, transaction

    from renkei.graph.io.rebuild import rebuilt_once

    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps its foreign keys checked per row")
    before = schema("graph_edge")
    node = services.create_node(Actor.cli(), world.buyer.pk, key="A", kind="supplier", name="甲")
    with pytest.raises(IntegrityError), transaction.atomic(), rebuilt_once(Edge):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO graph_edge (organization_id, source_id, target_id, kind, attributes, origin,"
                " created_at, updated_at) VALUES (%s, %s, %s, 'network', '{}', 'import', now(), now())",
                [world.buyer.pk, node.pk, node.pk + 10_000],
            )
    assert schema("graph_edge") == before
    assert not Edge.objects.exists()


def test_only_a_big_load_into_a_table_it_is_a_large_part_of_is_rebuilt(world, monkeypatch):
    from renkei.graph.io import rebuild

    assert not rebuild.worth_rebuilding(Edge, rebuild.MIN_ROWS - 1)
    assert rebuild.worth_rebuilding(Edge, rebuild.MIN_ROWS)  # into an (almost) empty table
    monkeypatch.setattr(rebuild, "_table_rows", lambda model: 10 * rebuild.MIN_ROWS)
    assert not rebuild.worth_rebuilding(Edge, rebuild.MIN_ROWS)
    assert rebuild.worth_rebuilding(Edge, 5 * rebuild.MIN_ROWS)


# --- errors are listed row by row, whichever check finds them ---------------------------------------------


def test_edge_errors_come_in_row_order_whatever_finds_them(world, tmp_path):
    edges = (
        "source,target,kind,single_source\n"
        "S1,P1,supplies,maybe\n"  # 2: attribute
        "GHOST,S1,owns,\n"  # 3: source, then kind
        "S1,P1,supplies,true,extra\n"  # 4: too many cells
        "S2,S2,subcontracts,\n"  # 5: self-loop
        "\n"  # 6: blank
        "P1,S1,network,true\n"  # 7: attribute of supplies only
        "S1,NOBODY,depends_on,\n"  # 8: target
        "D1,S1,supplies,\n"  # 9: ends
        "S1,P1,supplies,\n"  # 10: duplicate of line 2, reported last
    )
    errors = refused(world.buyer, tmp_path, "id,kind,name\nP1,site,工場\nD1,data,台帳\n", edges)
    assert [(line, column) for _f, line, column, _r in errors] == [
        (2, "single_source"),
        (3, "source"),
        (3, "kind"),
        (4, "column 5"),
        (5, "target"),
        (7, "single_source"),
        (8, "target"),
        (9, "kind"),
        (10, "kind"),
    ]
    assert "line 2" in errors[-1][3]


def test_registry_suppliers_named_by_edges_become_nodes_in_the_order_first_named(world, tmp_path):
    Supplier.objects.create(organization=world.buyer, code="R9", name="登録九", tier=3)
    edges = "source,target,kind\nR9,P1,supplies\nS2,P1,supplies\nS1,R9,subcontracts\n"
    result = load(world.buyer, tmp_path, "id,kind,name\nP1,site,工場\n", edges)
    assert result.ok, result.errors
    keys = list(Node.objects.filter(organization=world.buyer).order_by("pk").values_list("key", flat=True))
    assert keys == ["P1", "R9", "S2", "S1"]
