"""/api/v1/map-nodes/, /api/v1/map-edges/, /api/v1/map-nodes/{key}/impact/, /api/v1/map-concentration/.

Rows come from for_user: the buyer's staff see their organizations' map, a supplier contact only
the rows its own supplier declared (its subcontractors); anything else is 404, a visible row the
caller may not change 403. Writes go through renkei.graph.services (validated with the import's
rules, audited, the map version bumped). The analyses are staff only and read the cached
in-memory graph (renkei.graph.engine).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.errors import api_error
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.models import contact_supplier_ids, member_organization_ids
from renkei.core.permissions import ADD, VIEW
from renkei.graph import engine, portal, services
from renkei.graph.api import serializers as s
from renkei.graph.choices import EdgeKind, NodeKind, Origin, Via
from renkei.graph.models import Edge, Node
from renkei.suppliers.models import Supplier

ORGANIZATION_PARAM = OpenApiParameter(
    "organization", OpenApiTypes.INT, description="Organization id; needed when you are staff of several."
)


def _call(call: Any) -> Any:
    try:
        return call()
    except services.GraphError as exc:
        raise api_error(exc) from exc


def _whole(name: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise ValidationError({name: [_("Enter a whole number.")]})


def staff_organization(user: Any, wanted: Any, action: str = VIEW, *, names_node: bool = False) -> int:
    """The organization a staff request is about: WANTED, or the only one the user is staff of.

    Staff of none: 403 (404 when the URL names a node: it does not exist for them). A foreign or
    missing organization: 404. Several and none chosen: 400.
    """
    organizations = list(member_organization_ids(user, VIEW).values_list("organization_id", flat=True))
    if not organizations:
        raise Http404 if names_node else PermissionDenied()
    chosen = _whole("organization", wanted)
    if chosen is None:
        if len(set(organizations)) > 1:
            raise ValidationError(
                {"organization": [_("You are staff of several organizations: choose one.")]}
            )
        chosen = organizations[0]
    if chosen not in organizations:
        raise Http404
    if action != VIEW and not member_organization_ids(user, action).filter(organization_id=chosen).exists():
        raise PermissionDenied()
    return chosen


def declaring_supplier(user: Any, wanted: Any) -> Supplier | None:
    """The supplier a contact declares for (DECLARED_BY, or its only one), or None for staff.

    A supplier the user is not a portal contact of answers like a missing one.
    """
    chosen = _whole("declared_by", wanted)
    own = Supplier.objects.for_user(user, VIEW).filter(pk__in=contact_supplier_ids(user))
    if chosen is not None:
        supplier = own.filter(pk=chosen).first()
        if supplier is None:
            raise ValidationError({"declared_by": [_("Not a supplier you answer for.")]})
        return supplier
    if member_organization_ids(user, VIEW).exists():
        return None  # staff: the buyer's own rows
    suppliers = list(own[:2])
    if not suppliers:
        raise PermissionDenied()
    if len(suppliers) > 1:
        raise ValidationError({"declared_by": [_("You answer for several suppliers: choose one.")]})
    return suppliers[0]


class NodeFilterSet(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id")
    kind = django_filters.ChoiceFilter(choices=NodeKind.choices)
    origin = django_filters.ChoiceFilter(choices=Origin.choices)
    supplier = django_filters.NumberFilter(field_name="supplier_id", help_text="Registry supplier id.")
    declared_by = django_filters.NumberFilter(field_name="declared_by_id", help_text="Declaring supplier id.")

    class Meta:
        model = Node
        fields = ["organization", "kind", "origin", "supplier", "declared_by"]


class EdgeFilterSet(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id")
    kind = django_filters.ChoiceFilter(choices=EdgeKind.choices)
    origin = django_filters.ChoiceFilter(choices=Origin.choices)
    source = django_filters.CharFilter(field_name="source__key", help_text="Node id of the source.")
    target = django_filters.CharFilter(field_name="target__key", help_text="Node id of the target.")
    declared_by = django_filters.NumberFilter(field_name="declared_by_id", help_text="Declaring supplier id.")

    class Meta:
        model = Edge
        fields = ["organization", "kind", "origin", "source", "target", "declared_by"]


class MapNodeViewSet(OwnedQueryMixin, viewsets.ModelViewSet):
    """Nodes of the supply-chain map, addressed by their id (`key`). Filters: organization, kind,
    origin, supplier, declared_by. A supplier contact sees and changes only the nodes its
    supplier declared, and declares new ones (kind supplier; the id is generated when left out).
    With several organizations, `?organization=` picks the one an id belongs to."""

    model = Node
    serializer_class = s.NodeSerializer
    filterset_class = NodeFilterSet
    list_select_related = ("supplier", "declared_by")
    lookup_field = "key"
    lookup_value_regex = "[^/]+"
    ordering_fields = ["key", "kind", "name", "created_at", "updated_at"]
    ordering = ["organization_id", "key"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_object(self) -> Node:
        rows = list(self.filter_queryset(self.get_queryset()).filter(key=self.kwargs["key"])[:2])
        if not rows:
            raise Http404
        if len(rows) > 1:
            raise ValidationError(
                {
                    "organization": [
                        _("Several of your organizations have a node with this id: add ?organization=<id>.")
                    ]
                }
            )
        return self._checked(rows[0])

    def _checked(self, node: Node) -> Node:
        from renkei.core.api.permissions import action_for_method

        wanted = action_for_method(self.request.method or "GET")
        if (
            wanted != VIEW
            and not Node.objects.for_user(self.request.user, wanted).filter(pk=node.pk).exists()
        ):
            raise PermissionDenied(_("You may view this record but not change or delete it."))
        return node

    def _reply(self, node: Node, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=node.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=s.NodeWriteSerializer, responses={201: s.NodeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NodeWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor = Actor.from_request(request)
        supplier = declaring_supplier(request.user, data.get("declared_by"))
        attributes = data.get("attributes") or {}
        if supplier is not None:
            kind = data.get("kind", NodeKind.SUPPLIER)
            if "name" not in data:
                raise ValidationError({"name": [_("This field is required.")]})
            key = data.get("key")
            node = _call(
                lambda: services.create_node(
                    actor,
                    supplier.organization_id,
                    key=key or portal.next_key(supplier),
                    kind=kind,
                    name=data["name"],
                    attributes=attributes,
                    declared_by=supplier,
                )
            )
            return self._reply(node, status.HTTP_201_CREATED)
        organization = staff_organization(request.user, data.get("organization"), ADD)
        missing = {
            name: [_("This field is required.")] for name in ("key", "kind", "name") if name not in data
        }
        if missing:
            raise ValidationError(missing)
        node = _call(
            lambda: services.create_node(
                actor,
                organization,
                key=data["key"],
                kind=data["kind"],
                name=data["name"],
                attributes=attributes,
            )
        )
        return self._reply(node, status.HTTP_201_CREATED)

    @extend_schema(request=s.NodeWriteSerializer, responses=s.NodeSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        node = self.get_object()
        body = s.NodeWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        fields = {k: v for k, v in body.validated_data.items() if k in ("key", "kind", "name", "attributes")}
        node = _call(lambda: services.update_node(Actor.from_request(request), node, **fields))
        return self._reply(node)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        node = self.get_object()
        _call(lambda: services.delete_node(Actor.from_request(request), node))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "mode",
                OpenApiTypes.STR,
                enum=[v.value for v in Via],
                description="compromise (default): what a compromise reaches; outage: what stops.",
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description="At most this many reached nodes, most severe first (default: all).",
            ),
            ORGANIZATION_PARAM,
        ],
        responses=s.ImpactSerializer,
    )
    @action(detail=True, methods=["get"])
    def impact(self, request: Request, key: str | None = None, **kwargs: Any) -> Response:
        """What a compromise (or an outage) of this node reaches: the `renkei graph impact --json`
        document, each entry with its effect (compromised, stops, degraded) and severity (0–100).
        Any id of the map, registry suppliers included. Staff only."""
        organization = staff_organization(
            request.user, request.query_params.get("organization"), names_node=True
        )
        mode = request.query_params.get("mode") or Via.COMPROMISE.value
        if mode not in Via.values:
            raise ValidationError({"mode": [_("One of: %(values)s.") % {"values": ", ".join(Via.values)}]})
        limit = _whole("limit", request.query_params.get("limit"))
        graph = engine.load_graph(organization)
        try:
            result = engine.impact(graph, str(key), mode)
        except engine.UnknownNode:
            raise Http404 from None
        return Response(impact_data(result, limit))


def impact_data(result: engine.Impact, limit: int | None = None) -> dict[str, Any]:
    """The engine's impact document plus each entry's effect and severity (LIMIT: the most severe)."""
    document = result.to_json()
    effects = result.effect[result.order].tolist()
    severities = result.severity.tolist()
    names = {1: engine.COMPROMISED, 2: engine.STOPS, 3: engine.DEGRADED}
    reached = document["reached"] if limit is None else document["reached"][:limit]
    for entry, effect, severity in zip(reached, effects, severities, strict=False):
        entry["effect"] = names[effect]
        entry["severity"] = severity
    return {
        "node": document["node"],
        "mode": result.mode,
        "total": len(document["reached"]),
        "reached": reached,
    }


class MapEdgeViewSet(OwnedQueryMixin, viewsets.ModelViewSet):
    """Edges of the supply-chain map (source and target by node id). Filters: organization, kind,
    origin, source, target, declared_by. A supplier contact sees and changes only the edges its
    supplier declared, and declares subcontracts edges from its own supplier (its registry code)
    or a node it declared to a node it declared."""

    model = Edge
    serializer_class = s.EdgeSerializer
    filterset_class = EdgeFilterSet
    list_select_related = ("source", "target")
    ordering_fields = ["id", "kind", "created_at", "updated_at"]
    ordering = ["id"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def _reply(self, edge: Edge, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=edge.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=s.EdgeWriteSerializer, responses={201: s.EdgeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.EdgeWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        missing = {name: [_("This field is required.")] for name in ("source", "target") if name not in data}
        if missing:
            raise ValidationError(missing)
        supplier = declaring_supplier(request.user, data.get("declared_by"))
        actor = Actor.from_request(request)
        if supplier is not None:
            organization = supplier.organization_id
            kind = data.get("kind", EdgeKind.SUBCONTRACTS)
        else:
            organization = staff_organization(request.user, data.get("organization"), ADD)
            if "kind" not in data:
                raise ValidationError({"kind": [_("This field is required.")]})
            kind = data["kind"]
        edge = _call(
            lambda: services.create_edge(
                actor,
                organization,
                source=data["source"],
                target=data["target"],
                kind=kind,
                attributes=data.get("attributes") or {},
                declared_by=supplier,
            )
        )
        return self._reply(edge, status.HTTP_201_CREATED)

    @extend_schema(request=s.EdgeWriteSerializer, responses=s.EdgeSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        edge = self.get_object()
        body = s.EdgeWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        fields = {
            k: v for k, v in body.validated_data.items() if k in ("source", "target", "kind", "attributes")
        }
        edge = _call(lambda: services.update_edge(Actor.from_request(request), edge, **fields))
        return self._reply(edge)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        edge = self.get_object()
        _call(lambda: services.delete_edge(Actor.from_request(request), edge))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MapConcentrationViewSet(viewsets.ViewSet):
    """Concentration on the map (`renkei graph spof --json`): single points of failure, shared
    fourth parties, suppliers with access to many systems. Staff only; computed once per map
    version."""

    @extend_schema(parameters=[ORGANIZATION_PARAM], responses=s.ConcentrationSerializer)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from renkei.graph.views_pages import concentration_of

        organization = staff_organization(request.user, request.query_params.get("organization"))
        return Response(concentration_of(engine.load_graph(organization)).to_json())
