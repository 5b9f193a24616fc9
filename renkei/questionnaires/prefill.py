"""Pre-fill candidates for an assessment: answers given before, wherever they can be reused.

In this order of precedence, for each item still unanswered:

1. the same supplier's previous submitted or approved assessment of the same template ("same as
   last time");
2. through crosswalks, the same supplier's latest submitted or approved assessment of a mapped
   template (forward always; backward only for entries without a value map);
3. only when the person answering is a logged-in contact of this supplier: what they already
   answered for another buyer — assessments of the other suppliers they are a portal contact of,
   of the same built-in template or one mapped by a crosswalk. Staff and answer-link holders never
   get these: they could not open those assessments, and one buyer must never see another's.

Another buyer's own templates are never used (their item ids mean something else). A candidate
must be a valid answer in this version, and must be shown by the template's conditions under the
answers as they would be after pre-filling its section. A bounded number of queries, whatever
the number of items, crosswalks or sources (docs/crosswalks.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from renkei.core.models import contact_supplier_ids
from renkei.core.permissions import VIEW
from renkei.questionnaires.choices import NOT_APPLICABLE, AnswerType, AssessmentStatus
from renkei.questionnaires.models import Answer, Assessment, CrosswalkEntry, Item, localized
from renkei.questionnaires.scoring import ScoreItem, visible_items
from renkei.questionnaires.values import AnswerError, display_value, parse_answer

PREVIOUS = "previous"
CROSSWALK = "crosswalk"
OTHER_CUSTOMER = "other_customer"
DONE_STATUSES = (AssessmentStatus.APPROVED, AssessmentStatus.SUBMITTED)


@dataclass(frozen=True)
class PrefillSource:
    """Where a candidate comes from: an assessment (and the crosswalk it went through)."""

    kind: str  # PREVIOUS, CROSSWALK or OTHER_CUSTOMER
    assessment_id: int
    template_key: str
    template_version: int
    template_name_ja: str
    template_name_en: str = ""
    crosswalk_key: str = ""
    crosswalk_name_ja: str = ""
    crosswalk_name_en: str = ""
    customer: str = ""  # the buyer the other assessment was for (OTHER_CUSTOMER only)

    @property
    def template_name(self) -> str:
        return localized(self.template_name_ja, self.template_name_en)

    @property
    def crosswalk_name(self) -> str:
        return localized(self.crosswalk_name_ja, self.crosswalk_name_en)

    @property
    def label(self) -> str:
        """「前回の回答 (#12 v1)」, 「対応表「…」: テンプレート名」, 「他の取引先への回答: 会社名」."""
        names = {"template": self.template_name, "id": self.assessment_id,
                 "version": self.template_version, "crosswalk": self.crosswalk_name,
                 "customer": self.customer}
        if self.kind == PREVIOUS:
            return _("Previous assessment (#%(id)d, v%(version)d)") % names
        if self.kind == CROSSWALK:
            return _("Crosswalk “%(crosswalk)s” from %(template)s (#%(id)d)") % names
        if self.crosswalk_key:
            return _("Your answer for another customer, %(customer)s: %(template)s via crosswalk "
                     "“%(crosswalk)s”") % names
        return _("Your answer for another customer, %(customer)s: %(template)s") % names

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "assessment": self.assessment_id, "template": self.template_key,
                "version": self.template_version, "crosswalk": self.crosswalk_key or None,
                "label": self.label}


@dataclass(frozen=True)
class Candidate:
    value: Any  # as stored ("n/a" for 該当なし)
    source: PrefillSource


@dataclass(frozen=True)
class _Route:
    """Answers to OTHER_ITEM of another template give answers to ITEM here."""

    other_item: str
    item: str
    values: Mapping[str, str]
    crosswalk: Any


def convert(value: Any, values: Mapping[str, str], multiple: bool) -> Any:
    """VALUE (as stored for the other item) as an answer to this item, through the value map
    VALUES (empty: unchanged); None when it cannot be carried over. A multiple-choice answer is
    carried only when every chosen value is mapped; into a one-value item only when they all
    map to the same value."""
    if value is None:
        return None
    if values:
        if value == NOT_APPLICABLE:
            return values.get(NOT_APPLICABLE, NOT_APPLICABLE)
        chosen = value if isinstance(value, list) else [value]
        if not chosen or any(not isinstance(v, str) or v not in values for v in chosen):
            return None
        mapped = list(dict.fromkeys(values[v] for v in chosen))
        if multiple:
            return mapped
        return mapped[0] if len(mapped) == 1 else None
    if multiple and isinstance(value, str) and value != NOT_APPLICABLE:
        return [value]
    return value


def _stored(value: Any, not_applicable: bool) -> Any:
    return NOT_APPLICABLE if not_applicable else value


def is_contact_of(user: Any, supplier_id: int) -> bool:
    """Whether USER is a portal contact of that supplier (the only case for cross-buyer reuse)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return contact_supplier_ids(user).filter(supplier_id=supplier_id).exists()


def _routes(assessment: Assessment, key: str, wanted: set[str]) -> dict[str, list[_Route]]:
    """Other template key -> routes into this template's wanted items (one query)."""
    org = assessment.organization_id
    entries = CrosswalkEntry.objects.filter(
        Q(crosswalk__organization_id=org) | Q(crosswalk__organization__isnull=True),
        Q(crosswalk__source_key=key) | Q(crosswalk__target_key=key),
    ).select_related("crosswalk").order_by("crosswalk__organization_id", "crosswalk__key", "pk")
    routes: dict[str, list[_Route]] = {}
    for entry in entries:
        crosswalk = entry.crosswalk
        if crosswalk.target_key == key and entry.target_item in wanted:
            routes.setdefault(crosswalk.source_key, []).append(
                _Route(entry.source_item, entry.target_item, entry.values or {}, crosswalk))
        elif crosswalk.source_key == key and not entry.values and entry.source_item in wanted:
            routes.setdefault(crosswalk.target_key, []).append(
                _Route(entry.target_item, entry.source_item, {}, crosswalk))
    return routes


def _source_assessments(assessment: Assessment, key: str, other_keys: Iterable[str],
                        user: Any) -> list[dict[str, Any]]:
    """Submitted and approved assessments that may feed this one, newest first (one query)."""
    suppliers = Q(supplier_id=assessment.supplier_id)
    if is_contact_of(user, assessment.supplier_id):
        # Only what this user may already open: through for_user, their suppliers' assessments.
        suppliers |= Q(pk__in=Assessment.objects.for_user(user, VIEW).filter(
            supplier_id__in=contact_supplier_ids(user)).values("pk"))
    return list(
        Assessment.objects.filter(
            suppliers, status__in=DONE_STATUSES, template__key__in=[key, *other_keys],
        ).filter(
            # Built-in templates mean the same for every buyer; a buyer's own only for that buyer.
            Q(template__organization__isnull=True)
            | Q(template__organization_id=assessment.organization_id)
        ).exclude(pk=assessment.pk)
        .order_by("-created_at", "-pk")
        .values("pk", "supplier_id", "organization__name", "template__key", "template__version",
                "template__name_ja", "template__name_en", "template__organization_id")
    )


def _choose(assessment: Assessment, rows: list[dict[str, Any]], key: str,
            routes: Mapping[str, list[_Route]]) -> list[tuple[int, PrefillSource, list[_Route] | None]]:
    """The latest source per (tier, template key), in precedence order; routes None: same items."""
    chosen: dict[tuple[int, str], tuple[int, PrefillSource, list[_Route] | None]] = {}
    own_owner = assessment.template.organization_id
    for row in rows:
        other_key = row["template__key"]
        same_supplier = row["supplier_id"] == assessment.supplier_id
        if other_key == key:
            if same_supplier and (row["pk"] > assessment.pk
                                  or row["template__organization_id"] != own_owner):
                continue  # "previous" means sent before this one, of this very template
            tier, kind, route = (0, PREVIOUS, None) if same_supplier else (2, OTHER_CUSTOMER, None)
        elif other_key in routes:
            tier, kind, route = (1, CROSSWALK, routes[other_key]) if same_supplier else (
                3, OTHER_CUSTOMER, routes[other_key])
        else:
            continue
        if (tier, other_key) in chosen:
            continue  # rows come newest first
        crosswalk = route[0].crosswalk if route else None
        chosen[(tier, other_key)] = (row["pk"], PrefillSource(
            kind=kind, assessment_id=row["pk"], template_key=other_key,
            template_version=row["template__version"], template_name_ja=row["template__name_ja"],
            template_name_en=row["template__name_en"],
            crosswalk_key=crosswalk.key if crosswalk else "",
            crosswalk_name_ja=crosswalk.name_ja if crosswalk else "",
            crosswalk_name_en=crosswalk.name_en if crosswalk else "",
            customer=row["organization__name"] if kind == OTHER_CUSTOMER else ""), route)
    return [chosen[k] for k in sorted(chosen, key=lambda k: k[0])]


def all_candidates(assessment: Assessment, items: list[Item], *,
                   user: Any = None) -> tuple[dict[str, Candidate], dict[str, Any]]:
    """(item id -> the first valid candidate by precedence, current answers by item id), before
    conditions are applied. ITEMS: this version's items with their choices prefetched."""
    key = assessment.template.key
    current: dict[str, Any] = {}
    for item_id, value, na in Answer.objects.filter(assessment=assessment).values_list(
            "item__item_id", "value", "not_applicable"):
        current[item_id] = _stored(value, na)
    by_id = {item.item_id: item for item in items}
    wanted = {item.item_id for item in items
              if item.item_id not in current and item.answer_type != AnswerType.FILE}
    if not wanted:
        return {}, current
    routes = _routes(assessment, key, wanted)
    chosen = _choose(assessment, _source_assessments(assessment, key, routes, user), key, routes)
    if not chosen:
        return {}, current
    answers: dict[int, dict[str, Any]] = {}
    for assessment_id, item_id, value, na in Answer.objects.filter(
            assessment_id__in=[pk for pk, _source, _route in chosen]).values_list(
            "assessment_id", "item__item_id", "value", "not_applicable"):
        answers.setdefault(assessment_id, {})[item_id] = _stored(value, na)
    found: dict[str, Candidate] = {}
    for pk, source, route in chosen:
        given = answers.get(pk, {})
        pairs = ([(item_id, item_id, {}) for item_id in wanted] if route is None
                 else [(r.other_item, r.item, r.values) for r in route])
        for other_item, item_id, values in pairs:
            if item_id in found or item_id not in wanted or other_item not in given:
                continue
            item = by_id[item_id]
            raw = convert(given[other_item], values, item.answer_type == AnswerType.MULTIPLE_CHOICE)
            if raw is None:
                continue
            try:
                parsed = parse_answer(item, raw)
            except AnswerError:
                continue
            if parsed.value is None and not parsed.not_applicable:
                continue
            found[item_id] = Candidate(_stored(parsed.value, parsed.not_applicable), source)
    return found, current


def shown_candidates(items: list[Item], current: Mapping[str, Any],
                     candidates: Mapping[str, Candidate], only: set[str]) -> dict[str, Candidate]:
    """The candidates for the items ONLY (one section) that the conditions show once those are
    pre-filled (the current answers plus these candidates)."""
    mine = {k: c for k, c in candidates.items() if k in only}
    if not mine:
        return {}
    answers = {**current, **{k: c.value for k, c in mine.items()}}
    score_items = [ScoreItem.from_item(item, section_key=str(item.section_id)) for item in items]
    shown = {s.item_id for s in visible_items(score_items, answers)}
    return {k: c for k, c in mine.items() if k in shown}


def candidates_by_section(assessment: Assessment, items: list[Item], *,
                          user: Any = None) -> dict[str, Candidate]:
    """Every candidate the page offers: per section, those shown under the answers after that
    section is pre-filled."""
    found, current = all_candidates(assessment, items, user=user)
    if not found:
        return {}
    sections: dict[int, set[str]] = {}
    for item in items:
        sections.setdefault(item.section_id, set()).add(item.item_id)
    result: dict[str, Candidate] = {}
    for only in sections.values():
        if not only.isdisjoint(found):
            result.update(shown_candidates(items, current, found, only))
    return result


def annotate(sections: Iterable[Any], candidates: Mapping[str, Candidate]) -> None:
    """For the answer page: item.prefill (the candidate), item.prefill_display, and per section
    the distinct sources and whether they are all the previous assessment."""
    for section in sections:
        sources: dict[PrefillSource, None] = {}
        for item in section.item_list:
            candidate = candidates.get(item.item_id)
            item.prefill = candidate
            item.prefill_display = display_value(item.answer_type, candidate.value,
                                                 item.choices.all()) if candidate else ""
            if candidate is not None:
                sources[candidate.source] = None
        section.prefill_sources = list(sources)
        section.prefill_previous_only = all(s.kind == PREVIOUS for s in sources)
