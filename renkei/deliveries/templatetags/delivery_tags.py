"""Labels and badge classes for the delivery pages: {% load delivery_tags %}."""

from __future__ import annotations

from django import template

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
