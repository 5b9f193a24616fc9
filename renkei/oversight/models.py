"""Supplier selection (intake), audits and their findings (seed 001: 信頼できる委託先の選定,
定期的な確認・監査). The contract checklist has no table of its own: it is computed from the
contracts' clauses and the organization's settings (renkei.oversight.checklist).

Changed only through renkei.oversight.services (audited)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.core.models import OwnedModel, OwnedQuerySet, contact_supplier_ids, member_organization_ids
from renkei.core.permissions import VIEW
from renkei.oversight.choices import AuditKind, AuditStatus, Decision, Severity


class Intake(OwnedModel):
    """One candidate supplier's way to a decision: profile, questionnaire, decision.

    The buyer's judgement: never shown to supplier contacts (the candidate answers its
    questionnaire as an ordinary assessment)."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="intakes",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        on_delete=models.CASCADE,
        related_name="intakes",
        verbose_name=_("supplier"),
    )
    # The expected 重要度 when the profile was confirmed; it chose the questionnaire template.
    criticality = models.PositiveSmallIntegerField(_("expected criticality"), null=True, blank=True)
    template_key = models.CharField(_("questionnaire template"), max_length=100, blank=True)
    assessment = models.ForeignKey(
        "questionnaires.Assessment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("questionnaire"),
    )
    profile_confirmed_at = models.DateTimeField(_("profile confirmed"), null=True, blank=True)
    profile_confirmed_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("profile confirmed by"),
    )
    decision = models.CharField(_("decision"), max_length=12, choices=Decision.choices, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    decided_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier"], condition=Q(decision=""), name="intake_one_open_per_supplier"
            ),
        ]
        indexes = [models.Index(fields=["organization", "decision"], name="intake_org_decision")]
        verbose_name = _("supplier intake")
        verbose_name_plural = _("supplier intakes")

    def __str__(self) -> str:
        return f"intake {self.pk} of supplier {self.supplier_id}"

    @property
    def is_open(self) -> bool:
        return not self.decision


class IntakeCondition(OwnedModel):
    """A condition of an approval; it becomes a remediation action (source intake)."""

    intake = models.ForeignKey(
        Intake, on_delete=models.CASCADE, related_name="conditions", verbose_name=_("intake")
    )
    title = models.CharField(pgettext_lazy("intake", "condition"), max_length=300)
    due_on = models.DateField(_("due date"), null=True, blank=True)
    action = models.ForeignKey(
        "remediation.Action",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("remediation", "action"),
    )

    organization_path: ClassVar[str] = "intake__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["pk"]
        verbose_name = _("condition of approval")
        verbose_name_plural = _("conditions of approval")

    def __str__(self) -> str:
        return self.title


class Audit(OwnedModel):
    """An on-site or remote audit of a supplier: the plan, then what was found.

    The supplier's contacts see their own supplier's audits (date, kind, scope, auditors,
    status); findings only once the report is released (Finding.objects.for_user)."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="supplier_audits",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        on_delete=models.CASCADE,
        related_name="audits",
        verbose_name=_("supplier"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AuditKind.choices, default=AuditKind.ONSITE)
    planned_on = models.DateField(_("date"))
    scope = models.TextField(_("scope"))
    auditors = models.CharField(_("auditors"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=AuditStatus.choices, default=AuditStatus.PLANNED
    )
    done_on = models.DateField(_("carried out on"), null=True, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    report_released_at = models.DateTimeField(_("report released"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("planned by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-planned_on", "-pk"]
        indexes = [models.Index(fields=["organization", "status", "planned_on"], name="audit_org_status")]
        verbose_name = _("audit")
        verbose_name_plural = _("audits")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.planned_on:%Y-%m-%d}"


class FindingQuerySet(OwnedQuerySet):
    def for_user(self, user: Any, action: str = VIEW) -> OwnedQuerySet:
        """Staff as usual; a supplier contact sees its supplier's findings once the audit
        report is released, and never changes them."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        condition = Q(audit__organization__in=member_organization_ids(user, action))
        if action == VIEW:
            condition |= Q(
                audit__supplier__in=contact_supplier_ids(user), audit__report_released_at__isnull=False
            )
        return self.filter(condition)


def finding_evidence_path(instance: Finding, filename: str) -> str:
    audit = instance.audit
    return f"evidence/{audit.organization_id}/{audit.supplier_id}/audits/{audit.pk}/{filename}"


class Finding(OwnedModel):
    audit = models.ForeignKey(
        Audit, on_delete=models.CASCADE, related_name="findings", verbose_name=_("audit")
    )
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM
    )
    title = models.CharField(_("finding"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    evidence = models.FileField(
        _("evidence file"), upload_to=finding_evidence_path, blank=True, max_length=300
    )
    action = models.ForeignKey(
        "remediation.Action",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("remediation", "action"),
    )
    risk = models.ForeignKey(
        "risk.Risk",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("risk"),
    )
    created_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    organization_path: ClassVar[str] = "audit__organization"
    supplier_path: ClassVar[str | None] = "audit__supplier"

    objects = models.Manager.from_queryset(FindingQuerySet)()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")

    def __str__(self) -> str:
        return self.title
