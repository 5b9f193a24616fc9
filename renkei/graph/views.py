"""The map page and the JSON it draws from (docs/graph.md, “The map page”).

Staff only: a user who is staff of no organization gets 403 on the map and its JSON, and 404 on
anything naming a node (node pages answer like a missing row). Every read starts from the
organization chosen among `Organization.for_user` (a foreign one is 404) and the cached
in-memory graph of that organization (renkei.graph.engine), so a page costs a few queries
whatever the map's size. Changes go through renkei.graph.services (views_edit.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_countries import countries

from renkei.accounts.models import Organization
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW
from renkei.graph import layout
from renkei.graph.choices import AccessVia, EdgeKind, NodeKind, Privilege, Via
from renkei.graph.converters import escape
from renkei.graph.engine import EDGE_KINDS, Graph, UnknownNode, impact, load_graph
from renkei.graph.models import Edge, Node
from renkei.risk.choices import Level
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.models import Supplier

IMPACT_JSON_LIMIT = 2000  # reached nodes sent to the map (the impact page lists them all)
SEARCH_LIMIT = 20
EMPTY_STATE_SUPPLIERS = 50
# Django's IRI quoting of reverse(), for node URLs built without a reverse() per node.
_URL_SAFE = "!$&'()*+,;=~:@"


@dataclass
class Scope:
    """The organization a map request is about, its graph, and what the user may do there."""

    user: Any
    organization: Organization
    organizations: list[Organization]
    graph: Graph

    @property
    def query(self) -> str:
        """?organization=… for links, only when the user can choose between organizations."""
        return f"organization={self.organization.pk}" if len(self.organizations) > 1 else ""

    def may(self, action: str) -> bool:
        return staff_may(self.user, self.organization.pk, action)

    def url(self, name: str, key: str | None = None, **params: Any) -> str:
        url = reverse(f"graph:{name}", kwargs={"key": key} if key is not None else None)
        query = {**({"organization": self.organization.pk} if self.query else {}),
                 **{k: v for k, v in params.items() if v not in (None, "")}}
        return f"{url}?{urlencode(query)}" if query else url

    @property
    def url_map(self) -> str:
        return self.url("map")

    @property
    def url_concentration(self) -> str:
        return self.url("concentration")

    def node_urls(self, name: str = "node") -> tuple[str, str]:
        """(prefix, suffix) of a node page URL: prefix + quoted escaped key + suffix."""
        marker = "KEYMARKER"
        url = self.url(name, marker)
        prefix, suffix = url.split(marker)
        return prefix, suffix

    def index_of(self, key: str) -> int:
        index = self.graph.index.get(key)
        if index is None:
            raise Http404
        return index


def scope_for(request: HttpRequest, *, names_node: bool = False) -> Scope:
    """The chosen organization (?organization=, else the first) with its graph.

    Users who are staff nowhere: 403, or 404 when the URL names a node (NAMES_NODE), since the
    node then "does not exist" for them. Another buyer's organization: 404.
    """
    organizations = list(Organization.for_user(request.user, VIEW))
    if not organizations:
        if names_node:
            raise Http404
        raise PermissionDenied
    wanted = request.GET.get("organization") or request.POST.get("organization")
    organization = organizations[0]
    if wanted:
        organization = next((o for o in organizations if str(o.pk) == wanted), None)
        if organization is None:
            raise Http404
    return Scope(request.user, organization, organizations, load_graph(organization.pk))


def node_url(prefix: str, suffix: str, key: str) -> str:
    return prefix + quote(escape(key), safe=_URL_SAFE) + suffix


# --- labels shared by the pages and the map script ----------------------------------------------


def column_label(key: str) -> str:
    if key.startswith("supplier:"):
        tier = int(key.split(":")[1])
        if tier >= layout.MAX_TIER:
            return _("Suppliers, tier %(tier)d and deeper") % {"tier": tier}
        return _("Suppliers, tier %(tier)d") % {"tier": tier}
    return str(NodeKind(key).label)


EFFECT_LABELS = {
    "compromised": lambda: pgettext("impact effect", "Compromised"),
    "stops": lambda: pgettext("impact effect", "Stops"),
    "degraded": lambda: pgettext("impact effect", "Affected"),
}


def effect_label(effect: str) -> str:
    return EFFECT_LABELS[effect]()


def labels() -> dict[str, Any]:
    """Every string the map script shows, in the active language."""
    return {
        "kinds": {k.value: str(k.label) for k in NodeKind},
        "edges": [str(EdgeKind(k).label) for k in EDGE_KINDS],
        "levels": {lv.value: str(lv.label) for lv in Level},
        "effects": {e: effect_label(e) for e in EFFECT_LABELS},
        "modes": {v.value: str(v.label) for v in Via},
        "tier": _("Tier"),
        "level": _("Risk level"),
        "no_rating": _("Not rated"),
        "node_id": _("Node id"),
        "kind": _("Kind"),
        "open_node": _("Open the node page"),
        "open_supplier": _("Open in the supplier registry"),
        "impact_page": _("Impact page"),
        "show_impact": _("Highlight the impact"),
        "clear_impact": _("Clear the highlight"),
        "close": pgettext("map panel", "Close"),
        "nodes_edges": _("%(nodes)s nodes, %(edges)s edges"),
        "shown_of": _("Showing %(shown)s of %(total)s nodes in this group and their neighbours."),
        "back_to_groups": _("Back to the groups"),
        "group_hint": _("Click a group to open its nodes."),
        "reached": _("%(count)s nodes reached"),
        "reached_more": _("%(count)s nodes reached (the %(shown)s most severe are highlighted)"),
        "reached_none": _("Nothing else is reached."),
        "in_group": _("%(count)s reached"),
        "no_match": _("No node matches."),
        "select_first": _("Select a node first."),
        "load_error": _("The map could not be loaded. Reload the page."),
        "degree": _("Number of edges"),
    }


# --- the map page -------------------------------------------------------------------------------


@login_required
def map_page(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request)
    organization = scope.organization
    has_rows = Node.objects.filter(organization=organization).exists() or Edge.objects.filter(
        organization=organization).exists()
    context: dict[str, Any] = {
        "scope": scope,
        "organization": organization,
        "organizations": scope.organizations,
        "empty": not has_rows,
        "can_add": scope.may(ADD),
        "total": scope.graph.size,
        "grouped": scope.graph.size > layout.GROUP_THRESHOLD,
        "kinds": list(NodeKind),
        "levels": list(Level),
        "modes": list(Via),
        "tiers": range(1, layout.MAX_TIER + 1),
        "max_tier": layout.MAX_TIER,
        "labels": labels(),
        "urls": {
            "data": scope.url("data"), "impact": scope.url("impact-json"),
            "search": scope.url("search"),
        },
        "concentration_url": scope.url("concentration"),
    }
    if not has_rows:
        suppliers = (Supplier.objects.for_user(request.user, VIEW).filter(organization=organization)
                     .exclude(status=SupplierStatus.REJECTED).order_by("tier", "code"))
        context["suppliers"] = list(suppliers[:EMPTY_STATE_SUPPLIERS])
        context["supplier_count"] = suppliers.count() if len(context["suppliers"]) == EMPTY_STATE_SUPPLIERS \
            else len(context["suppliers"])
    return render(request, "graph/map.html", context)


# --- the JSON behind it ---------------------------------------------------------------------------

_DERIVED: dict[int, tuple[Any, list[int | None], list[str]]] = {}
_DERIVED_LOCK = threading.Lock()


def columns_of(graph: Graph) -> tuple[list[int | None], list[str]]:
    """Tiers and column keys of every node, computed once per graph version."""
    cached = _DERIVED.get(graph.organization_id)
    if cached is not None and cached[0] == graph.version:
        return cached[1], cached[2]
    registry = dict(Supplier.objects.filter(organization_id=graph.organization_id).values_list("pk", "tier"))
    tiers = layout.supplier_tiers(graph, registry)
    columns = layout.column_keys(graph, tiers)
    with _DERIVED_LOCK:
        _DERIVED[graph.organization_id] = (graph.version, tiers, columns)
    return tiers, columns


ATTRIBUTE_LABELS = {
    "tier": lambda: _("Tier"), "country": lambda: _("Country"), "records": lambda: _("Records"),
    "classes": lambda: _("Data classes"), "single_source": lambda: _("Single source"),
    "method": lambda: _("Access method"), "privilege": lambda: _("Privilege"),
    # Declared in the portal (renkei.graph.portal).
    "corporate_number": lambda: _("Corporate number"), "work": lambda: _("Subcontracted work"),
    "buyer_access": lambda: _("Reaches our systems or data"),
}


def _attribute_value(name: str, value: Any) -> str:
    if name == "buyer_access" and value in ("true", "false"):
        value = value == "true"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "records" and isinstance(value, int):
        return f"{value:,}"
    if name == "country" and isinstance(value, str):
        return str(countries.name(value) or value)
    choices = {"method": AccessVia, "privilege": Privilege}.get(name)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _attributes(attrs: dict[str, Any]) -> list[list[str]]:
    """[name, label, value as text] of each attribute: the typed ones by their label, in the
    user's language, then the buyer's own attributes as written."""
    typed = [n for n in ATTRIBUTE_LABELS if n in attrs]
    shown = []
    for name in typed + sorted(n for n in attrs if n not in ATTRIBUTE_LABELS):
        value = attrs[name]
        if value in (None, "", []):
            continue
        label = ATTRIBUTE_LABELS[name]() if name in ATTRIBUTE_LABELS else str(name)
        shown.append([str(name), label, _attribute_value(name, value)])
    return shown


def _node_entries(scope: Scope, placed: layout.Placed, tiers: list[int | None]) -> list[dict[str, Any]]:
    graph = scope.graph
    supplier_pks = [graph.supplier_ids[i] for i in placed.nodes if graph.supplier_ids[i] is not None]
    levels = dict(Supplier.objects.for_user(scope.user, VIEW).filter(
        organization=scope.organization, pk__in=supplier_pks, risk__isnull=False,
    ).values_list("pk", "risk__level")) if supplier_pks else {}
    prefix, suffix = scope.node_urls()
    impact_prefix, impact_suffix = scope.node_urls("impact")
    supplier_url = reverse("suppliers:detail", args=[0])
    degree = layout.degrees(graph)
    entries = []
    for i, x, y in zip(placed.nodes, placed.x, placed.y, strict=True):
        key = graph.keys[i]
        sid = graph.supplier_ids[i]
        url = node_url(prefix, suffix, key)
        entries.append({
            "id": key, "name": graph.names[i], "kind": graph.kind(i), "tier": tiers[i],
            "level": levels.get(sid) if sid is not None else None, "x": x, "y": y, "url": url,
            "impact_url": node_url(impact_prefix, impact_suffix, key),
            "supplier_url": supplier_url.replace("/0/", f"/{sid}/") if sid is not None else None,
            "attrs": _attributes(graph.attributes[i]), "degree": int(degree[i]),
        })
    return entries


def _drawing(scope: Scope, nodes: list[int], tiers: list[int | None], columns: list[str]) -> dict[str, Any]:
    graph = scope.graph
    placed = layout.place(graph, nodes, columns)
    position = {node: n for n, node in enumerate(placed.nodes)}
    src, dst, kind = graph.edge_source.tolist(), graph.edge_target.tolist(), graph.edge_kind.tolist()
    if len(nodes) < graph.size:
        import numpy as np

        inside = np.zeros(graph.size, dtype=bool)
        inside[placed.nodes] = True
        keep = np.nonzero(inside[graph.edge_source] & inside[graph.edge_target])[0].tolist()
    else:
        keep = range(len(src))
    edges = [[position[src[e]], position[dst[e]], kind[e]] for e in keep]
    return {
        "view": "nodes", "nodes": _node_entries(scope, placed, tiers), "edges": edges,
        "columns": [{**c, "label": column_label(c["key"])} for c in placed.columns],
        "width": placed.width, "height": placed.height, "total": graph.size,
    }


@login_required
def map_data(request: HttpRequest) -> JsonResponse:
    """The drawing: every node (small maps), the groups (large maps), or one group or node's
    neighbourhood (?group=supplier:2, ?focus=NODE ID)."""
    scope = scope_for(request)
    graph = scope.graph
    tiers, columns = columns_of(graph)
    group, focus = request.GET.get("group"), request.GET.get("focus")
    if focus:
        core = [scope.index_of(focus)]
        nodes, core_total = layout.neighbourhood(graph, core)
        data = _drawing(scope, nodes, tiers, columns)
        data.update(focus=focus, core_total=core_total, core_shown=1)
        return JsonResponse(data)
    if group:
        core = [i for i, c in enumerate(columns) if c == group]
        if not core:
            raise Http404
        nodes, core_total = layout.neighbourhood(graph, core)
        data = _drawing(scope, nodes, tiers, columns)
        shown = sum(1 for i in nodes if columns[i] == group)
        data.update(group=group, group_label=column_label(group), core_total=core_total, core_shown=shown)
        return JsonResponse(data)
    if graph.size > layout.GROUP_THRESHOLD or request.GET.get("view") == "groups":
        data = layout.groups(graph, columns)
        for box in data["groups"]:
            box["label"] = column_label(box["key"])
        data.update(view="groups", total=graph.size, edge_total=int(len(graph.edge_source)))
        return JsonResponse(data)
    return JsonResponse(_drawing(scope, list(range(graph.size)), tiers, columns))


def _mode(request: HttpRequest) -> str:
    mode = request.GET.get("mode") or Via.COMPROMISE
    if mode not in Via.values:
        raise Http404
    return mode


@login_required
def impact_data(request: HttpRequest) -> JsonResponse:
    """What the node ?node= reaches (?mode=compromise|outage), the most severe first."""
    scope = scope_for(request, names_node=True)
    key = request.GET.get("node") or ""
    mode = _mode(request)
    try:
        result = impact(scope.graph, key, mode)
    except UnknownNode:
        raise Http404 from None
    _tiers, columns = columns_of(scope.graph)
    total = len(result)
    groups: dict[str, int] = {}
    for i in result.order.tolist():
        groups[columns[i]] = groups.get(columns[i], 0) + 1
    reached = []
    for position in range(min(total, IMPACT_JSON_LIMIT)):
        entry = result.entry(position)
        reached.append({"id": entry.id, "effect": entry.effect, "hops": entry.hops,
                        "severity": entry.severity, "path": result.path(entry.index)})
    return JsonResponse({
        "node": key, "mode": mode, "total": total, "reached": reached, "groups": groups,
        "start_group": columns[result.node],
        "url": scope.url("impact", key, mode=mode),
    })


@login_required
def search_data(request: HttpRequest) -> JsonResponse:
    """Nodes whose name or id contains ?q= (case-insensitive), at most SEARCH_LIMIT."""
    scope = scope_for(request)
    query = (request.GET.get("q") or "").strip().casefold()
    graph = scope.graph
    found = []
    if query:
        for i, (key, name) in enumerate(zip(graph.keys, graph.names, strict=True)):
            if query in name.casefold() or query in key.casefold():
                found.append(i)
                if len(found) == SEARCH_LIMIT * 10:
                    break
    # The exact id first, then names that start with the query, then the rest by name.
    found.sort(key=lambda i: (graph.keys[i].casefold() != query,
                              not graph.names[i].casefold().startswith(query), graph.names[i], graph.keys[i]))
    results = [{"id": graph.keys[i], "name": graph.names[i], "kind": graph.kind(i)}
               for i in found[:SEARCH_LIMIT]]
    return JsonResponse({"query": query, "results": results})


def may_edit(scope: Scope) -> dict[str, bool]:
    return {"can_add": scope.may(ADD), "can_change": scope.may(CHANGE), "can_delete": scope.may(DELETE)}
