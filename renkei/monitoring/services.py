"""The daily monitoring job and the changes people make (acknowledging an alert).

`run_daily(today)` does, for every organization: create the reassessments that came due
(renkei.monitoring.cadence), bring the alerts up to date with every attention source
(renkei.monitoring.sources), write the day's RiskSnapshot rows and level counts (the trends);
then mail the reassessment invitations and the daily digests. Each step is set-based and
idempotent: run twice on one day, the second run changes nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.core.permissions import CHANGE
from renkei.monitoring import cadence, sources
from renkei.monitoring.models import Alert, PortfolioDay
from renkei.monitoring.sources import Context
from renkei.risk.choices import Level
from renkei.risk.models import RiskSnapshot, SupplierRisk

logger = logging.getLogger(__name__)

CHUNK = 500  # ids per UPDATE ... WHERE id IN (...): well under SQLite's variable limit


class NotAllowed(Exception):
    pass


def run_daily(today: datetime.date | None = None, *, organization: Organization | None = None,
              mail: bool = True) -> dict[str, Any]:
    """Everything the daily job does; returns counts per organization and for the mails."""
    today = today or timezone.localdate()
    now = timezone.now()
    organizations = [organization] if organization is not None else list(
        Organization.objects.order_by("slug"))
    result: dict[str, Any] = {"date": today.isoformat(), "organizations": {}}
    actor = Actor.system("monitoring")
    for org in organizations:
        ctx = Context(org.pk, today, now)
        created = cadence.create_due_assessments(ctx, actor)
        alerts = sync_alerts(ctx)
        snapshots = write_snapshots(org.pk, today)
        result["organizations"][org.slug] = {"reassessments": created.as_dict(), "alerts": alerts,
                                             "snapshots": snapshots}
    if mail:
        from renkei.monitoring.digest import send_digests

        org_id = organization.pk if organization is not None else None
        result["invitations"] = cadence.send_invitations(org_id)
        result["digests"] = send_digests(today, organization_id=org_id)
    return result


# --- Alerts --------------------------------------------------------------------------------------


def sync_alerts(ctx: Context) -> dict[str, int]:
    """Raise an alert for every new condition, resolve those whose condition ended, re-open one
    whose condition came back, and keep priorities in step with the suppliers' levels."""
    levels = ctx.levels
    wanted: dict[str, tuple[str, int | None, dict[str, Any], int]] = {}
    for source in sources.SOURCES.values():
        for condition in source.compute(ctx):
            rated = levels.get(condition.supplier_id) if condition.supplier_id else None
            rank = condition.rank if condition.rank is not None else source.rank
            wanted[condition.key] = (source.kind, condition.supplier_id, condition.params,
                                     sources.priority(rank, rated[1] if rated else None))
    open_rows = {key: (pk, priority) for key, pk, priority in Alert.objects.filter(
        organization_id=ctx.organization_id, resolved_at__isnull=True,
        kind__in=list(sources.SOURCES)).values_list("key", "pk", "priority").iterator(chunk_size=5000)}
    new_keys = [key for key in wanted if key not in open_rows]
    counts = {"raised": 0, "resolved": 0, "reopened": 0, "open": len(wanted)}
    with transaction.atomic():
        if new_keys:
            before = Alert.objects.filter(organization_id=ctx.organization_id).count()
            Alert.objects.bulk_create([
                Alert(organization_id=ctx.organization_id, kind=wanted[key][0], key=key,
                      supplier_id=wanted[key][1], params=wanted[key][2], priority=wanted[key][3],
                      raised_at=ctx.now, raised_on=ctx.today)
                for key in new_keys], batch_size=1000, ignore_conflicts=True)
            counts["raised"] = Alert.objects.filter(organization_id=ctx.organization_id).count() - before
            if counts["raised"] < len(new_keys):
                # Keys that existed, resolved: the condition came back.
                for start in range(0, len(new_keys), CHUNK):
                    counts["reopened"] += Alert.objects.filter(
                        organization_id=ctx.organization_id, resolved_at__isnull=False,
                        key__in=new_keys[start:start + CHUNK]).update(resolved_at=None)
        ended = [pk for key, (pk, _priority) in open_rows.items() if key not in wanted]
        for start in range(0, len(ended), CHUNK):
            counts["resolved"] += Alert.objects.filter(pk__in=ended[start:start + CHUNK]).update(
                resolved_at=ctx.now)
        moved = [Alert(pk=pk, priority=wanted[key][3]) for key, (pk, priority) in open_rows.items()
                 if key in wanted and wanted[key][3] != priority]
        if moved:
            Alert.objects.bulk_update(moved, ["priority"], batch_size=1000)
    return counts


def may_acknowledge(user: Any, alert: Alert) -> bool:
    return Alert.objects.for_user(user, CHANGE).filter(pk=alert.pk).exists()


def acknowledge(actor: Actor, alert: Alert) -> tuple[Alert, bool]:
    """Mark ALERT as seen by the actor (audited). It leaves the attention list but stays open
    until its condition ends. Returns (alert, whether this call acknowledged it)."""
    if actor.user is not None and not may_acknowledge(actor.user, alert):
        raise NotAllowed(_("You may not acknowledge this alert."))
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            return locked, False
        before = {"acknowledged_at": None, "acknowledged_by": None}
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor.user
        locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
        record(actor, AuditEntry.Action.UPDATE, locked, before,
               {"acknowledged_at": locked.acknowledged_at.isoformat(),
                "acknowledged_by": actor.user.pk if actor.user else None})
    return locked, True


def attention(queryset: Any) -> Any:
    """Open, unacknowledged alerts in the order to look at them."""
    return queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=True).order_by(
        "priority", "raised_at", "pk")


def alert_document(alert: Alert) -> dict[str, Any]:
    """One alert as `renkei monitoring alerts --json` and the API print it."""
    return {
        "id": alert.pk, "organization": alert.organization_id, "kind": alert.kind,
        "label": sources.label(alert.kind), "key": alert.key,
        "supplier": alert.supplier.code if alert.supplier_id else None,
        "supplier_id": alert.supplier_id, "reason": sources.describe(alert.kind, alert.params),
        "params": alert.params, "priority": alert.priority, "raised_at": alert.raised_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by_id else None,
    }


# --- Trends --------------------------------------------------------------------------------------


def write_snapshots(organization_id: int, today: datetime.date) -> int:
    """Upsert the day's RiskSnapshot of every rated supplier (one INSERT … SELECT … ON CONFLICT
    statement: nothing passes through Python) and the day's level counts."""
    snapshot_table = RiskSnapshot._meta.db_table
    risk_table = SupplierRisk._meta.db_table
    from renkei.questionnaires.models import Assessment

    assessment_table = Assessment._meta.db_table
    q = connection.ops.quote_name
    day = RiskSnapshot._meta.get_field("day").get_db_prep_value(today, connection)
    # Table names come from _meta; values are parameters. The latest submitted questionnaire's
    # score is the "score" of the trend.
    sql = (
        f"INSERT INTO {q(snapshot_table)} (supplier_id, organization_id, day, impact, likelihood, "  # noqa: S608
        f"level, score) SELECT r.supplier_id, r.organization_id, %s, r.impact, r.likelihood, r.level, "
        f"(SELECT a.score FROM {q(assessment_table)} a WHERE a.supplier_id = r.supplier_id "
        f"AND a.status IN ('submitted', 'approved') AND a.submitted_at IS NOT NULL "
        f"ORDER BY a.submitted_at DESC, a.id DESC LIMIT 1) "
        f"FROM {q(risk_table)} r WHERE r.organization_id = %s "
        f"ON CONFLICT (supplier_id, day) DO UPDATE SET impact = EXCLUDED.impact, "
        f"likelihood = EXCLUDED.likelihood, level = EXCLUDED.level, score = EXCLUDED.score, "
        f"organization_id = EXCLUDED.organization_id"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [day, organization_id])
            written = cursor.rowcount
        counts = dict(SupplierRisk.objects.filter(organization_id=organization_id).order_by()
                      .values_list("level").annotate(n=Count("pk")))
        PortfolioDay.objects.update_or_create(
            organization_id=organization_id, day=today,
            defaults={level.value: counts.get(level.value, 0) for level in Level})
    return max(written, 0)


def open_counts(queryset: Any) -> dict[str, int]:
    """{kind: open unacknowledged alerts} (one GROUP BY)."""
    rows = (queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=True).order_by()
            .values_list("kind").annotate(n=Count("pk")))
    return dict(rows)


def alerts_by_kind(alerts: list[Alert]) -> dict[str, list[Alert]]:
    grouped: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        grouped[alert.kind].append(alert)
    return grouped

