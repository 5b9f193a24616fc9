"""Reading delivered SBOMs (docs/deliveries.md): CycloneDX 1.4–1.6 (JSON, XML) and SPDX 2.2/2.3
(JSON, tag-value) into plain dataclasses, with their NTIA completeness and duplicate entries.

No database access: renkei.deliveries.services stores the result. The format is read from the
content, never trusted from the file name. Large files are read from the raw JSON dict, XML tree
or tag-value lines; the libraries' schema validators (quadratic) only run on small files.
"""

from __future__ import annotations

import gc
import json
import logging
import re
from collections.abc import Callable
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring as xml_fromstring
from django.conf import settings
from django.utils.translation import gettext as _

from . import cyclonedx, spdx
from .common import (
    COMPONENT_ELEMENTS,
    DOCUMENT_ELEMENTS,
    MAX_SBOM_BYTES,
    SCHEMA_CHECK_MAX_COMPONENTS,
    ParsedComponent,
    ParsedSbom,
    ReadResult,
    SbomError,
)
from .quality import assess

__all__ = [
    "COMPONENT_ELEMENTS",
    "DOCUMENT_ELEMENTS",
    "MAX_SBOM_BYTES",
    "SCHEMA_CHECK_MAX_COMPONENTS",
    "ParsedComponent",
    "ParsedSbom",
    "SbomError",
    "parse_sbom",
]

logger = logging.getLogger(__name__)

_LEADING_SPACE = re.compile(rb"[ \t\r\n]*")
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_MB = 1024 * 1024


def max_bytes() -> int:
    """The size limit in force (settings.RENKEI_SBOM_MAX_BYTES, read at each call)."""
    return getattr(settings, "RENKEI_SBOM_MAX_BYTES", MAX_SBOM_BYTES)


def parse_sbom(data: bytes, filename: str = "", *, validate: bool | None = None) -> ParsedSbom:
    """Read an SBOM file. `validate`: None runs the schema check only when the SBOM has at most
    SCHEMA_CHECK_MAX_COMPONENTS components; True/False force it. Schema findings never raise:
    they are listed in `schema_messages`. SbomError when the file cannot be read."""
    limit = max_bytes()
    if len(data) > limit:
        raise SbomError(
            _("The SBOM is %(size).1f MB; the limit is %(limit).1f MB.")
            % {"size": len(data) / _MB, "limit": limit / _MB}
        )
    # Reading allocates millions of small acyclic objects: the cyclic collector would walk them
    # repeatedly for nothing (a third of the time on 10,000 components).
    collecting = gc.isenabled()
    gc.disable()
    try:
        result, validator = _read(data, filename)
        assess(result)
    finally:
        if collecting:
            gc.enable()
    sbom = result.sbom
    if validate if validate is not None else len(sbom.components) <= SCHEMA_CHECK_MAX_COMPONENTS:
        try:
            sbom.schema_checked, sbom.schema_messages = validator()
        except Exception as error:  # a validator crash must not lose an otherwise readable SBOM
            logger.warning("SBOM schema validation failed to run", exc_info=True)
            sbom.schema_checked = False
            message = _("The schema check could not run: %(error)s") % {"error": str(error)[:300]}
            sbom.schema_messages = [message]
    return sbom


Validator = Callable[[], tuple[bool, list[str]]]


def _read(data: bytes, filename: str) -> tuple[ReadResult, Validator]:
    """The reader's result and, not yet run, the schema check that fits the format."""
    kind, content = _decode(data)
    if kind == "json":
        return _read_json(content, filename)
    if kind == "xml":
        root = _parse_xml(content)
        version = cyclonedx.xml_version(root)
        if version is None:
            raise _unknown_format(filename)
        if version not in cyclonedx.SPEC_VERSIONS:
            raise cyclonedx.unsupported_version(version)

        def check_xml() -> tuple[bool, list[str]]:
            xml_text = _xml_text(content)
            return (False, []) if xml_text is None else cyclonedx.validate_xml(xml_text, version)

        return cyclonedx.read_xml(root, version), check_xml
    version_value = spdx.tag_value_version(content)
    if version_value is None:
        raise _unknown_format(filename)
    version = spdx.spec_version(version_value)
    return spdx.read_tag_value(content, version), lambda: (True, spdx.validate_tag_value(content, version))


def _unknown_format(filename: str) -> SbomError:
    message = _(
        "This is not a CycloneDX or SPDX document: Renkei reads CycloneDX 1.4–1.6 (JSON or XML) and "
        "SPDX 2.2/2.3 (JSON or tag-value)."
    )
    if filename:
        message = f"{filename}: {message}"
    return SbomError(message)


def _decode(data: bytes) -> tuple[str, bytes | str]:
    """("xml", bytes) for XML (expat reads the declared encoding), else ("json" | "text", str)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            decoded = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise _undecodable(error, "UTF-16") from None
        stripped = decoded.lstrip()
        if stripped.startswith("<"):
            return "xml", data
        return ("json" if stripped.startswith(("{", "[")) else "text"), decoded
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    start = _LEADING_SPACE.match(data).end()
    if not data[start:]:
        raise SbomError(_("The file is empty."))
    if b"\x00" in data[start : start + 4]:
        raise SbomError(_("The file looks like UTF-16 without a byte order mark: save it as UTF-8."))
    first = data[start : start + 1]
    if first == b"<":
        declared = _XML_ENCODING.match(data[start : start + 200])
        if declared is None or declared.group(1).lower() in (b"utf-8", b"utf8"):
            _check_utf8(data)
        return "xml", data
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _undecodable(error, "UTF-8") from None
    return ("json" if first in (b"{", b"[") else "text"), decoded


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _undecodable(error, "UTF-8") from None


def _undecodable(error: UnicodeDecodeError, encoding: str) -> SbomError:
    return SbomError(
        _("The file is not valid %(encoding)s text: undecodable byte at offset %(offset)d.")
        % {"encoding": encoding, "offset": error.start},
        f"byte {error.start}",
    )


def _xml_text(data: bytes) -> str | None:
    """The XML as text for the schema validator; None for encodings other than UTF-8/UTF-16."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _parse_xml(data: bytes) -> Element:
    """defusedxml with DTDs, entities and external references all forbidden: a "billion laughs"
    bomb or an XXE is refused before anything expands."""
    try:
        return xml_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise SbomError(
            _(
                "XML with a document type declaration (<!DOCTYPE>) is refused: it can expand entities or "
                "read other files."
            )
        ) from None
    except EntitiesForbidden as error:
        message = _("XML entity declarations are refused (entity %(name)s).") % {"name": error.name}
        raise SbomError(message) from None
    except ExternalReferenceForbidden:
        raise SbomError(_("XML references to external files are refused.")) from None
    except ParseError as error:
        line, column = error.position
        raise SbomError(
            _("Not well-formed XML at line %(line)d, column %(column)d.") % {"line": line, "column": column},
            f"line {line}",
        ) from None


def _read_json(content: str, filename: str) -> tuple[ReadResult, Validator]:
    try:
        document = json.loads(content)
    except RecursionError:
        raise SbomError(_("The JSON is nested too deeply to be an SBOM.")) from None
    except json.JSONDecodeError as error:
        raise SbomError(
            _("Not valid JSON at line %(line)d, column %(column)d: %(error)s.")
            % {"line": error.lineno, "column": error.colno, "error": error.msg},
            f"line {error.lineno}",
        ) from None
    except ValueError as error:  # e.g. an integer too long to convert
        raise SbomError(_("Not valid JSON: %(error)s.") % {"error": str(error)[:200]}) from None
    if not isinstance(document, dict):
        raise _unknown_format(filename)
    if document.get("bomFormat") == "CycloneDX":
        version = document.get("specVersion")
        if version not in cyclonedx.SPEC_VERSIONS:
            raise cyclonedx.unsupported_version(str(version)[:40])
        result = cyclonedx.read_json(document, version)
        return result, lambda: (True, cyclonedx.validate_json(content, version))
    if "spdxVersion" in document:
        value = document["spdxVersion"]
        version = spdx.spec_version(value if isinstance(value, str) else repr(value))
        result = spdx.read_json(document, version)
        return result, lambda: (True, spdx.validate_json(document, version))
    raise _unknown_format(filename)
