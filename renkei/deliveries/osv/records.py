"""One OSV record read and checked: the values stored on Advisory and AdvisoryPackage.

A record that breaks the OSV schema where matching depends on it (no id or modified, a date that
is not a date, `affected` or `ranges` that are not lists, an event with two keys or an unknown
one, a range without `introduced`, an unknown range type, a version given as a decimal number)
raises RecordError with the JSON path and a translated message; the importer counts it as
rejected. Affected packages of ecosystems Renkei does not support are dropped (the advisory is
still stored), as are details that do not matter for matching.

Severity: a CVSS 3.x vector is scored here with the specification's base-score formula; a
numeric score is taken as given; a CVSS 4.0 vector without a score, or no CVSS at all, falls
back to `database_specific.severity` (GitHub's LOW / MODERATE / HIGH / CRITICAL) or "unknown".
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

from renkei.deliveries.osv.ecosystems import SUPPORTED, normalize_name, split_ecosystem
from renkei.deliveries.osv.ranges import EVENT_KINDS

RANGE_TYPES = ("SEMVER", "ECOSYSTEM", "GIT")
MAX_ID = 100
MAX_SUMMARY = 500


class RecordError(ValueError):
    """A record that breaks the schema: PATH is where in the record (e.g. affected[0].ranges[1])."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class PackageEntry:
    ecosystem: str
    package: str
    release: str
    ranges: list[dict]
    versions: list[str]


@dataclass
class Record:
    osv_id: str
    modified: datetime.datetime
    published: datetime.datetime | None = None
    withdrawn: datetime.datetime | None = None
    summary: str = ""
    details: str = ""
    aliases: list[str] = field(default_factory=list)
    severity: str = "unknown"
    cvss_vector: str = ""
    cvss_score: float | None = None
    fixed: list[str] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)
    packages: list[PackageEntry] = field(default_factory=list)


# -- dates ---------------------------------------------------------------------------------------


def parse_timestamp(value: Any, path: str) -> datetime.datetime:
    """An RFC 3339 timestamp (or a YAML-parsed datetime) as an aware datetime, UTC if no zone."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordError(
                path, _('"%(value)s" is not a date and time (RFC 3339).') % {"value": value}
            ) from None
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    else:
        raise RecordError(path, _("A date and time (RFC 3339) is required."))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def _optional_timestamp(data: dict, key: str) -> datetime.datetime | None:
    value = data.get(key)
    return None if value in (None, "") else parse_timestamp(value, key)


# -- CVSS ----------------------------------------------------------------------------------------

_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR = {"N": (0.85, 0.85), "L": (0.62, 0.68), "H": (0.27, 0.5)}  # (scope unchanged, changed)
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}


def _roundup(value: float) -> float:
    """CVSS 3.1 Roundup: the smallest one-decimal number >= VALUE, free of float error."""
    whole = round(value * 100_000)
    if whole % 10_000 == 0:
        return whole / 100_000
    return (math.floor(whole / 10_000) + 1) / 10.0


@lru_cache(maxsize=4096)  # advisories share a few hundred vectors
def cvss3_base_score(vector: str) -> float:
    """The base score of a CVSS 3.0/3.1 vector (specification §7.1); ValueError if malformed."""
    parts = vector.strip().split("/")
    if not parts[0].startswith("CVSS:3"):
        raise ValueError(vector)
    metrics = dict(part.split(":", 1) for part in parts[1:] if ":" in part)
    changed = metrics["S"] == "C"
    if metrics["S"] not in ("U", "C"):
        raise ValueError(vector)
    iss = 1 - (1 - _CIA[metrics["C"]]) * (1 - _CIA[metrics["I"]]) * (1 - _CIA[metrics["A"]])
    if changed:
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    else:
        impact = 6.42 * iss
    exploitability = (
        8.22 * _AV[metrics["AV"]] * _AC[metrics["AC"]] * _PR[metrics["PR"]][changed] * _UI[metrics["UI"]]
    )
    if impact <= 0:
        return 0.0
    total = 1.08 * (impact + exploitability) if changed else impact + exploitability
    return _roundup(min(total, 10.0))


def rating(score: float) -> str:
    """The CVSS qualitative rating of SCORE (the same bands for v3 and v4)."""
    if score == 0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


_NAMED = {
    "critical": "critical",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "none": "none",
}


def _severity(data: dict) -> tuple[str, str, float | None]:
    """(severity, cvss_vector, cvss_score) of a record: the best CVSS it gives, else its named one."""
    entries = []
    for source in [data, *[a for a in data.get("affected") or () if isinstance(a, dict)]]:
        found = source.get("severity")
        if isinstance(found, list):
            entries += [e for e in found if isinstance(e, dict)]
    vector_only = ""
    named = ""
    for preferred in ("CVSS_V3", "CVSS_V4", "CVSS_V2"):
        for entry in entries:
            if entry.get("type") != preferred:
                continue
            score_text = str(entry.get("score") or "").strip()
            try:
                score = float(score_text)
            except ValueError:
                score = None
            if score is None and preferred == "CVSS_V3":
                try:
                    score = cvss3_base_score(score_text)
                except (ValueError, KeyError):
                    continue
            if score is not None and 0 <= score <= 10:
                return rating(score), score_text if score_text.startswith("CVSS") else "", score
            vector_only = vector_only or score_text
    for entry in entries:  # e.g. {"type": "Ubuntu", "score": "medium"}
        named = named or _NAMED.get(str(entry.get("score") or "").lower(), "")
    specific = data.get("database_specific")
    if isinstance(specific, dict):
        named = _NAMED.get(str(specific.get("severity") or "").lower(), "") or named
    return named or "unknown", vector_only[:200], None


# -- affected ------------------------------------------------------------------------------------


def _text(value: Any, path: str) -> str:
    """A version or commit: a string, or a whole number written without quotes in YAML."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise RecordError(
            path, _("%(value)s is a decimal number: versions must be written as strings.") % {"value": value}
        )
    raise RecordError(path, _("A version must be a string."))


def _list(data: dict, key: str, path: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(path, _("%(key)s must be a list.") % {"key": key})
    return value


def _ranges(entry: dict, path: str, fixed: list[str]) -> list[dict]:
    out = []
    for i, item in enumerate(_list(entry, "ranges", f"{path}.ranges")):
        here = f"{path}.ranges[{i}]"
        if not isinstance(item, dict):
            raise RecordError(here, _("A range must be an object."))
        kind = item.get("type")
        if kind not in RANGE_TYPES:
            raise RecordError(
                f"{here}.type", _("Unknown range type %(type)s (SEMVER, ECOSYSTEM or GIT).") % {"type": kind}
            )
        events = _list(item, "events", f"{here}.events")
        if not events:
            raise RecordError(f"{here}.events", _("A range needs at least one event."))
        cleaned = []
        for j, event in enumerate(events):
            if not isinstance(event, dict) or len(event) != 1:
                raise RecordError(
                    f"{here}.events[{j}]",
                    _("An event must have exactly one of introduced, fixed, last_affected, limit."),
                )
            ((name, value),) = event.items()
            if name not in EVENT_KINDS:
                raise RecordError(f"{here}.events[{j}]", _("Unknown event %(name)s.") % {"name": name})
            # The path is only formatted for a bad value: most events are plain strings.
            cleaned.append(
                event if type(value) is str else {name: _text(value, f"{here}.events[{j}].{name}")}
            )
        if not any("introduced" in event for event in cleaned):
            raise RecordError(f"{here}.events", _("A range needs an introduced event."))
        if kind == "GIT":
            out.append({"type": "GIT"})  # commits cannot be compared with versions: only its presence counts
            continue
        fixed += [event["fixed"] for event in cleaned if "fixed" in event and event["fixed"] not in fixed]
        out.append({"type": kind, "events": cleaned})
    return out


def _packages(data: dict, fixed: list[str]) -> list[PackageEntry]:
    entries = []
    for i, entry in enumerate(_list(data, "affected", "affected")):
        path = f"affected[{i}]"
        if not isinstance(entry, dict):
            raise RecordError(path, _("An affected entry must be an object."))
        package = entry.get("package")
        ranges = _ranges(entry, path, fixed)
        versions = _list(entry, "versions", f"{path}.versions")
        if not all(type(v) is str for v in versions):
            versions = [_text(v, f"{path}.versions[{j}]") for j, v in enumerate(versions)]
        if package is None:  # commit ranges of a repository only: nothing to match a component with
            continue
        if not isinstance(package, dict):
            raise RecordError(f"{path}.package", _("The package must be an object."))
        osv_ecosystem, name = package.get("ecosystem"), package.get("name")
        if not isinstance(osv_ecosystem, str) or not isinstance(name, str) or not name.strip():
            raise RecordError(f"{path}.package", _("The package needs an ecosystem and a name."))
        ecosystem, release = split_ecosystem(osv_ecosystem)
        if ecosystem not in SUPPORTED:
            continue
        entries.append(
            PackageEntry(ecosystem, normalize_name(ecosystem, name)[:500], release[:60], ranges, versions)
        )
    return entries


def read_record(data: Any) -> Record:
    """DATA (one parsed OSV JSON/YAML document) as a Record; RecordError if it breaks the schema."""
    if not isinstance(data, dict):
        raise RecordError("", _("An OSV record must be a JSON object."))
    osv_id = data.get("id")
    if not isinstance(osv_id, str) or not osv_id.strip():
        raise RecordError("id", _("The record has no id."))
    if len(osv_id) > MAX_ID:
        raise RecordError("id", _("The id is longer than %(n)d characters.") % {"n": MAX_ID})
    if data.get("modified") in (None, ""):
        raise RecordError("modified", _("The record has no modified date."))
    aliases = _list(data, "aliases", "aliases")
    if not all(isinstance(alias, str) for alias in aliases):
        raise RecordError("aliases", _("Aliases must be strings."))
    references = [
        {"type": str(ref.get("type") or ""), "url": str(ref["url"])}
        for ref in _list(data, "references", "references")
        if isinstance(ref, dict) and ref.get("url")
    ]
    fixed: list[str] = []
    packages = _packages(data, fixed)
    severity, vector, score = _severity(data)
    return Record(
        osv_id=osv_id.strip(),
        modified=parse_timestamp(data["modified"], "modified"),
        published=_optional_timestamp(data, "published"),
        withdrawn=_optional_timestamp(data, "withdrawn"),
        summary=str(data.get("summary") or "")[:MAX_SUMMARY],
        details=str(data.get("details") or ""),
        aliases=aliases,
        severity=severity,
        cvss_vector=vector,
        cvss_score=score,
        fixed=fixed,
        references=references,
        packages=packages,
    )
