"""Planning a checked import: what is created, updated, left alone or (with replace) deleted.

A mixin of the importer (renkei.graph.io.importer._Import), kept apart for size: it compares the
file's nodes and edges with the map's, as arrays, and fills a writer.Plan and the counts.
Node indexes are positions in `keys`: the map's nodes first (in pk order), then the file's new
nodes, then registry suppliers the file's edges name (so index order is pk order after the write).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.db import connection
from django.utils.translation import gettext as _

from renkei.graph.choices import EdgeKind, NodeKind, Origin
from renkei.graph.io import validation as rules
from renkei.graph.io.writer import Plan
from renkei.graph.models import Edge

EDGE_KINDS = list(EdgeKind.values)
EDGE_CODE = {kind: code for code, kind in enumerate(EDGE_KINDS)}
SUPPLIER = NodeKind.SUPPLIER.value
IMPORT = Origin.IMPORT.value


class Planner(ABC):
    # Filled by the importer before plan() runs.
    organization_id: int
    replace: bool
    result: Any
    keys: list[str]
    kinds: list[str]
    old_kinds: list[str]
    existing: list[tuple[int, str, str, dict, str, int | None]]
    registry: dict[str, tuple[int, str, int, str]]
    implicit: list[int]
    f_idx: list[int]
    f_key: list[str]
    f_kind: list[str]
    f_name: list[str]
    f_attrs: list[dict[str, Any]]
    f_row: list[int]
    e_src: np.ndarray
    e_dst: np.ndarray
    e_kind: np.ndarray
    e_attr: np.ndarray  # indexes into attr_sets
    attr_sets: list[dict[str, Any]]
    codes: np.ndarray
    node_table: Any
    edge_table: Any

    @abstractmethod
    def error(self, table: Any, index: int | None, column: str, reason: str) -> None:
        """Record one problem of TABLE's row INDEX (None: the whole file) in COLUMN."""

    @abstractmethod
    def edge_codes(self, src: np.ndarray, dst: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """One int64 per (source, target, kind), comparable between file and map edges."""

    def plan(self, nodes: Any, edge_names: frozenset[str], node_names: frozenset[str]) -> Plan:
        plan = Plan(
            organization_id=self.organization_id,
            replace=self.replace,
            files=sorted({nodes.file, self.edge_table.file} - {""}),
        )
        existing_count = len(self.existing)
        counts = self.result.nodes
        in_file = np.zeros(len(self.keys), dtype=bool)
        for j, i in enumerate(self.f_idx):
            in_file[i] = True
            key, kind, name, attrs = self.f_key[j], self.f_kind[j], self.f_name[j], self.f_attrs[j]
            registered = self.registry.get(key)
            supplier_id = registered[0] if registered is not None else None
            if i >= existing_count:
                plan.new_nodes.append((key, kind, name, supplier_id, attrs, IMPORT))
                continue
            pk, old_kind, old_name, old_attrs, origin, old_supplier = self.existing[i]
            merged = _merge(old_attrs, attrs, node_names)
            # The origin stays: a hand-entered, declared or registry node listed in a file is
            # updated, but remains what it was (so --replace never deletes it).
            if (kind, name, merged, supplier_id) == (old_kind, old_name, old_attrs, old_supplier):
                counts.unchanged += 1
            else:
                plan.node_updates.append((pk, kind, name, supplier_id, merged, origin))
        for i in self.implicit:
            pk, name, tier, country = self.registry[self.keys[i]]
            attrs = {"tier": tier, **({"country": country} if country else {})}
            plan.new_nodes.append(
                (self.keys[i], SUPPLIER, name[: rules.MAX_NAME], pk, attrs, Origin.REGISTRY.value)
            )
        counts.created, counts.updated = len(plan.new_nodes), len(plan.node_updates)
        self.plan_edges(plan, edge_names)
        if self.replace:
            self.plan_node_deletes(plan, in_file)
        plan.keys = self.keys
        plan.existing_pks = [row[0] for row in self.existing]
        return plan

    def existing_edges(self, with_attributes: bool) -> tuple[np.ndarray, ...] | None:
        """The map's edges as arrays (pk, source index, target index, kind code, imported) and
        their attributes when asked; one plain query (the ORM costs several µs a row)."""
        self.ex_attrs: list[dict[str, Any]] = []
        if not self.existing:
            return None
        meta = Edge._meta
        quote = connection.ops.quote_name
        columns = [quote(c) for c in ("id", "source_id", "target_id", "kind", "origin")]
        if with_attributes:
            # As text: a million edges share a few attribute sets, each decoded once below.
            cast = "::text" if connection.vendor == "postgresql" else ""
            columns.append(f"{quote('attributes')}{cast}")
        # Column and table names come from the model; the organization is a parameter.
        sql = (
            f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} "  # noqa: S608
            f"WHERE {quote('organization_id')} = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.organization_id])
            rows = cursor.fetchall()
        if not rows:
            return None
        count = len(rows)
        node_pks = np.array([row[0] for row in self.existing], dtype=np.int64)  # ascending: loaded by pk
        pk = np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
        src = np.searchsorted(node_pks, np.fromiter((r[1] for r in rows), dtype=np.int64, count=count))
        dst = np.searchsorted(node_pks, np.fromiter((r[2] for r in rows), dtype=np.int64, count=count))
        kind = np.fromiter((EDGE_CODE[r[3]] for r in rows), dtype=np.int64, count=count)
        imported = np.fromiter((r[4] == IMPORT for r in rows), dtype=bool, count=count)
        decoded: dict[Any, dict[str, Any]] = {}
        for r in rows if with_attributes else ():
            found = decoded.get(r[5])
            if found is None:
                found = decoded[r[5]] = _json(r[5])
            self.ex_attrs.append(found)
        return pk, src, dst, kind, imported

    def plan_edges(self, plan: Plan, edge_names: frozenset[str]) -> None:
        counts = self.result.edges
        file_src, file_dst, file_kind = self.e_src, self.e_dst, self.e_kind
        existing = self.existing_edges(bool(edge_names))
        if existing is None:
            empty = np.zeros(0, dtype=np.int64)
            existing = (empty, empty, empty, empty, np.zeros(0, dtype=bool))
        ex_pk, ex_src, ex_dst, ex_kind, ex_imported = existing
        ex_codes = self.edge_codes(ex_src, ex_dst, ex_kind)
        order = np.argsort(ex_codes)
        ordered = ex_codes[order]
        if len(ordered):
            at = np.clip(np.searchsorted(ordered, self.codes), 0, len(ordered) - 1)
            matched = ordered[at] == self.codes
            match_of = np.where(matched, order[at], -1)
        else:
            matched = np.zeros(len(self.codes), dtype=bool)
            match_of = np.full(len(self.codes), -1, dtype=np.int64)
        new = np.nonzero(~matched)[0]
        # Sorted by (source, target) pk: the indexes of the edge table then fill page after page
        # instead of at random (the database's insert takes less than half the time).
        new = new[np.lexsort((file_dst[new], file_src[new]))]
        plan.new_src, plan.new_dst, plan.new_kind = file_src[new], file_dst[new], file_kind[new]
        plan.new_attr, plan.attr_sets = self.e_attr[new], self.attr_sets
        counts.created = len(new)
        if edge_names:
            # Attribute dicts are shared (decoded once, cleaned once), so (old, new) pairs repeat.
            merges: dict[tuple[int, int], dict[str, Any] | None] = {}
            sets, old_of = self.attr_sets, self.ex_attrs
            for a, p in zip(self.e_attr[matched].tolist(), match_of[matched].tolist(), strict=True):
                old = old_of[p]
                pair = (id(old), a)
                if pair not in merges:
                    merged = _merge(old, sets[a], edge_names)
                    merges[pair] = merged if merged != old else None
                if merges[pair] is not None:
                    plan.edge_updates.append((int(ex_pk[p]), merges[pair]))
        counts.updated = len(plan.edge_updates)
        counts.unchanged = int(matched.sum()) - counts.updated
        hit = np.zeros(len(ex_codes), dtype=bool)
        hit[match_of[matched]] = True
        kept = np.ones(len(ex_codes), dtype=bool)
        if self.replace:
            gone = ex_imported & ~hit
            plan.edge_deletes = ex_pk[gone].tolist()
            counts.deleted = len(plan.edge_deletes)
            kept = ~gone
        self.kept_src, self.kept_dst = ex_src[kept], ex_dst[kept]
        self.check_kind_changes(ex_src, ex_dst, ex_kind, kept & ~hit)

    def check_kind_changes(
        self, src: np.ndarray, dst: np.ndarray, kind: np.ndarray, untouched: np.ndarray
    ) -> None:
        """Map edges left as they are must still fit the kinds of nodes the file changes."""
        changed = np.zeros(len(self.keys), dtype=bool)
        for i in self.f_idx:
            if i < len(self.old_kinds) and self.kinds[i] != self.old_kinds[i]:
                changed[i] = True
        if not changed.any() or not len(src):
            return
        row_of = {i: self.f_row[j] for j, i in enumerate(self.f_idx)}
        for p in np.nonzero(untouched & (changed[src] | changed[dst]))[0].tolist():
            s, t, k = int(src[p]), int(dst[p]), EDGE_KINDS[int(kind[p])]
            problem = rules.endpoint_problem(k, self.kinds[s], self.kinds[t])
            if problem:
                node = s if changed[s] else t
                self.error(
                    self.node_table,
                    row_of[node],
                    "kind",
                    _(
                        "Changing the kind to %(kind)s breaks the edge %(source)s → %(target)s (%(edge)s) "
                        "already on the map: %(problem)s Change or remove that edge too."
                    )
                    % {
                        "kind": self.kinds[node],
                        "source": self.keys[s],
                        "target": self.keys[t],
                        "edge": k,
                        "problem": problem,
                    },
                )

    def plan_node_deletes(self, plan: Plan, in_file: np.ndarray) -> None:
        """--replace: imported nodes neither in the nodes file nor used by an edge that stays."""
        used = np.zeros(len(self.keys), dtype=bool)
        used[self.e_src] = True
        used[self.e_dst] = True
        used[self.kept_src] = True
        used[self.kept_dst] = True
        for i, (pk, _kind, _name, _attrs, origin, _supplier) in enumerate(self.existing):
            if origin == IMPORT and not in_file[i] and not used[i]:
                plan.node_deletes.append(pk)
        self.result.nodes.deleted = len(plan.node_deletes)


def _json(value: Any) -> dict[str, Any]:
    """A JSON column read with a plain cursor: text on some backends, decoded on others."""
    if isinstance(value, str):
        value = json.loads(value)
    return value or {}


def _merge(old: Mapping[str, Any], new: Mapping[str, Any], columns: frozenset[str]) -> dict[str, Any]:
    """The attributes after an import: the file's columns replace, the others stay."""
    if not columns:
        return dict(old)
    return {**{k: v for k, v in old.items() if k not in columns}, **new}
