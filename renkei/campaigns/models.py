"""Campaigns: one questionnaire template version sent to many suppliers at once, with a deadline.

A campaign owns one CampaignTarget per supplier, each tied to the supplier's Assessment (the
assessment itself lives in renkei.questionnaires and is answered there). CampaignMessage rows
record each invitation and reminder mail: the unique (target, kind) row is claimed before the
mail is sent, so nothing is ever sent twice, even with several workers.

Only buyer staff see campaigns; supplier contacts see their assessments, never the campaign.
Rows are created by renkei.campaigns.services only.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from renkei.core.models import OwnedModel


class CampaignStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class MessageKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    REMINDER_BEFORE = "reminder_before", _("Reminder 7 days before the due date")
    REMINDER_DUE = "reminder_due", _("Reminder on the due date")
    REMINDER_OVERDUE = "reminder_overdue", _("Reminder 3 days after the due date")


class Campaign(OwnedModel):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="campaigns",
        verbose_name=_("organization"),
    )
    name = models.CharField(_("name"), max_length=200)
    # The exact version sent (locked when the campaign is created).
    template = models.ForeignKey(
        "questionnaires.Template", on_delete=models.PROTECT, related_name="campaigns",
        verbose_name=_("questionnaire template"),
    )
    due_on = models.DateField(_("due date"))
    # The supplier filters used to choose the targets (the supplier list's query parameters).
    selection = models.JSONField(_("selection"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Suppliers matched but not sent to: [{"supplier": code, "name": name, "assessment": id}].
    skipped = models.JSONField(_("skipped suppliers"), default=list, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("closed by"),
    )

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class CampaignTarget(OwnedModel):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets")
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="campaign_targets"
    )
    assessment = models.OneToOneField(
        "questionnaires.Assessment", on_delete=models.CASCADE, related_name="campaign_target"
    )

    organization_path: ClassVar[str] = "campaign__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["campaign", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "supplier"], name="campaign_target_unique"),
        ]
        verbose_name = _("campaign target")
        verbose_name_plural = _("campaign targets")

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.supplier_id}"


class CampaignMessage(OwnedModel):
    """One mail of one kind for one target: claimed (row inserted) before it is sent."""

    target = models.ForeignKey(CampaignTarget, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    claimed_at = models.DateTimeField(_("claimed"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    organization_path: ClassVar[str] = "target__campaign__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["target", "claimed_at"]
        constraints = [
            models.UniqueConstraint(fields=["target", "kind"], name="campaign_message_once"),
        ]
        verbose_name = _("campaign message")
        verbose_name_plural = _("campaign messages")

    def __str__(self) -> str:
        return f"{self.target_id} {self.kind}"
