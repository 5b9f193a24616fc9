"""Impact 1–5 of one supplier from its registry profile (inherent risk). Pure: no database.

Each dimension of the rubric gives a level; impact is the highest level, plus the reach bonus of
software and service providers when that level is at least `reach_from`, capped at 5. Every
dimension that applies is returned as a reason, so the page can say why. Because the result is
a maximum of levels that only rise with more records, more classes or more access methods (the
configuration is validated to keep it so), more sensitive data or deeper access never lowers
impact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from renkei.suppliers.choices import AccessMethod, BusinessFunction, ChainType, DataClass


@dataclass(frozen=True)
class Profile:
    """What the rubric reads about a supplier."""

    personal_info_records: int = 0
    data_classes: tuple[str, ...] = ()
    export_controlled: bool = False
    access_methods: tuple[str, ...] = ()
    business_function: str = "other"
    chain_type: str = "business"
    tags: frozenset[str] = field(default_factory=frozenset)


def _label(choices: Any, values: Iterable[str]) -> str:
    labels = dict(choices.choices)
    return "、".join(str(labels.get(v, v)) for v in values)


def impact(profile: Profile, rubric: Mapping[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """(impact 1–5, reasons): each reason is {"name", "level", "params"}."""
    reasons: list[dict[str, Any]] = []

    def add(name: str, level: int, **params: Any) -> None:
        reasons.append({"name": name, "level": level, "params": params})

    records = profile.personal_info_records
    pi_level = 0
    for threshold, level in rubric["personal_info"]:
        if records >= threshold:
            pi_level = level
    if pi_level:
        add("personal_info", pi_level, records=records)
    if profile.data_classes:
        levels = rubric["data_classes"]
        level = max(levels.get(c, 1) for c in profile.data_classes)
        many = rubric["many_data_classes"]
        if len(profile.data_classes) >= many["count"]:
            level = min(5, level + many["bonus"])
        add("data_classes", level, classes=sorted(profile.data_classes))
    if profile.export_controlled:
        add("export_controlled", rubric["export_controlled"])
    if profile.access_methods:
        levels = rubric["access"]
        add("access", max(levels.get(m, 1) for m in profile.access_methods),
            methods=sorted(profile.access_methods))
    add("business_function", rubric["business_function"].get(profile.business_function, 1),
        function=profile.business_function)
    single = sorted(profile.tags & set(rubric["single_source_tags"]))
    if single:
        add("single_source", rubric["single_source"], tags=single)
    base = max(r["level"] for r in reasons)
    bonus = rubric["reach_bonus"].get(profile.chain_type, 0)
    if bonus and base >= rubric["reach_from"] and base < 5:
        add("reach", min(5, base + bonus), chain_type=profile.chain_type, bonus=bonus)
    value = max(1, min(5, max(r["level"] for r in reasons)))
    reasons.sort(key=lambda r: -r["level"])
    return value, reasons


def describe(name: str, params: Mapping[str, Any]) -> str:
    """The reason of one impact dimension in the active language."""
    if name == "personal_info":
        return _("Holds personal information of about %(n)s people") % {
            "n": f"{params.get('records', 0):,}"}
    if name == "data_classes":
        return _("Handles confidential information: %(classes)s") % {
            "classes": _label(DataClass, params.get("classes", []))}
    if name == "export_controlled":
        return _("Handles export-controlled technology")
    if name == "access":
        return _("Has access to our systems: %(methods)s") % {
            "methods": _label(AccessMethod, params.get("methods", []))}
    if name == "business_function":
        return _("Business dependency through its function: %(function)s") % {
            "function": _label(BusinessFunction, [params.get("function", "")])}
    if name == "single_source":
        return _("Single source (tag %(tags)s): operations stop when it stops") % {
            "tags": "、".join(params.get("tags", []))}
    if name == "reach":
        return _("%(chain)s: a compromise reaches many customers (+%(bonus)s)") % {
            "chain": _label(ChainType, [params.get("chain_type", "")]), "bonus": params.get("bonus", 0)}
    return name
