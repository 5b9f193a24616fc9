"""NTIA minimum elements and duplicate/conflicting entries of a parsed SBOM (docs/deliveries.md).

Everything here is one pass over the components with dicts: linear in the SBOM's size.
"""

from __future__ import annotations

from fractions import Fraction

from django.utils.translation import gettext as _

from .common import COMPONENT_ELEMENTS, DOCUMENT_ELEMENTS, ParsedComponent, ReadResult

MAX_PROBLEMS = 200  # problem groups listed in quality["problems"]; problem_count has the total
MAX_GROUP_MEMBERS = 20  # refs/names/indexes listed per group


def missing_elements(component: ParsedComponent, dependency_refs: set[str]) -> list[str]:
    present = {
        "supplier": bool(component.supplier),
        "name": bool(component.name),
        "version": bool(component.version),
        # bom-ref and SPDXID only name an entry inside this file: not an identifier
        "identifier": bool(component.purl or component.cpe or component.swid),
        "dependencies": bool(component.ref) and component.ref in dependency_refs,
    }
    return [element for element in COMPONENT_ELEMENTS if not present[element]]


def completeness(components_present: int, component_count: int, document_present: int) -> int:
    """5 component elements averaged over the components and 2 document elements, each of the 7
    weighing the same: 100 × (present / n + document present) / 7, rounded half up."""
    component_part = Fraction(components_present, component_count) if component_count else Fraction(0)
    score = 100 * (component_part + document_present) / (len(COMPONENT_ELEMENTS) + len(DOCUMENT_ELEMENTS))
    return int(score + Fraction(1, 2))


def purl_key(purl: str) -> str:
    """A purl compared for duplicates: scheme and type lowercased, qualifiers sorted."""
    purl = purl.strip()
    if not purl[:4].lower() == "pkg:":
        return purl
    rest = purl[4:].lstrip("/")
    kind, slash, path = rest.partition("/")
    path, hash_sign, subpath = path.partition("#")
    path, question, qualifiers = path.partition("?")
    if question:
        qualifiers = "&".join(sorted(q for q in qualifiers.split("&") if q))
    key = f"pkg:{kind.lower()}{slash}{path}"
    if qualifiers:
        key += f"?{qualifiers}"
    if hash_sign:
        key += f"#{subpath.strip('/')}"
    return key


def _label(component: ParsedComponent) -> str:
    return f"{component.name} {component.version}".strip() or component.ref or component.purl


def _group(kind: str, field: str, value: str, members: list[int], components: list[ParsedComponent]) -> dict:
    shown = members[:MAX_GROUP_MEMBERS]
    names = list(dict.fromkeys(_label(components[i]) for i in shown))
    count = len(members)
    if field == "purl" and kind == "duplicate":
        message = _("The package %(purl)s is listed %(count)d times.") % {"purl": value, "count": count}
    elif field == "purl":
        message = _("The purl %(purl)s is given to different components: %(names)s.") % {
            "purl": value,
            "names": ", ".join(names),
        }
    elif field == "ref":
        message = _("The reference %(ref)s is used by %(count)d different components: %(names)s.") % {
            "ref": value,
            "count": count,
            "names": ", ".join(names),
        }
    else:
        message = _("%(name)s is listed %(count)d times without a purl.") % {"name": value, "count": count}
    return {
        "kind": kind,
        "field": field,
        "value": value,
        "count": count,
        "indexes": shown,
        "refs": [components[i].ref for i in shown if components[i].ref],
        "names": names,
        "message": message,
    }


def find_problems(components: list[ParsedComponent]) -> list[dict]:
    """Flag every repeated entry after the first (`problem`) and return the groups, in order of
    their first member."""
    by_purl: dict[str, list[int]] = {}
    by_ref: dict[str, list[int]] = {}
    by_name: dict[tuple[str, str], list[int]] = {}
    for index, component in enumerate(components):
        if component.purl:
            by_purl.setdefault(purl_key(component.purl), []).append(index)
        elif component.name:
            by_name.setdefault((component.name.casefold(), component.version), []).append(index)
        if component.ref:
            by_ref.setdefault(component.ref, []).append(index)

    def same(a: ParsedComponent, b: ParsedComponent) -> bool:
        return a.name.casefold() == b.name.casefold() and a.version == b.version

    groups: list[tuple[int, dict]] = []
    for key, members in by_purl.items():
        if len(members) < 2:
            continue
        first = components[members[0]]
        kind = "duplicate"
        for index in members[1:]:
            component = components[index]
            if same(first, component):
                component.problem = component.problem or "duplicate"
            else:
                component.problem = kind = "conflict"
        groups.append((members[0], _group(kind, "purl", key, members, components)))
    for (_name, _version), members in by_name.items():
        if len(members) < 2:
            continue
        for index in members[1:]:
            components[index].problem = components[index].problem or "duplicate"
        first = components[members[0]]
        groups.append((members[0], _group("duplicate", "name", _label(first), members, components)))
    for ref, members in by_ref.items():
        if len(members) < 2:
            continue
        first = components[members[0]]
        differing = [
            i for i in members[1:] if not same(first, components[i]) or components[i].purl != first.purl
        ]
        # identical entries sharing a ref are already listed as duplicates (by purl or by name)
        if differing:
            for index in differing:
                components[index].problem = "conflict"
            groups.append((members[0], _group("conflict", "ref", ref, members, components)))
    groups.sort(key=lambda pair: pair[0])
    return [group for _first, group in groups]


def assess(result: ReadResult) -> None:
    """Fill in each component's `missing` and `problem`, the SBOM's completeness and quality."""
    sbom = result.sbom
    components = sbom.components
    counts = dict.fromkeys(COMPONENT_ELEMENTS, 0)
    present_total = 0
    for component in components:
        component.missing = missing_elements(component, result.dependency_refs)
        present_total += len(COMPONENT_ELEMENTS) - len(component.missing)
        for element in component.missing:
            counts[element] += 1
    n = len(components)
    document = {"author": bool(sbom.authors), "timestamp": bool(sbom.created)}
    problems = find_problems(components)
    sbom.completeness = completeness(present_total, n, sum(document.values()))
    sbom.quality = {
        "components": n,
        "elements": {e: {"present": n - missing, "missing": missing} for e, missing in counts.items()},
        "document": document,
        "author_source": result.author_source,
        "problems": problems[:MAX_PROBLEMS],
        "problem_count": len(problems),
        "duplicates": sum(1 for c in components if c.problem == "duplicate"),
        "conflicts": sum(1 for c in components if c.problem == "conflict"),
    }
