"""The one restriction every buyer-owned queryset goes through: `Model.objects.for_user(user, action)`."""

from __future__ import annotations

from typing import Any, ClassVar

from django.apps import apps
from django.db import models
from django.db.models import Exists, Q

from renkei.core.permissions import VIEW, staff_roles_allowing


def member_organization_ids(user: Any, action: str) -> models.QuerySet:
    """Organizations in which USER's role allows ACTION, as a subquery (no extra round trip)."""
    membership = apps.get_model("accounts", "Membership")
    return membership.objects.filter(user=user, role__in=staff_roles_allowing(action)).values(
        "organization_id"
    )


def staff_may(user: Any, organization_id: int, action: str) -> bool:
    """Whether USER's staff role in that organization allows ACTION (a contact link does not)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return member_organization_ids(user, action).filter(organization_id=organization_id).exists()


def contact_supplier_ids(user: Any) -> models.QuerySet:
    """Suppliers for which USER is a contact with portal access, as a subquery."""
    contact = apps.get_model("suppliers", "Contact")
    return contact.objects.filter(user=user, portal_access=True).values("supplier_id")


class OwnedQuerySet(models.QuerySet):
    def for_user(self, user: Any, action: str = VIEW) -> OwnedQuerySet:
        """Rows USER may perform ACTION on. Anonymous or inactive users get nothing.

        Staff: rows of organizations where their role allows ACTION. Supplier contacts: rows
        of their own supplier(s), for the actions the model grants suppliers. A model with
        `shared_when_unowned` also shows its rows without an organization (e.g. built-in
        questionnaire templates) to anyone who is staff somewhere — for viewing only.
        """
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        model = self.model
        condition = Q(**{f"{model.organization_path}__in": member_organization_ids(user, action)})
        if model.supplier_path is not None and action in model.supplier_actions:
            condition |= Q(**{f"{model.supplier_path}__in": contact_supplier_ids(user)})
        if model.shared_when_unowned and action == VIEW:
            condition |= Q(**{f"{model.organization_path}__isnull": True}) & Q(
                Exists(member_organization_ids(user, VIEW))
            )
        return self.filter(condition)


OwnedManager = models.Manager.from_queryset(OwnedQuerySet)


class OwnedModel(models.Model):
    """A buyer-owned record. Subclasses say how to reach the organization and the supplier."""

    organization_path: ClassVar[str] = "organization"
    # Path to the supplier whose contacts may act on the row; None: suppliers never see it.
    supplier_path: ClassVar[str | None] = "supplier"
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW})
    # True: rows whose organization is NULL are shared, viewable by the staff of every organization.
    shared_when_unowned: ClassVar[bool] = False

    objects = OwnedManager()

    class Meta:
        abstract = True

    def owning_organization_id(self) -> int:
        """The organization id, following organization_path (used by the audit trail)."""
        target: Any = self
        parts = self.organization_path.split("__")
        for part in parts[:-1]:
            target = getattr(target, part)
        return getattr(target, f"{parts[-1]}_id")


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ScheduledRun(models.Model):
    """One periodic job enqueued for one time slot (renkei.core.scheduling).

    The unique constraint is the lock: every worker tries to insert the row for a due slot and
    only the one whose insert succeeds enqueues the job, so a slot runs once across all workers.
    """

    name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="scheduled_run_unique_slot")
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot.isoformat()}"
