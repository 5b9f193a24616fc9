"""CycloneDX 1.4–1.6, JSON and XML: fields read straight from the raw dict or element tree."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element

from django.utils.translation import gettext as _

from .common import (
    CPE_MAX,
    CREATED_MAX,
    HASH_MAX,
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
    join_licences,
    licence_ref,
    limited,
    mapping,
    sequence,
    text,
    type_error,
)

logger = logging.getLogger(__name__)

SPEC_VERSIONS = ("1.4", "1.5", "1.6")
XML_NAMESPACE = "http://cyclonedx.org/schema/bom/"


def unsupported_version(version: str) -> SbomError:
    return SbomError(
        _("Unsupported CycloneDX version %(version)s: Renkei reads 1.4, 1.5 and 1.6.") % {"version": version},
        "specVersion",
    )


# -- JSON -----------------------------------------------------------------------------------------


def _walk_json(components: list, path: str) -> Iterator[tuple[str, dict]]:
    """Every component, nested ones flattened in document order; iterative (no recursion limit)."""
    stack: list[tuple[Iterator[tuple[int, Any]], str]] = [(enumerate(components), path)]
    while stack:
        entries, prefix = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        index, value = entry
        where = f"{prefix}[{index}]"
        component = item(value, where)
        yield where, component
        children = sequence(component, "components", where)
        if children:
            stack.append((enumerate(children), f"{where}.components"))


def _name_of(obj: dict | None, path: str) -> str:
    """The `name` of an organisational entity (supplier, manufacturer), or "" when absent."""
    return text(obj, "name", path, SUPPLIER_MAX) if obj else ""


def _json_supplier(component: dict, where: str) -> str:
    """supplier.name, then manufacturer.name (1.6), publisher, author, authors[].name (1.6)."""
    supplier = _name_of(mapping(component, "supplier", where), f"{where}.supplier")
    if supplier:
        return supplier
    supplier = _name_of(mapping(component, "manufacturer", where), f"{where}.manufacturer")
    if supplier:
        return supplier
    supplier = text(component, "publisher", where, SUPPLIER_MAX)
    if supplier:
        return supplier
    supplier = text(component, "author", where, SUPPLIER_MAX)
    if supplier:
        return supplier
    for at, author in items(component, "authors", where):
        name = text(author, "name", at, SUPPLIER_MAX) or text(author, "email", at, SUPPLIER_MAX)
        if name:
            return name
    return ""


def _json_licences(component: dict, where: str) -> str:
    parts = []
    for at, entry in items(component, "licenses", where):
        expression = text(entry, "expression", at, LIST_ITEM_MAX * 2)
        if expression:
            parts.append(expression)
            continue
        licence = mapping(entry, "license", at)
        if licence:
            identifier = text(licence, "id", f"{at}.license", LIST_ITEM_MAX)
            parts.append(identifier or licence_ref(text(licence, "name", f"{at}.license", LIST_ITEM_MAX)))
    return join_licences(parts)


def _json_hashes(component: dict, where: str) -> dict[str, str]:
    hashes = {}
    for at, entry in items(component, "hashes", where):
        algorithm = text(entry, "alg", at, 40)
        if algorithm:
            hashes[algorithm] = text(entry, "content", at, HASH_MAX)
    return hashes


def _json_component(component: dict, where: str) -> ParsedComponent:
    swid = mapping(component, "swid", where)
    return ParsedComponent(
        ref=text(component, "bom-ref", where, REF_MAX),
        name=text(component, "name", where, NAME_MAX),
        version=text(component, "version", where, VERSION_MAX),
        purl=text(component, "purl", where, PURL_MAX),
        cpe=text(component, "cpe", where, CPE_MAX),
        supplier=_json_supplier(component, where),
        licenses=_json_licences(component, where),
        hashes=_json_hashes(component, where),
        swid=text(swid, "tagId", f"{where}.swid", REF_MAX) if swid else "",
    )


def _json_people(owner: dict, key: str, path: str) -> list[str]:
    names = []
    for at, entry in items(owner, key, path):
        if len(names) >= LIST_MAX:
            break
        name = text(entry, "name", at, LIST_ITEM_MAX) or text(entry, "email", at, LIST_ITEM_MAX)
        if name:
            names.append(name)
    return names


def _json_tools(metadata: dict) -> list[str]:
    """1.4: a list of {vendor, name, version}; 1.5+: {components: [...], services: [...]} (or the
    legacy list)."""
    tools = metadata.get("tools")
    if tools is None:
        return []
    if isinstance(tools, dict):
        entries = [*items(tools, "components", "metadata.tools"), *items(tools, "services", "metadata.tools")]
    else:
        entries = list(items(metadata, "tools", "metadata"))
    names = []
    for at, entry in entries[:LIST_MAX]:
        vendor = text(entry, "vendor", at, LIST_ITEM_MAX) or text(entry, "group", at, LIST_ITEM_MAX)
        words = [vendor, text(entry, "name", at, LIST_ITEM_MAX), text(entry, "version", at, LIST_ITEM_MAX)]
        label = " ".join(w for w in words if w)
        if label:
            names.append(cut(label, LIST_ITEM_MAX))
    return names


def _json_authors(metadata: dict) -> tuple[list[str], str]:
    """metadata.authors; else the organisation behind the SBOM: manufacturer (1.6) / manufacture
    (1.5), supplier, then the product's own supplier or manufacturer. Tools are never authors."""
    authors = _json_people(metadata, "authors", "metadata")
    if authors:
        return authors, "authors"
    product = mapping(metadata, "component", "metadata") or {}
    fallbacks = (
        ("manufacturer", metadata, "metadata"),
        ("manufacture", metadata, "metadata"),
        ("supplier", metadata, "metadata"),
        ("supplier", product, "metadata.component"),
        ("manufacturer", product, "metadata.component"),
    )
    for key, owner, path in fallbacks:
        name = _name_of(mapping(owner, key, path), f"{path}.{key}")
        if name:
            return [name], f"{path}.{key}"
    return [], ""


def read_json(document: dict, spec_version: str) -> ReadResult:
    metadata = mapping(document, "metadata", "") or {}
    product = mapping(metadata, "component", "metadata") or {}
    authors, author_source = _json_authors(metadata)
    sbom = ParsedSbom(
        format="cyclonedx",
        encoding="json",
        spec_version=spec_version,
        authors=authors,
        created=text(metadata, "timestamp", "metadata", CREATED_MAX),
        tools=_json_tools(metadata),
        components=[
            _json_component(component, where)
            for where, component in limited(_walk_json(sequence(document, "components", ""), "components"))
        ],
        product=text(product, "name", "metadata.component", NAME_MAX),
        product_version=text(product, "version", "metadata.component", VERSION_MAX),
    )
    refs: set[str] = set()
    for at, dependency in items(document, "dependencies", ""):
        refs.add(text(dependency, "ref", at, REF_MAX))
        for key in ("dependsOn", "provides"):
            for position, ref in enumerate(sequence(dependency, key, at)):
                if not isinstance(ref, str):
                    raise type_error(f"{at}.{key}[{position}]", TEXT, ref)
                refs.add(cut(ref, REF_MAX))
    refs.discard("")
    return ReadResult(sbom, refs, author_source)


def validate_json(data: str, spec_version: str) -> list[str]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.from_version(spec_version)).validate_str(data, all_errors=True)
    messages = []
    for error in errors or ():
        detail = error.data
        path = getattr(detail, "json_path", "")
        message = getattr(detail, "message", str(detail))
        messages.append(cut(f"{path}: {message}" if path else message, 1000))
        if len(messages) >= MAX_SCHEMA_MESSAGES:
            break
    return messages


# -- XML ------------------------------------------------------------------------------------------


class _Xml:
    """Element lookups in the document's CycloneDX namespace."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def find(self, element: Element | None, name: str) -> Element | None:
        return None if element is None else element.find(self.tag(name))

    def children(self, element: Element | None, container: str, name: str) -> list[Element]:
        holder = self.find(element, container)
        return [] if holder is None else holder.findall(self.tag(name))

    def text(self, element: Element | None, name: str, limit: int) -> str:
        if element is None:
            return ""
        return cut(element.findtext(self.tag(name)) or "", limit)

    def name_of(self, element: Element | None, name: str) -> str:
        return self.text(self.find(element, name), "name", SUPPLIER_MAX)


def _walk_xml(x: _Xml, root: Element) -> Iterator[Element]:
    stack = [iter(x.children(root, "components", "component"))]
    while stack:
        component = next(stack[-1], None)
        if component is None:
            stack.pop()
            continue
        yield component
        nested = x.children(component, "components", "component")
        if nested:
            stack.append(iter(nested))


def _xml_component(x: _Xml, component: Element) -> ParsedComponent:
    supplier = (
        x.name_of(component, "supplier")
        or x.name_of(component, "manufacturer")
        or x.text(component, "publisher", SUPPLIER_MAX)
        or x.text(component, "author", SUPPLIER_MAX)
    )
    if not supplier:
        for author in x.children(component, "authors", "author"):
            supplier = x.text(author, "name", SUPPLIER_MAX) or x.text(author, "email", SUPPLIER_MAX)
            if supplier:
                break
    licences = []
    holder = x.find(component, "licenses")
    for entry in holder if holder is not None else ():
        if entry.tag == x.tag("expression"):
            licences.append(cut(entry.text or "", LIST_ITEM_MAX * 2))
        elif entry.tag == x.tag("license"):
            identifier = x.text(entry, "id", LIST_ITEM_MAX)
            licences.append(identifier or licence_ref(x.text(entry, "name", LIST_ITEM_MAX)))
    hashes = {}
    for entry in x.children(component, "hashes", "hash"):
        algorithm = cut(entry.get("alg", ""), 40)
        if algorithm:
            hashes[algorithm] = cut(entry.text or "", HASH_MAX)
    swid = x.find(component, "swid")
    return ParsedComponent(
        ref=cut(component.get("bom-ref", ""), REF_MAX),
        name=x.text(component, "name", NAME_MAX),
        version=x.text(component, "version", VERSION_MAX),
        purl=x.text(component, "purl", PURL_MAX),
        cpe=x.text(component, "cpe", CPE_MAX),
        supplier=supplier,
        licenses=join_licences(licences),
        hashes=hashes,
        swid=cut(swid.get("tagId", ""), REF_MAX) if swid is not None else "",
    )


def xml_version(root: Element) -> str | None:
    """The spec version from the root's namespace; None when the root is not a CycloneDX bom."""
    if not root.tag.startswith(f"{{{XML_NAMESPACE}") or not root.tag.endswith("}bom"):
        return None
    return root.tag[len(XML_NAMESPACE) + 1 : -len("}bom")]


def read_xml(root: Element, spec_version: str) -> ReadResult:
    x = _Xml(f"{XML_NAMESPACE}{spec_version}")
    metadata = x.find(root, "metadata")
    product = x.find(metadata, "component")
    authors = [
        name
        for author in x.children(metadata, "authors", "author")[:LIST_MAX]
        if (name := x.text(author, "name", LIST_ITEM_MAX) or x.text(author, "email", LIST_ITEM_MAX))
    ]
    author_source = "authors" if authors else ""
    if not authors:
        fallbacks = (
            (metadata, "manufacturer", "metadata"),
            (metadata, "manufacture", "metadata"),
            (metadata, "supplier", "metadata"),
            (product, "supplier", "metadata.component"),
            (product, "manufacturer", "metadata.component"),
        )
        for owner, key, path in fallbacks:
            if name := x.name_of(owner, key):
                authors, author_source = [name], f"{path}.{key}"
                break
    tools = []
    holder = x.find(metadata, "tools")
    if holder is not None:
        entries = holder.findall(x.tag("tool"))
        entries += x.children(holder, "components", "component") + x.children(holder, "services", "service")
        for entry in entries[:LIST_MAX]:
            words = [
                x.text(entry, "vendor", LIST_ITEM_MAX) or x.text(entry, "group", LIST_ITEM_MAX),
                x.text(entry, "name", LIST_ITEM_MAX),
                x.text(entry, "version", LIST_ITEM_MAX),
            ]
            if label := " ".join(w for w in words if w):
                tools.append(cut(label, LIST_ITEM_MAX))
    sbom = ParsedSbom(
        format="cyclonedx",
        encoding="xml",
        spec_version=spec_version,
        authors=authors,
        created=x.text(metadata, "timestamp", CREATED_MAX),
        tools=tools,
        components=[_xml_component(x, c) for c in limited(_walk_xml(x, root))],
        product=x.text(product, "name", NAME_MAX),
        product_version=x.text(product, "version", VERSION_MAX),
    )
    refs: set[str] = set()
    dependencies = x.find(root, "dependencies")
    if dependencies is not None:
        for element in dependencies.iter():
            ref = element.get("ref")
            if ref:
                refs.add(cut(ref, REF_MAX))
    return ReadResult(sbom, refs, author_source)


def validate_xml(data: str, spec_version: str) -> tuple[bool, list[str]]:
    """(checked, messages). The XML validator needs lxml; without it the check is skipped."""
    from cyclonedx.exception import MissingOptionalDependencyException
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    try:
        validator = XmlValidator(SchemaVersion.from_version(spec_version))
        errors = validator.validate_str(data, all_errors=True)
    except MissingOptionalDependencyException:
        return False, [_("XML schema validation is not available on this server (lxml is not installed).")]
    messages = [cut(str(error.data), 1000) for error in (errors or ())]
    return True, messages[:MAX_SCHEMA_MESSAGES]
