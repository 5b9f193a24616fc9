"""The built-in attention sources (docs/monitoring.md lists them in attention order).

Each runs one query (or two) for the whole organization. Keys carry what makes a recurrence a new
alert: a certification's expiry date, an action's or assessment's due date, the day of a level
change; so a renewed certificate expiring again next year raises a new alert.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkei.monitoring.sources import Condition, Context, attention_source
from renkei.questionnaires.choices import ANSWERABLE_STATUSES
from renkei.risk.choices import LEVEL_RANK, Level
from renkei.suppliers.choices import CertificationKind

EXPIRING_FAR = 90
EXPIRING_NEAR = 30
# A level change stays on the list this long (or until acknowledged, or the level moves again).
LEVEL_CHANGE_DAYS = 30

# Ranks: lower is looked at first (see docs/monitoring.md).
RANK_CRITICAL_GAP = 10
RANK_LEVEL_RAISED_HIGH = 20
RANK_ACTION_OVERDUE_HIGH = 30
RANK_ACCEPTANCE_EXPIRED = 40
RANK_LEVEL_RAISED = 45
RANK_CERT_30 = 50
RANK_ASSESSMENT_OVERDUE = 60
RANK_ACTION_OVERDUE = 70
RANK_CERT_90 = 75
RANK_STALE = 80
RANK_LEVEL_LOWERED = 90


def _supplier_tab(tab: str) -> Any:
    def link(params: Mapping[str, Any], supplier_id: int | None) -> str:
        if supplier_id is None:
            return ""
        return f"{reverse('suppliers:detail', args=[supplier_id])}?tab={tab}"
    return link


def _level_label(level: str) -> str:
    return str(dict(Level.choices).get(level, level))


def _days(params: Mapping[str, Any], key: str) -> datetime.date:
    return datetime.date.fromisoformat(params[key])


# --- Critical-level suppliers with critical items not done -----------------------------------


def _describe_critical_gap(params: Mapping[str, Any]) -> str:
    return _("Critical level, with critical items not done: %(items)s") % {
        "items": ", ".join(params.get("items", []))}


@attention_source("critical_gap", gettext_lazy("Critical supplier with critical items not done"),
                  rank=RANK_CRITICAL_GAP, describe=_describe_critical_gap, link=_supplier_tab("risk"))
def critical_gaps(ctx: Context) -> Iterable[Condition]:
    from renkei.risk.models import SupplierRisk

    for supplier_id, factors in SupplierRisk.objects.filter(
            organization_id=ctx.organization_id, level=Level.CRITICAL).values_list("supplier_id", "factors"):
        for found in factors:
            if found.get("name") == "critical_items" and found.get("contribution", 0) > 0:
                items = list(found.get("params", {}).get("items", []))
                yield Condition(f"critical_gap:{supplier_id}", supplier_id, {"items": items})


# --- Risk level changes ------------------------------------------------------------------------


def _describe_level(params: Mapping[str, Any]) -> str:
    return _("Risk level changed from %(before)s to %(after)s") % {
        "before": _level_label(params["from"]), "after": _level_label(params["to"])}


@attention_source("level_changed", gettext_lazy("Risk level changed"), rank=RANK_LEVEL_RAISED,
                  describe=_describe_level, link=_supplier_tab("risk"))
def level_changes(ctx: Context) -> Iterable[Condition]:
    """Today's stored level against the organization's previous snapshot day (before today); a
    change stays listed for LEVEL_CHANGE_DAYS while the level stays where it moved to."""
    from django.db.models import Max

    from renkei.monitoring.models import Alert
    from renkei.risk.models import RiskSnapshot

    levels = ctx.levels
    previous_day = RiskSnapshot.objects.filter(
        organization_id=ctx.organization_id, day__lt=ctx.today).aggregate(day=Max("day"))["day"]
    if previous_day is not None:
        for supplier_id, before in RiskSnapshot.objects.filter(
                organization_id=ctx.organization_id, day=previous_day).values_list(
                "supplier_id", "level").iterator(chunk_size=5000):
            now = levels.get(supplier_id)
            if now is None or now[0] == before:
                continue
            yield _level_condition(supplier_id, before, now[0], ctx.today)
    # Earlier changes still standing (run on earlier days).
    oldest = ctx.today - datetime.timedelta(days=LEVEL_CHANGE_DAYS)
    for supplier_id, params in Alert.objects.filter(
            organization_id=ctx.organization_id, kind="level_changed", resolved_at__isnull=True,
            raised_on__gt=oldest, raised_on__lt=ctx.today).values_list("supplier_id", "params"):
        now = levels.get(supplier_id)
        if now is not None and now[0] == params.get("to"):
            yield _level_condition(supplier_id, params["from"], params["to"],
                                   datetime.date.fromisoformat(params["on"]))


def _level_condition(supplier_id: int, before: str, after: str, day: datetime.date) -> Condition:
    up = LEVEL_RANK[after] > LEVEL_RANK[before]
    if not up:
        rank = RANK_LEVEL_LOWERED
    elif LEVEL_RANK[after] >= LEVEL_RANK[Level.HIGH]:
        rank = RANK_LEVEL_RAISED_HIGH
    else:
        rank = RANK_LEVEL_RAISED
    return Condition(f"level_changed:{supplier_id}:{day.isoformat()}", supplier_id,
                     {"from": before, "to": after, "on": day.isoformat()}, rank=rank)


# --- Overdue remediation actions ---------------------------------------------------------------


def _describe_action(params: Mapping[str, Any]) -> str:
    return _("Action “%(title)s” was due %(due)s") % {"title": params["title"], "due": params["due"]}


@attention_source("action_overdue", gettext_lazy("Overdue remediation action"), rank=RANK_ACTION_OVERDUE,
                  describe=_describe_action, link=_supplier_tab("remediation"))
def overdue_actions(ctx: Context) -> Iterable[Condition]:
    from renkei.remediation.models import Action, ActionStatus

    levels = ctx.levels
    for pk, supplier_id, title, due in Action.objects.filter(
            plan__organization_id=ctx.organization_id, due_on__lt=ctx.today,
            status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS]).values_list(
            "pk", "plan__supplier_id", "title", "due_on").iterator(chunk_size=5000):
        rated = levels.get(supplier_id)
        high = rated is not None and rated[1] >= LEVEL_RANK[Level.HIGH]
        yield Condition(f"action_overdue:{pk}:{due.isoformat()}", supplier_id,
                        {"action": pk, "title": title[:200], "due": due.isoformat()},
                        rank=RANK_ACTION_OVERDUE_HIGH if high else RANK_ACTION_OVERDUE)


# --- Expired risk acceptances ------------------------------------------------------------------


def _describe_acceptance(params: Mapping[str, Any]) -> str:
    return _("Acceptance of the risk “%(title)s” expired on %(date)s") % {
        "title": params["title"], "date": params["expires"]}


def _acceptance_link(params: Mapping[str, Any], supplier_id: int | None) -> str:
    return reverse("register:detail", args=[params["risk"]])


@attention_source("acceptance_expired", gettext_lazy("Expired risk acceptance"), rank=RANK_ACCEPTANCE_EXPIRED,
                  describe=_describe_acceptance, link=_acceptance_link)
def expired_acceptances(ctx: Context) -> Iterable[Condition]:
    from renkei.risk.register import expired_acceptances as expired

    for pk, risk_id, supplier_id, title, expires in expired(ctx.organization_id, ctx.today).values_list(
            "pk", "risk_id", "risk__supplier_id", "risk__title", "expires_on"):
        yield Condition(f"acceptance_expired:{pk}:{expires.isoformat()}", supplier_id,
                        {"acceptance": pk, "risk": risk_id, "title": title[:200],
                         "expires": expires.isoformat()})


# --- Certifications expiring -----------------------------------------------------------------


def _describe_certification(params: Mapping[str, Any]) -> str:
    kind = str(dict(CertificationKind.choices).get(params["kind"], params["kind"]))
    name = f"{kind} {params['name']}".strip() if params.get("name") else kind
    return _("%(certification)s expires on %(date)s") % {"certification": name, "date": params["expires"]}


def _latest_expiry(ctx: Context) -> dict[tuple[int, str], datetime.date]:
    """{(supplier, kind): the latest expiry on record} for certifications still valid today, one
    GROUP BY shared by both windows: a certificate with a later one of its kind was renewed."""
    from django.db.models import Max

    from renkei.suppliers.models import Certification

    cached = getattr(ctx, "_latest_expiry", None)
    if cached is None:
        cached = {(supplier_id, kind): latest for supplier_id, kind, latest in Certification.objects.filter(
            supplier__organization_id=ctx.organization_id, expires_on__gte=ctx.today).order_by()
            .values_list("supplier_id", "kind").annotate(latest=Max("expires_on")).iterator(chunk_size=5000)}
        ctx._latest_expiry = cached  # type: ignore[attr-defined]
    return cached


def _certifications(ctx: Context, nearest: int, farthest: int, kind: str) -> Iterable[Condition]:
    from renkei.suppliers.models import Certification

    latest = _latest_expiry(ctx)
    rows = Certification.objects.filter(
        supplier__organization_id=ctx.organization_id,
        expires_on__gte=ctx.today + datetime.timedelta(days=nearest),
        expires_on__lte=ctx.today + datetime.timedelta(days=farthest),
    ).values_list("pk", "supplier_id", "kind", "name", "expires_on")
    for pk, supplier_id, cert_kind, name, expires in rows.iterator(chunk_size=5000):
        if latest.get((supplier_id, cert_kind), expires) > expires:
            continue  # renewed: a later certificate of the same kind is on record
        yield Condition(f"{kind}:{pk}:{expires.isoformat()}", supplier_id,
                        {"certification": pk, "kind": cert_kind, "name": name[:100],
                         "expires": expires.isoformat()})


@attention_source("certification_expiring_30", gettext_lazy("Certification expiring within 30 days"),
                  rank=RANK_CERT_30, describe=_describe_certification,
                  link=_supplier_tab("certifications"))
def certifications_expiring_soon(ctx: Context) -> Iterable[Condition]:
    return _certifications(ctx, 0, EXPIRING_NEAR, "certification_expiring_30")


@attention_source("certification_expiring_90", gettext_lazy("Certification expiring within 90 days"),
                  rank=RANK_CERT_90, describe=_describe_certification,
                  link=_supplier_tab("certifications"))
def certifications_expiring(ctx: Context) -> Iterable[Condition]:
    return _certifications(ctx, EXPIRING_NEAR + 1, EXPIRING_FAR, "certification_expiring_90")


# --- Assessments -------------------------------------------------------------------------------


def _describe_overdue_assessment(params: Mapping[str, Any]) -> str:
    return _("Questionnaire #%(id)s (%(template)s) was due %(due)s and is not submitted") % {
        "id": params["assessment"], "template": params["template"], "due": params["due"]}


def _assessment_link(params: Mapping[str, Any], supplier_id: int | None) -> str:
    return reverse("questionnaires:assessment-detail", args=[params["assessment"]])


@attention_source("assessment_overdue", gettext_lazy("Overdue questionnaire"), rank=RANK_ASSESSMENT_OVERDUE,
                  describe=_describe_overdue_assessment, link=_assessment_link)
def overdue_assessments(ctx: Context) -> Iterable[Condition]:
    from renkei.questionnaires.models import Assessment

    for pk, supplier_id, key, due in Assessment.objects.filter(
            organization_id=ctx.organization_id, status__in=list(ANSWERABLE_STATUSES),
            due_on__lt=ctx.today).values_list("pk", "supplier_id", "template__key", "due_on").iterator(
            chunk_size=5000):
        yield Condition(f"assessment_overdue:{pk}:{due.isoformat()}", supplier_id,
                        {"assessment": pk, "template": key, "due": due.isoformat()})


def _describe_stale(params: Mapping[str, Any]) -> str:
    if params.get("assessed"):
        return _("Last questionnaire submitted %(since)s; %(level)s suppliers are reassessed every "
                 "%(months)s months") % {"since": params["since"], "level": _level_label(params["level"]),
                                         "months": params["months"]}
    return _("Never assessed since registration on %(since)s; %(level)s suppliers are assessed every "
             "%(months)s months") % {"since": params["since"], "level": _level_label(params["level"]),
                                     "months": params["months"]}


@attention_source("assessment_stale", gettext_lazy("Reassessment due"), rank=RANK_STALE,
                  describe=_describe_stale, link=_supplier_tab("assessments"))
def stale_assessments(ctx: Context) -> Iterable[Condition]:
    """Suppliers past their cadence without a newer submitted questionnaire (whether or not the
    reassessment was already sent)."""
    from renkei.monitoring.cadence import describe_due

    for supplier_id, due in ctx.cadence.items():
        if due.due_day <= ctx.today:
            yield Condition(f"assessment_stale:{supplier_id}:{due.due_day.isoformat()}", supplier_id,
                            describe_due(due))
