"""/api/v1/alerts/: the alerts of your organizations in attention order (filters as on the
/monitoring/ page: organization, supplier, kind, level, state, q), and
POST /api/v1/alerts/{id}/acknowledge/ (administrators and analysts; auditors 403). Staff only:
a supplier contact's list is empty and any id answers 404."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.permissions import CHANGE
from renkei.monitoring.api.serializers import AlertSerializer
from renkei.monitoring.filtersets import AlertFilterSet
from renkei.monitoring.models import Alert
from renkei.monitoring.services import acknowledge as acknowledge_alert


class AlertViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Alerts raised by the daily monitoring job, what to look at first first. `state=open`:
    open and not acknowledged (the attention list); `acknowledged`; `resolved`; `all` (default)."""

    model = Alert
    serializer_class = AlertSerializer
    list_select_related = ("supplier", "acknowledged_by")
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilterSet

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("priority", "raised_at", "pk")

    @extend_schema(request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        alert = self.get_object()
        if not Alert.objects.for_user(request.user, CHANGE).filter(pk=alert.pk).exists():
            raise PermissionDenied("You may view this alert but not acknowledge it.")
        alert, _changed = acknowledge_alert(Actor.from_request(request), alert)
        return Response(AlertSerializer(alert, context=self.get_serializer_context()).data)
