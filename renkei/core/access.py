"""Small access helpers for page views, on top of `for_user` (renkei.core.models).

A foreign or missing object answers 404 so pages never reveal what exists elsewhere; an object
the user may see but not change answers 403, which tells them nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404

from renkei.core.permissions import STAFF_ACTIONS, VIEW


def _queryset(queryset_or_model: type[models.Model] | models.QuerySet) -> models.QuerySet:
    if isinstance(queryset_or_model, models.QuerySet):
        return queryset_or_model
    return queryset_or_model.objects.all()


def get_for_user_or_404(
    queryset_or_model: type[models.Model] | models.QuerySet, user: Any, action: str = VIEW,
    **lookup: Any,
) -> Any:
    """The object matching LOOKUP that USER may see; 404 if hidden, 403 if ACTION is refused."""
    queryset = _queryset(queryset_or_model)
    obj = queryset.for_user(user, VIEW).filter(**lookup).first()
    if obj is None:
        raise Http404
    allowed = queryset.model.objects.for_user(user, action)
    if action != VIEW and not allowed.filter(pk=obj.pk).exists():
        raise PermissionDenied
    return obj


def require_staff(user: Any, action: str = VIEW) -> None:
    """403 unless USER is staff of some organization whose role allows ACTION.

    For pages that exist only for the buyer's staff (libraries, campaigns, exports); the rows
    shown still come from for_user.
    """
    from renkei.core.models import member_organization_ids

    if user is None or not user.is_authenticated or not member_organization_ids(user, action).exists():
        raise PermissionDenied


@dataclass(frozen=True)
class SupplierAccess:
    """What one user may do with one supplier and its records, from two small queries.

    Mirrors `for_user`: staff act through their role in the supplier's organization, a portal
    contact through the model's `supplier_actions`. Used to show or hide buttons; the views
    still fetch every object through `get_for_user_or_404`.
    """

    staff_actions: frozenset[str]
    is_contact: bool

    @classmethod
    def of(cls, user: Any, supplier: Any) -> SupplierAccess:
        if user is None or not user.is_authenticated or not user.is_active:
            return cls(frozenset(), False)
        from renkei.accounts.models import Membership
        from renkei.suppliers.models import Contact

        roles = Membership.objects.filter(
            user=user, organization_id=supplier.organization_id
        ).values_list("role", flat=True)
        actions: set[str] = set()
        for role in roles:
            actions |= STAFF_ACTIONS.get(role, frozenset())
        is_contact = Contact.objects.filter(
            user=user, portal_access=True, supplier_id=supplier.pk
        ).exists()
        return cls(frozenset(actions), is_contact)

    @property
    def is_staff(self) -> bool:
        return VIEW in self.staff_actions

    def may(self, action: str, model: type[models.Model]) -> bool:
        if action in self.staff_actions:
            return True
        if not self.is_contact or getattr(model, "supplier_path", None) is None:
            return False
        return action in getattr(model, "supplier_actions", frozenset())
