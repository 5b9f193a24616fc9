"""Computing and configuring supplier risk. Pages, API, CLI, signals and the nightly job call these.

`recompute(scope)` is set-based: one query for the settings, one for the supplier profiles, one
for single-source tags, one per evidence loader (renkei.risk.factors), then bulk upserts of
RECOMPUTE_BATCH rows. The number of queries does not grow with the number of suppliers (except
one upsert per batch). A partial recompute is first widened to the suppliers whose chained
factors depend on it (their subcontractors' likelihood, renkei.graph.inherited).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.risk import factors as factor_registry
from renkei.risk.choices import LEVEL_RANK
from renkei.risk.config import default_config, validate
from renkei.risk.factors import Scope
from renkei.risk.impact import Profile, impact
from renkei.risk.models import RiskSettings, SupplierRisk
from renkei.suppliers.models import Supplier

RECOMPUTE_BATCH = 2000
WRITTEN_COLUMNS = ["organization", "impact", "likelihood", "level", "level_rank", "criticality",
                   "impact_factors", "factors", "digest", "computed_at"]


class SettingsInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def config_for(organization_id: int) -> dict[str, Any]:
    """The organization's effective configuration (defaults when it has none)."""
    stored = RiskSettings.objects.filter(organization_id=organization_id).values_list(
        "config", flat=True).first()
    if not stored:
        return default_config()
    config, _errors = validate(stored)  # stored documents were valid; new keys take defaults
    return config


def level_of(config: dict[str, Any], impact_value: int, likelihood_value: int) -> str:
    return config["matrix"][likelihood_value - 1][impact_value - 1]


def criticality_of(config: dict[str, Any], impact_value: int) -> int:
    if impact_value >= config["criticality"]["1"]:
        return 1
    if impact_value >= config["criticality"]["2"]:
        return 2
    return 3


def recompute(scope: Scope, *, today: datetime.date | None = None) -> int:
    """Recompute and store the risk of every supplier in SCOPE. Returns the number stored."""
    today = today or timezone.localdate()
    scope = factor_registry.widen(scope)
    config = config_for(scope.organization_id)
    profiles = scope.restrict(Supplier.objects.all(), "").order_by().values_list(
        "pk", "personal_info_records", "data_classes", "export_controlled", "access_methods",
        "business_function", "chain_type")
    tags: dict[int, set[str]] = {}
    if config["impact"]["single_source_tags"]:
        links = scope.restrict(Supplier.tags.through.objects.all()).filter(
            tag__name__in=config["impact"]["single_source_tags"]).values_list("supplier_id", "tag__name")
        for supplier_id, name in links:
            tags.setdefault(supplier_id, set()).add(name)
    evidence = factor_registry.load_evidence(scope, today)
    stored = dict(scope.restrict(SupplierRisk.objects.all()).values_list("supplier_id", "digest"))
    now = timezone.now()
    weights = config["likelihood"]
    chained_needs = {n for f in factor_registry.FACTORS.values() if f.chained for n in f.needs}
    # First every supplier's own factors, then the chained ones, which read the own likelihoods.
    own: dict[int, int] = {}
    first = []
    count = 0
    for pk, records, classes, export, access, function, chain in profiles.iterator(chunk_size=5000):
        count += 1
        profile = Profile(records, tuple(classes), export, tuple(access), function, chain,
                          frozenset(tags.get(pk, ())))
        impact_value, reasons = impact(profile, config["impact"])
        found = factor_registry.evaluate(
            {name: by_supplier.get(pk) for name, by_supplier in evidence.items()}, weights, today,
            chained=False)
        own[pk] = factor_registry.combine(found)
        first.append((pk, impact_value, reasons, found))
    changed = []
    for pk, impact_value, reasons, own_found in first:
        evidence_of = {name: evidence[name].get(pk) for name in chained_needs}
        evidence_of[factor_registry.OWN_LIKELIHOOD] = own
        found = own_found + factor_registry.evaluate(evidence_of, weights, today, chained=True)
        likelihood_value = factor_registry.combine(found)
        level = level_of(config, impact_value, likelihood_value)
        row = (impact_value, likelihood_value, level, LEVEL_RANK[level],
               criticality_of(config, impact_value), reasons, found)
        digest = hashlib.blake2b(repr(row).encode(), digest_size=16).hexdigest()
        if stored.get(pk) != digest:
            changed.append((pk, row, digest))
    with transaction.atomic():
        _upsert(scope.organization_id, changed, now)
        # Unchanged rows were still recomputed now.
        scope.restrict(SupplierRisk.objects.all()).update(computed_at=now)
    return count


def _upsert(organization_id: int, changed: list[tuple[int, tuple, str]], now: datetime.datetime) -> None:
    """INSERT … ON CONFLICT DO UPDATE with executemany (SQLite ≥ 3.24 and PostgreSQL alike):
    one statement per RECOMPUTE_BATCH rows, without building model instances."""
    if not changed:
        return
    meta = SupplierRisk._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in ("supplier", *WRITTEN_COLUMNS)]
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns[1:])
    # Table and column names come from _meta, values are parameters.
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT ({quote(columns[0])}) DO UPDATE SET {updates}")
    json_field = meta.get_field("factors")
    stamp = meta.get_field("computed_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        for start in range(0, len(changed), RECOMPUTE_BATCH):
            params = [
                (pk, organization_id, *row[:5],
                 json_field.get_db_prep_value(row[5], connection),
                 json_field.get_db_prep_value(row[6], connection), digest, stamp)
                for pk, row, digest in changed[start:start + RECOMPUTE_BATCH]
            ]
            cursor.executemany(sql, params)


def recompute_organization(organization: Organization | int, *, today: datetime.date | None = None) -> int:
    org_id = organization if isinstance(organization, int) else organization.pk
    return recompute(Scope(org_id), today=today)


def recompute_suppliers(supplier_ids: Iterable[int], *, today: datetime.date | None = None) -> int:
    """Recompute some suppliers (after a change to them); grouped by organization."""
    by_org: dict[int, set[int]] = {}
    for pk, org_id in Supplier.objects.filter(pk__in=sorted(set(supplier_ids))).values_list(
            "pk", "organization_id"):
        by_org.setdefault(org_id, set()).add(pk)
    return sum(recompute(Scope(org, frozenset(ids)), today=today) for org, ids in by_org.items())


def recompute_all(*, today: datetime.date | None = None) -> dict[str, int]:
    """Every organization (the nightly job): {organization slug: suppliers computed}."""
    return {slug: recompute(Scope(pk), today=today)
            for pk, slug in Organization.objects.order_by("slug").values_list("pk", "slug")}


def save_settings(actor: Actor, organization: Organization, data: Any) -> RiskSettings:
    """Validate DATA, store it, record the change, and recompute the organization's suppliers."""
    config, errors = validate(data, organization_id=organization.pk)
    if errors:
        raise SettingsInvalid(errors)
    with transaction.atomic():
        settings_row, created = RiskSettings.objects.select_for_update().get_or_create(
            organization=organization, defaults={"config": config})
        before = None if created else {"config": settings_row.config}
        settings_row.config = config
        settings_row.save()
        action = AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE
        record(actor, action, settings_row, before, {"config": config})
        recompute(Scope(organization.pk))
    return settings_row


def risk_data(risk: SupplierRisk) -> dict[str, Any]:
    """The document of `renkei risk show --json` and of the API (keys may be added, never renamed)."""
    return {
        "supplier": risk.supplier.code,
        "impact": risk.impact,
        "likelihood": risk.likelihood,
        "level": risk.level,
        "level_label": str(risk.get_level_display()),
        "criticality": risk.criticality,
        "factors": [{"name": f["name"], "contribution": f["contribution"], "reason": f["reason"]}
                    for f in risk.factor_list()],
        "impact_factors": [{"name": r["name"], "level": r["level"], "reason": r["reason"]}
                           for r in risk.impact_list()],
        "computed_at": risk.computed_at.isoformat(),
    }


def config_json(config: dict[str, Any]) -> str:
    """The configuration as the settings page shows it: each list of plain values on one line
    (a matrix row, a [records, level] pair). JSON strings hold no raw newlines, so joining the
    lines inside such a list never changes a value."""
    text = json.dumps(config, ensure_ascii=False, indent=2)
    return re.sub(r"\[([^\[\]{}]*)\]",
                  lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)).strip() + "]", text)
