"""Each ecosystem's own version ordering.

parse_version returns an object that compares (<, ==) with others of the same ecosystem: a
packaging Version for PyPI (PEP 440), a SemVer key for npm, crates.io, Go, Hex and Pub (and for
OSV's SEMVER ranges), univers classes for Maven, RubyGems, NuGet, Packagist (Composer), Debian
and Ubuntu (dpkg) and Alpine (apk). Text that the ecosystem cannot read raises VersionError:
the matcher then reports the comparison as unknown, never as not affected.

Parsing costs 1–10 µs; results (and failures) are cached, since advisories repeat the same
bounds and an SBOM the same versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _
from packaging.version import Version as PypiVersion
from univers.versions import (
    AlpineLinuxVersion,
    ComposerVersion,
    DebianVersion,
    MavenVersion,
    NugetVersion,
    RubygemsVersion,
)

SEMVER = "SEMVER"  # not an ecosystem: the ordering of OSV's SEMVER ranges


class VersionError(ValueError):
    """A version its ecosystem cannot read; the message is translated and names it."""


# SemVer 2.0, read leniently as the OSV tooling does: a "v" prefix, missing minor or patch
# (padded with zeros) and leading zeros are accepted; build metadata is ignored in comparisons.
_SEMVER_RE = re.compile(
    r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_RELEASE = (1,)  # sorts after every pre-release key (0, ...)


def _semver(text: str) -> tuple:
    found = _SEMVER_RE.fullmatch(text.lstrip("=").strip())
    if found is None:
        raise ValueError(text)
    major, minor, patch, pre = found.groups()
    if pre is None:
        tail: tuple = _RELEASE
    else:
        # Numeric identifiers sort numerically and before alphanumeric ones (SemVer §11).
        tail = (0, tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")))
    return (int(major), int(minor or 0), int(patch or 0), tail)


def _univers(cls: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = cls(text)
        if value is None or not str(value):  # NugetVersion("") is None
            raise ValueError(text)
        return value

    return parse


_PARSERS: dict[str, Callable[[str], Any]] = {
    "PyPI": PypiVersion,
    "npm": _semver,
    "crates.io": _semver,
    "Go": _semver,
    "Hex": _semver,
    "Pub": _semver,
    SEMVER: _semver,
    "Maven": _univers(MavenVersion),
    "RubyGems": _univers(RubygemsVersion),
    "NuGet": _univers(NugetVersion),
    "Packagist": _univers(ComposerVersion),
    "Debian": _univers(DebianVersion),
    "Ubuntu": _univers(DebianVersion),
    "Alpine": _univers(AlpineLinuxVersion),
}


@lru_cache(maxsize=262_144)
def try_parse(ecosystem: str, text: str) -> tuple[bool, Any]:
    """(True, version) or (False, None), cached (failures too): for loops that must not raise."""
    parser = _PARSERS.get(ecosystem)
    if parser is None or not text.strip():
        return False, None
    try:
        return True, parser(text.strip())
    except Exception:  # noqa: BLE001
        # univers raises InvalidVersion, InvalidNuGetVersion (not a ValueError) and, on odd
        # input, TypeError or worse: whatever the cause, the text is not a version here.
        return False, None


def parse_version(ecosystem: str, text: str) -> Any:
    """TEXT as a comparable version of ECOSYSTEM (an OSV base ecosystem, or SEMVER)."""
    ok, value = try_parse(ecosystem, text)
    if ok:
        return value
    if ecosystem not in _PARSERS:
        raise VersionError(
            _("Versions of the %(ecosystem)s ecosystem cannot be compared.") % {"ecosystem": ecosystem}
        )
    raise VersionError(
        _('"%(version)s" is not a valid %(ecosystem)s version.') % {"version": text, "ecosystem": ecosystem}
    )


def can_parse(ecosystem: str, text: str) -> bool:
    return try_parse(ecosystem, text)[0]
