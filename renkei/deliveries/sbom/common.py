"""What every SBOM reader shares: the result types, the error, and typed field access on raw JSON.

The readers never build cyclonedx-python-lib or spdx-tools model objects (both are quadratic on
large files): they walk the raw JSON dict, XML tree or tag-value lines and copy the fields out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

T = TypeVar("T")

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MAX_SBOM_BYTES: int = getattr(settings, "RENKEI_SBOM_MAX_BYTES", DEFAULT_MAX_BYTES)

# A bound on memory whatever the file: ~1 KB per component read.
DEFAULT_MAX_COMPONENTS = 200_000

# The library validators are quadratic: above this many components they are skipped by default.
SCHEMA_CHECK_MAX_COMPONENTS = 500
MAX_SCHEMA_MESSAGES = 50

COMPONENT_ELEMENTS = ("supplier", "name", "version", "identifier", "dependencies")
DOCUMENT_ELEMENTS = ("author", "timestamp")

# The Component model's field lengths: longer values are cut, never rejected.
NAME_MAX = 500
VERSION_MAX = 200
PURL_MAX = 1000
CPE_MAX = 1000
SUPPLIER_MAX = 300
LICENSES_MAX = 500
REF_MAX = 500
HASH_MAX = 200
CREATED_MAX = 40
LIST_ITEM_MAX = 300  # one author or tool
LIST_MAX = 50  # authors and tools kept per document


class SbomError(ValueError):
    """Unreadable SBOM. str(exc) is a translated message saying what and where; `location` is the
    place alone ("line 12", "components[3].purl"), "" when not applicable."""

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(message)
        self.location = location


@dataclass
class ParsedComponent:
    ref: str  # bom-ref (CycloneDX) or SPDXID (SPDX), "" if none
    name: str
    version: str = ""
    purl: str = ""  # the raw string as given
    cpe: str = ""
    supplier: str = ""
    licenses: str = ""  # one SPDX expression, "" when none
    hashes: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # NTIA keys from COMPONENT_ELEMENTS
    problem: str = ""  # "" | "duplicate" | "conflict"
    swid: str = ""  # SWID tagId: an identifier like purl and cpe


@dataclass
class ParsedSbom:
    format: str  # "cyclonedx" | "spdx"
    encoding: str  # "json" | "xml" | "tag-value"
    spec_version: str
    authors: list[str] = field(default_factory=list)
    created: str = ""
    tools: list[str] = field(default_factory=list)
    components: list[ParsedComponent] = field(default_factory=list)
    completeness: int = 0
    quality: dict = field(default_factory=dict)
    schema_checked: bool = False
    schema_messages: list[str] = field(default_factory=list)
    # The product the SBOM describes (CycloneDX metadata.component; SPDX: the document's name).
    product: str = ""
    product_version: str = ""


@dataclass
class ReadResult:
    """A reader's output before scoring: the SBOM, the refs named by the dependency graph, and
    which fallback (if any) supplied the document's author."""

    sbom: ParsedSbom
    dependency_refs: set[str]
    author_source: str = ""


def limited(entries: Iterable[T]) -> Iterator[T]:
    """`entries`, refusing the SBOM once it has more components than RENKEI_SBOM_MAX_COMPONENTS."""
    limit = getattr(settings, "RENKEI_SBOM_MAX_COMPONENTS", DEFAULT_MAX_COMPONENTS)
    for count, entry in enumerate(entries, 1):
        if count > limit:
            raise too_many_components(limit)
        yield entry


def too_many_components(limit: int) -> SbomError:
    return SbomError(_("The SBOM lists more than %(limit)d components.") % {"limit": limit})


def cut(value: str, limit: int) -> str:
    value = value.strip()
    return value[:limit] if len(value) > limit else value


TEXT, LIST, OBJECT = "text", "list", "object"

# JSON value kinds as a message names them.
_KIND_LABELS = {
    "bool": pgettext_lazy("JSON value kind", "true/false"),
    TEXT: pgettext_lazy("JSON value kind", "text"),
    "number": pgettext_lazy("JSON value kind", "a number"),
    LIST: pgettext_lazy("JSON value kind", "a list"),
    OBJECT: pgettext_lazy("JSON value kind", "an object"),
    "null": pgettext_lazy("JSON value kind", "null"),
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return TEXT
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return LIST
    if isinstance(value, dict):
        return OBJECT
    return "null"


def type_error(path: str, expected: str, value: Any) -> SbomError:
    """`expected`: TEXT, LIST or OBJECT."""
    return SbomError(
        _("%(path)s: expected %(expected)s, found %(found)s.")
        % {"path": path, "expected": _KIND_LABELS[expected], "found": _KIND_LABELS[_kind(value)]},
        path,
    )


def text(obj: dict, key: str, path: str, limit: int) -> str:
    """obj[key] as stripped text cut to `limit`; "" when absent or null; SbomError on another type."""
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return cut(value, limit)
    raise type_error(f"{path}.{key}" if path else key, TEXT, value)


def mapping(obj: dict, key: str, path: str) -> dict | None:
    value = obj.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise type_error(f"{path}.{key}" if path else key, OBJECT, value)


def sequence(obj: dict, key: str, path: str) -> list:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise type_error(f"{path}.{key}" if path else key, LIST, value)


def items(obj: dict, key: str, path: str) -> Iterator[tuple[str, dict]]:
    """(path, object) for each entry of the list obj[key]; SbomError on an entry not an object."""
    base = f"{path}.{key}" if path else key
    for index, value in enumerate(sequence(obj, key, path)):
        at = f"{base}[{index}]"
        yield at, item(value, at)


def item(value: Any, path: str) -> dict:
    if isinstance(value, dict):
        return value
    raise type_error(path, OBJECT, value)


def licence_ref(name: str) -> str:
    """A free-text licence name as an SPDX LicenseRef (only letters, digits, "." and "-" allowed)."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in ".-") else "-" for c in name).strip("-")
    return f"LicenseRef-{cleaned}" if cleaned else ""


def join_licences(parts: list[str]) -> str:
    """Several licences of one component: all apply (AND); compound expressions are parenthesised."""
    parts = list(dict.fromkeys(p for p in parts if p))
    if len(parts) <= 1:
        return cut(parts[0], LICENSES_MAX) if parts else ""
    wrapped = [f"({p})" if " " in p and not (p.startswith("(") and p.endswith(")")) else p for p in parts]
    return cut(" AND ".join(wrapped), LICENSES_MAX)
