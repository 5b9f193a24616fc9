"""API permission: the HTTP method names the action; for_user in each viewset does the filtering."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW

METHOD_ACTIONS = {
    "GET": VIEW, "HEAD": VIEW, "OPTIONS": VIEW,
    "POST": ADD, "PUT": CHANGE, "PATCH": CHANGE, "DELETE": DELETE,
}


def action_for_method(method: str) -> str:
    return METHOD_ACTIONS.get(method.upper(), DELETE)


def acts_as_staff(user: Any, organization_id: int, action: str) -> bool:
    """Whether USER's staff role in the organization allows ACTION (rather than a contact link).

    A supplier contact may change some of its own supplier's data; the buyer's staff may change
    all of it. Serializers ask this to decide which fields the writer may set.
    """
    return staff_may(user, organization_id, action)


class RoleActionPermission(BasePermission):
    """Authenticated and active; whether the row is reachable is decided by for_user."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)
