"""The audit trail: append-only, hash-chained per organization."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from renkei.core.models import OwnedModel


class AuditChain(models.Model):
    """The head of an organization's chain. Locked (SELECT ... FOR UPDATE) to append in order."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"chain of organization {self.organization_id} at {self.last_sequence}"


class AuditEntry(OwnedModel):
    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="audit_entries"
    )
    sequence = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text too: the entry must still say who acted after the user is deleted.
    actor_label = models.CharField(_("who"), max_length=200)
    address = models.CharField(_("from where"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("record type"), max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(_("record"), max_length=300)
    # The supplier the record belongs to, so a supplier page can show its whole history.
    supplier_id_ref = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    supplier_path: ClassVar[str | None] = None  # buyer staff only: entries name staff and addresses

    class Meta:
        ordering = ["organization", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sequence"], name="audit_unique_sequence"
            )
        ]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit entries are append-only")
