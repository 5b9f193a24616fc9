"""Risk levels of the matrix (低 / 中 / 高 / 重大). Values are stable identifiers of the API."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Level(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", pgettext_lazy("risk level", "Critical")


# Order for sorting ("what to look at first") and for checking that the matrix never goes down.
LEVEL_RANK = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 2, Level.CRITICAL: 3}

SCALE = (1, 2, 3, 4, 5)
CRITICALITIES = (1, 2, 3)


class RiskSource(models.TextChoices):
    """Where a register entry came from."""

    ANSWER = "answer", _("Questionnaire answer")
    MANUAL = "manual", _("Raised by hand")
    CONTRACT = "contract", _("Contract check")
    AUDIT = "audit", _("Audit finding")
    INTAKE = "intake", _("Supplier selection")
    MONITORING = "monitoring", _("Monitoring")


class RiskStatus(models.TextChoices):
    CANDIDATE = "candidate", _("Candidate")  # raised automatically, not yet confirmed by staff
    OPEN = "open", pgettext_lazy("risk status", "Open")
    TREATED = "treated", _("Being treated")
    ACCEPTED = "accepted", pgettext_lazy("risk status", "Accepted")
    CLOSED = "closed", _("Closed")


class Treatment(models.TextChoices):
    MITIGATE = "mitigate", _("Mitigate")
    ACCEPT = "accept", pgettext_lazy("risk treatment", "Accept")
    TRANSFER = "transfer", _("Transfer")
    AVOID = "avoid", _("Avoid")
