"""Likelihood factors: an open registry, so later capabilities plug in their evidence.

Two kinds of plug-ins, both registered at import time:

- an **evidence loader** (`@evidence("name")`) reads one kind of evidence for every supplier of a
  Scope in one or a few queries and returns {supplier id: evidence}. Loaders run once per
  recompute, whatever the number of suppliers (set-based, the query count is constant);
- a **factor** (`@factor("name", needs=(...))`) is a pure function of one supplier's evidence
  and the organization's likelihood settings. It returns None (nothing to say) or
  (contribution ≥ 0, params); `describe` turns the stored params into the reason text in the
  active language.

Likelihood = 1 + the sum of the contributions, rounded half up and capped at 5. Factors never
subtract, so improving one piece of evidence can only keep or lower the result.

A **chained** factor (`chained=True`) reads other suppliers' likelihood: the recompute first
evaluates every supplier's own factors, then the chained ones with the evidence OWN_LIKELIHOOD
({supplier id: own likelihood} of the scope). A chained factor never sees another chained
contribution, so a loop of suppliers cannot feed on itself (renkei.graph.inherited). A **widener**
(`@widens`) adds to a partial recompute the suppliers whose chained factors depend on the ones
in it; `Scope.memo` lets it hand what it read to its loader within the same recompute.

Remediation actions count through `overdue_remediation` and through verified actions offsetting
the × answers they fixed; the supplier's recent incidents through `recent_incidents`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkei.suppliers.choices import CertificationKind


@dataclass(frozen=True)
class Scope:
    """The suppliers of one recompute: a whole organization, or some of its suppliers."""

    organization_id: int
    supplier_ids: frozenset[int] | None = None
    # What a widener read for this recompute, for its loader (not part of the scope's identity).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def restrict(self, queryset: QuerySet, supplier_field: str = "supplier") -> QuerySet:
        """QUERYSET narrowed to the scope; SUPPLIER_FIELD is the path to the supplier."""
        prefix = "" if supplier_field == "" else f"{supplier_field}__"
        queryset = queryset.filter(**{f"{prefix}organization_id": self.organization_id})
        if self.supplier_ids is not None:
            queryset = queryset.filter(**{f"{prefix}id__in": sorted(self.supplier_ids)})
        return queryset


Loader = Callable[[Scope, datetime.date], Mapping[int, Any]]


@dataclass(frozen=True)
class Factor:
    name: str
    label: Any
    needs: tuple[str, ...]
    evaluate: Callable[[Mapping[str, Any], Mapping[str, Any], datetime.date], tuple[float, dict] | None]
    describe: Callable[[Mapping[str, Any]], str]
    chained: bool = False


LOADERS: dict[str, Loader] = {}
FACTORS: dict[str, Factor] = {}
WIDENERS: list[Callable[[Scope], Scope]] = []
# The evidence of chained factors: {supplier id: own likelihood (chained factors left out)}.
OWN_LIKELIHOOD = "own_likelihood"


def evidence(name: str) -> Callable[[Loader], Loader]:
    def register(loader: Loader) -> Loader:
        LOADERS[name] = loader
        return loader

    return register


def factor(name: str, label: Any, *, needs: tuple[str, ...], describe: Callable[[Mapping[str, Any]], str],
           chained: bool = False) -> Callable[[Callable], Callable]:
    def register(evaluate: Callable) -> Callable:
        FACTORS[name] = Factor(name, label, needs, evaluate, describe, chained)
        return evaluate

    return register


def widens(widener: Callable[[Scope], Scope]) -> Callable[[Scope], Scope]:
    WIDENERS.append(widener)
    return widener


def widen(scope: Scope) -> Scope:
    """SCOPE plus the suppliers whose chained factors depend on it (a partial recompute only)."""
    if scope.supplier_ids is None:
        return scope
    for widener in WIDENERS:
        scope = widener(scope)
    return scope


def load_evidence(scope: Scope, today: datetime.date) -> dict[str, Mapping[int, Any]]:
    """Every loader a registered factor needs, each run once for the whole scope."""
    wanted = {need for f in FACTORS.values() for need in f.needs}
    return {name: LOADERS[name](scope, today) for name in sorted(wanted)}


def evaluate(evidence_of: Mapping[str, Any], settings: Mapping[str, Any], today: datetime.date, *,
             chained: bool) -> list[dict[str, Any]]:
    """The factors of one supplier, own (CHAINED False) or chained: {"name", "contribution",
    "params"} each, contributions rounded to 0.01."""
    found = []
    for f in FACTORS.values():
        if f.chained != chained:
            continue
        result = f.evaluate(evidence_of, settings, today)
        if result is None:
            continue
        contribution, params = result
        value = round(max(0.0, contribution), 2)
        found.append({"name": f.name, "contribution": float(Decimal(str(value))), "params": params})
    return found


def combine(found: list[Mapping[str, Any]]) -> int:
    """1 + the contributions, rounded half up, 1–5."""
    total = sum((Decimal(str(f["contribution"])) for f in found), Decimal(0))
    value = int((Decimal(1) + total).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(1, min(5, value))


def own_likelihood(found: list[Mapping[str, Any]]) -> int:
    """The likelihood of stored FOUND factors without the chained ones."""
    return combine([f for f in found if not (f["name"] in FACTORS and FACTORS[f["name"]].chained)])


def likelihood(evidence_of: Mapping[str, Any], settings: Mapping[str, Any], today: datetime.date
               ) -> tuple[int, list[dict[str, Any]]]:
    """(likelihood 1–5, factors) of one supplier; EVIDENCE_OF maps a loader name to its evidence
    (and OWN_LIKELIHOOD to the own likelihoods chained factors read, when there are any)."""
    found = evaluate(evidence_of, settings, today, chained=False)
    found += evaluate(evidence_of, settings, today, chained=True)
    return combine(found), found


def describe(name: str, params: Mapping[str, Any]) -> str:
    f = FACTORS.get(name)
    return f.describe(params) if f else name


def label(name: str) -> str:
    f = FACTORS.get(name)
    return str(f.label) if f else name


# --- Evidence loaders -------------------------------------------------------------------------


@dataclass(frozen=True)
class LatestAssessment:
    pk: int
    status: str
    submitted_at: datetime.datetime | None
    score: float | None
    critical_failures: tuple[str, ...]


@evidence("assessment")
def latest_assessments(scope: Scope, today: datetime.date) -> dict[int, LatestAssessment]:
    """The most recent submitted or approved assessment per supplier (one query)."""
    from renkei.questionnaires.choices import AssessmentStatus
    from renkei.questionnaires.models import Assessment

    rows = (
        scope.restrict(Assessment.objects.all())
        .filter(status__in=[AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED],
                submitted_at__isnull=False)
        .order_by("supplier_id", "submitted_at", "pk")
        .values_list("supplier_id", "pk", "status", "submitted_at", "score", "critical_failures")
    )
    latest: dict[int, LatestAssessment] = {}
    for supplier_id, pk, status, submitted_at, score, failures in rows.iterator(chunk_size=5000):
        latest[supplier_id] = LatestAssessment(
            pk, status, submitted_at, None if score is None else float(score), tuple(failures or ()))
    return latest


@evidence("certifications")
def certifications(scope: Scope, today: datetime.date) -> dict[int, list[tuple[str, datetime.date | None]]]:
    """(kind, expiry) of every certification per supplier (one query)."""
    from renkei.suppliers.models import Certification

    found: dict[int, list[tuple[str, datetime.date | None]]] = {}
    rows = scope.restrict(Certification.objects.all()).values_list("supplier_id", "kind", "expires_on")
    for supplier_id, kind, expires_on in rows.iterator(chunk_size=5000):
        found.setdefault(supplier_id, []).append((kind, expires_on))
    return found


# --- Factors ----------------------------------------------------------------------------------


def _describe_gaps(params: Mapping[str, Any]) -> str:
    if params.get("score") is None:
        return _("No submitted questionnaire: gaps unknown")
    text = _("Questionnaire #%(pk)s scored %(score)s / 100 (× counts fully, △ half)") % {
        "pk": params.get("assessment"), "score": params["score"]}
    if params.get("remediated"):
        text += " " + _("%(n)s × answers fixed by verified remediation count as ○.") % {
            "n": params["remediated"]}
    return text


@factor("questionnaire_gaps", gettext_lazy("Questionnaire gaps"), needs=("assessment", "remediated"),
        describe=_describe_gaps)
def questionnaire_gaps(evidence_of: Mapping[str, Any], settings: Mapping[str, Any],
                       today: datetime.date) -> tuple[float, dict] | None:
    latest: LatestAssessment | None = evidence_of.get("assessment")
    if latest is None or latest.score is None:
        return settings["unknown_questionnaire_gap"], {"score": None}
    fixed = remediated_items(evidence_of, latest)
    # A × fixed by a verified action counts as ○: its share of the weighted score is added back.
    effective = min(100.0, latest.score + 100 * sum(fixed.values()))
    gap = (100 - effective) / 100
    params: dict[str, Any] = {"assessment": latest.pk, "score": latest.score}
    if fixed:
        params["remediated"] = len(fixed)
    return gap * settings["questionnaire_gap_weight"], params


def _describe_critical(params: Mapping[str, Any]) -> str:
    return _("Critical items not done: %(items)s") % {"items": ", ".join(params.get("items", []))}


@factor("critical_items", gettext_lazy("Critical items"), needs=("assessment", "remediated"),
        describe=_describe_critical)
def critical_items(evidence_of: Mapping[str, Any], settings: Mapping[str, Any],
                   today: datetime.date) -> tuple[float, dict] | None:
    latest: LatestAssessment | None = evidence_of.get("assessment")
    if latest is None or not latest.critical_failures:
        return None
    fixed = remediated_items(evidence_of, latest)
    failures = [item for item in latest.critical_failures if item not in fixed]
    if not failures:
        return None
    count = len(failures)
    value = min(settings["critical_failure_max"], settings["critical_failure"] * count)
    return value, {"assessment": latest.pk, "items": failures}


def _describe_certifications(params: Mapping[str, Any]) -> str:
    labels = dict(CertificationKind.choices)
    if params.get("expired"):
        return _("Certification expired: %(kinds)s") % {
            "kinds": "、".join(str(labels.get(k, k)) for k in params["expired"])}
    return _("No third-party security certification on record")


@factor("certifications", gettext_lazy("Certifications"), needs=("certifications",),
        describe=_describe_certifications)
def missing_certifications(evidence_of: Mapping[str, Any], settings: Mapping[str, Any],
                           today: datetime.date) -> tuple[float, dict] | None:
    kinds = set(settings["certification_kinds"])
    held = [(k, e) for k, e in evidence_of.get("certifications") or () if k in kinds]
    if any(e is None or e >= today for _k, e in held):
        return None
    if held:
        return settings["expired_certification"], {"expired": sorted({k for k, _e in held})}
    return settings["missing_certification"], {}


def _describe_age(params: Mapping[str, Any]) -> str:
    if params.get("days") is None:
        return _("Never assessed")
    return _("Last questionnaire submitted %(days)s days ago") % {"days": params["days"]}


@factor("assessment_age", gettext_lazy("Age of the last assessment"), needs=("assessment",),
        describe=_describe_age)
def assessment_age(evidence_of: Mapping[str, Any], settings: Mapping[str, Any],
                   today: datetime.date) -> tuple[float, dict] | None:
    latest: LatestAssessment | None = evidence_of.get("assessment")
    if latest is None or latest.submitted_at is None:
        return settings["no_assessment"], {"days": None}
    days = (today - latest.submitted_at.date()).days
    if days > settings["assessment_stale_days"]:
        return settings["very_stale_assessment"], {"days": days}
    if days > settings["assessment_fresh_days"]:
        return settings["stale_assessment"], {"days": days}
    return None


# Remediation (renkei.remediation): overdue actions raise likelihood; verified actions that fix a
# × answer of the latest assessment offset that gap (questionnaire_gaps and critical_items below).
# Weights: likelihood.overdue_action and overdue_action_max of the settings (defaults below).
OVERDUE_ACTION = 0.25
OVERDUE_ACTION_MAX = 1.0


@evidence("overdue_actions")
def overdue_actions(scope: Scope, today: datetime.date) -> dict[int, int]:
    """Open or in-progress actions past their due date, counted per supplier (one query)."""
    from django.db.models import Count

    from renkei.remediation.models import Action, ActionStatus, PlanStatus

    rows = (scope.restrict(Action.objects.all(), "plan__supplier")
            .filter(status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS], due_on__lt=today)
            .exclude(plan__status=PlanStatus.CANCELLED)
            .order_by().values("plan__supplier_id").annotate(n=Count("pk")))
    return {row["plan__supplier_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Remediated:
    """× answers of one assessment fixed by verified actions: {item id: share of the score}."""

    assessment: int
    items: Mapping[str, float]


@evidence("remediated")
def remediated_answers(scope: Scope, today: datetime.date) -> dict[int, list[Remediated]]:
    """Per supplier, the × answers (still ×) that a verified action linked to their risk fixed,
    with each item's share of its assessment's weighted score: weight ÷ the weights of the
    assessment's scored answers. One query (the share is a correlated subquery)."""
    from django.db.models import DecimalField, Exists, OuterRef, Subquery, Sum

    from renkei.questionnaires.choices import SCORED_TYPES, AnswerType
    from renkei.questionnaires.models import Answer
    from renkei.remediation.models import Action, ActionStatus

    still_cross = Answer.objects.filter(
        assessment_id=OuterRef("risk__assessment_id"), item_id=OuterRef("risk__item_id"),
        item__answer_type=AnswerType.TRI_STATE, not_applicable=False, value="not_done")
    weights = (Answer.objects.filter(assessment_id=OuterRef("risk__assessment_id"), not_applicable=False,
                                     value__isnull=False, item__answer_type__in=sorted(SCORED_TYPES),
                                     item__weight__gt=0)
               .order_by().values("assessment_id").annotate(total=Sum("item__weight")).values("total"))
    rows = (scope.restrict(Action.objects.all(), "plan__supplier")
            .filter(status=ActionStatus.VERIFIED, risk__assessment__isnull=False, risk__item__isnull=False)
            .filter(Exists(still_cross))
            .annotate(total=Subquery(weights, output_field=DecimalField(max_digits=12, decimal_places=2)))
            .order_by().values_list("plan__supplier_id", "risk__assessment_id", "risk__item__item_id",
                                    "risk__item__weight", "total")
            .distinct())
    grouped: dict[int, dict[int, dict[str, float]]] = {}
    for supplier_id, assessment_id, item_id, weight, total in rows:
        share = float(weight) / float(total) if total else 0.0
        grouped.setdefault(supplier_id, {}).setdefault(assessment_id, {})[item_id] = share
    return {supplier_id: [Remediated(pk, items) for pk, items in by_assessment.items()]
            for supplier_id, by_assessment in grouped.items()}


def remediated_items(evidence_of: Mapping[str, Any], latest: LatestAssessment | None) -> Mapping[str, float]:
    """The fixed × items of LATEST (item id -> share), from the `remediated` evidence."""
    if latest is None:
        return {}
    for found in evidence_of.get("remediated") or ():
        if found.assessment == latest.pk:
            return found.items
    return {}


@factor("overdue_remediation", gettext_lazy("Overdue remediation"), needs=("overdue_actions",),
        describe=lambda params: _("%(n)s remediation actions overdue") % {"n": params.get("count", 0)})
def overdue_remediation(evidence_of: Mapping[str, Any], settings: Mapping[str, Any],
                        today: datetime.date) -> tuple[float, dict] | None:
    count = evidence_of.get("overdue_actions") or 0
    if not count:
        return None
    per = settings.get("overdue_action", OVERDUE_ACTION)
    return min(settings.get("overdue_action_max", OVERDUE_ACTION_MAX), per * count), {"count": count}


# Incidents (renkei.incidents): every incident of the supplier we became aware of within the last
# likelihood.incident_window_days days counts, high and critical ones more (incident_high), up to
# incident_max. The loader reads the longest window the settings accept, so the factor stays a pure
# function of the evidence and the organization's settings (one query, whatever the window).
INCIDENT = 0.5
INCIDENT_HIGH = 1.0
INCIDENT_MAX = 1.5
INCIDENT_WINDOW_DAYS = 365
INCIDENT_LOOKBACK_DAYS = 3650  # the longest incident_window_days renkei.risk.config accepts
INCIDENT_NUMBERS_SHOWN = 5
HIGH_SEVERITIES = frozenset({"high", "critical"})


@dataclass(frozen=True)
class RecentIncident:
    number: str
    aware_on: datetime.date  # in the installation's time zone
    high: bool


@evidence("incidents")
def recent_incidents_evidence(scope: Scope, today: datetime.date) -> dict[int, list[RecentIncident]]:
    """The supplier's incidents of the last INCIDENT_LOOKBACK_DAYS days, latest first (one query)."""
    from django.utils import timezone

    from renkei.incidents.models import Incident

    since = timezone.make_aware(datetime.datetime.combine(
        today - datetime.timedelta(days=INCIDENT_LOOKBACK_DAYS), datetime.time.min))
    rows = (scope.restrict(Incident.objects.filter(supplier__isnull=False))
            .filter(aware_at__gte=since)
            .order_by("supplier_id", "-aware_at", "-pk")
            .values_list("supplier_id", "number", "aware_at", "severity"))
    found: dict[int, list[RecentIncident]] = {}
    for supplier_id, number, aware_at, severity in rows.iterator(chunk_size=5000):
        found.setdefault(supplier_id, []).append(
            RecentIncident(number, timezone.localdate(aware_at), severity in HIGH_SEVERITIES))
    return found


def _describe_incidents(params: Mapping[str, Any]) -> str:
    text = _("Incidents in the last %(days)s days: %(n)s (high or critical: %(high)s)") % {
        "n": params.get("count", 0), "days": params.get("days", INCIDENT_WINDOW_DAYS),
        "high": params.get("high", 0)}
    if params.get("numbers"):
        text += ": " + "、".join(params["numbers"])
    return text


@factor("recent_incidents", gettext_lazy("Recent incidents"), needs=("incidents",),
        describe=_describe_incidents)
def recent_incidents(evidence_of: Mapping[str, Any], settings: Mapping[str, Any],
                     today: datetime.date) -> tuple[float, dict] | None:
    window = settings.get("incident_window_days", INCIDENT_WINDOW_DAYS)
    recent = [i for i in evidence_of.get("incidents") or () if (today - i.aware_on).days <= window]
    if not recent:
        return None
    high = sum(1 for i in recent if i.high)
    weight = (high * settings.get("incident_high", INCIDENT_HIGH)
              + (len(recent) - high) * settings.get("incident", INCIDENT))
    params = {"count": len(recent), "high": high, "days": window,
              "numbers": [i.number for i in recent[:INCIDENT_NUMBERS_SHOWN]]}
    return min(settings.get("incident_max", INCIDENT_MAX), weight), params


# --- Contract clauses (renkei.oversight.checklist) ------------------------------------------------


@evidence("contract_clauses")
def contract_clauses_evidence(scope: Scope, today: datetime.date) -> Mapping[int, Any]:
    """Required clauses the supplier's current contracts lack, per supplier (two queries)."""
    from renkei.oversight.checklist import contract_clause_gaps

    return contract_clause_gaps(scope, today)


def _describe_contract_clauses(params: Mapping[str, Any]) -> str:
    from renkei.oversight.checklist import clause_label

    return _("Contracts lack clauses criticality %(criticality)s requires: %(clauses)s") % {
        "criticality": params.get("criticality"),
        "clauses": "、".join(clause_label(c) for c in params.get("clauses", []))}


@factor("contract_clauses", gettext_lazy("Missing contract clauses"), needs=("contract_clauses",),
        describe=_describe_contract_clauses)
def contract_clauses(evidence_of: Mapping[str, Any], settings: Mapping[str, Any],
                     today: datetime.date) -> tuple[float, dict] | None:
    gaps = evidence_of.get("contract_clauses")
    if gaps is None or not gaps.missing:
        return None
    clauses = gaps.clauses  # each clause counts once, however many contracts lack it
    value = min(settings["missing_contract_clause_max"], settings["missing_contract_clause"] * len(clauses))
    return value, {"criticality": gaps.criticality, "clauses": clauses}
