"""Readable names for the codes the rules and the map use. Authorities and kinds are the rules'
own (renkei.incidents.obligations); the effects are the map's impact effects."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from renkei.incidents.obligations import AUTHORITIES, KINDS

EFFECTS = {
    "compromised": pgettext_lazy("impact effect", "Compromised"),
    "stops": pgettext_lazy("impact effect", "Stops"),
    "degraded": pgettext_lazy("impact effect", "Degraded"),
}

__all__ = ["AUTHORITIES", "EFFECTS", "KINDS", "label"]


def label(table: dict, code: str) -> str:
    return str(table.get(code, code))
