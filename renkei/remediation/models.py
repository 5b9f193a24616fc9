"""Remediation plans (是正計画) agreed with a supplier, and their actions (STEP 2 → STEP 3).

An action has an owner on either side (the buyer's staff or the supplier), a due date, a status,
and evidence of completion; the supplier updates its own actions in the portal, the buyer
verifies them, and verified actions lower the supplier's likelihood (renkei.risk.factors).
Actions also come from supplier selection (conditions of approval) and audit findings.
Changed only through renkei.remediation.services (audited).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.core.models import OwnedModel
from renkei.core.permissions import CHANGE, VIEW


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AGREED = "agreed", _("Agreed with the supplier")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Not started")
    IN_PROGRESS = "in_progress", pgettext_lazy("action status", "In progress")
    DONE = "done", _("Done, awaiting verification")
    VERIFIED = "verified", _("Verified")
    CANCELLED = "cancelled", _("Cancelled")


class OwnerSide(models.TextChoices):
    BUYER = "buyer", _("Our side")
    SUPPLIER = "supplier", _("Supplier")


class ActionSource(models.TextChoices):
    RISK = "risk", _("Risk treatment")
    INTAKE = "intake", _("Condition of approval")
    AUDIT = "audit", _("Audit finding")
    REVIEW = "review", _("Questionnaire review")
    INCIDENT = "incident", _("Incident lessons")
    MANUAL = "manual", _("Added by hand")


class RemediationPlan(OwnedModel):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="remediation_plans",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="remediation_plans",
        verbose_name=_("supplier"),
    )
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=PlanStatus.choices,
                              default=PlanStatus.DRAFT)
    due_on = models.DateField(_("due date"), null=True, blank=True)
    agreed_at = models.DateTimeField(_("agreed"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("remediation plan")
        verbose_name_plural = _("remediation plans")

    def __str__(self) -> str:
        return self.title


class Action(OwnedModel):
    plan = models.ForeignKey(RemediationPlan, on_delete=models.CASCADE, related_name="actions",
                             verbose_name=_("remediation plan"))
    title = models.CharField(pgettext_lazy("remediation", "action"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("source"), max_length=10, choices=ActionSource.choices,
                              default=ActionSource.MANUAL)
    risk = models.ForeignKey("risk.Risk", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="actions", verbose_name=_("risk"))
    owner_side = models.CharField(_("owner side"), max_length=10, choices=OwnerSide.choices,
                                  default=OwnerSide.SUPPLIER)
    owner = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("owner"),
    )
    owner_name = models.CharField(_("owner name"), max_length=100, blank=True)
    due_on = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ActionStatus.choices,
                              default=ActionStatus.OPEN)
    completion_note = models.TextField(_("completion note"), blank=True)
    evidence = models.FileField(_("evidence"), upload_to="evidence/actions/%Y/%m/", blank=True,
                                max_length=300)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    verified_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verification_note = models.TextField(_("verification note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    organization_path: ClassVar[str] = "plan__organization"
    supplier_path: ClassVar[str | None] = "plan__supplier"
    # Supplier contacts see their supplier's actions and update those owned by the supplier side
    # (the services check the side and which fields they may change).
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, CHANGE})

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["status", "due_on"], name="action_status_due")]
        verbose_name = pgettext_lazy("remediation", "action")
        verbose_name_plural = _("actions")

    def __str__(self) -> str:
        return self.title
