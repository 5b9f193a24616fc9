"""Serializer building blocks shared by every app's API.

Serializers here never save: they validate and build an unsaved instance, and the viewset saves
it through the app's service (`save_record`), so API writes are validated and audited exactly
like page, CLI and import writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.settings import api_settings

from renkei.core.api.permissions import action_for_method
from renkei.core.permissions import VIEW


def validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A model ValidationError (clean(), validators) as DRF's field-keyed error body."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): messages
            for key, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def request_user(serializer_field: serializers.Field) -> Any:
    request = serializer_field.context.get("request")
    return getattr(request, "user", None)


class OwnedRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to a buyer-owned row, looked up as the requesting user sees it.

    `visible(user)` is what the user may see: any other id, foreign or missing, answers the same
    "does not exist" error, so the API never confirms that someone else's row exists.
    `allowed(user, action)` (optional) is where the request's action is permitted: a visible row
    outside it answers 403, which tells the user nothing new.
    """

    def __init__(
        self,
        *,
        model: type[models.Model],
        visible: Callable[[Any], models.QuerySet],
        allowed: Callable[[Any, str], models.QuerySet] | None = None,
        **kwargs: Any,
    ) -> None:
        self.visible = visible
        self.allowed = allowed
        if not kwargs.get("read_only"):
            # The model for the schema; rows come from get_queryset() per request.
            kwargs["queryset"] = model._default_manager.none()
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet:
        return self.visible(request_user(self))

    def to_internal_value(self, data: Any) -> Any:
        obj = super().to_internal_value(data)
        request = self.context.get("request")
        if self.allowed is not None and request is not None:
            action = action_for_method(request.method)
            if action != VIEW and not self.allowed(request.user, action).filter(pk=obj.pk).exists():
                raise PermissionDenied()
        return obj


class ServiceModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose save is done by a service: see `build_instance`.

    `service_fields` are validated values handed to the service as keyword arguments instead of
    being set on the instance (e.g. a supplier's tags). `write_once_fields` may be given on
    create and are read-only afterwards (the organization or supplier a record belongs to).
    """

    service_fields: ClassVar[tuple[str, ...]] = ()
    write_once_fields: ClassVar[tuple[str, ...]] = ()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None:
            for name in self.write_once_fields:
                if name in fields:
                    fields[name].read_only = True
        return fields

    def build_instance(self) -> tuple[models.Model, dict[str, Any]]:
        """The instance with validated values applied (unsaved), and the service's extra kwargs."""
        data = dict(self.validated_data)
        extra = {name: data.pop(name) for name in self.service_fields if name in data}
        instance = self.instance if self.instance is not None else self.Meta.model()
        for name, value in data.items():
            setattr(instance, name, value)
        return instance, extra

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        raise RuntimeError("saved by the viewset through the app's service, never by the serializer")

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        raise RuntimeError("saved by the viewset through the app's service, never by the serializer")
