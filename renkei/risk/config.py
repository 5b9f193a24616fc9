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
import re
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
        # Per security clause a current contract lacks although the supplier's 重要度 requires it
        # (renkei.oversight.checklist), counted once per clause, up to the maximum.
        "missing_contract_clause": 0.25,
        "missing_contract_clause_max": 1.0,
        # Per remediation action past its due date and not done (renkei.remediation), up to the maximum.
        "overdue_action": 0.25,
        "overdue_action_max": 1.0,
        # Per incident of the supplier (renkei.incidents) we became aware of within the last
        # incident_window_days days, whatever its status; incident_high for high or critical
        # severity; up to the maximum.
        "incident": 0.5,
        "incident_high": 1.0,
        "incident_max": 1.5,
        "incident_window_days": 365,
        # Per product the supplier delivered (renkei.deliveries; its latest delivery counts) that
        # has open known vulnerabilities: vulnerable_delivery_high when one is high or critical;
        # up to the maximum.
        "vulnerable_delivery": 0.25,
        "vulnerable_delivery_high": 0.75,
        "vulnerable_delivery_max": 1.5,
        # Inherited risk (renkei.graph.inherited, docs/graph.md): a subcontractor n hops away adds
        # (its own likelihood − 1) × inherited_decay ** n, the highest one counting, up to
        # inherited_hops hops (0: off); a subcontractor without a rating counts as inherited_unrated.
        "inherited_decay": 0.5,
        "inherited_hops": 3,
        "inherited_unrated": 3,
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
    # The security clauses each 重要度 requires in a contract (seed 001: 契約内容の確認), and the
    # longest incident-notification time that counts as the clause (hours).
    "contracts": {
        "required": {
            "1": ["nda", "security", "re_outsourcing", "audit_right", "incident_notification",
                  "data_return"],
            "2": ["nda", "security", "re_outsourcing", "incident_notification", "data_return"],
            "3": ["nda"],
        },
        "incident_notification_hours": 24,
    },
    # Reassessment (STEP 3, renkei.monitoring): months between assessments per level and per
    # 重要度 (the shorter applies), counted from the last submitted assessment (or the
    # supplier's registration); the template key each 重要度 is sent; days to answer.
    "cadence": {
        "enabled": True,
        "months": {C: 6, H: 12, M: 18, L: 24},
        "tier_months": {"1": 12, "2": 24, "3": 24},
        "templates": {"1": "scrm-sheet", "2": "scrm-sheet", "3": "scrm-sheet"},
        "response_days": 30,
    },
}

CONTRACT_CLAUSES = ("nda", "security", "re_outsourcing", "audit_right", "incident_notification",
                    "data_return")

IMPACT_LEVEL_KEYS = {
    "data_classes": [c.value for c in DataClass],
    "access": [c.value for c in AccessMethod],
    "business_function": [c.value for c in BusinessFunction],
}
CHAIN_TYPES = [c.value for c in ChainType]
NUMBER_KEYS = {
    "questionnaire_gap_weight", "unknown_questionnaire_gap", "critical_failure",
    "critical_failure_max", "missing_certification", "expired_certification", "stale_assessment",
    "very_stale_assessment", "no_assessment", "missing_contract_clause", "missing_contract_clause_max",
    "overdue_action", "overdue_action_max", "incident", "incident_high", "incident_max",
    "vulnerable_delivery", "vulnerable_delivery_high", "vulnerable_delivery_max",
}
DAY_KEYS = {"assessment_fresh_days", "assessment_stale_days", "incident_window_days"}
MAX_INHERITED_HOPS = 5


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


def validate(data: Any, *, organization_id: int | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """(cleaned configuration, {dotted path: message}). Omitted keys take the defaults.

    With ORGANIZATION_ID, the cadence's template keys must name a template that organization may
    send (its own or a built-in one); without it only their form is checked."""
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
    if "contracts" in data:
        _contracts(check, data["contracts"], config["contracts"])
    if "cadence" in data:
        _cadence(check, data["cadence"], config["cadence"], organization_id)
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
        elif key == "inherited_decay":
            number = check.number(path, value, maximum=1)
            if number is not None:
                out[key] = number
        elif key == "inherited_hops":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INHERITED_HOPS:
                check.error(path, _("Enter a whole number from 0 to %(max)d.") % {"max": MAX_INHERITED_HOPS})
            else:
                out[key] = value
        elif key == "inherited_unrated":
            if check.level(path, value) is not None:
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
    if out["incident_high"] < out["incident"]:
        check.error("likelihood.incident_high",
                    _("Must not be smaller than incident (a high or critical incident weighs "
                      "at least as much)."))


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


def _contracts(check: _Checker, data: Any, out: dict[str, Any]) -> None:
    if check.mapping("contracts", data, DEFAULT_CONFIG["contracts"].keys()) is None:
        return
    if "required" in data:
        required = check.mapping("contracts.required", data["required"], {"1", "2", "3"})
        cleaned = dict(out["required"])
        for tier, clauses in (required or {}).items():
            path = f"contracts.required.{tier}"
            if tier not in {"1", "2", "3"}:
                continue
            if not isinstance(clauses, list) or not all(c in CONTRACT_CLAUSES for c in clauses):
                check.error(path, _("Expected a list of clauses: %(clauses)s.")
                            % {"clauses": ", ".join(CONTRACT_CLAUSES)})
                continue
            cleaned[tier] = [c for c in CONTRACT_CLAUSES if c in clauses]
        # A more critical supplier never needs fewer clauses (more impact never lowers likelihood).
        for higher, lower in (("1", "2"), ("2", "3")):
            if not set(cleaned[lower]) <= set(cleaned[higher]):
                check.error(f"contracts.required.{higher}", _(
                    "Must include every clause criticality %(lower)s requires.") % {"lower": lower})
        out["required"] = cleaned
    if "incident_notification_hours" in data:
        hours = data["incident_notification_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 720:
            check.error("contracts.incident_notification_hours",
                        _("Enter a whole number of hours from 1 to 720."))
        else:
            out["incident_notification_hours"] = hours


TEMPLATE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")


def _cadence(check: _Checker, data: Any, out: dict[str, Any], organization_id: int | None) -> None:
    if check.mapping("cadence", data, DEFAULT_CONFIG["cadence"].keys()) is None:
        return
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            check.error("cadence.enabled", _("Enter true or false."))
        else:
            out["enabled"] = data["enabled"]
    if "months" in data:
        levels = [level.value for level in Level]
        months = check.mapping("cadence.months", data["months"], levels)
        for level, value in (months or {}).items():
            if level not in levels:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 120:
                check.error(f"cadence.months.{level}", _("Enter a whole number of months from 1 to 120."))
            else:
                out["months"][level] = value
        if not any(p.startswith("cadence.months") for p in check.errors):
            ordered = sorted(levels, key=lambda lv: LEVEL_RANK[lv])
            for lower, higher in zip(ordered, ordered[1:], strict=False):
                if out["months"][higher] > out["months"][lower]:
                    check.error(f"cadence.months.{higher}", _(
                        "Must not be longer than the months of %(level)s (a higher level is "
                        "reassessed at least as often).") % {"level": lower})
    if "tier_months" in data:
        tiers = check.mapping("cadence.tier_months", data["tier_months"], {"1", "2", "3"})
        for criticality, value in (tiers or {}).items():
            if criticality not in {"1", "2", "3"}:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 120:
                check.error(f"cadence.tier_months.{criticality}",
                            _("Enter a whole number of months from 1 to 120."))
            else:
                out["tier_months"][criticality] = value
        if not any(p.startswith("cadence.tier_months") for p in check.errors):
            for more, less in (("1", "2"), ("2", "3")):
                if out["tier_months"][more] > out["tier_months"][less]:
                    check.error(f"cadence.tier_months.{more}", _(
                        "Must not be longer than the months of criticality %(lower)s (a more "
                        "important supplier is reassessed at least as often).") % {"lower": less})
    if "templates" in data:
        keys = check.mapping("cadence.templates", data["templates"], {"1", "2", "3"})
        for criticality, key in (keys or {}).items():
            if criticality not in {"1", "2", "3"}:
                continue
            path = f"cadence.templates.{criticality}"
            if not isinstance(key, str) or not TEMPLATE_KEY.match(key):
                check.error(path, _("Enter a questionnaire template key (e.g. scrm-sheet)."))
            elif organization_id is not None and not _template_exists(organization_id, key):
                check.error(path, _("No questionnaire template with the key “%(key)s”.") % {"key": key})
            else:
                out["templates"][criticality] = key
    if "response_days" in data:
        value = data["response_days"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
            check.error("cadence.response_days", _("Enter a whole number of days from 1 to 365."))
        else:
            out["response_days"] = value


def _template_exists(organization_id: int, key: str) -> bool:
    from django.db.models import Q

    from renkei.questionnaires.models import Template

    return Template.objects.filter(Q(organization_id=organization_id) | Q(organization__isnull=True),
                                   key=key).exists()
