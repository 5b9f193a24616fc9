"""API permission: the HTTP method names the action; for_user in each viewset does the filtering."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW

METHOD_ACTIONS = {
    "GET": VIEW, "HEAD": VIEW, "OPTIONS": VIEW,
    "POST": ADD, "PUT": CHANGE, "PATCH": CHANGE, "DELETE": DELETE,
}


def action_for_method(method: str) -> str:
    return METHOD_ACTIONS.get(method.upper(), DELETE)


class RoleActionPermission(BasePermission):
    """Authenticated and active; whether the row is reachable is decided by for_user."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)
