"""The per-organization risk configuration: impact rubric, likelihood weights, matrix, criticality.

Stored as one JSON document on RiskSettings (docs/risk.md explains every key). `validate` checks
a document against the shape of DEFAULT_CONFIG and returns the cleaned configuration (missing
keys filled from the defaults) and one message per offending field, keyed by its dotted path
("impact.access.vpn"). The rules that keep the score monotone are checked here, so no
configuration can make more sensitive data, deeper access or a better answer lower the wrong way:
personal-information thresholds rise with non-decreasing levels, weights are not negative, and the
matrix never steps down as impact or likelihood grows.
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext as _

from renkei.risk.choices import LEVEL_RANK, Level
from renkei.suppliers.choices import AccessMethod, BusinessFunction, CertificationKind, ChainType, DataClass

L, M, H, C = Level.LOW.value, Level.MEDIUM.value, Level.HIGH.value, Level.CRITICAL.value

DEFAULT_CONFIG: dict[str, Any] = {
    "impact": {
        # [records at least, level]: 1,000 people is the PPC's reporting threshold for a leak.
        "personal_info": [[1, 2], [1000, 3], [10000, 4], [100000, 5]],
        "data_classes": {
            "technical": 3, "customer": 3, "personnel": 3, "financial": 3,
            "sales_info": 2, "production_plan": 2,
        },
        # Holding this many classes of confidential information adds `bonus` to that dimension.
        "many_data_classes": {"count": 3, "bonus": 1},
        "export_controlled": 4,
        # Remote connections into our network are the path of the 2022 case (seed 001).
        "access": {"shared_system": 3, "vpn": 5, "remote_desktop": 5, "api": 3, "onsite": 3},
        "business_function": {
            "procurement": 2, "production": 3, "logistics": 2, "sales": 1, "it_operations": 4,
            "development": 3, "cloud": 3, "maintenance": 3, "professional": 1, "other": 1,
        },
        # Tags that mark a single source (what stops when they stop) and the level they give.
        "single_source_tags": ["単一調達先"],
        "single_source": 4,
        # A software or service provider reaches many: added to the highest dimension when it is
        # at least `reach_from` (the supplier holds data or access worth reaching through).
        "reach_bonus": {"business": 0, "software": 1, "service": 1},
        "reach_from": 3,
    },
    "likelihood": {
        # 100 − score (weighted: × counts fully, △ half, as the sheet's points say) × this / 100.
        "questionnaire_gap_weight": 2.5,
        # No submitted or approved questionnaire: the gap is unknown, counted as this much.
        "unknown_questionnaire_gap": 1.0,
        "critical_failure": 0.5,
        "critical_failure_max": 1.5,
        # Kinds that count as a third-party certification of information security.
        "certification_kinds": ["pmark", "isms", "soc2", "ismap", "cs_mark", "security_action_2"],
        "missing_certification": 0.5,
        "expired_certification": 0.75,
        "assessment_fresh_days": 365,
        "assessment_stale_days": 730,
        "stale_assessment": 0.5,
        "very_stale_assessment": 1.0,
        "no_assessment": 0.75,
    },
    # matrix[likelihood − 1][impact − 1]: the level of each cell, likelihood 1 (row 0) to 5.
    "matrix": [
        [L, L, L, M, M],
        [L, L, M, M, H],
        [L, M, M, H, H],
        [M, M, H, H, C],
        [M, H, H, C, C],
    ],
    # 重要度 (criticality) 1 from this impact upwards, 2 from the next; 3 below.
    "criticality": {"1": 4, "2": 3},
}

IMPACT_LEVEL_KEYS = {
    "data_classes": [c.value for c in DataClass],
    "access": [c.value for c in AccessMethod],
    "business_function": [c.value for c in BusinessFunction],
}
CHAIN_TYPES = [c.value for c in ChainType]
NUMBER_KEYS = {
    "questionnaire_gap_weight", "unknown_questionnaire_gap", "critical_failure",
    "critical_failure_max", "missing_certification", "expired_certification", "stale_assessment",
    "very_stale_assessment", "no_assessment",
}
DAY_KEYS = {"assessment_fresh_days", "assessment_stale_days"}


def default_config() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT_CONFIG)


class _Checker:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def level(self, path: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            self.error(path, _("Enter a whole number from 1 to 5."))
            return None
        return value

    def number(self, path: str, value: Any, *, maximum: float = 5) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= maximum:
            self.error(path, _("Enter a number from 0 to %(max)s.") % {"max": maximum})
            return None
        return float(value)

    def mapping(self, path: str, value: Any, keys: list[str] | set[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, _("Expected an object ({...})."))
            return None
        for key in value:
            if key not in keys:
                self.error(f"{path}.{key}" if path else str(key), _("Unknown setting."))
        return value


def validate(data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(cleaned configuration, {dotted path: message}). Omitted keys take the defaults."""
    check = _Checker()
    config = default_config()
    if not isinstance(data, dict):
        check.error("", _("Expected an object ({...})."))
        return config, check.errors
    check.mapping("", data, DEFAULT_CONFIG.keys())
    if "impact" in data:
        _impact(check, data["impact"], config["impact"])
    if "likelihood" in data:
        _likelihood(check, data["likelihood"], config["likelihood"])
    if "matrix" in data:
        _matrix(check, data["matrix"], config)
    if "criticality" in data:
        _criticality(check, data["criticality"], config)
    return config, check.errors


def _impact(check: _Checker, data: Any, out: dict[str, Any]) -> None:
    if check.mapping("impact", data, DEFAULT_CONFIG["impact"].keys()) is None:
        return
    if "personal_info" in data:
        rows = data["personal_info"]
        path = "impact.personal_info"
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
            check.error(path, _("Expected a list of [records at least, level] pairs."))
        else:
            cleaned = []
            for i, (records, level) in enumerate(rows):
                if isinstance(records, bool) or not isinstance(records, int) or records < 1:
                    check.error(f"{path}[{i}][0]", _("Enter a whole number of at least 1."))
                    continue
                if check.level(f"{path}[{i}][1]", level) is None:
                    continue
                if cleaned and (records <= cleaned[-1][0] or level < cleaned[-1][1]):
                    check.error(f"{path}[{i}]", _("Thresholds must rise and their levels must "
                                                  "not go down (more records never lower impact)."))
                    continue
                cleaned.append([records, level])
            out["personal_info"] = cleaned
    for key, allowed in IMPACT_LEVEL_KEYS.items():
        if key in data:
            values = check.mapping(f"impact.{key}", data[key], allowed)
            for name, level in (values or {}).items():
                if name in allowed and check.level(f"impact.{key}.{name}", level) is not None:
                    out[key][name] = level
    if "many_data_classes" in data:
        value = check.mapping("impact.many_data_classes", data["many_data_classes"], {"count", "bonus"})
        if value is not None:
            count, bonus = value.get("count", 3), value.get("bonus", 1)
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(DataClass):
                check.error("impact.many_data_classes.count",
                            _("Enter a whole number from 1 to %(max)d.") % {"max": len(DataClass)})
            elif isinstance(bonus, bool) or not isinstance(bonus, int) or not 0 <= bonus <= 4:
                check.error("impact.many_data_classes.bonus",
                            _("Enter a whole number from 0 to %(max)d.") % {"max": 4})
            else:
                out["many_data_classes"] = {"count": count, "bonus": bonus}
    for key in ("export_controlled", "single_source", "reach_from"):
        if key in data and check.level(f"impact.{key}", data[key]) is not None:
            out[key] = data[key]
    if "single_source_tags" in data:
        tags = data["single_source_tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            check.error("impact.single_source_tags", _("Expected a list of tag names."))
        else:
            out["single_source_tags"] = [t.strip() for t in tags]
    if "reach_bonus" in data:
        values = check.mapping("impact.reach_bonus", data["reach_bonus"], CHAIN_TYPES)
        for name, bonus in (values or {}).items():
            if name not in CHAIN_TYPES:
                continue
            if isinstance(bonus, bool) or not isinstance(bonus, int) or not 0 <= bonus <= 4:
                check.error(f"impact.reach_bonus.{name}",
                            _("Enter a whole number from 0 to %(max)d.") % {"max": 4})
            else:
                out["reach_bonus"][name] = bonus


def _likelihood(check: _Checker, data: Any, out: dict[str, Any]) -> None:
    if check.mapping("likelihood", data, DEFAULT_CONFIG["likelihood"].keys()) is None:
        return
    for key, value in data.items():
        path = f"likelihood.{key}"
        if key in NUMBER_KEYS:
            number = check.number(path, value)
            if number is not None:
                out[key] = number
        elif key in DAY_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
                check.error(path, _("Enter a whole number of days from 1 to 3650."))
            else:
                out[key] = value
        elif key == "certification_kinds":
            kinds = [c.value for c in CertificationKind]
            if not isinstance(value, list) or not all(v in kinds for v in value):
                check.error(path, _("Expected a list of certification kinds: %(kinds)s.")
                            % {"kinds": ", ".join(kinds)})
            else:
                out[key] = list(value)
    if out["assessment_stale_days"] < out["assessment_fresh_days"]:
        check.error("likelihood.assessment_stale_days",
                    _("Must not be shorter than assessment_fresh_days."))
    if out["very_stale_assessment"] < out["stale_assessment"]:
        check.error("likelihood.very_stale_assessment",
                    _("Must not be smaller than stale_assessment (an older answer is not better)."))


def _matrix(check: _Checker, rows: Any, config: dict[str, Any]) -> None:
    levels = [level.value for level in Level]
    if not isinstance(rows, list) or len(rows) != 5 or not all(
        isinstance(r, list) and len(r) == 5 for r in rows
    ):
        check.error("matrix", _("Expected 5 rows (likelihood 1 to 5) of 5 levels (impact 1 to 5)."))
        return
    ok = True
    for li, row in enumerate(rows):
        for ii, cell in enumerate(row):
            if cell not in levels:
                check.error(f"matrix[{li}][{ii}]", _("Use one of: %(levels)s.")
                            % {"levels": ", ".join(levels)})
                ok = False
    if not ok:
        return
    for li in range(5):
        for ii in range(5):
            rank = LEVEL_RANK[rows[li][ii]]
            if (ii and rank < LEVEL_RANK[rows[li][ii - 1]]) or (li and rank < LEVEL_RANK[rows[li - 1][ii]]):
                check.error(f"matrix[{li}][{ii}]", _("A cell may not be lower than the cell of "
                                                     "smaller impact or likelihood next to it."))
                ok = False
    if ok:
        config["matrix"] = [list(row) for row in rows]


def _criticality(check: _Checker, data: Any, config: dict[str, Any]) -> None:
    value = check.mapping("criticality", data, {"1", "2"})
    if value is None:
        return
    first, second = value.get("1", 4), value.get("2", 3)
    for key, level in (("1", first), ("2", second)):
        check.level(f"criticality.{key}", level)
    if "criticality" in {p.split(".")[0] for p in check.errors}:
        return
    if second > first:
        check.error("criticality.2", _("Must not be above the impact of criticality 1."))
        return
    config["criticality"] = {"1": first, "2": second}
