"""The OSV documents of a path: a directory tree (a checkout of an advisory database), a zip (an
ecosystem's all.zip from osv.dev) or one file; .json, .yaml and .yml files, zips inside a
directory too, and JSON files holding a list of records.

Two kinds of trouble, kept apart on purpose: a document that is not valid JSON/YAML is one bad
record (an Item with an error: the importer rejects it and goes on), while a file or zip that
cannot be read at all raises ReadError (the importer aborts and the database stays as it was).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from django.utils.translation import gettext as _

SUFFIXES = (".json", ".yaml", ".yml")
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ReadError(Exception):
    """A file or zip that cannot be read; the message is translated and names it."""


@dataclass(slots=True)
class Item:
    file: str  # relative to the imported path; a zip member is "all.zip!/GHSA-….json"
    path: str  # where in the file: "" for the whole document, "[3]" for a list's fourth record
    data: Any  # the parsed document (None when `error`)
    error: str = ""


def default_source(path: Path) -> str:
    """The source name of an import of PATH: the zip's or file's stem, or the directory's name."""
    path = path.resolve()
    return path.name if path.is_dir() else path.stem


def _loads(raw: bytes) -> Any:
    """orjson for plain UTF-8 (a third of the stdlib's time); the stdlib for what orjson refuses, so
    a byte order mark or UTF-16 still reads and a broken file gets the stdlib's line and column."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _documents(name: str, raw: bytes) -> Iterator[Item]:
    try:
        if name.lower().endswith(".json"):
            data = _loads(raw)
        else:
            data = yaml.load(raw, Loader=_YamlLoader)  # noqa: S506 - a safe loader (C or Python)
    except UnicodeDecodeError:
        yield Item(name, "", None, _("The file is not UTF-8 text."))
        return
    except json.JSONDecodeError as exc:
        yield Item(
            name,
            "",
            None,
            _("Not valid JSON (line %(line)d, column %(column)d): %(reason)s")
            % {"line": exc.lineno, "column": exc.colno, "reason": exc.msg},
        )
        return
    except yaml.YAMLError as exc:
        yield Item(name, "", None, _("Not valid YAML: %(reason)s") % {"reason": str(exc).splitlines()[0]})
        return
    if isinstance(data, list):
        for i, element in enumerate(data):
            yield Item(name, f"[{i}]", element)
    else:
        yield Item(name, "", data)


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
_DEFLATED = zipfile.ZIP_DEFLATED


def _members(archive: zipfile.ZipFile, view: mmap.mmap | None, label: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of the archive's OSV files. Stored and deflated members are read straight
    from the mapped file (zipfile's per-member open costs ~3x the decompression); others through
    zipfile. The CRC is checked either way."""
    for info in archive.infolist():
        if info.is_dir() or not info.filename.lower().endswith(SUFFIXES):
            continue
        member = f"{label}!/{info.filename}"
        try:
            if (
                view is None
                or info.compress_type not in (zipfile.ZIP_STORED, _DEFLATED)
                or info.flag_bits & 1
            ):
                yield member, archive.read(info)
                continue
            offset = info.header_offset
            signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(view, offset)
            if signature != b"PK\x03\x04":
                raise zipfile.BadZipFile(_("bad local file header"))
            start = offset + _LOCAL_HEADER.size + name_length + extra_length
            data = view[start : start + info.compress_size]
            raw = zlib.decompress(data, -15) if info.compress_type == _DEFLATED else data
            if len(raw) != info.file_size or zlib.crc32(raw) != info.CRC:
                raise zipfile.BadZipFile(_("CRC or size mismatch"))
        except (zipfile.BadZipFile, zlib.error, struct.error, OSError, EOFError, NotImplementedError,
                RuntimeError) as exc:  # fmt: skip
            raise ReadError(
                _("%(file)s cannot be read from the zip file: %(reason)s") % {"file": member, "reason": exc}
            ) from None
        yield member, raw


def _zip(path: Path, label: str) -> Iterator[Item]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ReadError(
            _("Cannot read %(file)s: %(reason)s") % {"file": label, "reason": exc.strerror or exc}
        ) from None
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ReadError(
                _("%(file)s is not a readable zip file: %(reason)s") % {"file": label, "reason": exc}
            ) from None
        try:
            view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # an empty or unmappable file: zipfile alone
            view = None
        try:
            with archive:
                for member, raw in _members(archive, view, label):
                    yield from _documents(member, raw)
        finally:
            if view is not None:
                view.close()


def _file(path: Path, label: str) -> Iterator[Item]:
    if path.suffix.lower() == ".zip":
        yield from _zip(path, label)
        return
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(
            _("Cannot read %(file)s: %(reason)s") % {"file": label, "reason": exc.strerror or exc}
        ) from None
    yield from _documents(label, raw)


def _walk_error(exc: OSError) -> None:
    raise ReadError(
        _("Cannot read %(file)s: %(reason)s") % {"file": exc.filename, "reason": exc.strerror or exc}
    )


def iter_items(path: Path) -> Iterator[Item]:
    """Every OSV document under PATH, in a stable order (sorted names). Hidden files and
    directories (.git, .github) are skipped."""
    if not path.exists():
        raise ReadError(_("%(path)s does not exist.") % {"path": path})
    if not path.is_dir():
        yield from _file(path, path.name)
        return
    for directory, subdirs, files in os.walk(path, onerror=_walk_error):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith((*SUFFIXES, ".zip")):
                continue
            full = Path(directory, name)
            yield from _file(full, str(full.relative_to(path)))
