"""Writing a checked import plan: set-based, then one version bump and one audit entry.

Called by the importer inside its transaction, after every row has been checked; a failure here
rolls the whole import back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, models
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many
from renkei.graph.choices import EdgeKind, Origin
from renkei.graph.io.bulk import (
    JsonTexts,
    copy_numbers,
    copy_rows,
    delete_rows,
    insert_rows,
    json_text,
    quoted_columns,
    timestamp,
    update_rows,
)
from renkei.graph.io.rebuild import rebuilt_once, worth_rebuilding
from renkei.graph.models import Edge, MapVersion, Node

NODE_FIELDS = (
    "organization",
    "key",
    "kind",
    "name",
    "supplier",
    "attributes",
    "origin",
    "created_at",
    "updated_at",
)
NODE_UPDATE_FIELDS = ("kind", "name", "supplier", "attributes", "origin", "updated_at")
EDGE_FIELDS = ("organization", "source", "target", "kind", "attributes", "origin", "created_at", "updated_at")
EDGE_UPDATE_FIELDS = ("attributes", "updated_at")


@dataclass
class Plan:
    """What the import changes; node ends of new edges are indexes into KEYS."""

    organization_id: int
    replace: bool
    files: list[str]
    keys: list[str] = field(default_factory=list)
    existing_pks: list[int] = field(default_factory=list)  # pk of the nodes with index < len(existing_pks)
    new_nodes: list[tuple[str, str, str, int | None, dict, str]] = field(default_factory=list)
    node_updates: list[tuple[int, str, str, int | None, dict, str]] = field(default_factory=list)
    node_deletes: list[int] = field(default_factory=list)
    # New edges: node indexes, kind codes and attribute sets (arrays); set 0 is "no attributes".
    new_src: Any = None
    new_dst: Any = None
    new_kind: Any = None
    new_attr: Any = None
    attr_sets: list[dict] = field(default_factory=lambda: [{}])
    edge_updates: list[tuple[int, dict]] = field(default_factory=list)
    edge_deletes: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.new_nodes
            or self.node_updates
            or self.node_deletes
            or self.edge_count
            or self.edge_updates
            or self.edge_deletes
        )

    @property
    def edge_count(self) -> int:
        return 0 if self.new_src is None else len(self.new_src)


def write_plan(plan: Plan, actor: Actor, result: Any, version_before: int) -> int:
    """Apply PLAN; returns the map version after it (unchanged when the plan changes nothing)."""
    if plan.empty:
        return version_before
    from renkei.graph.services import bump_version

    org = plan.organization_id
    now = timestamp(timezone.now())
    as_json = JsonTexts()
    insert_rows(
        Node,
        NODE_FIELDS,
        (
            (org, key, kind, name, supplier, as_json(attrs), str(origin), now, now)
            for key, kind, name, supplier, attrs, origin in plan.new_nodes
        ),
    )
    update_rows(
        Node,
        NODE_UPDATE_FIELDS,
        [
            (kind, name, supplier, as_json(attrs), str(origin), now, pk)
            for pk, kind, name, supplier, attrs, origin in plan.node_updates
        ],
    )
    pks = plan.existing_pks
    if plan.new_nodes:
        made = (
            dict(
                Node.objects.filter(organization_id=org, pk__gt=max(pks, default=0))
                .order_by()
                .values_list("key", "pk")
            )
            if pks
            else dict(Node.objects.filter(organization_id=org).order_by().values_list("key", "pk"))
        )
        pks = pks + [made[key] for key in plan.keys[len(pks) :]]
    # Edges before nodes: an imported node is deleted only once no edge uses it.
    delete_rows(Edge, plan.edge_deletes)
    if plan.edge_count:
        # Only the edge table is rebuilt: it holds ten times the nodes' rows, and each table
        # rebuilt is one more table locked until the commit.
        with _loading(Edge, plan.edge_count):
            if connection.vendor == "postgresql":
                _insert_edges_postgresql(plan, pks, now)
            else:
                insert_rows(Edge, EDGE_FIELDS, _edge_rows(plan, pks, now))
    update_rows(Edge, EDGE_UPDATE_FIELDS, [(as_json(attrs), now, pk) for pk, attrs in plan.edge_updates])
    delete_rows(Node, plan.node_deletes)
    version = bump_version(org)
    _after_import(org)
    summary = {
        "files": plan.files,
        "replace": plan.replace,
        "nodes": result.nodes.as_dict(),
        "edges": result.edges.as_dict(),
    }
    row = MapVersion.objects.get(organization_id=org)
    record_many(
        actor,
        [
            PendingEntry(
                AuditEntry.Action.UPDATE,
                row,
                {"version": version_before},
                {"version": version, "import": summary},
                organization_id=org,
            )
        ],
    )
    return version


@contextlib.contextmanager
def _loading(model: type[models.Model], rows: int) -> Iterator[None]:
    """Around the insert of ROWS new rows: a big load rebuilds the table's keys and indexes once
    (rebuild.rebuilt_once); the table is then locked for the rest of the import."""
    if worth_rebuilding(model, rows):
        with rebuilt_once(model):
            yield
    else:
        yield


def _edge_rows(plan: Plan, pks: list[int], now: Any) -> Iterator[tuple[Any, ...]]:
    """The new edges' rows for a prepared INSERT (SQLite): numbers as numbers, ~1 µs an edge."""
    org, origin = plan.organization_id, Origin.IMPORT.value
    kinds = list(EdgeKind.values)
    texts = [json_text(attrs) for attrs in plan.attr_sets]
    attr = plan.new_attr.tolist()
    for s, t, k, a in zip(
        plan.new_src.tolist(), plan.new_dst.tolist(), plan.new_kind.tolist(), attr, strict=True
    ):
        yield (org, pks[s], pks[t], kinds[k], texts[a], origin, now, now)


def _insert_edges_postgresql(plan: Plan, pks: list[int], now: str) -> None:
    """The new edges as four numbers a row (source and target pk, kind and attribute set), COPYed
    in binary into a temporary table, the distinct attribute sets into another, then one
    INSERT ... SELECT that adds the constant columns. A text COPY of whole rows cost ~1 µs of
    Python an edge, and PostgreSQL parsed two timestamps and a JSON value for each (~1.6 s more of
    its time for a million edges than this)."""
    node_pk = np.asarray(pks, dtype=np.int64)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE graph_import_edge "
            "(source_id bigint, target_id bigint, kind smallint, attributes integer) ON COMMIT DROP"
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE graph_import_attributes (id integer, attributes jsonb) ON COMMIT DROP"
        )
        copy_numbers(
            "graph_import_edge",
            ["source_id", "target_id", "kind", "attributes"],
            [
                node_pk[plan.new_src],
                node_pk[plan.new_dst],
                plan.new_kind.astype(np.int16),
                plan.new_attr.astype(np.int32),
            ],
        )
        copy_rows(
            "graph_import_attributes",
            ["id", "attributes"],
            ((str(i), json_text(attrs)) for i, attrs in enumerate(plan.attr_sets)),
        )
        # Its size known, the planner hashes the attribute sets and reads the edges in order (in
        # source order, which keeps the inserts into the edge table's indexes local).
        cursor.execute("ANALYZE graph_import_attributes")
        # Column names from the model; every value is a parameter. Arrays count from 1. (A join
        # for the attributes: an array of them would be searched from its start for each edge.)
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(Edge._meta.db_table)} "  # noqa: S608
            f"({', '.join(quoted_columns(Edge, EDGE_FIELDS))}) "
            "SELECT %s, e.source_id, e.target_id, (%s::text[])[e.kind + 1], a.attributes, %s, "
            "%s::timestamptz, %s::timestamptz "
            "FROM graph_import_edge e JOIN graph_import_attributes a ON a.id = e.attributes",
            [plan.organization_id, list(EdgeKind.values), Origin.IMPORT.value, now, now],
        )
        cursor.execute("DROP TABLE graph_import_edge, graph_import_attributes")


def _after_import(organization_id: int) -> None:
    """The bulk write skips model signals: tell the inherited-risk recompute once, on commit."""
    from renkei.graph import inherited

    inherited.map_imported(organization_id)
