"""Users, buyer organizations and staff memberships."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from renkei.core.models import TimestampedModel
from renkei.core.permissions import SUPPLIER_ROLE, Role


class User(AbstractUser):
    """A person. Kept separate from any one buyer: a supplier's person may answer for several."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=8, blank=True, choices=[("ja", "日本語"), ("en", "English")]
    )

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def staff_roles(self) -> dict[int, str]:
        """organization id -> role, for staff memberships."""
        return dict(self.memberships.values_list("organization_id", "role"))

    def is_supplier_contact(self) -> bool:
        return self.supplier_contacts.filter(portal_access=True).exists()

    def primary_role(self) -> str | None:
        roles = set(self.staff_roles().values())
        for role in (Role.ADMIN, Role.ANALYST, Role.AUDITOR):
            if role in roles:
                return str(role)
        if self.is_supplier_contact():
            return SUPPLIER_ROLE
        return None


class Organization(TimestampedModel):
    """A buyer (委託元). Everything buyer-owned hangs off one of these."""

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    corporate_number = models.CharField(_("corporate number"), max_length=13, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    # Organizations are restricted like owned rows: a user sees those it is a member of.
    @classmethod
    def for_user(cls, user: Any, action: str = "view") -> models.QuerySet:
        from renkei.core.models import member_organization_ids

        if user is None or not user.is_authenticated or not user.is_active:
            return cls.objects.none()
        return cls.objects.filter(id__in=member_organization_ids(user, action))


class Membership(TimestampedModel):
    """A user's staff role in an organization."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    def owning_organization_id(self) -> int:
        """The organization whose audit trail records changes of the membership."""
        return self.organization_id
