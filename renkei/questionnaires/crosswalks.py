"""Crosswalks: items of one template mapped to items of another (docs/crosswalks.md).

`validate(data, organization)` checks a whole crosswalk file against the newest versions of the
two templates and returns the normalised crosswalk, or raises `CrosswalkError` listing every
problem with its place (`items[3].to[0]: ...`), like the template loader. `load_crosswalk_data`
/ `load_crosswalk_file` then store it: the same content changes nothing, changed content replaces
the entries in one transaction, with one audit entry. Nothing is written when any problem is found.

A crosswalk is keyed by template key and item id, never by template rows, so it holds for every
version. Keys are resolved as when sending a questionnaire: the organization's own template
first, then the built-in one; a built-in crosswalk (organization None) may only name built-in
templates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record, snapshot
from renkei.questionnaires.choices import CHOICE_TYPES, NOT_APPLICABLE, AnswerType
from renkei.questionnaires.loader import (
    CHOICE_VALUE,
    ITEM_ID,
    TEMPLATE_KEY,
    Problem,
    TemplateError,
    _Checker,
    content_hash,
    read_yaml,
)
from renkei.questionnaires.models import Choice, Crosswalk, CrosswalkEntry, Item, Template

TOP_FIELDS = ("crosswalk", "items")
HEADER_FIELDS = ("key", "name", "from", "to")
ENTRY_FIELDS = ("from", "to", "values")
MAX_ENTRIES = 2000
MAX_TARGETS = 20  # items one item maps to
MAX_VALUES = 50  # pairs in one value map (as many as an item has choices)

# Single-valued choice types: one choice value per answer.
SINGLE_CHOICE_TYPES = frozenset({AnswerType.TRI_STATE, AnswerType.YES_NO, AnswerType.SINGLE_CHOICE})
# Without a value map, these convert without losing anything (besides the same type).
LOSSLESS = {(AnswerType.NUMBER, AnswerType.TEXT), (AnswerType.DATE, AnswerType.TEXT)}


class CrosswalkError(TemplateError):
    """The crosswalk was refused; `problems` lists every reason. Nothing was stored."""


@dataclass(frozen=True)
class CrosswalkLoadResult:
    crosswalk: Crosswalk
    created: bool
    updated: bool
    unchanged: bool
    entries: int

    def as_dict(self) -> dict[str, Any]:
        crosswalk = self.crosswalk
        return {
            "key": crosswalk.key,
            "from": crosswalk.source_key,
            "to": crosswalk.target_key,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "organization": crosswalk.organization.slug if crosswalk.organization else None,
            "entries": self.entries,
        }


# --- Templates a crosswalk may name ---------------------------------------------------------------


def resolve_template(organization_id: int | None, key: str) -> Template | None:
    """The newest version of KEY as ORGANIZATION sees it: its own first, then the built-in one.
    A built-in crosswalk (None) sees the built-in templates only."""
    owners: list[dict[str, Any]] = [{"organization__isnull": True}]
    if organization_id is not None:
        owners.insert(0, {"organization_id": organization_id})
    for owner in owners:
        found = Template.objects.filter(key=key, **owner).order_by("-version").first()
        if found is not None:
            return found
    return None


def template_items(template: Template) -> list[Item]:
    """TEMPLATE's items in order, with their choices and section (two queries)."""
    return list(
        template.items.select_related("section").order_by("order")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("order")))
    )


def _choice_values(item: Item) -> list[str]:
    return [c.value for c in item.choices.all()]


def compatible(source: Item, target: Item) -> bool:
    """Whether every answer to SOURCE is, unchanged, a valid answer to TARGET (mapping without
    a value map): the same type with no new choice values, a one-value choice into a choice
    type that has that value, or number/date into text. 該当なし needs no rule: it is carried
    only where the target allows it."""
    s_type, t_type = source.answer_type, target.answer_type
    if AnswerType.FILE in (s_type, t_type):
        return False
    if s_type in CHOICE_TYPES and t_type in CHOICE_TYPES:
        if s_type == AnswerType.MULTIPLE_CHOICE and t_type != AnswerType.MULTIPLE_CHOICE:
            return False
        return set(_choice_values(source)) <= set(_choice_values(target))
    return s_type == t_type or (s_type, t_type) in LOSSLESS


# --- Validating -----------------------------------------------------------------------------------


def _item_ids(checker: _Checker, raw: Any, path: str) -> list[str]:
    """The `to` of an entry: one item id or a list of them."""
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        checker.add(path, _("must be a list of at least one item id"))
        return []
    if len(raw) > MAX_TARGETS:
        checker.add(path, _("too many entries (at most %(max)d)") % {"max": MAX_TARGETS})
        raw = raw[:MAX_TARGETS]
    ids: list[str] = []
    for index, value in enumerate(raw):
        item_id = checker.key(value, f"{path}[{index}]", ITEM_ID, _(
            "must be letters, digits, “.”, “_” or “-” (at most 32 characters)"))
        if item_id and item_id in ids:
            checker.add(f"{path}[{index}]", _("“%(id)s” is listed twice") % {"id": item_id})
        elif item_id:
            ids.append(item_id)
    return ids


def _choice_text(value: Any) -> str | None:
    """VALUE as a choice value, or None. Unquoted yes/no are booleans in YAML: read them as the
    yes_no values they were meant to be."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str | int):
        return None
    text = str(value)
    return text if text == NOT_APPLICABLE or CHOICE_VALUE.match(text) else None


def _value_map(checker: _Checker, raw: Any, path: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw:
        checker.add(path, _("must be a mapping of at least one answer value to an answer value"))
        return {}
    if len(raw) > MAX_VALUES:
        checker.add(path, _("too many entries (at most %(max)d)") % {"max": MAX_VALUES})
    values: dict[str, str] = {}
    for raw_key, raw_value in list(raw.items())[:MAX_VALUES]:
        key, value = _choice_text(raw_key), _choice_text(raw_value)
        if key is None or value is None:
            checker.add(f"{path}.{raw_key}", _(
                "must map a choice value to a choice value (letters, digits, “.”, “_” or “-”; "
                "“n/a” for 該当なし)"))
            continue
        values[key] = value
    return values


def _check_values(checker: _Checker, path: str, values: dict[str, str], source: Item,
                  target: Item) -> None:
    """A value map: from SOURCE's values (or n/a where allowed) to TARGET's."""
    if source.answer_type not in CHOICE_TYPES or target.answer_type not in CHOICE_TYPES:
        checker.add(path, _(
            "a value map needs choice items on both sides; %(from)s is %(from_type)s, %(to)s is "
            "%(to_type)s") % {"from": source.item_id, "from_type": source.answer_type,
                              "to": target.item_id, "to_type": target.answer_type})
        return
    source_values = _choice_values(source) + ([NOT_APPLICABLE] if source.allow_na else [])
    target_values = _choice_values(target) + ([NOT_APPLICABLE] if target.allow_na else [])
    for key, value in values.items():
        if key not in source_values:
            checker.add(f"{path}.{key}", _("“%(value)s” is not an answer of item “%(id)s” "
                                           "(%(values)s)") % {
                "value": key, "id": source.item_id, "values": ", ".join(source_values)})
        if value not in target_values:
            checker.add(f"{path}.{key}", _("“%(value)s” is not an answer of item “%(id)s” "
                                           "(%(values)s)") % {
                "value": value, "id": target.item_id, "values": ", ".join(target_values)})


def validate(data: Any, organization: Organization | None) -> dict[str, Any]:
    """The normalised crosswalk, or CrosswalkError with every problem found. Reads the newest
    version of each template (a few queries), writes nothing."""
    checker = _Checker()
    top = checker.mapping(data, "", TOP_FIELDS)
    if top is None:
        raise CrosswalkError([Problem("", _("The crosswalk must be a mapping with crosswalk and "
                                            "items."))])
    header = checker.mapping(top.get("crosswalk"), "crosswalk", HEADER_FIELDS)
    if header is None:
        raise CrosswalkError(checker.problems)
    key_message = _("must be lowercase letters, digits and “-” (at most 50 characters), starting "
                    "with a letter or digit")
    spec: dict[str, Any] = {
        "key": checker.key(header.get("key"), "crosswalk.key", TEMPLATE_KEY, key_message),
        "name": checker.text(header.get("name"), "crosswalk.name", "name", required=True),
        "from": checker.key(header.get("from"), "crosswalk.from", TEMPLATE_KEY, key_message),
        "to": checker.key(header.get("to"), "crosswalk.to", TEMPLATE_KEY, key_message),
        "items": [],
    }
    org_id = organization.pk if organization is not None else None
    sides: dict[str, dict[str, Item] | None] = {}
    for side in ("from", "to"):
        key = spec[side]
        if not key:
            sides[side] = None
            continue
        template = resolve_template(org_id, key)
        if template is None:
            checker.add(f"crosswalk.{side}", _("no template “%(key)s” (among your organization's "
                                               "and the built-in templates)") % {"key": key}
                        if org_id is not None else
                        _("no built-in template “%(key)s” (a built-in crosswalk may only name "
                          "built-in templates)") % {"key": key})
            sides[side] = None
        else:
            sides[side] = {item.item_id: item for item in template_items(template)}
    if spec["from"] and spec["from"] == spec["to"]:
        checker.add("crosswalk.to", _("must be another template than “from”"))
    sources, targets = sides["from"], sides["to"]
    pairs: dict[tuple[str, str], str] = {}
    mapped_to: dict[str, str] = {}
    for index, raw_entry in enumerate(checker.items_list(top.get("items"), "items", MAX_ENTRIES)):
        path = f"items[{index}]"
        entry = checker.mapping(raw_entry, path, ENTRY_FIELDS)
        if entry is None:
            continue
        source_id = checker.key(entry.get("from"), f"{path}.from", ITEM_ID, _(
            "must be letters, digits, “.”, “_” or “-” (at most 32 characters)"))
        target_ids = _item_ids(checker, entry.get("to"), f"{path}.to")
        values = _value_map(checker, entry["values"], f"{path}.values") \
            if entry.get("values") is not None else {}
        source = sources.get(source_id) if sources is not None and source_id else None
        if sources is not None and source_id and source is None:
            checker.add(f"{path}.from", _("no item “%(id)s” in the newest version of “%(key)s”")
                        % {"id": source_id, "key": spec["from"]})
        elif source is not None and source.answer_type == AnswerType.FILE:
            checker.add(f"{path}.from", _("evidence-file items cannot be mapped (files are never "
                                          "copied)"))
            source = None
        for t_index, target_id in enumerate(target_ids):
            t_path = f"{path}.to[{t_index}]"
            pair = (source_id, target_id)
            if pair in pairs:
                checker.add(t_path, _("“%(from)s” → “%(to)s” is already mapped at %(other)s")
                            % {"from": source_id, "to": target_id, "other": pairs[pair]})
                continue
            pairs[pair] = t_path
            if target_id in mapped_to:
                checker.add(t_path, _("“%(id)s” is already the target of %(other)s; each item "
                                      "gets its answer from one item only")
                            % {"id": target_id, "other": mapped_to[target_id]})
                continue
            mapped_to[target_id] = t_path
            target = targets.get(target_id) if targets is not None else None
            if targets is not None and target is None:
                checker.add(t_path, _("no item “%(id)s” in the newest version of “%(key)s”")
                            % {"id": target_id, "key": spec["to"]})
                continue
            if source is None or target is None:
                continue
            if values:
                _check_values(checker, f"{path}.values", values, source, target)
            elif entry.get("values") is None and not compatible(source, target):
                checker.add(t_path, _(
                    "“%(from)s” (%(from_type)s) and “%(to)s” (%(to_type)s) have different answers; "
                    "add a value map (values:) or map compatible items") % {
                    "from": source_id, "from_type": source.answer_type,
                    "to": target_id, "to_type": target.answer_type})
        spec["items"].append({"from": source_id, "to": target_ids, "values": values})
    if checker.problems:
        raise CrosswalkError(checker.problems)
    return spec


# --- Storing --------------------------------------------------------------------------------------


def _snapshot(crosswalk: Crosswalk, entries: int) -> dict[str, Any]:
    data = snapshot(crosswalk)
    data.pop("updated_at", None)
    data["entries"] = entries
    return data


def load_crosswalk_data(data: Any, *, organization: Organization | None,
                        actor: Actor) -> CrosswalkLoadResult:
    """Validate DATA (docs/crosswalks.md) and store it under (ORGANIZATION, key).

    The same content as stored: nothing changes (unchanged=True). Otherwise the crosswalk is
    created, or its name, templates and entries are replaced, in one transaction with an audit
    entry (none for a built-in crosswalk: it belongs to no organization). Raises CrosswalkError
    listing every problem; then nothing is written."""
    spec = validate(data, organization)
    digest = content_hash(spec)
    try:
        with transaction.atomic():
            return _store(spec, digest, organization, actor)
    except IntegrityError as exc:
        raise CrosswalkError([Problem("crosswalk.key", _(
            "this crosswalk was stored by someone else at the same time; load it again"))]) from exc


def load_crosswalk_file(source: str | os.PathLike[str] | bytes | IO[bytes], *,
                        organization: Organization | None, actor: Actor) -> CrosswalkLoadResult:
    """Read a YAML crosswalk (path, bytes or binary file object) and store it as above."""
    try:
        data = read_yaml(source)
    except TemplateError as exc:
        raise CrosswalkError(exc.problems) from exc
    return load_crosswalk_data(data, organization=organization, actor=actor)


def _entries(crosswalk: Crosswalk, spec: dict[str, Any]) -> list[CrosswalkEntry]:
    return [
        CrosswalkEntry(crosswalk=crosswalk, source_item=entry["from"], target_item=target,
                       values=entry["values"])
        for entry in spec["items"] for target in entry["to"]
    ]


def _store(spec: dict[str, Any], digest: str, organization: Organization | None,
           actor: Actor) -> CrosswalkLoadResult:
    existing = (Crosswalk.objects.select_for_update()
                .filter(organization=organization, key=spec["key"]).first())
    count = sum(len(entry["to"]) for entry in spec["items"])
    if existing is not None and existing.content_hash == digest:
        return CrosswalkLoadResult(existing, created=False, updated=False, unchanged=True,
                                   entries=count)
    fields = {"name_ja": spec["name"]["ja"], "name_en": spec["name"]["en"],
              "source_key": spec["from"], "target_key": spec["to"], "content_hash": digest}
    if existing is None:
        crosswalk = Crosswalk.objects.create(organization=organization, key=spec["key"], **fields)
        CrosswalkEntry.objects.bulk_create(_entries(crosswalk, spec))
        if organization is not None:
            record(actor, AuditEntry.Action.CREATE, crosswalk, None, _snapshot(crosswalk, count))
        return CrosswalkLoadResult(crosswalk, created=True, updated=False, unchanged=False,
                                   entries=count)
    before = _snapshot(existing, existing.entries.count())
    for name, value in fields.items():
        setattr(existing, name, value)
    existing.save()
    existing.entries.all().delete()
    CrosswalkEntry.objects.bulk_create(_entries(existing, spec))
    if organization is not None:
        record(actor, AuditEntry.Action.UPDATE, existing, before, _snapshot(existing, count))
    return CrosswalkLoadResult(existing, created=False, updated=True, unchanged=False,
                               entries=count)


# --- Reading for pages, the API and prefill -------------------------------------------------------


def crosswalks_for_keys(organization_id: int, keys: Iterable[str]) -> Q:
    """Crosswalks that apply to ORGANIZATION's questionnaires with one of KEYS on either side."""
    keys = list(keys)
    return (Q(organization_id=organization_id) | Q(organization__isnull=True)) & (
        Q(source_key__in=keys) | Q(target_key__in=keys))


def _label(item: Item | None, value: str) -> str:
    """A choice value as its label in ITEM (the value itself when unknown)."""
    if value == NOT_APPLICABLE:
        return _("Not applicable")
    for choice in item.choices.all() if item is not None else ():
        if choice.value == value:
            return choice.label
    return value


def side_by_side(crosswalk: Crosswalk) -> dict[str, Any]:
    """The crosswalk for its detail page: the two templates (newest versions), one row per source
    item in template order with the target items it maps to (none: unmapped), and the target
    items nothing maps to. Entries naming items that are no longer there are listed too."""
    source = resolve_template(crosswalk.organization_id, crosswalk.source_key)
    target = resolve_template(crosswalk.organization_id, crosswalk.target_key)
    source_items = template_items(source) if source else []
    target_items = template_items(target) if target else []
    targets_by_id = {item.item_id: item for item in target_items}
    sources_by_id = {item.item_id: item for item in source_items}
    entries = list(crosswalk.entries.order_by("pk"))
    by_source: dict[str, list[CrosswalkEntry]] = {}
    for entry in entries:
        by_source.setdefault(entry.source_item, []).append(entry)
        entry.target = targets_by_id.get(entry.target_item)  # type: ignore[attr-defined]
        entry.value_pairs = [  # type: ignore[attr-defined]
            (_label(sources_by_id.get(entry.source_item), key), _label(entry.target, value))
            for key, value in (entry.values or {}).items()
        ]
    rows = [{"item": item, "entries": by_source.pop(item.item_id, [])} for item in source_items]
    mapped = {entry.target_item for entry in entries}
    return {
        "source": source,
        "target": target,
        "rows": rows,
        "missing": [entry for rest in by_source.values() for entry in rest],
        "unmapped_targets": [item for item in target_items if item.item_id not in mapped],
        "unmapped_sources": sum(1 for row in rows if not row["entries"]),
        "entry_count": len(entries),
    }
