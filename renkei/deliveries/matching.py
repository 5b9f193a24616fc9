"""Which stored advisories reach which components (docs/deliveries.md, "Matching").

A component is matched by its key (renkei.deliveries.osv.ecosystems.Key: ecosystem, normalised
name, distribution release) taken from its package URL, or from an ecosystem and a name. The
candidate advisories are the active ones (not withdrawn, not gone) with an affected package of
the same ecosystem and name, and of the same release when both sides give one; each is evaluated
with the ecosystem's version ordering (renkei.deliveries.osv.ranges).

Nothing is dropped silently: a component that cannot be matched gets a reason code (UNMATCHED),
and an advisory whose ranges cannot be compared with the component's version is a hit with
match "unknown" rather than no hit. One OSV id reached through two sources (two imports carrying
the same record) is reported once.

`match` is what the stored deliveries' (re-)checks call; `scan` is `renkei sbom scan` on a file.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from renkei.deliveries.models import AdvisoryPackage
from renkei.deliveries.osv.ecosystems import SUPPORTED, Key, PurlError, key_from_purl, normalize_name
from renkei.deliveries.osv.ranges import AFFECTED, UNKNOWN, Compiled
from renkei.deliveries.osv.versions import VersionError, parse_version

# Package names per IN (...): under SQLite's 999 parameters; on PostgreSQL each query is a hash
# join over the advisories, so fewer and larger.
IN_CHUNK = {"postgresql": 20_000}
IN_CHUNK_DEFAULT = 900

MALFORMED_PURL = "malformed_purl"
UNSUPPORTED_ECOSYSTEM = "unsupported_ecosystem"
NO_VERSION = "no_version"
UNPARSABLE_VERSION = "unparsable_version"
NO_IDENTIFIER = "no_identifier"
UNMATCHED = (MALFORMED_PURL, UNSUPPORTED_ECOSYSTEM, NO_VERSION, UNPARSABLE_VERSION, NO_IDENTIFIER)


@dataclass
class Hit:
    """An advisory that reaches (or may reach: match "unknown") the component at COMPONENT_INDEX."""

    component_index: int
    advisory_id: int
    osv_id: str
    aliases: list[str]
    severity: str
    fixed: list[str]  # the fixed versions of this package (not of the advisory's other packages)
    match: str  # "affected" | "unknown"
    reason: str  # the interval that holds the version ("ECOSYSTEM >=2.0-beta9, <2.15.0"), or why unknown


@dataclass
class Unparsed:
    """A component whose advisories could not all be evaluated, or that could not be matched at all."""

    component_index: int
    purl: str
    name: str
    version: str
    reason: str  # one of UNMATCHED
    message: str  # translated
    advisories: list[str] = field(default_factory=list)  # OSV ids that could not be evaluated

    def to_json(self) -> dict[str, Any]:
        return {
            "purl": self.purl,
            "name": self.name,
            "version": self.version,
            "reason": self.reason,
            "message": self.message,
            "advisories": self.advisories,
        }


class ComponentLike(Protocol):
    purl: str
    name: str
    version: str


def _purl_type(purl: str) -> str:
    return purl.partition(":")[2].lstrip("/").split("/")[0]


def component_key(
    purl: str, name: str, version: str, ecosystem_hint: str = ""
) -> tuple[Key | None, str, str]:
    """(key, version, reason code or "") of a component. The version is the purl's, else VERSION.
    A key comes with NO_VERSION or UNPARSABLE_VERSION when the version is missing or not one of
    its ecosystem: such a component is still looked up, and its advisories reported unknown."""
    purl, version = (purl or "").strip(), (version or "").strip()
    if purl:
        try:
            key, purl_version = key_from_purl(purl)
        except PurlError:
            return None, version, MALFORMED_PURL
        version = purl_version or version
        if key is None:
            return None, version, UNSUPPORTED_ECOSYSTEM
    else:
        hint = {e.lower(): e for e in SUPPORTED}.get((ecosystem_hint or "").strip().lower())
        if hint is None or not (name or "").strip():
            return None, version, NO_IDENTIFIER
        key = Key(hint, normalize_name(hint, name), "")
    if not version:
        return key, version, NO_VERSION
    try:
        parse_version(key.ecosystem, version)
    except VersionError:
        return key, version, UNPARSABLE_VERSION
    return key, version, ""


def reason_message(reason: str, purl: str = "", version: str = "", ecosystem: str = "") -> str:
    """The translated explanation of an UNMATCHED reason code."""
    if reason == MALFORMED_PURL:
        try:
            key_from_purl(purl)
        except PurlError as exc:
            return str(exc)
        return _("Malformed package URL %(purl)s.") % {"purl": purl}
    if reason == UNSUPPORTED_ECOSYSTEM:
        return _("Packages of type %(type)s are not matched against advisories.") % {"type": _purl_type(purl)}
    if reason == NO_VERSION:
        return _("The component has no version, so it cannot be compared with the advisories' ranges.")
    if reason == UNPARSABLE_VERSION:
        try:
            parse_version(ecosystem, version)
        except VersionError as exc:
            return str(exc)
        return _("The version cannot be compared with some advisories' ranges.")
    return _("The component has no package URL (and no ecosystem): it cannot be matched.")


class _Candidate:
    """One active AdvisoryPackage row; its ranges are compiled, and its aliases decoded, only
    when a component of its key needs them."""

    __slots__ = (
        "_aliases", "_compiled", "advisory_id", "ecosystem", "osv_id", "ranges", "release", "severity",
        "versions",
    )  # fmt: skip

    def __init__(self, ecosystem: str, row: tuple) -> None:
        self.ecosystem = ecosystem
        (self.advisory_id, _package, self.release, self.ranges, self.versions, self.osv_id, self._aliases,
         self.severity) = row  # fmt: skip
        self._compiled: Compiled | None = None

    @property
    def compiled(self) -> Compiled:
        if self._compiled is None:
            self._compiled = Compiled(self.ecosystem, self.ranges, self.versions)
        return self._compiled

    @property
    def aliases(self) -> list[str]:
        if isinstance(self._aliases, str):  # JSON text, read as such: most rows are never reported
            self._aliases = json.loads(self._aliases)
        return self._aliases or []

    @property
    def fixed(self) -> list[str]:
        return self.compiled.fixed


def load_candidates(keys: set[Key]) -> dict[tuple[str, str], list[_Candidate]]:
    """Active advisories' packages for KEYS, by (ecosystem, package): a query per ecosystem and
    IN_CHUNK names, ordered by advisory so duplicates resolve the same way every time."""
    packages: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        packages[key.ecosystem].add(key.package)
    found: dict[tuple[str, str], list[_Candidate]] = defaultdict(list)
    chunk = IN_CHUNK.get(connection.vendor, IN_CHUNK_DEFAULT)
    for ecosystem, names in sorted(packages.items()):
        ordered = sorted(names)
        for start in range(0, len(ordered), chunk):
            rows = (
                AdvisoryPackage.objects.filter(
                    ecosystem=ecosystem,
                    package__in=ordered[start : start + chunk],
                    advisory__withdrawn__isnull=True,
                    advisory__gone=False,
                )
                .order_by("advisory_id", "pk")
                .annotate(aliases_text=Cast("advisory__aliases", TextField()))
                .values_list(
                    "advisory_id",
                    "package",
                    "release",
                    "ranges",
                    "versions",
                    "advisory__osv_id",
                    "aliases_text",
                    "advisory__severity",
                )  # fmt: skip
            )
            for row in rows:
                found[(ecosystem, row[1])].append(_Candidate(ecosystem, row))
    return found


def _evaluate(
    candidates: list[_Candidate], key: Key, version: str
) -> list[tuple[_Candidate, str, str, list[str]]]:
    """(candidate, state, reason, fixed) for every advisory of KEY reaching VERSION, one per OSV
    id: an affected answer wins over an unknown one, then the lowest advisory (the same record
    imported from two sources); the fixed versions of all its entries that reach the version count."""
    reached: dict[str, list[tuple[_Candidate, str, str]]] = defaultdict(list)
    for candidate in candidates:
        if key.release and candidate.release and key.release != candidate.release:
            continue
        if version:
            state, reason = candidate.compiled.evaluate(version)
        else:
            state, reason = UNKNOWN, reason_message(NO_VERSION)
        if state in (AFFECTED, UNKNOWN):
            reached[candidate.osv_id].append((candidate, state, reason))
    out = []
    for osv_id in sorted(reached):
        found = reached[osv_id]
        state = AFFECTED if any(s == AFFECTED for _c, s, _r in found) else UNKNOWN
        chosen, _state, reason = next(f for f in found if f[1] == state)
        fixed: list[str] = []
        for candidate, other, _reason in found:
            if candidate.advisory_id == chosen.advisory_id and other == state:
                fixed += [value for value in candidate.fixed if value not in fixed]
        out.append((chosen, state, reason, fixed))
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Matching builds tens of thousands of small acyclic objects: a full pass of the cyclic
    collector over a large heap (a web worker's, or the benchmark's) doubled the time of a scan."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def match(items: Sequence[tuple[Key | None, str]]) -> tuple[list[Hit], list[Unparsed]]:
    """Match components, given as (key, version) per component index (None keys are skipped).

    Returns the hits, affected and unknown, ordered by component and OSV id; and, for each
    component with unknown hits, an Unparsed naming those advisories (purl and name left empty:
    the caller knows them). The same (key, version) is evaluated once however often it occurs."""
    with _collector_paused():
        return _match(items)


def _match(items: Sequence[tuple[Key | None, str]]) -> tuple[list[Hit], list[Unparsed]]:
    keys = {key for key, _version in items if key is not None}
    candidates = load_candidates(keys)
    cache: dict[tuple[Key, str], list[tuple[_Candidate, str, str, list[str]]]] = {}
    hits: list[Hit] = []
    unknowns: list[Unparsed] = []
    for index, (key, given) in enumerate(items):
        if key is None:
            continue
        version = (given or "").strip()
        found = cache.get((key, version))
        if found is None:
            found = _evaluate(candidates.get((key.ecosystem, key.package), []), key, version)
            cache[(key, version)] = found
        unclear: list[str] = []
        first_reason = ""
        for candidate, state, reason, fixed in found:
            advisory = candidate.advisory_id
            hits.append(
                Hit(
                    index,
                    advisory,
                    candidate.osv_id,
                    candidate.aliases,
                    candidate.severity,
                    fixed,
                    state,
                    reason,
                )
            )
            if state == UNKNOWN:
                unclear.append(candidate.osv_id)
                first_reason = first_reason or reason
        if unclear:
            code = NO_VERSION if not version else UNPARSABLE_VERSION
            message = (
                reason_message(code, version=version, ecosystem=key.ecosystem)
                if code == NO_VERSION or not _parses(key.ecosystem, version)
                else first_reason
            )
            unknowns.append(Unparsed(index, "", "", version, code, message, unclear))
    return hits, unknowns


def _parses(ecosystem: str, version: str) -> bool:
    try:
        parse_version(ecosystem, version)
    except VersionError:
        return False
    return True


def scan(components: Sequence[ComponentLike]) -> dict[str, Any]:
    """The `renkei sbom scan --json` document for COMPONENTS (objects with .purl .name .version):
    {"components": N, "findings": [...], "unparsed": [...]}. Every component that cannot be
    matched, or whose advisories cannot all be evaluated, is in "unparsed" with its reason."""
    with _collector_paused():
        return _scan(components)


def _scan(components: Sequence[ComponentLike]) -> dict[str, Any]:
    items: list[tuple[Key | None, str]] = []
    problems: dict[int, Unparsed] = {}
    for index, component in enumerate(components):
        purl, name = (component.purl or "").strip(), component.name or ""
        key, version, reason = component_key(purl, name, component.version or "")
        items.append((key, version))
        if reason:
            message = reason_message(reason, purl, version, key.ecosystem if key else "")
            problems[index] = Unparsed(index, purl, name, version, reason, message)
    hits, unknowns = _match(items)
    for unknown in unknowns:
        component = components[unknown.component_index]
        kept = problems.get(unknown.component_index)
        if kept is not None:
            kept.advisories = unknown.advisories
        else:
            unknown.purl, unknown.name = (component.purl or "").strip(), component.name or ""
            problems[unknown.component_index] = unknown
    findings = []
    for hit in hits:
        if hit.match != AFFECTED:
            continue
        component = components[hit.component_index]
        findings.append(
            {
                "purl": (component.purl or "").strip(),
                "name": component.name or "",
                "version": items[hit.component_index][1],
                "id": hit.osv_id,
                "aliases": hit.aliases,
                "severity": hit.severity,
                "fixed": hit.fixed,
            }
        )
    return {
        "components": len(components),
        "findings": findings,
        "unparsed": [problems[index].to_json() for index in sorted(problems)],
    }
