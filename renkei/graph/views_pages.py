"""The node page, the impact page and the concentration page of the map (staff only, read-only:
changes are made by the forms of views_edit.py)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from renkei.core.permissions import VIEW
from renkei.graph.choices import EdgeKind, NodeKind, Origin, Via
from renkei.graph.concentration import Concentration, concentration
from renkei.graph.engine import EDGE_KINDS, Graph, impact
from renkei.graph.forms import EdgeForm
from renkei.graph.models import Edge, Node
from renkei.graph.views import Scope, _attributes, _mode, effect_label, may_edit, node_url, scope_for
from renkei.suppliers.models import Supplier

IMPACT_PAGE_SIZE = 100
EDGE_LIMIT = 200  # edges listed per direction on a node page
RELATED_SHOWN = 8  # names listed per concentration row

_CODE = {kind: code for code, kind in enumerate(EDGE_KINDS)}
# Which edge explains a step A → B of an impact path, in order of preference: (edge runs A → B?, kind).
STEP_EDGES = [
    (True, EdgeKind.ACCESSES), (True, EdgeKind.HOSTS_DATA), (True, EdgeKind.SUBCONTRACTS),
    (False, EdgeKind.SUBCONTRACTS), (True, EdgeKind.NETWORK), (False, EdgeKind.NETWORK),
    (True, EdgeKind.SUPPLIES), (False, EdgeKind.DEPENDS_ON),
]


def _link(scope: Scope, i: int, prefix: str, suffix: str) -> dict[str, Any]:
    g = scope.graph
    return {"id": g.keys[i], "name": g.names[i], "kind": g.kind(i),
            "kind_label": NodeKind(g.kind(i)).label, "url": node_url(prefix, suffix, g.keys[i])}


def step_edges(graph: Graph, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[str, bool]]:
    """For each step (a, b) of a path: the kind of the edge that explains it and whether it runs a → b."""
    if not pairs:
        return {}
    size = np.int64(max(graph.size, 1))
    codes = graph.edge_source.astype(np.int64) * size + graph.edge_target
    wanted = np.array([a * int(size) + b for a, b in pairs] + [b * int(size) + a for a, b in pairs],
                      dtype=np.int64)
    found: dict[tuple[int, int], set[int]] = {}
    for e in np.nonzero(np.isin(codes, wanted))[0].tolist():
        found.setdefault((int(graph.edge_source[e]), int(graph.edge_target[e])), set()).add(
            int(graph.edge_kind[e]))
    result = {}
    for a, b in pairs:
        forward, backward = found.get((a, b), set()), found.get((b, a), set())
        for runs_forward, kind in STEP_EDGES:
            if _CODE[kind] in (forward if runs_forward else backward):
                result[(a, b)] = (str(kind), runs_forward)
                break
        else:
            if forward or backward:
                code = min(forward or backward)
                result[(a, b)] = (EDGE_KINDS[code], bool(forward))
    return result


# --- impact -------------------------------------------------------------------------------------


def _summary(graph: Graph, order: np.ndarray, effects: np.ndarray) -> list[dict[str, Any]]:
    kinds = graph.kinds[order]
    effect_codes = effects[order]
    code = {k: c for c, k in enumerate(NodeKind.values)}

    def count(kind: str, effect: int | None = None) -> int:
        mask = kinds == code[kind]
        if effect is not None:
            mask &= effect_codes == effect
        return int(mask.sum())

    records, classes = 0, []
    for i in order[kinds == code[NodeKind.DATA]].tolist():
        attrs = graph.attributes[i]
        value = attrs.get("records")
        if isinstance(value, int) and not isinstance(value, bool):
            records += value
        for c in attrs.get("classes") or []:
            if str(c) not in classes:
                classes.append(str(c))
    # effect codes of the engine: 1 compromised, 2 stops, 3 degraded
    return [
        {"kind": "system", "label": _("Systems"), "count": count(NodeKind.SYSTEM),
         "detail": _("%(compromised)d compromised, %(stops)d stop") % {
             "compromised": count(NodeKind.SYSTEM, 1), "stops": count(NodeKind.SYSTEM, 2)}},
        {"kind": "data", "label": _("Data"), "count": count(NodeKind.DATA),
         "detail": _("%(records)s records in all") % {"records": f"{records:,}"},
         "classes": classes},
        {"kind": "site", "label": _("Sites that stop"),
         "count": count(NodeKind.SITE, 2) + count(NodeKind.SITE, 1),
         "detail": _("%(degraded)d more affected") % {"degraded": count(NodeKind.SITE, 3)}},
        {"kind": "product", "label": _("Products and processes that stop"),
         "count": count(NodeKind.PRODUCT, 2) + count(NodeKind.PRODUCT, 1),
         "detail": _("%(degraded)d more affected") % {"degraded": count(NodeKind.PRODUCT, 3)}},
        {"kind": "supplier", "label": _("Suppliers reached"), "count": count(NodeKind.SUPPLIER),
         "detail": _("%(organizations)d organizations") % {"organizations": count(NodeKind.ORGANIZATION)}},
    ]


@login_required
def impact_page(request: HttpRequest, key: str) -> HttpResponse:
    scope = scope_for(request, names_node=True)
    start = scope.index_of(key)
    mode = _mode(request)
    graph = scope.graph
    result = impact(graph, key, mode)
    page = Paginator(range(len(result)), IMPACT_PAGE_SIZE).get_page(request.GET.get("page"))
    entries = [result.entry(p) for p in page.object_list]
    paths = {e.index: [graph.index[k] for k in result.path(e.index)] for e in entries}
    steps = step_edges(graph, {(p[n], p[n + 1]) for p in paths.values() for n in range(len(p) - 1)})
    prefix, suffix = scope.node_urls()
    rows = []
    for entry in entries:
        path = paths[entry.index]
        chain: list[dict[str, Any]] = []
        for n, node in enumerate(path):
            if n:
                kind, forward = steps.get((path[n - 1], node), ("", True))
                label = EdgeKind(kind).label if kind else ""
                chain.append({"arrow": True, "label": label, "forward": forward,
                              "symmetric": kind == EdgeKind.NETWORK})
            chain.append(_link(scope, node, prefix, suffix))
        rows.append({"entry": entry, "kind_label": NodeKind(entry.kind).label,
                     "effect_label": effect_label(entry.effect), "chain": chain,
                     "url": node_url(prefix, suffix, entry.id)})
    context = {
        "scope": scope, "organization": scope.organization,
        "node": _link(scope, start, prefix, suffix), "mode": mode, "mode_label": Via(mode).label,
        "other_mode": Via.OUTAGE if mode == Via.COMPROMISE else Via.COMPROMISE,
        "total": len(result), "summary": _summary(graph, result.order, result.effect),
        "page": page, "rows": rows,
        "map_url": scope.url("map", impact=key, mode=mode),
        "other_url": scope.url("impact", key, mode=Via.OUTAGE if mode == Via.COMPROMISE else Via.COMPROMISE),
        "page_query": "&".join(q for q in (scope.query, f"mode={mode}") if q),
    }
    return render(request, "graph/impact.html", context)


# --- concentration --------------------------------------------------------------------------------

_CONCENTRATION: dict[int, tuple[Any, Concentration]] = {}
_LOCK = threading.Lock()


def concentration_of(graph: Graph) -> Concentration:
    """The three sweeps, once per graph version (they take seconds on a very large map)."""
    cached = _CONCENTRATION.get(graph.organization_id)
    if cached is not None and cached[0] == graph.version and cached[1].graph is graph:
        return cached[1]
    result = concentration(graph)
    with _LOCK:
        _CONCENTRATION[graph.organization_id] = (graph.version, result)
    return result


def _rows(scope: Scope, items: list[tuple[int, list[int]]], mode: str) -> list[dict[str, Any]]:
    prefix, suffix = scope.node_urls()
    rows = []
    for node, related in items:
        rows.append({
            "node": _link(scope, node, prefix, suffix), "count": len(related),
            "related": [_link(scope, i, prefix, suffix) for i in related[:RELATED_SHOWN]],
            "more": max(0, len(related) - RELATED_SHOWN),
            "impact_url": scope.url("impact", scope.graph.keys[node], mode=mode),
            "map_url": scope.url("map", impact=scope.graph.keys[node], mode=mode),
        })
    return rows


@login_required
def concentration_page(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request)
    result = concentration_of(scope.graph)
    sections = [
        {"key": "single-points", "title": _("Single points of failure"),
         "help": _("Suppliers whose stop alone halts a product or a site: every supply path runs through "
                   "them, or a hard dependency (depends on, single source) does."),
         "related_label": _("Halts"), "rows": _rows(scope, result.single_points, Via.OUTAGE)},
        {"key": "shared-parties", "title": _("Shared subcontractors (fourth parties)"),
         "help": _("One company behind several of your registry suppliers, within three hops: they "
                   "subcontract to it, are supplied by it, depend on it or are accessed by it."),
         "related_label": _("Behind"), "rows": _rows(scope, result.shared_parties, Via.COMPROMISE)},
        {"key": "broad-access", "title": _("Suppliers with access to many systems"),
         "help": _("Suppliers with direct access into three or more of your systems."),
         "related_label": _("Systems"), "rows": _rows(scope, result.broad_access, Via.COMPROMISE)},
    ]
    return render(request, "graph/concentration.html", {
        "scope": scope, "organization": scope.organization, "organizations": scope.organizations,
        "sections": sections, "total": scope.graph.size,
    })


# --- one node -------------------------------------------------------------------------------------

def _edge_rows(scope: Scope, index: int, row: Node | None) -> tuple[list[dict], list[dict], int, int]:
    graph = scope.graph
    outgoing = np.nonzero(graph.edge_source == index)[0]
    incoming = np.nonzero(graph.edge_target == index)[0]
    shown_out, shown_in = outgoing[:EDGE_LIMIT].tolist(), incoming[:EDGE_LIMIT].tolist()
    stored: dict[tuple[int | None, int | None, str], Edge] = {}
    if row is not None:
        others_out = [graph.node_ids[int(graph.edge_target[e])] for e in shown_out]
        others_in = [graph.node_ids[int(graph.edge_source[e])] for e in shown_in]
        edges = Edge.objects.for_user(scope.user, VIEW).filter(
            Q(source=row, target_id__in=[o for o in others_out if o]) | Q(target=row, source_id__in=[
                o for o in others_in if o])).select_related("declared_by")
        stored = {(e.source_id, e.target_id, e.kind): e for e in edges}
    prefix, suffix = scope.node_urls()

    def build(edge_index: int, outwards: bool) -> dict[str, Any]:
        s, t = int(graph.edge_source[edge_index]), int(graph.edge_target[edge_index])
        kind = EDGE_KINDS[int(graph.edge_kind[edge_index])]
        found = stored.get((graph.node_ids[s], graph.node_ids[t], kind))
        other = t if outwards else s
        return {
            "other": _link(scope, other, prefix, suffix), "kind": kind, "kind_label": EdgeKind(kind).label,
            "edge": found,
            "origin_label": found.get_origin_display() if found else Origin.REGISTRY.label,
            "declared_by": found.declared_by if found else None,
            "attributes": _attributes(found.attributes) if found else [],
        }

    return ([build(e, True) for e in shown_out], [build(e, False) for e in shown_in],
            len(outgoing), len(incoming))


@login_required
def node_page(request: HttpRequest, key: str) -> HttpResponse:
    scope = scope_for(request, names_node=True)
    index = scope.index_of(key)
    graph = scope.graph
    row = (Node.objects.for_user(request.user, VIEW).filter(organization=scope.organization, key=key)
           .select_related("declared_by").first())
    supplier = None
    if graph.supplier_ids[index] is not None:
        supplier = (Supplier.objects.for_user(request.user, VIEW).filter(pk=graph.supplier_ids[index])
                    .select_related("risk").first())
    outgoing, incoming, out_total, in_total = _edge_rows(scope, index, row)
    prefix, suffix = scope.node_urls()
    rights = may_edit(scope)
    context = {
        "scope": scope, "organization": scope.organization, "key": key,
        "node": _link(scope, index, prefix, suffix), "row": row, "supplier": supplier,
        "risk": getattr(supplier, "risk", None) if supplier is not None else None,
        "attributes": _attributes(graph.attributes[index]),
        "origin_label": row.get_origin_display() if row else Origin.REGISTRY.label,
        "outgoing": outgoing, "incoming": incoming, "out_total": out_total, "in_total": in_total,
        "edge_limit": EDGE_LIMIT,
        "impact_urls": [(Via(m).label, scope.url("impact", key, mode=m)) for m in Via.values],
        "map_url": scope.url("map", focus=key),
        "edit_url": scope.url("node-edit", key), "delete_url": scope.url("node-delete", key),
        "add_edge_url": scope.url("edge-new", source=key),
        "edge_form": EdgeForm(initial={"source": key}) if rights["can_add"] else None,
        **rights,
    }
    return render(request, "graph/node.html", context)
