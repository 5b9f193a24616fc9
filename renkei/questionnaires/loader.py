"""Reading and validating questionnaire templates (docs/questionnaire-format.md).

`read_yaml` turns a file into plain data; `validate` checks ALL of it and returns the normalised
template (every default filled in, texts as {ja, en}) or raises `TemplateError` listing every
problem with its place, e.g. `sections[1].items[3].choices[0].points: must be between 0 and 100`.
Nothing here touches the database; renkei.questionnaires.services stores the result.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml
from django.conf import settings
from django.utils.translation import gettext as _

from renkei.questionnaires.choices import (
    CHOICE_TYPES,
    CHOICES_REQUIRED,
    DEFAULT_CHOICES,
    NOT_APPLICABLE,
    AnswerType,
)

TEMPLATE_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
SECTION_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
CHOICE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")

MAX_SECTIONS = 200
MAX_ITEMS = 2000
MAX_CHOICES = 50
MAX_WEIGHT = decimal.Decimal(1000)
# Longest text per field (characters).
LIMITS = {"name": 200, "title": 200, "label": 200, "text": 2000, "help": 4000,
          "description": 4000, "source": 1000}

TOP_FIELDS = ("key", "name", "description", "source", "sections")
SECTION_FIELDS = ("key", "title", "items")
ITEM_FIELDS = ("id", "text", "help", "type", "not_applicable", "required", "weight", "critical",
               "choices", "condition")
CHOICE_FIELDS = ("value", "label", "points")
CONDITION_FIELDS = ("item", "in")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template, at PATH (empty: the file as a whole)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class TemplateError(Exception):
    """The template was refused; `problems` lists every reason. Nothing was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# --- Reading --------------------------------------------------------------------------------------


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load without anchors and aliases: a few aliases nested in each other expand into
    millions of nodes (a "billion laughs" file), and templates have no use for them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&, *) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def max_bytes() -> int:
    return int(settings.RENKEI_MAX_UPLOAD_MB) * 1024 * 1024


def _read_bytes(source: str | os.PathLike[str] | bytes | IO[bytes]) -> bytes:
    limit = max_bytes()
    too_big = TemplateError([Problem("", _(
        "The file is larger than %(limit)d MB; it was not read."
    ) % {"limit": settings.RENKEI_MAX_UPLOAD_MB})])
    if isinstance(source, bytes):
        if len(source) > limit:
            raise too_big
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise TemplateError([Problem("", _("File not found: %(path)s") % {"path": path})])
        if path.stat().st_size > limit:
            raise too_big
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    data = source.read(limit + 1)
    if len(data) > limit:
        raise too_big
    return data


def read_yaml(source: str | os.PathLike[str] | bytes | IO[bytes]) -> Any:
    """The YAML document in SOURCE (a path, bytes or a binary file object) as plain data.

    Refuses a file over RENKEI_MAX_UPLOAD_MB before parsing it, text that is not UTF-8, YAML
    syntax errors (with line and column) and anchors/aliases.
    """
    raw = _read_bytes(source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TemplateError([Problem("", _(
            "The file is not UTF-8 text (invalid byte at offset %(offset)d). Save it as UTF-8."
        ) % {"offset": exc.start})]) from exc
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or ""
        if mark is None:
            message = _("YAML syntax error: %(problem)s") % {"problem": problem}
        else:
            message = _("YAML syntax error at line %(line)d, column %(column)d: %(problem)s") % {
                "line": mark.line + 1, "column": mark.column + 1, "problem": problem,
            }
        raise TemplateError([Problem("", message)]) from exc
    except yaml.YAMLError as exc:
        raise TemplateError([Problem("", _("YAML syntax error: %(problem)s") % {
            "problem": str(exc)})]) from exc


# --- Validating -----------------------------------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: Any, path: str, fields: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, _("must be a mapping (key: value)"))
            return None
        for name in value:
            if name not in fields:
                where = f"{path}.{name}" if path else str(name)
                if path == "" and name == "version":
                    self.add(where, _("versions are numbered by Renkei; remove this field"))
                else:
                    self.add(where, _("unknown field; expected one of: %(fields)s")
                             % {"fields": ", ".join(fields)})
        return value

    def text(self, value: Any, path: str, limit_key: str, *, required: bool) -> dict[str, str]:
        result = {"ja": "", "en": ""}
        if value is None:
            if required:
                self.add(path, _("is required"))
            return result
        if isinstance(value, str):
            value = {"ja": value}
        if not isinstance(value, dict):
            self.add(path, _("must be text or a mapping {ja: ..., en: ...}"))
            return result
        for lang in value:
            if lang not in ("ja", "en"):
                self.add(f"{path}.{lang}", _("unknown language; use ja and en"))
        limit = LIMITS[limit_key]
        for lang in ("ja", "en"):
            text = value.get(lang)
            if text is None:
                continue
            if isinstance(text, bool) or not isinstance(text, str | int | float):
                self.add(f"{path}.{lang}", _("must be text"))
                continue
            text = str(text).strip()
            if len(text) > limit:
                self.add(f"{path}.{lang}", _("must be at most %(max)d characters") % {"max": limit})
            result[lang] = text
        if required and not result["ja"]:
            self.add(f"{path}.ja", _("the Japanese text is required"))
        return result

    def boolean(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(path, _("must be true or false"))
            return default
        return value

    def key(self, value: Any, path: str, pattern: re.Pattern[str], message: str) -> str:
        if value is None or value == "":
            self.add(path, _("is required"))
            return ""
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.add(path, message)
            return ""
        value = str(value)
        if not pattern.match(value):
            self.add(path, message)
        return value

    def items_list(self, value: Any, path: str, limit: int) -> list[Any]:
        if value is None:
            self.add(path, _("is required"))
            return []
        if not isinstance(value, list):
            self.add(path, _("must be a list"))
            return []
        if not value:
            self.add(path, _("must have at least one entry"))
        if len(value) > limit:
            self.add(path, _("too many entries (at most %(max)d)") % {"max": limit})
            return value[:limit]
        return value


def _weight(checker: _Checker, value: Any, path: str) -> str:
    if value is None:
        return "1"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        checker.add(path, _("must be a number between 0 and %(max)d") % {"max": MAX_WEIGHT})
        return "1"
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        checker.add(path, _("must be a number between 0 and %(max)d") % {"max": MAX_WEIGHT})
        return "1"
    if not number.is_finite() or number < 0 or number > MAX_WEIGHT:
        checker.add(path, _("must be a number between 0 and %(max)d") % {"max": MAX_WEIGHT})
        return "1"
    if number != number.quantize(decimal.Decimal("0.01")):
        checker.add(path, _("may have at most two decimal places"))
        return "1"
    return format(number.normalize(), "f")


def _choices(checker: _Checker, item: dict[str, Any], path: str, answer_type: str) -> list[dict]:
    raw = item.get("choices")
    type_values = [c.value for c in DEFAULT_CHOICES.get(answer_type, ())]
    if raw is None:
        if answer_type in CHOICES_REQUIRED:
            checker.add(f"{path}.choices", _("is required for the answer type %(type)s")
                        % {"type": answer_type})
        return [
            {"value": c.value, "label": {"ja": c.label_ja, "en": c.label_en}, "points": c.points}
            for c in DEFAULT_CHOICES.get(answer_type, ())
        ]
    if answer_type not in CHOICE_TYPES:
        checker.add(f"{path}.choices", _("is not allowed for the answer type %(type)s")
                    % {"type": answer_type})
        return []
    choices: list[dict] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(checker.items_list(raw, f"{path}.choices", MAX_CHOICES)):
        cpath = f"{path}.choices[{index}]"
        choice = checker.mapping(entry, cpath, CHOICE_FIELDS)
        if choice is None:
            continue
        value = checker.key(choice.get("value"), f"{cpath}.value", CHOICE_VALUE, _(
            "must be letters, digits, “.”, “_” or “-” (at most 50 characters)"))
        if value == NOT_APPLICABLE:
            checker.add(f"{cpath}.value", _("“n/a” is reserved for 該当なし; use not_applicable: true"))
        elif value and value in seen:
            checker.add(f"{cpath}.value", _("duplicate value “%(value)s” (also at %(other)s)")
                        % {"value": value, "other": seen[value]})
        elif value and type_values and value not in type_values:
            checker.add(f"{cpath}.value", _("must be one of %(values)s for the answer type %(type)s")
                        % {"values": ", ".join(type_values), "type": answer_type})
        if value:
            seen.setdefault(value, f"{cpath}.value")
        label = checker.text(choice.get("label"), f"{cpath}.label", "label", required=True)
        points = choice.get("points")
        if points is None:
            checker.add(f"{cpath}.points", _("is required"))
            points = 0
        elif isinstance(points, bool) or not isinstance(points, int):
            if isinstance(points, float) and points.is_integer():
                points = int(points)
            else:
                checker.add(f"{cpath}.points", _("must be a whole number"))
                points = 0
        if not 0 <= points <= 100:
            checker.add(f"{cpath}.points", _("must be between 0 and 100"))
        choices.append({"value": value, "label": label, "points": points})
    if type_values and set(type_values) - set(seen):
        checker.add(f"{path}.choices", _("must list every value of the answer type %(type)s: %(values)s")
                    % {"type": answer_type, "values": ", ".join(type_values)})
    return choices


def _condition(
    checker: _Checker, raw: Any, path: str, earlier: dict[str, dict], later: set[str]
) -> dict[str, Any] | None:
    if raw is None:
        return None
    condition = checker.mapping(raw, path, CONDITION_FIELDS)
    if condition is None:
        return None
    target_id = condition.get("item")
    values = condition.get("in")
    if target_id is None or target_id == "":
        checker.add(f"{path}.item", _("is required"))
        return None
    target_id = str(target_id)
    if not isinstance(values, list) or not values:
        checker.add(f"{path}.in", _("must be a list of at least one answer value"))
        values = []
    target = earlier.get(target_id)
    if target is None:
        if target_id in later:
            checker.add(f"{path}.item", _(
                "refers to item “%(id)s”, which does not come earlier; a condition may only refer "
                "to an earlier item") % {"id": target_id})
        else:
            checker.add(f"{path}.item", _("refers to an unknown item “%(id)s”") % {"id": target_id})
        return None
    if target["type"] not in CHOICE_TYPES:
        checker.add(f"{path}.item", _(
            "item “%(id)s” has no choices to test (answer type %(type)s)"
        ) % {"id": target_id, "type": target["type"]})
        return None
    allowed = [c["value"] for c in target["choices"]]
    if target["not_applicable"]:
        allowed.append(NOT_APPLICABLE)
    clean: list[str] = []
    for index, raw_value in enumerate(values):
        value = str(raw_value)
        if value not in allowed:
            checker.add(f"{path}.in[{index}]", _(
                "“%(value)s” is not an answer of item “%(id)s” (%(values)s)"
            ) % {"value": value, "id": target_id, "values": ", ".join(allowed)})
        elif value not in clean:
            clean.append(value)
    return {"item": target_id, "in": clean}


def _all_item_ids(sections: Any) -> set[str]:
    ids: set[str] = set()
    if isinstance(sections, list):
        for section in sections:
            if isinstance(section, dict) and isinstance(section.get("items"), list):
                for item in section["items"]:
                    if isinstance(item, dict) and item.get("id") is not None:
                        ids.add(str(item["id"]))
    return ids


def validate(data: Any) -> dict[str, Any]:
    """The normalised template, or TemplateError with every problem found."""
    checker = _Checker()
    top = checker.mapping(data, "", TOP_FIELDS)
    if top is None:
        raise TemplateError([Problem("", _("The template must be a mapping with key, name and sections."))])
    spec: dict[str, Any] = {
        "key": checker.key(top.get("key"), "key", TEMPLATE_KEY, _(
            "must be lowercase letters, digits and “-” (at most 50 characters), starting with a "
            "letter or digit")),
        "name": checker.text(top.get("name"), "name", "name", required=True),
        "description": checker.text(top.get("description"), "description", "description",
                                    required=False),
        "source": checker.text(top.get("source"), "source", "source", required=False),
        "sections": [],
    }
    section_keys: dict[str, str] = {}
    earlier: dict[str, dict] = {}  # item id -> normalised item, in document order
    item_paths: dict[str, str] = {}
    all_ids = _all_item_ids(top.get("sections"))
    total_items = 0
    for s_index, raw_section in enumerate(checker.items_list(top.get("sections"), "sections",
                                                             MAX_SECTIONS)):
        spath = f"sections[{s_index}]"
        section = checker.mapping(raw_section, spath, SECTION_FIELDS)
        if section is None:
            continue
        key = checker.key(section.get("key"), f"{spath}.key", SECTION_KEY, _(
            "must be lowercase letters, digits, “_” and “-” (at most 50 characters)"))
        if key and key in section_keys:
            checker.add(f"{spath}.key", _("duplicate section key “%(key)s” (also at %(other)s)")
                        % {"key": key, "other": section_keys[key]})
        elif key:
            section_keys[key] = f"{spath}.key"
        out_section = {
            "key": key,
            "title": checker.text(section.get("title"), f"{spath}.title", "title", required=True),
            "items": [],
        }
        for i_index, raw_item in enumerate(checker.items_list(section.get("items"), f"{spath}.items",
                                                              MAX_ITEMS)):
            total_items += 1
            ipath = f"{spath}.items[{i_index}]"
            item = checker.mapping(raw_item, ipath, ITEM_FIELDS)
            if item is None:
                continue
            item_id = checker.key(item.get("id"), f"{ipath}.id", ITEM_ID, _(
                "must be letters, digits, “.”, “_” or “-” (at most 32 characters)"))
            answer_type = item.get("type")
            if answer_type is None:
                checker.add(f"{ipath}.type", _("is required"))
            elif answer_type not in AnswerType.values:
                checker.add(f"{ipath}.type", _("unknown answer type “%(type)s”; one of: %(types)s")
                            % {"type": answer_type, "types": ", ".join(AnswerType.values)})
                answer_type = None
            out = {
                "id": item_id,
                "text": checker.text(item.get("text"), f"{ipath}.text", "text", required=True),
                "help": checker.text(item.get("help"), f"{ipath}.help", "help", required=False),
                "type": answer_type or "",
                "not_applicable": checker.boolean(item.get("not_applicable"),
                                                  f"{ipath}.not_applicable", False),
                "required": checker.boolean(item.get("required"), f"{ipath}.required", True),
                "weight": _weight(checker, item.get("weight"), f"{ipath}.weight"),
                "critical": checker.boolean(item.get("critical"), f"{ipath}.critical", False),
                "choices": _choices(checker, item, ipath, answer_type) if answer_type else [],
                "condition": None,
            }
            later = all_ids - set(earlier)
            out["condition"] = _condition(checker, item.get("condition"), f"{ipath}.condition",
                                          earlier, later)
            if item_id and item_id in item_paths:
                checker.add(f"{ipath}.id", _("duplicate item id “%(id)s” (also at %(other)s)")
                            % {"id": item_id, "other": item_paths[item_id]})
            elif item_id:
                item_paths[item_id] = f"{ipath}.id"
                earlier[item_id] = out
            out_section["items"].append(out)
        spec["sections"].append(out_section)
    if total_items > MAX_ITEMS:
        checker.add("sections", _("too many items in all (at most %(max)d)") % {"max": MAX_ITEMS})
    if checker.problems:
        raise TemplateError(checker.problems)
    return spec


def content_hash(spec: dict[str, Any]) -> str:
    """SHA-256 over the normalised template: equal content, equal hash, whatever the layout."""
    canonical = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
