"""The contract checklist: which security clauses each contract needs, and which it lacks.

The clauses a supplier's contracts must carry depend on its 重要度 (criticality, from impact) and
the organization's settings (`contracts` in renkei.risk.config): confidentiality (NDA), security
clauses, approval of re-outsourcing, audit right, incident notification within a set number of
hours, and return and deletion of data at the end. Every *current* contract is checked on its own:
one that has not ended (no end date, or ending today or later). A contract that lacks a clause
stays listed until it is renewed with the clause (a new term: change the end date and the clause,
or add the renewed contract; the old one drops out the day after it ends).

Three readers: the likelihood factor (`contract_clause_gaps`, set-based for a recompute scope, the
criticality computed fresh from the profile), and the checklist page, API, CLI and attention list
(`checklist_rows`, SQL over the stored SupplierRisk criticality so filters and pagination work).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from renkei.risk.config import CONTRACT_CLAUSES
from renkei.suppliers.choices import ReOutsourcing
from renkei.suppliers.models import Contract, Supplier

CLAUSE_LABELS = {
    "nda": _("Confidentiality (NDA)"),
    "security": _("Security clauses"),
    "re_outsourcing": _("Approval of re-outsourcing"),
    "audit_right": _("Audit right"),
    "incident_notification": _("Incident notification in time"),
    "data_return": _("Return and deletion of data at the end"),
}
RE_OUTSOURCING_CONTROLLED = (ReOutsourcing.PROHIBITED, ReOutsourcing.WITH_APPROVAL)
CONTRACT_FIELDS = (
    "has_nda",
    "has_security_clause",
    "re_outsourcing",
    "has_audit_right",
    "has_incident_notification",
    "incident_notification_hours",
    "has_data_return",
)


def clause_label(clause: str) -> str:
    return str(CLAUSE_LABELS.get(clause, clause))


def present_clauses(values: Mapping[str, Any], max_hours: int) -> set[str]:
    """The clauses a contract (its CONTRACT_FIELDS values) carries."""
    found = set()
    if values["has_nda"]:
        found.add("nda")
    if values["has_security_clause"]:
        found.add("security")
    if values["re_outsourcing"] in RE_OUTSOURCING_CONTROLLED:
        found.add("re_outsourcing")
    if values["has_audit_right"]:
        found.add("audit_right")
    hours = values["incident_notification_hours"]
    if values["has_incident_notification"] and hours is not None and hours <= max_hours:
        found.add("incident_notification")
    if values["has_data_return"]:
        found.add("data_return")
    return found


def required_clauses(contracts_config: Mapping[str, Any], criticality: int | None) -> list[str]:
    if criticality is None:
        return []
    return list(contracts_config["required"].get(str(criticality), []))


def missing_clauses_of(
    values: Mapping[str, Any], contracts_config: Mapping[str, Any], criticality: int | None
) -> list[str]:
    present = present_clauses(values, contracts_config["incident_notification_hours"])
    return [c for c in required_clauses(contracts_config, criticality) if c not in present]


def current(queryset: QuerySet, today: datetime.date, prefix: str = "") -> QuerySet:
    return queryset.filter(Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": today}))


def absent_q(clause: str, max_hours: int) -> Q:
    """Contracts that lack CLAUSE, as a filter."""
    if clause == "nda":
        return Q(has_nda=False)
    if clause == "security":
        return Q(has_security_clause=False)
    if clause == "re_outsourcing":
        return ~Q(re_outsourcing__in=RE_OUTSOURCING_CONTROLLED)
    if clause == "audit_right":
        return Q(has_audit_right=False)
    if clause == "incident_notification":
        return (
            Q(has_incident_notification=False)
            | Q(incident_notification_hours__isnull=True)
            | Q(incident_notification_hours__gt=max_hours)
        )
    return Q(has_data_return=False)


def missing_q(contracts_config: Mapping[str, Any], clause: str | None = None) -> Q:
    """Contracts (annotated with `criticality`) lacking CLAUSE (any required clause when None)
    that their supplier's criticality requires."""
    clauses = [clause] if clause else list(CONTRACT_CLAUSES)
    condition = Q(pk__in=[])
    for name in clauses:
        tiers = [int(t) for t, names in contracts_config["required"].items() if name in names]
        if tiers:
            condition |= absent_q(name, contracts_config["incident_notification_hours"]) & Q(
                criticality__in=tiers
            )
    return condition


# --- The likelihood factor's evidence ----------------------------------------------------------


@dataclass(frozen=True)
class ClauseGaps:
    criticality: int
    # (contract id, clause) for every required clause a current contract lacks.
    missing: tuple[tuple[int, str], ...]

    @property
    def clauses(self) -> list[str]:
        return [c for c in CONTRACT_CLAUSES if c in {clause for _pk, clause in self.missing}]


def contract_clause_gaps(scope: Any, today: datetime.date) -> dict[int, ClauseGaps]:
    """{supplier id: ClauseGaps} for every supplier of SCOPE with a current contract, in two
    queries (the settings; the contracts with their supplier's profile). The criticality is
    computed from the profile with the same rubric as the rating, so a changed profile and its
    clause requirements are rated in the same recompute."""
    from renkei.risk.impact import Profile, impact
    from renkei.risk.services import config_for, criticality_of

    config = config_for(scope.organization_id)
    contracts_config = config["contracts"]
    single_tags = list(config["impact"]["single_source_tags"])
    single = Value(False)
    if single_tags:
        single = Exists(
            Supplier.tags.through.objects.filter(
                supplier_id=OuterRef("supplier_id"), tag__name__in=single_tags
            )
        )
    rows = (
        current(scope.restrict(Contract.objects.all()), today)
        .annotate(single=single)
        .order_by("supplier_id", "pk")
        .values_list(
            "pk",
            "supplier_id",
            *CONTRACT_FIELDS,
            "supplier__personal_info_records",
            "supplier__data_classes",
            "supplier__export_controlled",
            "supplier__access_methods",
            "supplier__business_function",
            "supplier__chain_type",
            "single",
        )
    )
    found: dict[int, ClauseGaps] = {}
    criticalities: dict[int, int] = {}
    for row in rows.iterator(chunk_size=5000):
        pk, supplier_id = row[0], row[1]
        values = dict(zip(CONTRACT_FIELDS, row[2:9], strict=True))
        if supplier_id not in criticalities:
            records, classes, export, access, function, chain, is_single = row[9:]
            profile = Profile(
                records,
                tuple(classes),
                export,
                tuple(access),
                function,
                chain,
                frozenset(single_tags if is_single else ()),
            )
            criticalities[supplier_id] = criticality_of(config, impact(profile, config["impact"])[0])
        criticality = criticalities[supplier_id]
        gaps = found.get(supplier_id) or ClauseGaps(criticality, ())
        missing = tuple((pk, c) for c in missing_clauses_of(values, contracts_config, criticality))
        found[supplier_id] = ClauseGaps(criticality, gaps.missing + missing)
    return found


# --- Pages, API, CLI, attention ----------------------------------------------------------------


def checklist_queryset(contracts: QuerySet, today: datetime.date) -> QuerySet:
    """Current contracts (already restricted by for_user) with their supplier and its stored
    criticality (`criticality`, None before the first rating)."""
    return (
        current(contracts, today)
        .select_related("supplier")
        .annotate(criticality=F("supplier__risk__criticality"))
    )


def annotate_rows(contracts: Iterable[Contract], contracts_config: Mapping[str, Any]) -> list[Contract]:
    """Set `required`, `present`, `missing` and `clause_states` [(clause, label, state)] on each."""
    rows = list(contracts)
    max_hours = contracts_config["incident_notification_hours"]
    for contract in rows:
        values = {name: getattr(contract, name) for name in CONTRACT_FIELDS}
        criticality = getattr(contract, "criticality", None)
        contract.required = required_clauses(contracts_config, criticality)
        contract.present = present_clauses(values, max_hours)
        contract.missing = [c for c in contract.required if c not in contract.present]
        contract.clause_states = [(c, clause_label(c), _state(c, contract)) for c in CONTRACT_CLAUSES]
    return rows


def _state(clause: str, contract: Contract) -> str:
    if clause in contract.missing:
        return "missing"
    if clause in contract.present:
        return "present"
    return "absent"  # lacking, but not required at this criticality


def contract_data(contract: Contract) -> dict[str, Any]:
    """One contract's checklist (the API and `renkei oversight contracts --json`)."""
    return {
        "contract": contract.pk,
        "title": contract.title,
        "supplier": contract.supplier.code,
        "supplier_id": contract.supplier_id,
        "criticality": getattr(contract, "criticality", None),
        "ends_on": contract.ends_on.isoformat() if contract.ends_on else None,
        "required": list(contract.required),
        "present": [c for c in CONTRACT_CLAUSES if c in contract.present],
        "missing": list(contract.missing),
    }
