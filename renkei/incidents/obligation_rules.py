"""Checking rules/obligations.yaml (the format is described at the top of that file).

`Checker(path).rules_file(data)` walks the parsed file, notes EVERY problem as `place: message`
(e.g. `rules[1] (ppc-final).due.alternatives[0].days: must be a whole number from 1 to 3650`) and
raises RulesError listing them, or returns the Rules. Used through obligations.parse_rules().
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from renkei.incidents.obligations import (
    AUTHORITIES,
    FACT_TYPES,
    KINDS,
    RULE_ID,
    Rule,
    Rules,
    RulesError,
)

TOP_FIELDS = ("version", "timezone", "counting", "sources", "rules")
RULE_FIELDS = ("id", "authority", "kind", "title", "when", "due", "basis", "owner_role", "note")
MAX_DAYS = 3650


class Checker:
    """Walks a parsed rules file, noting every problem as `place: message`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []

    def problem(self, where: str, message: str, **values: Any) -> None:
        self.problems.append(f"{where}: {message % values if values else message}")

    def mapping(self, node: Any, where: str, allowed: tuple[str, ...]) -> bool:
        if not isinstance(node, dict):
            self.problem(where, _("must be a mapping with: %(keys)s"), keys=", ".join(allowed))
            return False
        unknown = ", ".join(sorted(str(key) for key in node if key not in allowed))
        if unknown:
            self.problem(where, _("unknown key(s): %(keys)s"), keys=unknown)
        return True

    def text(self, node: dict[str, Any], key: str, where: str) -> str:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        place = f"{where}.{key}" if where else key
        self.problem(place, _("must be a non-empty text") if key in node else _("is missing"))
        return ""

    def choice(self, node: dict[str, Any], key: str, where: str, choices: Any) -> str:
        if key not in node:
            self.problem(f"{where}.{key}", _("is missing"))
        elif not isinstance(node[key], str) or node[key] not in choices:
            self.problem(f"{where}.{key}", _("must be one of: %(choices)s"), choices=", ".join(choices))
        return str(node.get(key))

    def rules_file(self, data: Any) -> Rules:
        if not self.mapping(data, "(file)", TOP_FIELDS):
            raise RulesError(self.path, self.problems)
        version = self.text(data, "version", "")
        zone = ZoneInfo("Asia/Tokyo")
        try:
            zone = ZoneInfo(self.text(data, "timezone", "") or "Asia/Tokyo")
        except (ZoneInfoNotFoundError, ValueError):
            self.problem("timezone", _("not a time zone name, e.g. Asia/Tokyo"))
        counting = data.get("counting")
        if self.mapping(counting, "counting", ("first_day_counts",)):
            if not isinstance(counting.get("first_day_counts"), bool):
                self.problem("counting.first_day_counts", _("must be true or false"))
        sources = data.get("sources") if isinstance(data.get("sources"), dict) else {}
        if not sources:
            self.problem("sources", _("must be a mapping of source id to title, url and article"))
        for key, source in sources.items():
            if self.mapping(source, f"sources.{key}", ("title", "url", "article")):
                for field in ("title", "url", "article"):
                    self.text(source, field, f"sources.{key}")
        entries = data.get("rules")
        if not isinstance(entries, list) or not entries:
            self.problem("rules", _("must be a list with at least one entry"))
        rules: list[Rule] = []
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            rules.extend(self.rule(entry, index, sources, rules))
        if self.problems:
            raise RulesError(self.path, self.problems)
        return Rules(version, zone, counting["first_day_counts"], sources, tuple(rules))

    def rule(self, entry: Any, index: int, sources: dict[str, Any], earlier: list[Rule]) -> list[Rule]:
        named = isinstance(entry, dict) and isinstance(entry.get("id"), str)
        where = f"rules[{index}] ({entry['id']})" if named else f"rules[{index}]"
        before = len(self.problems)
        if not self.mapping(entry, where, RULE_FIELDS):
            return []
        rule_id = self.text(entry, "id", where)
        if rule_id and not RULE_ID.match(rule_id):
            self.problem(
                f"{where}.id", _("must be lowercase letters, digits and “-” (at most 50 characters)")
            )
        elif any(rule.id == rule_id for rule in earlier):
            self.problem(f"{where}.id", _("“%(value)s” is already used by an earlier rule"), value=rule_id)
        authority = self.choice(entry, "authority", where, AUTHORITIES)
        kind = self.choice(entry, "kind", where, KINDS)
        title = self.texts(entry, "title", where)
        note = self.texts(entry, "note", where) if "note" in entry else {}
        for key in ("when", "due", "basis"):  # due is required too, even if null (promptly)
            if key not in entry:
                self.problem(f"{where}.{key}", _("is missing"))
        if "when" in entry:
            self.condition(entry["when"], f"{where}.when")
        due = self.due(entry.get("due"), f"{where}.due")
        text = source = ""
        if "basis" in entry and self.mapping(entry["basis"], f"{where}.basis", ("text", "source")):
            text = self.text(entry["basis"], "text", f"{where}.basis")
            source = self.choice(entry["basis"], "source", f"{where}.basis", sources)
        owner_role = self.text(entry, "owner_role", where)
        if len(self.problems) > before:
            return []
        return [Rule(rule_id, authority, kind, title, entry["when"], due, text, source, owner_role, note)]

    def texts(self, entry: dict[str, Any], key: str, where: str) -> dict[str, str]:
        if key not in entry:
            self.problem(f"{where}.{key}", _("is missing"))
        elif self.mapping(entry[key], f"{where}.{key}", ("ja", "en")):
            return {language: self.text(entry[key], language, f"{where}.{key}") for language in ("ja", "en")}
        return {}

    def condition(self, node: Any, where: str) -> None:
        if node is True:
            return
        if not isinstance(node, dict) or len(node) not in (1, 2):
            self.problem(where, _("must be true or a condition (all, any, not or fact)"))
            return
        combinator = next((key for key in ("all", "any", "not") if key in node), None)
        if combinator and len(node) != 1:
            self.problem(where, _("give exactly one of: %(choices)s"), choices="all, any, not, fact")
        elif combinator == "not":
            self.condition(node["not"], f"{where}.not")
        elif combinator:
            if not isinstance(node[combinator], list) or not node[combinator]:
                self.problem(f"{where}.{combinator}", _("must be a list with at least one entry"))
                return
            for index, part in enumerate(node[combinator]):
                self.condition(part, f"{where}.{combinator}[{index}]")
        elif FACT_TYPES.get(node.get("fact")) not in ("bool", "int"):
            facts = ", ".join(name for name, kind in FACT_TYPES.items() if kind != "datetime")
            self.problem(f"{where}.fact", _("must be one of: %(choices)s"), choices=facts)
        else:
            op, value = next(((k, v) for k, v in node.items() if k != "fact"), ("", None))
            if FACT_TYPES[node["fact"]] == "bool" and (op != "is" or not isinstance(value, bool)):
                self.problem(where, _("a yes/no fact is compared with “is: true” or “is: false”"))
            elif FACT_TYPES[node["fact"]] == "int" and (
                op not in ("gt", "gte", "lt", "lte")
                or isinstance(value, bool)
                or not isinstance(value, int | float)
            ):
                self.problem(where, _("a number fact is compared with gt, gte, lt or lte and a number"))

    def due(self, node: Any, where: str) -> dict[str, Any] | None:
        if node is None or not self.mapping(node, where, ("days", "hours", "alternatives")):
            return None
        self.deadline(node, where)
        alternatives = node.get("alternatives", [])
        if not isinstance(alternatives, list):
            self.problem(f"{where}.alternatives", _("must be a list with at least one entry"))
            return None
        for index, alternative in enumerate(alternatives):
            place = f"{where}.alternatives[{index}]"
            if self.mapping(alternative, place, ("when", "days", "hours")):
                self.condition(alternative.get("when"), f"{place}.when")
                self.deadline(alternative, place)
        return node

    def deadline(self, node: dict[str, Any], where: str) -> None:
        units = [unit for unit in ("days", "hours") if unit in node]
        if len(units) != 1:
            self.problem(where, _("give exactly one of: %(choices)s"), choices="days, hours")
            return
        value = node[units[0]]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            self.problem(f"{where}.{units[0]}", _("must be a whole number from 1 to %(max)d"), max=MAX_DAYS)
