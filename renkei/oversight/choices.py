"""Fixed vocabularies of supplier selection, contract checks and audits (stable API values)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Decision(models.TextChoices):
    APPROVED = "approved", pgettext_lazy("intake decision", "Approve")
    CONDITIONAL = "conditional", _("Approve with conditions")
    REJECTED = "rejected", pgettext_lazy("intake decision", "Reject")


class IntakeStep(models.TextChoices):
    PROFILE = "profile", _("Profile")
    QUESTIONNAIRE = "questionnaire", _("Questionnaire")
    DECISION = "decision", _("Decision")


class AuditKind(models.TextChoices):
    ONSITE = "onsite", _("On-site audit")
    REMOTE = "remote", _("Remote audit")


class AuditStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", pgettext_lazy("audit status", "Done")
    CANCELLED = "cancelled", _("Cancelled")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", pgettext_lazy("risk level", "Critical")


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
