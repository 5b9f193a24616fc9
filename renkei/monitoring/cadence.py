"""Reassessment on the cadence (STEP 3: 定期的な再評価).

Each rated supplier is due again `min(months[level], tier_months[重要度])` months after its last
submitted assessment (any template; submitted or approved), or after its registration if it was
never assessed. On
the due day (or the first run after it) the daily job sends the template its 重要度 is configured
for, unless the supplier already has an open assessment of that template key (as campaigns do):
so an assessment is never created twice, however often the job runs. Creation is set-based: one
query for the schedule, one for the open assessments, bulk inserts of the assessments, their
Reassessment rows and the audit entries. The supplier's portal contacts then get the same
invitation mail as a campaign's (renkei.campaigns.services.render_assessment_mail), claimed once
per reassessment.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import smtplib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from renkei.accounts.models import Organization
from renkei.accounts.services import absolute_url
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.mail import send_notice
from renkei.monitoring.models import Reassessment
from renkei.monitoring.sources import Context
from renkei.questionnaires.assessments_services import latest_template
from renkei.questionnaires.choices import ANSWERABLE_STATUSES, OPEN_STATUSES, AssessmentStatus
from renkei.questionnaires.models import Assessment, Template
from renkei.questionnaires.services import lock_template
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.models import Supplier

logger = logging.getLogger(__name__)

COMPLETED = [AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED]
# A claim older than this without a sent mail is a worker that died mid-send: claim it again.
STALE_CLAIM = datetime.timedelta(hours=1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """DAY plus MONTHS calendar months; the 31st becomes the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Due:
    level: str
    criticality: int
    months: int
    basis_on: datetime.date  # the last submitted assessment, or the registration
    assessed: bool  # False: never assessed, counted from the registration
    due_day: datetime.date


def schedule(ctx: Context) -> dict[int, Due]:
    """{supplier id: Due} for every rated supplier of the organization (one query + the levels)."""
    months = ctx.config["cadence"]["months"]
    tier_months = ctx.config["cadence"]["tier_months"]
    levels = ctx.levels
    # Active suppliers only: a candidate is in selection (its intake questionnaire comes from
    # renkei.oversight), a rejected one is not a supplier.
    rows = (Supplier.objects.filter(organization_id=ctx.organization_id, status=SupplierStatus.ACTIVE)
            .order_by()
            .annotate(last=Max("assessments__submitted_at",
                               filter=Q(assessments__status__in=COMPLETED)))
            .values_list("pk", "created_at", "last"))
    tz = timezone.get_current_timezone()
    found = {}
    for pk, created_at, last in rows.iterator(chunk_size=5000):
        rated = levels.get(pk)
        if rated is None:  # not rated yet: no level, no cadence
            continue
        level, _rank, criticality = rated
        basis = (last or created_at).astimezone(tz).date()
        # The level's cadence, or the 重要度's when that is shorter.
        every = min(months[level], tier_months[str(criticality)])
        found[pk] = Due(level, criticality, every, basis, last is not None, add_months(basis, every))
    return found


@dataclass
class CadenceResult:
    due: int = 0
    created: int = 0
    blocked: int = 0  # an open assessment of the same template key exists
    missing_template: int = 0
    assessment_ids: list[int] | None = None

    def as_dict(self) -> dict[str, int]:
        return {"due": self.due, "created": self.created, "blocked": self.blocked,
                "missing_template": self.missing_template}


def create_due_assessments(ctx: Context, actor: Actor) -> CadenceResult:
    """Create the assessments that came due by ctx.today (set-based; idempotent)."""
    cadence = ctx.config["cadence"]
    result = CadenceResult(assessment_ids=[])
    if not cadence["enabled"]:
        return result
    due = {pk: d for pk, d in ctx.cadence.items() if d.due_day <= ctx.today}
    result.due = len(due)
    if not due:
        return result
    templates: dict[str, Template | None] = {}
    for key in sorted(set(cadence["templates"].values())):
        templates[key] = latest_template(ctx.organization_id, key)
    with transaction.atomic():
        # Serializes concurrent runs for the organization (PostgreSQL; SQLite writes one at a
        # time anyway), so the open-assessment check below holds when the rows are inserted.
        organization = Organization.objects.select_for_update().get(pk=ctx.organization_id)
        open_pairs = set(Assessment.objects.filter(
            organization_id=ctx.organization_id, status__in=OPEN_STATUSES,
            template__key__in=list(templates)).values_list("supplier_id", "template__key"))
        planned: list[tuple[int, Due, Template]] = []
        for pk in sorted(due):
            entry = due[pk]
            key = cadence["templates"][str(entry.criticality)]
            template = templates.get(key)
            if template is None:
                result.missing_template += 1
            elif (pk, key) in open_pairs:
                result.blocked += 1
            else:
                planned.append((pk, entry, template))
        if not planned:
            return result
        due_on = ctx.today + datetime.timedelta(days=cadence["response_days"])
        for template in {t.pk: t for _pk, _d, t in planned}.values():
            lock_template(template)
        started = timezone.now()
        assessments = Assessment.objects.bulk_create(
            [Assessment(organization_id=ctx.organization_id, supplier_id=pk, template=template,
                        due_on=due_on) for pk, _entry, template in planned], batch_size=1000)
        if assessments and assessments[0].pk is None:  # a backend without RETURNING
            by_supplier = dict(Assessment.objects.filter(
                organization_id=ctx.organization_id, created_at__gte=started,
                supplier_id__in=[pk for pk, _e, _t in planned]).values_list("supplier_id", "pk"))
            for assessment in assessments:
                assessment.pk = assessment.id = by_supplier[assessment.supplier_id]
        Reassessment.objects.bulk_create([
            Reassessment(organization_id=ctx.organization_id, supplier_id=pk, assessment=assessment,
                         level=entry.level, criticality=entry.criticality, months=entry.months,
                         basis_on=entry.basis_on, due_day=entry.due_day)
            for (pk, entry, _template), assessment in zip(planned, assessments, strict=True)
        ], batch_size=1000)
        pending = []
        for (_pk, entry, template), assessment in zip(planned, assessments, strict=True):
            assessment.template = template  # str() needs it; no query per row
            data = snapshot(assessment)
            for cached in ("score", "section_scores", "critical_failures", "scored_at"):
                data.pop(cached, None)
            data["reassessment"] = {"level": entry.level, "months": entry.months,
                                    "counted_from": entry.basis_on.isoformat()}
            pending.append(PendingEntry(AuditEntry.Action.CREATE, assessment, None, data,
                                        organization_id=organization.pk))
        record_many(actor, pending)
    result.created = len(assessments)
    result.assessment_ids = [a.pk for a in assessments]
    return result


# --- Invitations ----------------------------------------------------------------------------


def _claim(reassessment_id: int, now: datetime.datetime) -> bool:
    """Take the invitation of one reassessment (a conditional UPDATE: one worker wins)."""
    free = Q(invitation_claimed_at__isnull=True) | Q(invitation_claimed_at__lt=now - STALE_CLAIM)
    return bool(Reassessment.objects.filter(free, pk=reassessment_id, invitation_sent_at__isnull=True)
                .update(invitation_claimed_at=now))


def send_invitations(organization_id: int | None = None) -> dict[str, int]:
    """Mail the invitation of every reassessment not yet invited whose assessment can still be
    answered. A reassessment with nobody to mail, or whose mails all failed, is released and
    tried again on the next run (a portal contact may have been added)."""
    from renkei.campaigns.services import portal_recipients, render_assessment_mail

    sent = skipped = failed = unreachable = 0
    now = timezone.now()
    pending = Reassessment.objects.filter(
        invitation_sent_at__isnull=True, assessment__status__in=list(ANSWERABLE_STATUSES),
    ).select_related("organization", "supplier", "assessment__template").order_by("pk")
    if organization_id is not None:
        pending = pending.filter(organization_id=organization_id)
    connection = None
    for row in pending.iterator(chunk_size=500):
        if not _claim(row.pk, now):
            skipped += 1
            continue
        recipients = portal_recipients(row.supplier_id)
        if not recipients:
            Reassessment.objects.filter(pk=row.pk).update(invitation_claimed_at=None)
            unreachable += 1
            continue
        connection = connection or get_connection()
        assessment = row.assessment
        url = absolute_url(reverse("questionnaires:assessment-detail", args=[assessment.pk]))
        ok = 0
        for recipient in recipients:
            subject, text, html = render_assessment_mail(
                recipient, "invitation", organization=row.organization, supplier=row.supplier,
                template=assessment.template, due_on=assessment.due_on, url=url)
            message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL,
                                             [recipient.email], connection=connection)
            message.attach_alternative(html, "text/html")
            try:
                send_notice(message, row.organization_id)
            except (smtplib.SMTPException, OSError) as exc:
                logger.warning("reassessment invitation to %s could not be sent: %s", recipient.ref,
                               type(exc).__name__)
                continue
            ok += 1
        if not ok:
            Reassessment.objects.filter(pk=row.pk).update(invitation_claimed_at=None)
            failed += 1
            continue
        Reassessment.objects.filter(pk=row.pk).update(invitation_sent_at=timezone.now(),
                                                      invitation_recipients=ok)
        sent += 1
    return {"sent": sent, "skipped": skipped, "failed": failed, "unreachable": unreachable}


def describe_due(entry: Any) -> dict[str, Any]:
    return {"level": entry.level, "months": entry.months, "since": entry.basis_on.isoformat(),
            "assessed": entry.assessed, "due": entry.due_day.isoformat()}
