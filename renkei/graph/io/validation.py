"""The rules of the map format (docs/graph-format.md), in one place.

The services (one node or edge from a page, the portal or the API) and the importer (a whole
file) both call these, so a value refused by one is refused by the other with the same message.
Each `clean_*` returns the stored value or raises `Invalid` with a message in the active
language; attribute values may be text (a CSV cell, a form field) or typed (JSON, the API).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from renkei.graph.choices import AccessVia, EdgeKind, NodeKind, Privilege
from renkei.suppliers.models import MAX_TIER

MAX_KEY = 100
MAX_NAME = 200
MAX_TEXT = 1000  # an attribute kept as text
MAX_ATTRIBUTE_NAME = 50
MAX_CLASSES = 50
MAX_CLASS = 100
MAX_RECORDS = 10**15  # exact in every JSON reader (below 2**53)

NODE_COLUMNS = ("id", "kind", "name")
EDGE_COLUMNS = ("source", "target", "kind")
RESERVED = frozenset({*NODE_COLUMNS, *EDGE_COLUMNS})

NODE_KINDS = frozenset(NodeKind.values)
EDGE_KINDS = frozenset(EdgeKind.values)

ORG, SUP, SYS, DATA, SITE, PROD = (
    NodeKind.ORGANIZATION.value,
    NodeKind.SUPPLIER.value,
    NodeKind.SYSTEM.value,
    NodeKind.DATA.value,
    NodeKind.SITE.value,
    NodeKind.PRODUCT.value,
)
# Which node kinds each edge kind may join: (sources, targets). docs/graph-format.md explains why.
ENDPOINTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    EdgeKind.SUPPLIES.value: (frozenset({ORG, SUP, SITE, PROD}), frozenset({ORG, SUP, SITE, PROD, SYS})),
    EdgeKind.SUBCONTRACTS.value: (frozenset({ORG, SUP}), frozenset({ORG, SUP})),
    EdgeKind.ACCESSES.value: (frozenset({ORG, SUP, SYS}), frozenset({ORG, SUP, SYS})),
    EdgeKind.HOSTS_DATA.value: (frozenset({SYS, SUP}), frozenset({DATA})),
    EdgeKind.DEPENDS_ON.value: (
        frozenset({ORG, SUP, SYS, SITE, PROD}),
        frozenset({ORG, SUP, SYS, SITE, PROD, DATA}),
    ),
    EdgeKind.NETWORK.value: (frozenset({ORG, SUP, SYS, SITE}), frozenset({ORG, SUP, SYS, SITE})),
}
# Every allowed (edge kind, source kind, target kind): one set lookup per imported edge.
ALLOWED = frozenset(
    (kind, source, target)
    for kind, (sources, targets) in ENDPOINTS.items()
    for source in sources
    for target in targets
)

# Attributes with a type, and the kinds they belong to (None: every kind).
NODE_ATTRIBUTES: dict[str, frozenset[str] | None] = {
    "records": frozenset({DATA}),
    "classes": frozenset({DATA}),
    "tier": frozenset({SUP, ORG}),
    "country": None,
}
EDGE_ATTRIBUTES: dict[str, frozenset[str] | None] = {
    "single_source": frozenset({EdgeKind.SUPPLIES.value}),
    "method": frozenset({EdgeKind.ACCESSES.value}),
    "privilege": frozenset({EdgeKind.ACCESSES.value}),
}
TYPED = {"node": NODE_ATTRIBUTES, "edge": EDGE_ATTRIBUTES}

TRUE = frozenset({"true", "1", "yes", "はい"})
FALSE = frozenset({"false", "0", "no", "いいえ"})
CLASS_SPLIT = re.compile(r"[;；]")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # text may hold tabs and line breaks
NUMBER = re.compile(r"\d{1,3}(,\d{3})+|\d+")


class Invalid(ValueError):
    """A value refused; str() is the message in the active language."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return str(value)
    raise Invalid(_("Enter text, not a list or an object."))


def clean_key(value: Any) -> str:
    """A node id: 1 to 100 characters, no control characters. Case and width are kept."""
    key = _text(value)
    if not key:
        raise Invalid(_("Enter the node id."))
    if len(key) > MAX_KEY:
        raise Invalid(
            _("The node id is too long: at most %(limit)d characters (this one has %(length)d).")
            % {"limit": MAX_KEY, "length": len(key)}
        )
    if CONTROL.search(key):
        raise Invalid(_("The node id contains a control character (a tab, a line break or similar)."))
    return key


def clean_name(value: Any) -> str:
    name = _text(value)
    if not name:
        raise Invalid(_("Enter the name."))
    if len(name) > MAX_NAME:
        raise Invalid(
            _("The name is too long: at most %(limit)d characters (this one has %(length)d).")
            % {"limit": MAX_NAME, "length": len(name)}
        )
    if CONTROL.search(name):
        raise Invalid(_("The name contains a control character (a tab, a line break or similar)."))
    return name


def clean_node_kind(value: Any) -> str:
    kind = _text(value).lower()
    if kind in NODE_KINDS:
        return kind
    if not kind:
        raise Invalid(
            _("Enter the node kind. The kinds are: %(kinds)s.") % {"kinds": ", ".join(NodeKind.values)}
        )
    raise Invalid(
        _("Unknown node kind “%(kind)s”. The kinds are: %(kinds)s.")
        % {"kind": _text(value), "kinds": ", ".join(NodeKind.values)}
    )


def clean_edge_kind(value: Any) -> str:
    kind = _text(value).lower()
    if kind in EDGE_KINDS:
        return kind
    if not kind:
        raise Invalid(
            _("Enter the edge kind. The kinds are: %(kinds)s.") % {"kinds": ", ".join(EdgeKind.values)}
        )
    raise Invalid(
        _("Unknown edge kind “%(kind)s”. The kinds are: %(kinds)s.")
        % {"kind": _text(value), "kinds": ", ".join(EdgeKind.values)}
    )


def clean_attribute_name(value: Any) -> str:
    """The name of an attribute column (or JSON field). Known names are matched ignoring case."""
    name = _text(value)
    folded = name.casefold()
    if folded in NODE_ATTRIBUTES or folded in EDGE_ATTRIBUTES:
        return folded
    if not name or len(name) > MAX_ATTRIBUTE_NAME or CONTROL.search(name):
        raise Invalid(
            _("An attribute name has 1 to %(limit)d characters and no control characters.")
            % {"limit": MAX_ATTRIBUTE_NAME}
        )
    if folded in RESERVED:
        raise Invalid(_("“%(name)s” is a column of the format, not an attribute.") % {"name": name})
    return name


def registry_kind_problem(key: str, supplier_name: str) -> str:
    """A node keyed by a registry supplier's code is that supplier, so it must be a supplier node."""
    return _(
        "“%(key)s” is the code of the registry supplier %(name)s, so the node's kind must be supplier."
    ) % {"key": key, "name": supplier_name}


def endpoint_problem(kind: str, source_kind: str, target_kind: str) -> str | None:
    """Why an edge of KIND may not join those node kinds, or None when it may."""
    if (kind, source_kind, target_kind) in ALLOWED:
        return None
    sources, targets = ENDPOINTS[kind]
    if source_kind not in sources:
        return _("A %(edge)s edge starts at a node of kind %(kinds)s, not %(kind)s.") % {
            "edge": kind,
            "kinds": " / ".join(sorted(sources)),
            "kind": source_kind,
        }
    return _("A %(edge)s edge ends at a node of kind %(kinds)s, not %(kind)s.") % {
        "edge": kind,
        "kinds": " / ".join(sorted(targets)),
        "kind": target_kind,
    }


def _number(value: Any, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise Invalid(message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = unicodedata.normalize("NFKC", _text(value)).strip()
        if not NUMBER.fullmatch(text):
            raise Invalid(message)
        number = int(text.replace(",", ""))
    if not low <= number <= high:
        raise Invalid(message)
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", _text(value)).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise Invalid(
        _("“%(value)s” is not yes or no. Write true/false, 1/0, yes/no or はい/いいえ.")
        % {"value": _text(value)}
    )


def _classes(value: Any) -> list[str]:
    parts = [_text(v) for v in value] if isinstance(value, list | tuple) else CLASS_SPLIT.split(_text(value))
    classes: list[str] = []
    for raw in parts:
        part = raw.strip()
        if not part or part in classes:
            continue
        if len(part) > MAX_CLASS or CONTROL.search(part) or CLASS_SPLIT.search(part):
            raise Invalid(
                _(
                    "A data class has at most %(limit)d characters, no control characters and no “;”: "
                    "%(value)s"
                )
                % {"limit": MAX_CLASS, "value": part[:MAX_CLASS]}
            )
        classes.append(part)
    if len(classes) > MAX_CLASSES:
        raise Invalid(_("At most %(limit)d data classes.") % {"limit": MAX_CLASSES})
    return classes


def _country(value: Any) -> str:
    from renkei.suppliers.io.columns import BY_FIELD, CellError, parse_cell

    try:
        return str(parse_cell(BY_FIELD["country"], _text(value), from_csv=False))
    except CellError as exc:
        raise Invalid(str(exc)) from exc


def _choice(value: Any, choices: Any) -> str:
    text = _text(value).lower()
    if text in choices.values:
        return text
    raise Invalid(
        _("“%(value)s” is not one of %(allowed)s.")
        % {"value": _text(value), "allowed": ", ".join(choices.values)}
    )


def _free_text(value: Any) -> str:
    text = _text(value)
    if len(text) > MAX_TEXT:
        raise Invalid(
            _("Too long: at most %(limit)d characters (this value has %(length)d).")
            % {"limit": MAX_TEXT, "length": len(text)}
        )
    if TEXT_CONTROL.search(text):
        raise Invalid(_("The value contains a control character."))
    return text


def is_empty(value: Any) -> bool:
    """An empty cell or a JSON null or empty list: the attribute is absent."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list) and not value)


def clean_attribute(owner: str, kind: str, name: str, value: Any) -> Any:
    """The stored value of attribute NAME (already cleaned) of a node or edge (OWNER) of KIND."""
    other = TYPED["node" if owner == "edge" else "edge"]
    if name in other and name not in TYPED[owner]:
        # A typed attribute of the other side (e.g. tier on an edge) is a mistake, not free text.
        raise Invalid(
            _("The attribute %(name)s is not an attribute of an edge.") % {"name": name}
            if owner == "edge"
            else _("The attribute %(name)s is not an attribute of a node.") % {"name": name}
        )
    kinds = TYPED[owner].get(name)
    if kinds is not None and kind not in kinds:
        raise Invalid(
            _("The attribute %(name)s applies to %(kinds)s only, not to %(kind)s.")
            % {"name": name, "kinds": " / ".join(sorted(kinds)), "kind": kind}
        )
    if name == "records":
        return _number(
            value,
            0,
            MAX_RECORDS,
            _("“%(value)s” is not a number of records: enter a whole number, 0 or more.")
            % {"value": _text_or_repr(value)},
        )
    if name == "tier":
        return _number(
            value,
            1,
            MAX_TIER,
            _("“%(value)s” is not a valid tier: enter a whole number from 1 to %(max)d.")
            % {"value": _text_or_repr(value), "max": MAX_TIER},
        )
    if name == "classes":
        return _classes(value)
    if name == "country":
        return _country(value)
    if name == "single_source":
        return _bool(value)
    if name == "method":
        return _choice(value, AccessVia)
    if name == "privilege":
        return _choice(value, Privilege)
    return _free_text(value)


def _text_or_repr(value: Any) -> str:
    try:
        return _text(value)
    except Invalid:
        return type(value).__name__


def clean_attributes(
    owner: str, kind: str, values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(stored attributes, {name: message}) for VALUES; empty values are left out (absent)."""
    cleaned: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for raw_name, value in values.items():
        try:
            name = clean_attribute_name(raw_name)
        except Invalid as exc:
            problems[str(raw_name)] = str(exc)
            continue
        if is_empty(value):
            continue
        try:
            cleaned[name] = clean_attribute(owner, kind, name, value)
        except Invalid as exc:
            problems[name] = str(exc)
    return cleaned, problems


class AttributeCleaner:
    """clean_attribute over whole rows, remembering results: a million edges carry a handful of
    distinct attribute cells ("true", "false", "vpn"), so most rows cost one dictionary lookup.

    Called with the attribute NAMES of a file and one row's RAW values (a CSV row's cells, not yet
    stripped, or a JSON item's values; None where the item lacks the field). Returns the cleaned
    attributes (shared between rows: never change them) and [(name, message)] problems.
    """

    LIMIT = 50_000

    def __init__(self, owner: str, names: tuple[str, ...], from_csv: bool) -> None:
        from renkei.suppliers.io.columns import strip_neutralising_prefix

        self.owner = owner
        self.names = names
        self.from_csv = from_csv
        self.unquote = strip_neutralising_prefix
        self.memo: dict[tuple, tuple[dict[str, Any], list[tuple[str, str]]]] = {}

    def __call__(self, kind: str, raw: tuple) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        key = (kind, raw)
        try:
            found = self.memo.get(key)
        except TypeError:  # a JSON list value: computed every time
            return self.clean(kind, raw)
        if found is None:
            found = self.clean(kind, raw)
            if len(self.memo) < self.LIMIT:
                self.memo[key] = found
        return found

    def clean(self, kind: str, raw: tuple) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        attrs: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name, cell in zip(self.names, raw, strict=True):
            value = self.unquote(cell.strip()) if self.from_csv and isinstance(cell, str) else cell
            if is_empty(value):
                continue
            try:
                attrs[name] = clean_attribute(self.owner, kind, name, value)
            except Invalid as exc:
                problems.append((name, str(exc)))
        return attrs, problems
