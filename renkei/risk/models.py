"""Risk settings per organization and the computed risk of each supplier (STEP 2, first slice)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from renkei.core.models import OwnedModel
from renkei.risk import factors as factor_registry
from renkei.risk import impact as impact_rubric
from renkei.risk.choices import Level

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
