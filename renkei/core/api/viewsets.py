"""The base of every API viewset over buyer-owned rows.

Rows come only from `Model.objects.for_user(user, action)`. A row the user cannot see answers 404,
the same as a missing one; a row the user can see but not change or delete answers 403. Writes go
through the app's services so they are validated by the model and leave an audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.permissions import action_for_method
from renkei.core.api.serializers import ServiceModelSerializer, validation_detail
from renkei.core.permissions import VIEW


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Other records still refer to this record; change or delete them first.")
    default_code = "conflict"


class OwnedQueryMixin:
    """Querysets and object lookup through for_user; usable by read-only viewsets too."""

    model: ClassVar[type[models.Model]]
    # Joins and prefetches that keep list endpoints at a constant number of queries.
    list_select_related: ClassVar[tuple[str, ...]] = ()
    list_prefetch_related: ClassVar[tuple[str, ...]] = ()
    request: Request

    def get_queryset(self) -> models.QuerySet:
        queryset = self.model.objects.for_user(self.request.user, VIEW)
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        if self.list_prefetch_related:
            queryset = queryset.prefetch_related(*self.list_prefetch_related)
        return queryset

    def get_object(self) -> Any:
        # Looked up among the rows the user may see: anything else is 404.
        obj = super().get_object()  # type: ignore[misc]
        action = action_for_method(self.request.method or "GET")
        if action != VIEW and not self.model.objects.for_user(
            self.request.user, action
        ).filter(pk=obj.pk).exists():
            raise PermissionDenied(_("You may view this record but not change or delete it."))
        return obj


class OwnedViewSetMixin(OwnedQueryMixin):
    """CRUD over owned rows, saved by `save_service(actor, instance, **extra)` and deleted by
    `delete_service(actor, instance)` (e.g. renkei.suppliers.services.save_record)."""

    save_service: ClassVar[Callable[..., Any]]
    delete_service: ClassVar[Callable[..., Any]]

    def can_add(self) -> bool:
        """Whether the user may add rows anywhere here; False answers POST with 403."""
        return True

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not self.can_add():
            raise PermissionDenied(_("You may not add records here."))
        return super().create(request, *args, **kwargs)  # type: ignore[misc]

    def _save(self, serializer: ServiceModelSerializer) -> None:
        instance, extra = serializer.build_instance()
        try:
            serializer.instance = type(self).save_service(
                Actor.from_request(self.request), instance, **extra
            )
        except DjangoValidationError as exc:
            raise ValidationError(validation_detail(exc)) from exc

    def perform_create(self, serializer: ServiceModelSerializer) -> None:
        self._save(serializer)

    def perform_update(self, serializer: ServiceModelSerializer) -> None:
        self._save(serializer)

    def perform_destroy(self, instance: models.Model) -> None:
        try:
            type(self).delete_service(Actor.from_request(self.request), instance)
        except ProtectedError as exc:
            raise Conflict() from exc
