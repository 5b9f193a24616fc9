"""The obligations rules engine: which 共有 / 報告 / 公表 / 本人通知 follow from an incident's facts.

The rules are data (rules/obligations.yaml, described in docs/incidents.md): each names an
authority, a kind, a condition over the facts, a deadline counted from the moment of awareness and
the text it rests on. `load_rules()` reads and checks that file (obligation_rules.py) once per
process; `Facts.from_mapping(data)` checks the facts; `evaluate(facts)` returns the obligations that
apply, those with a deadline first (earliest first), then those due "promptly" without a fixed one.
Nothing here touches the database.

Deadlines: `{days: N}` ends at 23:59:59 of day N in the rules' time zone (Asia/Tokyo), the day of
awareness being day 1 when `counting.first_day_counts` is true; `{hours: N}` is aware_at + N hours.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

RULES_PATH = Path(__file__).resolve().parent / "rules" / "obligations.yaml"

AUTHORITIES = {
    "ppc": gettext_lazy("Personal Information Protection Commission"),
    "meti": gettext_lazy("Ministry of Economy, Trade and Industry"),
    "police": gettext_lazy("Police"),
    "ipa": gettext_lazy("IPA (Information-technology Promotion Agency)"),
    "jpcert": gettext_lazy("JPCERT/CC"),
    "ministry": gettext_lazy("Supervising ministry"),
    "client": gettext_lazy("Client (we are its contractor)"),
    "partners": gettext_lazy("Supply-chain partners"),
    "public": gettext_lazy("The public"),
    "persons": gettext_lazy("People affected"),
}
KINDS = {
    "share": pgettext_lazy("obligation kind", "Share"),
    "report": pgettext_lazy("obligation kind", "Report"),
    "publish": pgettext_lazy("obligation kind", "Publish"),
    "notify": pgettext_lazy("obligation kind", "Notify the people affected"),
}
# The five keys of `renkei incidents obligations --json`: a contract with users' scripts.
CONTRACT_KEYS = ("id", "authority", "kind", "due", "basis")

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
COMPARISONS = {
    "is": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


# -- facts ----------------------------------------------------------------------------------------


class FactsError(ValueError):
    """Facts that cannot be used; `problems` lists (fact name or "", message) in the user's language."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(message for _name, message in problems))


@dataclass(frozen=True)
class Facts:
    """What is known about an incident, as the rules read it."""

    aware_at: dt.datetime  # timezone-aware; every deadline counts from here
    personal_data: bool
    persons_affected: int
    sensitive_personal_data: bool
    financial_harm_possible: bool
    unauthorized_access: bool  # 規則第7条第3号: unauthorized access or another wrongful purpose
    export_controlled_tech: bool
    we_are_contractor: bool = False
    malware: bool = False
    regulated_sector: bool = False

    @classmethod
    def from_mapping(cls, data: Any) -> Facts:
        """Facts from JSON-like data; raises FactsError naming every missing, unknown or bad fact.

        aware_at is an ISO-8601 date and time; without an offset it is in settings.TIME_ZONE.
        """
        if not isinstance(data, Mapping):
            raise FactsError([("", _("The facts must be a JSON object (names and values)."))])
        problems: list[tuple[str, str]] = []
        unknown = ", ".join(sorted(str(key) for key in data if key not in FACT_TYPES))
        if unknown:
            message = _("Unknown fact(s): %(names)s. Known facts: %(known)s.")
            problems.append(("", message % {"names": unknown, "known": ", ".join(FACT_TYPES)}))
        values: dict[str, Any] = {}
        for name, kind in FACT_TYPES.items():
            if name in data:
                values[name], message = _parse_fact(name, kind, data[name])
                if message:
                    problems.append((name, message))
            elif name in REQUIRED_FACTS:
                problems.append((name, _("%(name)s is missing.") % {"name": name}))
        if problems:
            raise FactsError(problems)
        return cls(**values)


# name → "bool", "int" or "datetime" (annotations are strings under `from __future__ import annotations`).
FACT_TYPES = {field.name: str(field.type).removeprefix("dt.") for field in dataclasses.fields(Facts)}
REQUIRED_FACTS = {field.name for field in dataclasses.fields(Facts) if field.default is dataclasses.MISSING}


def _parse_fact(name: str, kind: str, value: Any) -> tuple[Any, str]:
    """(value, "") or (None, what is wrong, in the user's language)."""
    if kind == "bool":
        if isinstance(value, bool):
            return value, ""
        return None, _("%(name)s must be true or false.") % {"name": name}
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value, ""
        return None, _("%(name)s must be a whole number of 0 or more.") % {"name": name}
    bad = _("%(name)s must be an ISO-8601 date and time, e.g. 2026-12-01T09:30:00+09:00.") % {"name": name}
    # A date alone has no time of awareness, and deadlines counted in hours need one.
    if not isinstance(value, str) or len(value) <= len("2026-12-01"):
        return None, bad
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None, bad
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment, ""


# -- rules ----------------------------------------------------------------------------------------


class RulesError(ValueError):
    """A rules file that cannot be used; each problem names its place, e.g. `rules[1] (ppc-final).due`."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        header = _("The rules file %(path)s cannot be used:") % {"path": path}
        super().__init__("\n".join([header, *problems]))


@dataclass(frozen=True)
class Rule:
    id: str
    authority: str
    kind: str
    title: dict[str, str]  # {ja, en}
    when: Any  # True, or a checked condition mapping
    due: dict[str, Any] | None  # checked {days|hours, alternatives}; None: promptly, no fixed deadline
    basis: str
    source: str
    owner_role: str
    note: dict[str, str]  # {ja, en}, or empty


@dataclass(frozen=True)
class Rules:
    version: str
    zone: ZoneInfo
    first_day_counts: bool
    sources: dict[str, dict[str, str]]
    rules: tuple[Rule, ...]


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules in PATH (default: the built-in file), read and checked once per process."""
    return _load_rules(str(path or RULES_PATH))


@functools.lru_cache(maxsize=8)
def _load_rules(path: str) -> Rules:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulesError(path, [_("cannot be read: %(reason)s") % {"reason": exc}]) from exc
    return parse_rules(data, path)


def clear_rules_cache() -> None:
    """Forget the parsed rules (after the file changed, and in tests)."""
    _load_rules.cache_clear()


def parse_rules(data: Any, path: str = "obligations.yaml") -> Rules:
    """Check ALL of DATA (a parsed rules file) and build Rules, or raise RulesError listing every problem."""
    from renkei.incidents.obligation_rules import Checker

    # A copy: the Rules keep parts of the data (conditions, deadlines), which the caller may change.
    return Checker(path).rules_file(copy.deepcopy(data))


# -- evaluation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Obligation:
    """One obligation that applies: to whom, what, by when (None: promptly) and on what basis."""

    id: str
    authority: str
    kind: str
    due: dt.datetime | None
    basis: str
    title: str  # in the current language
    title_ja: str
    title_en: str
    owner_role: str
    source: str
    rules_version: str

    def to_json(self) -> dict[str, Any]:
        """The five keys of the CLI contract (CONTRACT_KEYS), due as ISO-8601 or null."""
        data = {key: getattr(self, key) for key in CONTRACT_KEYS}
        return data | {"due": self.due.isoformat() if self.due else None}


def holds(condition: Any, facts: Facts) -> bool:
    """Whether a checked condition is true for FACTS."""
    if condition is True:
        return True
    if "all" in condition:
        return all(holds(part, facts) for part in condition["all"])
    if "any" in condition:
        return any(holds(part, facts) for part in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], facts)
    op, target = next((key, value) for key, value in condition.items() if key != "fact")
    return COMPARISONS[op](getattr(facts, condition["fact"]), target)


def due_at(rule: Rule, facts: Facts, rules: Rules) -> dt.datetime | None:
    """The deadline of RULE for FACTS, timezone-aware in the rules' zone; None when promptly."""
    if rule.due is None:
        return None
    alternatives = rule.due.get("alternatives", [])
    deadline = next((alt for alt in alternatives if holds(alt["when"], facts)), rule.due)
    if "hours" in deadline:
        moment = facts.aware_at + dt.timedelta(hours=deadline["hours"])
        return moment.astimezone(rules.zone).replace(microsecond=0)
    first = facts.aware_at.astimezone(rules.zone).date()
    last = first + dt.timedelta(days=deadline["days"] - (1 if rules.first_day_counts else 0))
    return dt.datetime.combine(last, dt.time(23, 59, 59), tzinfo=rules.zone)


def evaluate(facts: Facts, rules: Rules | None = None) -> list[Obligation]:
    """The obligations that apply to FACTS: dated ones by deadline, then the undated, in rule order."""
    rules = rules or load_rules()
    language = "en" if (translation.get_language() or "ja").startswith("en") else "ja"
    found = []
    for order, rule in enumerate(rules.rules):
        if holds(rule.when, facts):
            due = due_at(rule, facts, rules)
            obligation = Obligation(
                id=rule.id,
                authority=rule.authority,
                kind=rule.kind,
                due=due,
                basis=rule.basis,
                title=rule.title[language],
                title_ja=rule.title["ja"],
                title_en=rule.title["en"],
                owner_role=rule.owner_role,
                source=rule.source,
                rules_version=rules.version,
            )
            found.append((due is None, due or dt.datetime.min.replace(tzinfo=dt.UTC), order, obligation))
    return [entry[-1] for entry in sorted(found, key=lambda entry: entry[:3])]
