"""Exporting a map in the import format, so an export re-imports into an equivalent map.

The map as the analyses see it (renkei.graph.engine.build): every Node row, plus each registry
supplier without a Node row (not rejected) as a supplier node keyed by its code with its tier and
country, plus each registry `subcontracted_by` link between such suppliers as a subcontracts edge
(unless the map already has that edge). Nodes are sorted by id and edges by (source, target,
kind), so two exports of equivalent maps are identical files.

CSV: UTF-8 with BOM (Excel opens Japanese correctly), CRLF, attribute columns the union of the
attributes present (typed ones first), cells that a spreadsheet would run as a formula prefixed
with ' (the import removes it). JSON: {"nodes": [...], "edges": [...]}, one item per line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from renkei.graph.io import validation as rules
from renkei.graph.models import Edge, Node
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.io.columns import neutralise
from renkei.suppliers.models import Supplier

TYPED_ORDER = ("tier", "country", "records", "classes", "single_source", "method", "privilege")


def map_rows(organization_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(nodes, edges) as JSON-format items, sorted."""
    nodes: list[dict[str, Any]] = [
        {"id": key, "kind": kind, "name": name, **ordered(attrs)}
        for key, kind, name, attrs in Node.objects.filter(organization_id=organization_id)
        .order_by()
        .values_list("key", "kind", "name", "attributes")
        .iterator(chunk_size=10000)
    ]
    keys = {node["id"] for node in nodes}
    registry = Supplier.objects.filter(organization_id=organization_id).exclude(
        status=SupplierStatus.REJECTED
    )
    code_of: dict[int, str] = {}
    links: list[tuple[int, int]] = []
    for pk, code, name, tier, country, parent in (
        registry.order_by()
        .values_list("pk", "code", "name", "tier", "country", "subcontracted_by_id")
        .iterator(chunk_size=10000)
    ):
        code_of[pk] = code
        if parent is not None:
            links.append((parent, pk))
        if code not in keys:
            attrs: dict[str, Any] = {"tier": tier}
            if country:
                attrs["country"] = str(country)
            nodes.append({"id": code, "kind": "supplier", "name": name[: rules.MAX_NAME], **attrs})
    edges: list[dict[str, Any]] = [
        {"source": source, "target": target, "kind": kind, **ordered(attrs)}
        for source, target, kind, attrs in Edge.objects.filter(organization_id=organization_id)
        .order_by()
        .values_list("source__key", "target__key", "kind", "attributes")
        .iterator(chunk_size=20000)
    ]
    present = {(e["source"], e["target"], e["kind"]) for e in edges}
    for parent, child in links:
        if parent in code_of and (code_of[parent], code_of[child], "subcontracts") not in present:
            edges.append({"source": code_of[parent], "target": code_of[child], "kind": "subcontracts"})
    nodes.sort(key=lambda n: n["id"])
    edges.sort(key=lambda e: (e["source"], e["target"], e["kind"]))
    return nodes, edges


def ordered(attributes: dict[str, Any] | None) -> dict[str, Any]:
    """ATTRIBUTES in one order whatever the database kept (PostgreSQL's jsonb reorders keys)."""
    attributes = attributes or {}
    typed = [name for name in TYPED_ORDER if name in attributes]
    return {name: attributes[name] for name in typed + sorted(set(attributes) - set(typed))}


def attribute_columns(items: Iterable[dict[str, Any]], fixed: tuple[str, ...]) -> list[str]:
    present: set[str] = set()
    for item in items:
        present.update(item)
    present -= set(fixed)
    typed = [name for name in TYPED_ORDER if name in present]
    return typed + sorted(present - set(typed))


def cell(value: Any) -> str:
    """The CSV cell of an attribute value; the import reads it back to the same value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return neutralise(";".join(str(v) for v in value))
    return neutralise(str(value))


def write_csv(out: IO[str], items: list[dict[str, Any]], fixed: tuple[str, ...]) -> None:
    columns = [*fixed, *attribute_columns(items, fixed)]
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([cell(item.get(column)) for column in columns] for item in items)


def write_json(out: IO[str], nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    out.write("{\n")
    for number, (section, items) in enumerate((("nodes", nodes), ("edges", edges))):
        body = ",\n".join(json.dumps(item, ensure_ascii=False) for item in items)
        out.write(f'"{section}": [\n{body}\n]' if items else f'"{section}": []')
        out.write(",\n" if number == 0 else "\n")
    out.write("}\n")


def export_map(organization_id: int, directory: Path, fmt: str = "csv") -> dict[str, Any]:
    """Write the map into DIRECTORY; {"files": [paths], "nodes": n, "edges": n}."""
    nodes, edges = map_rows(organization_id)
    if fmt == "json":
        path = directory / "map.json"
        with path.open("w", encoding="utf-8", newline="\n") as out:
            write_json(out, nodes, edges)
        files = [str(path)]
    else:
        files = []
        for name, items, fixed in (
            ("nodes.csv", nodes, rules.NODE_COLUMNS),
            ("edges.csv", edges, rules.EDGE_COLUMNS),
        ):
            path = directory / name
            with path.open("w", encoding="utf-8-sig", newline="") as out:
                write_csv(out, items, fixed)
            files.append(str(path))
    return {"files": files, "nodes": len(nodes), "edges": len(edges)}
