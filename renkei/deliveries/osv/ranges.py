"""Whether a version is inside an OSV `affected[]` entry (OSV schema, "Evaluation").

A version is affected when it is listed in `versions` or inside any range. A range is a list of
events (introduced, fixed, last_affected, limit) that may encode several disjoint intervals; the
events are sorted by version ("introduced 0" first, "limit *" last) and walked: an introduced
at or below the version opens an interval, a fixed at or below it closes it, a last_affected
below it closes it. Limits, when given, bound the whole range from above.

SEMVER ranges compare with SemVer ordering, ECOSYSTEM ranges with the ecosystem's own. GIT
ranges name commits, which a version cannot be placed among: they are skipped (the `versions`
list, which OSV requires alongside them, still counts).

Nothing unreadable is read as "not affected": a version that cannot be parsed, or a range event
that cannot, makes the answer UNKNOWN unless another range or the list says AFFECTED.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from renkei.deliveries.osv.versions import SEMVER, VersionError, parse_version, try_parse

AFFECTED, NOT_AFFECTED, UNKNOWN = "affected", "not_affected", "unknown"
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


class _Range:
    """One compiled range (a plain class: tens of thousands are built per SBOM scan)."""

    __slots__ = ("events", "from_zero", "label", "limits", "ordering", "problem", "unlimited")

    def __init__(self, ordering: str, label: str) -> None:
        self.ordering = ordering  # SEMVER or the ecosystem
        self.label = label  # SEMVER or ECOSYSTEM, for reasons
        self.events: list[tuple[Any, str, str]] = []  # (version, kind, text), sorted
        self.from_zero = False  # an "introduced 0"
        self.limits: list[Any] = []
        self.unlimited = True  # no limit, or "limit *"
        self.problem = ""  # an event that cannot be parsed: the range answers UNKNOWN


class Compiled:
    """One `affected[]` entry's ranges and versions, parsed once, evaluated for many versions."""

    __slots__ = ("ecosystem", "fixed", "git_only", "listed", "ranges")

    def __init__(self, ecosystem: str, ranges: list[dict], versions: list[str]) -> None:
        self.ecosystem = ecosystem
        self.listed = frozenset(versions or ())
        self.ranges: list[_Range] = []
        self.fixed: list[str] = []  # the fixed versions (not commits): range by range, by version
        git = 0
        for item in ranges or ():
            kind = item.get("type")
            if kind == "GIT":
                git += 1
                continue
            compiled = _compile(
                SEMVER if kind == "SEMVER" else ecosystem, kind or "", item.get("events") or []
            )
            self.ranges.append(compiled)
            self.fixed += [t for _v, k, t in compiled.events if k == "fixed" and t not in self.fixed]
        # Only GIT ranges and no list: a version cannot be placed, so it is not known.
        self.git_only = bool(git) and not self.ranges and not self.listed

    def evaluate(self, version: str) -> tuple[str, str]:
        """(state, reason): AFFECTED with the interval or "listed", NOT_AFFECTED, or UNKNOWN with why."""
        if version in self.listed or (version[:1] == "v" and version[1:] in self.listed):
            return AFFECTED, "versions"
        if not self.ranges:
            if self.git_only:
                return UNKNOWN, _(
                    "The advisory gives only commit ranges, which a version cannot be compared with."
                )
            if not self.listed:  # neither ranges nor versions: every version (OSV)
                return AFFECTED, "*"
            return NOT_AFFECTED, ""
        unknown = ""
        parsed: dict[str, Any] = {}
        for item in self.ranges:
            ordering = item.ordering
            if ordering not in parsed:
                ok, parsed[ordering] = try_parse(ordering, version)
                if not ok:
                    parsed[ordering] = _failed(ordering, version)
            value = parsed[ordering]
            if isinstance(value, VersionError):
                unknown = unknown or str(value)
                continue
            if item.problem:
                unknown = unknown or item.problem
                continue
            reason = _inside(item, value)
            if reason:
                return AFFECTED, reason
        if unknown:
            return UNKNOWN, unknown
        return NOT_AFFECTED, ""


def _failed(ordering: str, version: str) -> VersionError:
    try:
        parse_version(ordering, version)
    except VersionError as exc:
        return exc
    return VersionError(version)  # not reached: try_parse said it fails


def _compile(ordering: str, label: str, events: list[dict]) -> _Range:
    result = _Range(ordering, label)
    plain: list[tuple[Any, str, str]] = []
    star = False
    for event in events:  # checked at import; tolerate anything all the same
        try:
            ((kind, text),) = event.items()
        except (AttributeError, ValueError):
            kind, text = "", ""
        if kind == "introduced" and text == "0":
            result.from_zero = True
            continue
        if kind == "limit" and text == "*":
            star = True
            continue
        if kind not in EVENT_KINDS or not isinstance(text, str):
            result.problem = _("An event of the advisory's range is malformed.")
            return result
        ok, value = try_parse(ordering, text)  # the cached parse, without raising
        if not ok:
            result.problem = _(
                'The advisory\'s range bound "%(version)s" cannot be read as a %(ordering)s version.'
            ) % {"version": text, "ordering": ordering}
            return result
        if kind == "limit":
            result.limits.append(value)
        else:
            plain.append((value, kind, text))
    result.unlimited = star or not result.limits
    if len(plain) > 1:
        plain.sort(key=_first)  # stable: equal versions keep their given order
    result.events = plain
    return result


def _first(event: tuple) -> Any:
    return event[0]


def _inside(item: _Range, version: Any) -> str:
    """The interval (as text) of ITEM that holds VERSION, or "" when none does."""
    if not item.unlimited and not any(version < limit for limit in item.limits):
        return ""
    affected = item.from_zero
    start = "0" if affected else ""
    end = ""
    for value, kind, text in item.events:
        if kind == "introduced":
            if version >= value:
                affected, start, end = True, text, ""
        elif kind == "fixed":
            if version >= value:
                affected = False
            elif affected and not end:
                end = f"<{text}"
        elif kind == "last_affected":
            if version > value:
                affected = False
            elif affected and not end:
                end = f"<={text}"
    if not affected:
        return ""
    bounds = [f">={start}"] if start != "0" else []
    if end:
        bounds.append(end)
    return f"{item.label} {', '.join(bounds) or '*'}"


def evaluate(ecosystem: str, version: str, ranges: list[dict], versions: list[str]) -> tuple[str, str]:
    """(AFFECTED | NOT_AFFECTED | UNKNOWN, reason) of VERSION against one `affected[]` entry of
    ECOSYSTEM (a base OSV ecosystem): its RANGES (OSV range objects) and VERSIONS list."""
    return Compiled(ecosystem, ranges, versions).evaluate(version)
