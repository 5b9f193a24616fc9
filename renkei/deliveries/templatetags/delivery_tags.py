"""Labels and badge classes for the delivery pages: {% load delivery_tags %}."""

from __future__ import annotations

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import pgettext_lazy

from renkei.deliveries.models import Severity, SignatureStatus, VexState
from renkei.deliveries.presenters import element_label, problem_label

register = template.Library()


@register.filter
def severity_label(value: str) -> str:
    return str(dict(Severity.choices).get(value, value or "—"))


@register.filter
def signature_label(value: str) -> str:
    return str(dict(SignatureStatus.choices).get(value, value))


@register.filter
def signature_class(value: str) -> str:
    """valid, none (not signed) or bad (every other outcome)."""
    return value if value in (SignatureStatus.VALID, SignatureStatus.NONE) else "bad"


@register.filter
def vex_label(value: str) -> str:
    return str(dict(VexState.choices).get(value, value))


@register.filter
def ntia_label(value: str) -> str:
    return element_label(value)


@register.filter
def problem(value: str) -> str:
    return problem_label(value) if value else ""


IMPORT_COUNTS = {
    "added": pgettext_lazy("osv import", "added"),
    "changed": pgettext_lazy("osv import", "changed"),
    "unchanged": pgettext_lazy("osv import", "unchanged"),
    "withdrawn": pgettext_lazy("osv import", "withdrawn"),
    "rejected": pgettext_lazy("osv import", "rejected"),
}


@register.filter
def import_counts(counts: dict) -> str:
    """An OSV import's counts in the reader's language: "追加 6 · 変更 0 · …"."""
    items = (counts or {}).items()
    return " · ".join(f"{IMPORT_COUNTS.get(key, key)} {intcomma(value)}" for key, value in items)
