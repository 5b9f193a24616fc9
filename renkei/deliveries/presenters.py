"""How the pages show an SBOM's NTIA quality: labels for the elements and the stored details
(Sbom.quality, written by renkei.deliveries.sbom) as rows a template can loop over."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.deliveries.models import Sbom

# NTIA minimum elements (2021), per component and for the document.
ELEMENT_LABELS = {
    "supplier": pgettext_lazy("ntia", "Supplier name"),
    "name": pgettext_lazy("ntia", "Component name"),
    "version": pgettext_lazy("ntia", "Version"),
    "identifier": pgettext_lazy("ntia", "Unique identifier (purl, CPE, SWID)"),
    "dependencies": pgettext_lazy("ntia", "Dependency relationships"),
    "author": pgettext_lazy("ntia", "Author of the SBOM data"),
    "timestamp": pgettext_lazy("ntia", "Timestamp"),
}
SHOWN_PROBLEMS = 50
PROBLEM_LABELS = {
    "duplicate": _("Listed twice"),
    "conflict": _("Conflicting entries"),
}


def element_label(key: str) -> str:
    return str(ELEMENT_LABELS.get(key, key))


def quality_rows(sbom: Sbom) -> dict[str, Any]:
    """Sbom.quality as rows: {"components": [{"key", "label", "missing", "total"}] (per NTIA
    element, how many components lack it), "document": [{"key", "label", "ok"}] (the SBOM's own
    elements), "duplicates", "conflicts" (components flagged), "problems" (the groups, each with
    its message) and "more_problems" (groups not listed)."""
    quality = sbom.quality if isinstance(sbom.quality, dict) else {}
    total = int(quality.get("components") or sbom.component_count or 0)
    rows = []
    for key, value in (quality.get("elements") or {}).items():
        missing = int(value.get("missing") or 0) if isinstance(value, dict) else int(value or 0)
        rows.append({"key": key, "label": element_label(key), "missing": missing, "total": total})
    document = [
        {"key": key, "label": element_label(key), "ok": bool(value)}
        for key, value in (quality.get("document") or {}).items()
    ]
    problems = [p for p in quality.get("problems") or [] if isinstance(p, dict)][:SHOWN_PROBLEMS]
    return {
        "components": rows,
        "document": document,
        "duplicates": int(quality.get("duplicates") or 0),
        "conflicts": int(quality.get("conflicts") or 0),
        "problems": problems,
        "more_problems": max(0, int(quality.get("problem_count") or 0) - len(problems)),
    }


def problem_label(problem: str) -> str:
    return str(PROBLEM_LABELS.get(problem, problem))
