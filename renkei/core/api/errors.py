"""One mapping from a service's refusal to the API's answer."""

from __future__ import annotations

from rest_framework.exceptions import APIException, PermissionDenied, ValidationError

from renkei.core.errors import NotAllowed, ServiceError


def api_error(exc: ServiceError) -> APIException:
    """403 for NotAllowed; otherwise 400 with the field errors (or {"detail": message})."""
    if isinstance(exc, NotAllowed):
        return PermissionDenied(exc.message)
    return ValidationError(exc.errors or {"detail": exc.message})
