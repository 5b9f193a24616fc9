"""SPDX 2.2 and 2.3, JSON and tag-value: fields read from the raw dict or a linear line reader."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from .common import (
    CPE_MAX,
    CREATED_MAX,
    DEFAULT_MAX_COMPONENTS,
    HASH_MAX,
    LICENSES_MAX,
    LIST_ITEM_MAX,
    LIST_MAX,
    MAX_SCHEMA_MESSAGES,
    NAME_MAX,
    PURL_MAX,
    REF_MAX,
    SUPPLIER_MAX,
    TEXT,
    VERSION_MAX,
    ParsedComponent,
    ParsedSbom,
    ReadResult,
    SbomError,
    cut,
    item,
    items,
    limited,
    sequence,
    text,
    too_many_components,
    type_error,
)

logger = logging.getLogger(__name__)

SPEC_VERSIONS = ("2.2", "2.3")

# Relationship types that place a package in the dependency graph (either side counts).
GRAPH_RELATIONSHIPS = frozenset({
    "DESCRIBES", "DESCRIBED_BY", "CONTAINS", "CONTAINED_BY", "DEPENDS_ON", "DEPENDENCY_OF",
    "DEPENDENCY_MANIFEST_OF", "BUILD_DEPENDENCY_OF", "DEV_DEPENDENCY_OF", "OPTIONAL_DEPENDENCY_OF",
    "PROVIDED_DEPENDENCY_OF", "TEST_DEPENDENCY_OF", "RUNTIME_DEPENDENCY_OF", "STATIC_LINK", "DYNAMIC_LINK",
    "PREREQUISITE_FOR", "HAS_PREREQUISITE", "PACKAGE_OF", "OPTIONAL_COMPONENT_OF",
})  # fmt: skip

_NO_VALUE = frozenset({"", "NOASSERTION", "NONE"})


def spec_version(value: str) -> str:
    """ "SPDX-2.3" → "2.3"; SbomError for another version."""
    version = value.strip().removeprefix("SPDX-")
    if version not in SPEC_VERSIONS:
        raise SbomError(
            _("Unsupported SPDX version %(version)s: Renkei reads SPDX 2.2 and 2.3.")
            % {"version": value[:40]},
            "spdxVersion",
        )
    return version


def _party(value: str) -> str:
    """ "Organization: Acme (a@b)" → "Acme (a@b)"; NOASSERTION → ""."""
    if value.strip() in _NO_VALUE:
        return ""
    for prefix in ("Organization:", "Person:", "Tool:"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    return cut(value, SUPPLIER_MAX)


def _licence(concluded: str, declared: str) -> str:
    """The concluded licence (what the SBOM's author determined), else the declared one."""
    for value in (concluded, declared):
        if value.strip() not in _NO_VALUE:
            return cut(value, LICENSES_MAX)
    return ""


def _creators(creators: list[str]) -> tuple[list[str], list[str]]:
    """(authors, tools). A Person or Organization is an author; a Tool alone is not."""
    authors, tools = [], []
    for creator in creators:
        kind, _sep, name = creator.partition(":")
        name = cut(name, LIST_ITEM_MAX)
        if not name:
            continue
        if kind.strip() == "Tool":
            tools.append(name)
        elif kind.strip() in ("Person", "Organization"):
            authors.append(name)
    return authors[:LIST_MAX], tools[:LIST_MAX]


@dataclass
class _Package:
    """A package's fields as read, before choosing supplier, licence and identifiers."""

    ref: str = ""
    name: str = ""
    version: str = ""
    supplier: str = ""
    originator: str = ""
    concluded: str = ""
    declared: str = ""
    purl: str = ""
    cpe: str = ""
    swid: str = ""
    hashes: dict[str, str] = field(default_factory=dict)

    def add_reference(self, category: str, kind: str, locator: str) -> None:
        del category  # purl is PACKAGE-MANAGER, cpe SECURITY; the type alone is unambiguous
        kind = kind.strip()
        if kind == "purl" and not self.purl:
            self.purl = cut(locator, PURL_MAX)
        elif kind in ("cpe23Type", "cpe22Type") and not self.cpe:
            self.cpe = cut(locator, CPE_MAX)
        elif kind == "swid" and not self.swid:
            self.swid = cut(locator, REF_MAX)

    def component(self) -> ParsedComponent:
        return ParsedComponent(
            ref=self.ref,
            name=self.name,
            version="" if self.version in _NO_VALUE else self.version,
            purl=self.purl,
            cpe=self.cpe,
            supplier=_party(self.supplier) or _party(self.originator),
            licenses=_licence(self.concluded, self.declared),
            hashes=self.hashes,
            swid=self.swid,
        )


# -- JSON -----------------------------------------------------------------------------------------


def _json_package(package: dict, where: str) -> ParsedComponent:
    parsed = _Package(
        ref=text(package, "SPDXID", where, REF_MAX),
        name=text(package, "name", where, NAME_MAX),
        version=text(package, "versionInfo", where, VERSION_MAX),
        supplier=text(package, "supplier", where, SUPPLIER_MAX + 20),
        originator=text(package, "originator", where, SUPPLIER_MAX + 20),
        concluded=text(package, "licenseConcluded", where, LICENSES_MAX),
        declared=text(package, "licenseDeclared", where, LICENSES_MAX),
    )
    for at, reference in items(package, "externalRefs", where):
        parsed.add_reference(
            text(reference, "referenceCategory", at, 40),
            text(reference, "referenceType", at, 40),
            text(reference, "referenceLocator", at, PURL_MAX),
        )
    for at, checksum in items(package, "checksums", where):
        algorithm = text(checksum, "algorithm", at, 40)
        if algorithm:
            parsed.hashes[algorithm] = text(checksum, "checksumValue", at, HASH_MAX)
    return parsed.component()


def _strings(document: dict, key: str, path: str) -> list[str]:
    values = sequence(document, key, path)
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise type_error(f"{path}.{key}[{index}]" if path else f"{key}[{index}]", TEXT, value)
    return values


def read_json(document: dict, version: str) -> ReadResult:
    info = document.get("creationInfo")
    if info is None:
        info = {}
    info = item(info, "creationInfo")
    authors, tools = _creators(_strings(info, "creators", "creationInfo"))
    sbom = ParsedSbom(
        format="spdx",
        encoding="json",
        spec_version=version,
        authors=authors,
        created=text(info, "created", "creationInfo", CREATED_MAX),
        tools=tools,
        components=[
            _json_package(package, where) for where, package in limited(items(document, "packages", ""))
        ],
        product=text(document, "name", "", NAME_MAX),
    )
    refs = set(_strings(document, "documentDescribes", ""))
    for at, relationship in items(document, "relationships", ""):
        if text(relationship, "relationshipType", at, 60) in GRAPH_RELATIONSHIPS:
            refs.add(text(relationship, "spdxElementId", at, REF_MAX))
            refs.add(text(relationship, "relatedSpdxElement", at, REF_MAX))
    refs -= _NO_VALUE
    return ReadResult(sbom, refs, "creators" if authors else "")


def _messages(messages: list) -> list[str]:
    out = []
    for message in messages[:MAX_SCHEMA_MESSAGES]:
        context = getattr(message, "context", None)
        where = getattr(context, "spdx_id", None) if context else None
        body = getattr(message, "validation_message", str(message))
        out.append(cut(f"{where}: {body}" if where else body, 1000))
    return out


def validate_json(document: dict, version: str) -> list[str]:
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        model = JsonLikeDictParser().parse(document)
    except SPDXParsingError as error:
        return _messages(error.get_messages())
    return _messages(validate_full_spdx_document(model, f"SPDX-{version}"))


def validate_tag_value(data: str, version: str) -> list[str]:
    from ply.yacc import NullLogger
    from spdx_tools.common.spdx_licensing import spdx_licensing
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.tagvalue import parser as tag_value_parser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    # spdx-tools 0.8 rebuilds the SPDX licence index for every licence line (~40 ms each, 30 s for
    # 500 packages); its own module-level singleton is the same object, built once.
    tag_value_parser.get_spdx_licensing = lambda: spdx_licensing
    try:
        model = tag_value_parser.Parser(errorlog=NullLogger(), write_tables=False, debug=False).parse(data)
    except SPDXParsingError as error:
        return _messages(error.get_messages())
    return _messages(validate_full_spdx_document(model, f"SPDX-{version}"))


# -- tag-value ------------------------------------------------------------------------------------

# Tags that open a section other than a package: the tags after them no longer describe it.
_OTHER_SECTIONS = frozenset({"FileName", "SnippetSPDXID", "LicenseID", "ExternalDocumentRef"})


def _lines(data: str):
    """(line number, tag, value) for each "Tag: value"; <text>…</text> values may span lines."""
    lines = data.splitlines()
    count = len(lines)
    index = 0
    while index < count:
        line = lines[index]
        number = index + 1
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        tag, sep, value = stripped.partition(":")
        if not sep or not tag or " " in tag.strip():
            raise SbomError(
                _('Line %(line)d is not a "Tag: value" line.') % {"line": number}, f"line {number}"
            )
        value = value.strip()
        if value.startswith("<text>"):
            value = value[len("<text>") :]
            parts = []
            while "</text>" not in value:
                parts.append(value)
                if index >= count:
                    raise SbomError(
                        _("The <text> value opened on line %(line)d is never closed.") % {"line": number},
                        f"line {number}",
                    )
                value = lines[index]
                index += 1
            parts.append(value[: value.index("</text>")])
            value = "\n".join(parts)
        yield number, tag.strip(), value


def tag_value_version(data: str) -> str | None:
    """The SPDXVersion value if the text looks like an SPDX tag-value document, else None."""
    for line in data[:65536].splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        tag, sep, value = stripped.partition(":")
        return value.strip() if sep and tag.strip() == "SPDXVersion" else None
    return None


def read_tag_value(data: str, version: str) -> ReadResult:
    max_components = getattr(settings, "RENKEI_SBOM_MAX_COMPONENTS", DEFAULT_MAX_COMPONENTS)
    packages: list[_Package] = []
    package: _Package | None = None
    creators: list[str] = []
    created = document_name = ""
    refs: set[str] = set()
    for number, tag, value in _lines(data):
        if tag == "PackageName":
            package = _Package(name=cut(value, NAME_MAX))
            packages.append(package)
            if len(packages) > max_components:
                raise too_many_components(max_components)
        elif tag in _OTHER_SECTIONS:
            package = None
        elif tag == "Relationship":
            words = value.split()
            if len(words) < 3:
                raise SbomError(
                    _("Line %(line)d: a relationship needs an element, a type and another element.")
                    % {"line": number},
                    f"line {number}",
                )
            if words[1] in GRAPH_RELATIONSHIPS:
                refs.update((cut(words[0], REF_MAX), cut(words[2], REF_MAX)))
        elif tag == "Creator":
            creators.append(value)
        elif tag == "Created":
            created = cut(value, CREATED_MAX)
        elif tag == "DocumentName":
            document_name = cut(value, NAME_MAX)
        elif package is not None:
            _package_tag(package, tag, value)
    authors, tools = _creators(creators)
    sbom = ParsedSbom(
        format="spdx",
        encoding="tag-value",
        spec_version=version,
        authors=authors,
        created=created,
        tools=tools,
        components=[p.component() for p in packages],
        product=document_name,
    )
    return ReadResult(sbom, refs - _NO_VALUE, "creators" if authors else "")


def _package_tag(package: _Package, tag: str, value: str) -> None:
    if tag == "SPDXID":
        package.ref = package.ref or cut(value, REF_MAX)
    elif tag == "PackageVersion":
        package.version = cut(value, VERSION_MAX)
    elif tag == "PackageSupplier":
        package.supplier = cut(value, SUPPLIER_MAX + 20)
    elif tag == "PackageOriginator":
        package.originator = cut(value, SUPPLIER_MAX + 20)
    elif tag == "PackageLicenseConcluded":
        package.concluded = cut(value, LICENSES_MAX)
    elif tag == "PackageLicenseDeclared":
        package.declared = cut(value, LICENSES_MAX)
    elif tag == "ExternalRef":
        words = value.split(None, 2)
        if len(words) == 3:
            package.add_reference(*words)
    elif tag == "PackageChecksum":
        algorithm, _sep, digest = value.partition(":")
        if algorithm.strip():
            package.hashes[cut(algorithm, 40)] = cut(digest, HASH_MAX)
