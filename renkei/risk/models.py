"""Risk settings per organization and the computed risk of each supplier (STEP 2, first slice)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from renkei.core.models import OwnedModel
from renkei.risk import factors as factor_registry
from renkei.risk import impact as impact_rubric
from renkei.risk.choices import Level, RiskSource, RiskStatus, Treatment

SCALE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class RiskSettings(OwnedModel):
    """The organization's rubric, likelihood weights, matrix and criticality (renkei.risk.config).

    No row: the defaults. Changed only through renkei.risk.services.save_settings (audited).
    """

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="risk_settings",
        verbose_name=_("organization"),
    )
    config = models.JSONField(_("configuration"), default=dict)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    supplier_path: ClassVar[str | None] = None  # the buyer's judgement: never shown to suppliers

    class Meta:
        verbose_name = _("risk settings")
        verbose_name_plural = _("risk settings")

    def __str__(self) -> str:
        return f"risk settings of organization {self.organization_id}"


class SupplierRisk(OwnedModel):
    """The explained risk of one supplier, recomputed set-based (renkei.risk.services).

    The supplier is the primary key, so /api/v1/supplier-risks/{supplier id}/ needs no other id.
    Factors are stored as JSON on the row ({name, contribution, params}) rather than as rows of
    their own: one write per supplier keeps the recompute of 50,000 suppliers in seconds, and the
    reason text is rendered from the params in the reader's language.
    """

    supplier = models.OneToOneField(
        "suppliers.Supplier", on_delete=models.CASCADE, primary_key=True, related_name="risk",
        verbose_name=_("supplier"),
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+",
        verbose_name=_("organization"),
    )
    impact = models.PositiveSmallIntegerField(_("impact"), validators=SCALE_VALIDATORS)
    likelihood = models.PositiveSmallIntegerField(_("likelihood"), validators=SCALE_VALIDATORS)
    level = models.CharField(_("risk level"), max_length=10, choices=Level.choices)
    # 0 low … 3 critical, for ordering by what to look at first.
    level_rank = models.PositiveSmallIntegerField(_("level rank"), default=0)
    criticality = models.PositiveSmallIntegerField(
        _("criticality"), validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    impact_factors = models.JSONField(_("impact reasons"), default=list)
    factors = models.JSONField(_("likelihood factors"), default=list)
    # A hash of everything above: the recompute rewrites only rows whose digest changed.
    digest = models.CharField(_("digest"), max_length=32, default="")
    computed_at = models.DateTimeField(_("computed"))

    # The buyer's rating of a supplier is not the supplier's to see (docs/risk.md).
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-level_rank", "-impact", "-likelihood", "supplier_id"]
        indexes = [
            models.Index(fields=["organization", "likelihood", "impact"], name="risk_org_cell"),
            models.Index(fields=["organization", "level_rank"], name="risk_org_level"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(impact__gte=1, impact__lte=5),
                                   name="risk_impact_1_5"),
            models.CheckConstraint(condition=models.Q(likelihood__gte=1, likelihood__lte=5),
                                   name="risk_likelihood_1_5"),
        ]
        verbose_name = _("supplier risk")
        verbose_name_plural = _("supplier risks")

    def __str__(self) -> str:
        return f"{self.supplier_id}: {self.impact}×{self.likelihood} {self.level}"

    def factor_list(self) -> list[dict[str, Any]]:
        """Likelihood factors with their label and reason in the active language."""
        return [
            {"name": f["name"], "label": factor_registry.label(f["name"]),
             "contribution": f["contribution"], "reason": factor_registry.describe(f["name"], f["params"])}
            for f in self.factors
        ]

    def impact_list(self) -> list[dict[str, Any]]:
        return [
            {"name": r["name"], "level": r["level"],
             "reason": impact_rubric.describe(r["name"], r["params"])}
            for r in self.impact_factors
        ]


class Risk(OwnedModel):
    """One entry of the risk register (リスク登録簿): raised automatically (a × on a questionnaire
    item becomes a candidate linked to that answer; a missing contract clause; an audit finding) or
    by hand. Inherent rating before treatment, residual after; treatment and owner. Changed only
    through renkei.risk.register (audited). Never shown to supplier contacts."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="risks",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="risks", verbose_name=_("supplier"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("source"), max_length=12, choices=RiskSource.choices,
                              default=RiskSource.MANUAL)
    # For source=answer: the assessment and item the × was given on (one candidate per pair).
    assessment = models.ForeignKey(
        "questionnaires.Assessment", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="risks", verbose_name=_("assessment"),
    )
    item = models.ForeignKey(
        "questionnaires.Item", on_delete=models.SET_NULL, null=True, blank=True, related_name="risks",
        verbose_name=_("questionnaire item"),
    )
    # A stable key of the source for sources without a row of their own ("contract:12:audit_right").
    source_key = models.CharField(_("source key"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RiskStatus.choices,
                              default=RiskStatus.OPEN)
    treatment = models.CharField(_("treatment"), max_length=10, choices=Treatment.choices, blank=True)
    owner = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("owner"),
    )
    inherent_impact = models.PositiveSmallIntegerField(_("inherent impact"), validators=SCALE_VALIDATORS)
    inherent_likelihood = models.PositiveSmallIntegerField(
        _("inherent likelihood"), validators=SCALE_VALIDATORS)
    inherent_level = models.CharField(_("inherent level"), max_length=10, choices=Level.choices)
    residual_impact = models.PositiveSmallIntegerField(
        _("residual impact"), validators=SCALE_VALIDATORS, null=True, blank=True)
    residual_likelihood = models.PositiveSmallIntegerField(
        _("residual likelihood"), validators=SCALE_VALIDATORS, null=True, blank=True)
    residual_level = models.CharField(_("residual level"), max_length=10, choices=Level.choices,
                                      blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("raised by"),
    )
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    supplier_path: ClassVar[str | None] = None  # the buyer's judgement

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "item"], name="risk_once_per_answer",
                                    condition=models.Q(assessment__isnull=False, item__isnull=False)),
            models.UniqueConstraint(fields=["organization", "source_key"], name="risk_once_per_source",
                                    condition=~models.Q(source_key="")),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="risk_org_status")]
        verbose_name = _("risk")
        verbose_name_plural = _("risks")

    def __str__(self) -> str:
        return self.title


class RiskAcceptance(OwnedModel):
    """A decision to accept a risk: who approved it, why, until when. Expired acceptances put the
    risk back on the attention list."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="acceptances",
                             verbose_name=_("risk"))
    approver = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("approver"),
    )
    justification = models.TextField(_("justification"))
    accepted_on = models.DateField(_("accepted on"))
    expires_on = models.DateField(_("expires on"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    organization_path: ClassVar[str] = "risk__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-accepted_on", "-pk"]
        verbose_name = _("risk acceptance")
        verbose_name_plural = _("risk acceptances")

    def __str__(self) -> str:
        return f"acceptance of risk {self.risk_id} until {self.expires_on}"


class RiskSnapshot(OwnedModel):
    """One supplier's rating on one day (the trend of each supplier and of the portfolio). Written
    set-based by the nightly job; one row per supplier and day."""

    supplier = models.ForeignKey("suppliers.Supplier", on_delete=models.CASCADE,
                                 related_name="risk_snapshots", verbose_name=_("supplier"))
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("organization"))
    day = models.DateField(_("day"))
    impact = models.PositiveSmallIntegerField(_("impact"))
    likelihood = models.PositiveSmallIntegerField(_("likelihood"))
    level = models.CharField(_("risk level"), max_length=10, choices=Level.choices)
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=1, null=True, blank=True)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["supplier", "day"]
        constraints = [models.UniqueConstraint(fields=["supplier", "day"], name="risk_snapshot_daily")]
        indexes = [models.Index(fields=["organization", "day"], name="risk_snapshot_org_day")]
        verbose_name = _("risk snapshot")
        verbose_name_plural = _("risk snapshots")

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.day}"
