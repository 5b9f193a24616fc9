"""Forms that change the map: add, edit and delete nodes and edges (admin and analyst).

Every change goes through renkei.graph.services (validated with the import's rules, audited,
the map version bumped); its refusals are shown next to the fields. Auditors get 403; users who
are staff nowhere get 404 for anything naming a node or an edge, like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.audit.services import Actor
from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW
from renkei.graph import services
from renkei.graph.forms import EdgeForm, NodeForm
from renkei.graph.models import Edge, Node
from renkei.graph.views import Scope, scope_for


def _require(scope: Scope, action: str) -> None:
    if not scope.may(action):
        raise PermissionDenied


def _row(scope: Scope, key: str) -> Node:
    """The stored node KEY (a registry supplier without a row is edited in the registry: 404)."""
    scope.index_of(key)
    node = Node.objects.for_user(scope.user, VIEW).filter(organization=scope.organization, key=key).first()
    if node is None:
        raise Http404
    return node


def _edge(scope: Scope, pk: int) -> Edge:
    edge = (Edge.objects.for_user(scope.user, VIEW).filter(organization=scope.organization, pk=pk)
            .select_related("source", "target").first())
    if edge is None:
        raise Http404
    return edge


def _form_page(request: HttpRequest, scope: Scope, form: Any, title: str, **extra: Any) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    context = {"scope": scope, "organization": scope.organization, "form": form, "title": title,
               "map_url": scope.url("map"), **extra}
    return render(request, "graph/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def node_new(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request)
    _require(scope, ADD)
    form = NodeForm(request.POST or None, initial={"kind": request.GET.get("kind", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            node = services.create_node(Actor.from_request(request), scope.organization.pk, key=data["key"],
                                        kind=data["kind"], name=data["name"], attributes=form.attributes())
        except services.NotAllowed as exc:
            raise PermissionDenied from exc
        except services.GraphError as exc:
            form.apply_errors(exc.errors, exc.message)
        else:
            messages.success(request, _("The node %(key)s was added.") % {"key": node.key})
            return redirect(scope.url("node", node.key))
    return _form_page(request, scope, form, _("Add a node"))


@login_required
@require_http_methods(["GET", "POST"])
def node_edit(request: HttpRequest, key: str) -> HttpResponse:
    scope = scope_for(request, names_node=True)
    node = _row(scope, key)
    _require(scope, CHANGE)
    form = NodeForm(request.POST or None, initial=NodeForm.initial_for(node))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            node = services.update_node(Actor.from_request(request), node, key=data["key"], kind=data["kind"],
                                        name=data["name"], attributes=form.attributes())
        except services.NotAllowed as exc:
            raise PermissionDenied from exc
        except services.GraphError as exc:
            form.apply_errors(exc.errors, exc.message)
        else:
            messages.success(request, _("The node %(key)s was saved.") % {"key": node.key})
            return redirect(scope.url("node", node.key))
    return _form_page(request, scope, form, _("Edit the node %(key)s") % {"key": key},
                      back_url=scope.url("node", key))


@login_required
@require_POST
def node_delete(request: HttpRequest, key: str) -> HttpResponse:
    scope = scope_for(request, names_node=True)
    node = _row(scope, key)
    _require(scope, DELETE)
    try:
        services.delete_node(Actor.from_request(request), node)
    except services.NotAllowed as exc:
        raise PermissionDenied from exc
    except services.GraphError as exc:
        messages.error(request, exc.message)
        return redirect(scope.url("node", key))
    messages.success(request, _("The node %(key)s and its edges were deleted.") % {"key": key})
    return redirect(scope.url("map"))


@login_required
@require_http_methods(["GET", "POST"])
def edge_new(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request)
    _require(scope, ADD)
    initial = {name: request.GET.get(name, "") for name in ("source", "target", "kind")}
    form = EdgeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            edge = services.create_edge(Actor.from_request(request), scope.organization.pk,
                                        source=data["source"], target=data["target"], kind=data["kind"],
                                        attributes=form.attributes())
        except services.NotAllowed as exc:
            raise PermissionDenied from exc
        except services.GraphError as exc:
            form.apply_errors(exc.errors, exc.message)
        else:
            messages.success(request, _("The edge %(source)s → %(target)s was added.") % {
                "source": edge.source.key, "target": edge.target.key})
            return redirect(scope.url("node", edge.source.key))
    back = initial["source"] and initial["source"] in scope.graph.index
    return _form_page(request, scope, form, _("Add an edge"),
                      back_url=scope.url("node", initial["source"]) if back else None)


@login_required
@require_http_methods(["GET", "POST"])
def edge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request, names_node=True)
    edge = _edge(scope, pk)
    _require(scope, CHANGE)
    form = EdgeForm(request.POST or None, initial=EdgeForm.initial_for(edge))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            edge = services.update_edge(
                Actor.from_request(request), edge, source=data["source"], target=data["target"],
                kind=data["kind"], attributes=form.attributes())
        except services.NotAllowed as exc:
            raise PermissionDenied from exc
        except services.GraphError as exc:
            form.apply_errors(exc.errors, exc.message)
        else:
            messages.success(request, _("The edge %(source)s → %(target)s was saved.") % {
                "source": edge.source.key, "target": edge.target.key})
            return redirect(scope.url("node", edge.source.key))
    return _form_page(request, scope, form,
                      _("Edit the edge %(source)s → %(target)s") % {"source": edge.source.key,
                                                                    "target": edge.target.key},
                      back_url=scope.url("node", edge.source.key))


@login_required
@require_POST
def edge_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request, names_node=True)
    edge = _edge(scope, pk)
    _require(scope, DELETE)
    source = edge.source.key
    try:
        services.delete_edge(Actor.from_request(request), edge)
    except services.NotAllowed as exc:
        raise PermissionDenied from exc
    except services.GraphError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The edge %(source)s → %(target)s was deleted.") % {
            "source": source, "target": edge.target.key})
    back = request.POST.get("back")
    return redirect(scope.url("node", back if back in scope.graph.index else source))
