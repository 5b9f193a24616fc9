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
