"""Monitoring (STEP 3): alerts raised by the daily job, reassessments created on the cadence,
the daily digest mails and the portfolio's level counts per day.

Rows are written by renkei.monitoring.services (the daily job) only; staff acknowledge alerts
through `services.acknowledge`. Nothing here is shown to supplier contacts (supplier_path None).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.core.models import OwnedModel


class Alert(OwnedModel):
    """One condition worth a look (a certification expiring, an overdue action, ...), raised once:
    `key` names the condition and is unique per organization, so the daily job can run any number
    of times. Resolved by the job when the condition ends; acknowledged by a person."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="alerts",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, null=True, blank=True, related_name="alerts",
        verbose_name=_("supplier"),
    )
    # A registered attention source (renkei.monitoring.sources): not a fixed choice list, so other
    # apps can add kinds.
    kind = models.CharField(_("kind"), max_length=40)
    key = models.CharField(_("key"), max_length=120)
    # What the reason text is rendered from, in the reader's language.
    params = models.JSONField(_("details"), default=dict, blank=True)
    # Lower is looked at first: the source's rank × 10 + (3 − the supplier's level rank).
    priority = models.PositiveIntegerField(_("priority"), default=0)
    raised_at = models.DateTimeField(_("raised"))
    raised_on = models.DateField(_("raised on"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("acknowledged by"),
    )

    supplier_path: ClassVar[str | None] = None  # the buyer's monitoring, never the supplier's

    class Meta:
        ordering = ["priority", "raised_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="alert_once_per_key"),
        ]
        indexes = [
            # The attention list (open, not acknowledged, by priority) read in index order, so the
            # first rows come without sorting tens of thousands.
            models.Index(fields=["organization", "priority", "raised_at", "id"], name="alert_attention_open",
                         condition=models.Q(resolved_at__isnull=True, acknowledged_at__isnull=True)),
            models.Index(fields=["organization", "resolved_at", "acknowledged_at", "priority", "raised_at"],
                         name="alert_attention"),
            models.Index(fields=["organization", "kind", "resolved_at"], name="alert_org_kind"),
            models.Index(fields=["organization", "raised_at"], name="alert_org_raised"),
        ]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self) -> str:
        return self.key

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Reassessment(OwnedModel):
    """An assessment the daily job created because the supplier's cadence came due, and the state
    of its invitation mail (claimed once: `invitation_claimed_at` is set by a conditional UPDATE
    before the mail is sent, so two workers never both send it)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="reassessments",
        verbose_name=_("supplier"),
    )
    assessment = models.OneToOneField(
        "questionnaires.Assessment", on_delete=models.CASCADE, related_name="reassessment",
        verbose_name=_("assessment"),
    )
    level = models.CharField(_("risk level"), max_length=10)
    criticality = models.PositiveSmallIntegerField(_("criticality"))
    months = models.PositiveSmallIntegerField(_("months"))
    # The day the cadence counted from (last submitted assessment, or registration) and the day
    # it came due.
    basis_on = models.DateField(_("counted from"))
    due_day = models.DateField(_("reassessment due"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    invitation_claimed_at = models.DateTimeField(_("invitation claimed"), null=True, blank=True)
    invitation_sent_at = models.DateTimeField(_("invitation sent"), null=True, blank=True)
    invitation_recipients = models.PositiveIntegerField(_("recipients"), default=0)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("reassessment")
        verbose_name_plural = _("reassessments")

    def __str__(self) -> str:
        return f"reassessment of {self.supplier_id} ({self.assessment_id})"


class DigestPreference(models.Model):
    """A user's choice about the daily digest mail. No row: the digest is sent."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, primary_key=True,
                                related_name="digest_preference", verbose_name=_("user"))
    enabled = models.BooleanField(_("daily digest"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("digest preference")
        verbose_name_plural = _("digest preferences")

    def __str__(self) -> str:
        return f"digest {'on' if self.enabled else 'off'} for {self.user_id}"


class Digest(models.Model):
    """One daily digest of one organization's new alerts for one user. The unique row is claimed
    before the mail is sent, so a day's digest is never sent twice (several workers, or the job
    run again). `cutoff`: alerts raised up to this moment were covered; the next digest starts
    there."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("organization"))
    day = models.DateField(_("day"))
    cutoff = models.DateTimeField(_("covers alerts raised until"))
    alerts = models.PositiveIntegerField(_("alerts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-day", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "day"], name="digest_once_per_day"),
        ]
        verbose_name = _("digest")
        verbose_name_plural = _("digests")

    def __str__(self) -> str:
        return f"digest {self.day} for {self.user_id}"


class PortfolioDay(OwnedModel):
    """How many of an organization's suppliers were at each level on one day (the portfolio
    trend), written with the day's RiskSnapshot rows so the chart reads a few hundred rows, not
    millions."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("organization"))
    day = models.DateField(_("day"))
    low = models.PositiveIntegerField(_("low"), default=0)
    medium = models.PositiveIntegerField(_("medium"), default=0)
    high = models.PositiveIntegerField(_("high"), default=0)
    critical = models.PositiveIntegerField(pgettext_lazy("risk level", "critical"), default=0)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["organization", "day"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="portfolio_day_once"),
        ]
        verbose_name = _("portfolio day")
        verbose_name_plural = _("portfolio days")

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day}"
