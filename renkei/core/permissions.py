"""Roles and the actions they allow. The single source for every access decision.

Buyer staff act through a Membership of an organization; a supplier contact acts through a
Contact row with portal access. `OwnedQuerySet.for_user` (renkei.core.models) applies these.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

VIEW = "view"
ADD = "add"
CHANGE = "change"
DELETE = "delete"
MANAGE = "manage"  # organization settings and user management
ACTIONS = (VIEW, ADD, CHANGE, DELETE, MANAGE)


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    ANALYST = "analyst", _("Analyst")
    AUDITOR = "auditor", _("Auditor (read-only)")


STAFF_ACTIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset({VIEW, ADD, CHANGE, DELETE, MANAGE}),
    Role.ANALYST: frozenset({VIEW, ADD, CHANGE, DELETE}),
    Role.AUDITOR: frozenset({VIEW}),
}

SUPPLIER_ROLE = "supplier"


def staff_roles_allowing(action: str) -> list[str]:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return [role for role, actions in STAFF_ACTIONS.items() if action in actions]
