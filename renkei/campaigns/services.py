"""Creating campaigns (set-based), their per-status counts, and their invitation and reminder mails.

`create_campaign` chooses the suppliers with the supplier list's own SupplierFilterSet, skips
those that already have an open assessment of the same template key, and creates every
assessment, target and audit entry in a constant number of queries (bulk inserts), so a
campaign to thousands of suppliers takes seconds. The invitation mails are sent by a task
enqueued when the transaction commits (renkei.campaigns.tasks); reminders by a daily job.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.accounts.services import absolute_url, mail_language, organization_name
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.campaigns.models import Campaign, CampaignMessage, CampaignStatus, CampaignTarget, MessageKind
from renkei.core.models import member_organization_ids
from renkei.core.permissions import ADD, VIEW
from renkei.questionnaires.choices import ANSWERABLE_STATUSES, OPEN_STATUSES, AssessmentStatus
from renkei.questionnaires.models import Assessment, Template
from renkei.questionnaires.services import lock_template
from renkei.suppliers.filtersets import SupplierFilterSet
from renkei.suppliers.models import Contact, Supplier

logger = logging.getLogger(__name__)

# Query parameters of the supplier list that do not choose suppliers.
IGNORED_PARAMS = frozenset({"ordering", "page", "organization", "csrfmiddlewaretoken"})
BEFORE_DAYS = 7
OVERDUE_DAYS = 3


class CampaignError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CampaignResult:
    campaign: Campaign
    created: int
    skipped: list[dict[str, Any]] = field(default_factory=list)  # [{"supplier", "assessment"}]


def clean_selection(selection: QueryDict | Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The supplier filters of SELECTION as {name: [values]} (stored on the campaign)."""
    known = set(SupplierFilterSet.base_filters) - IGNORED_PARAMS
    cleaned: dict[str, list[str]] = {}
    if isinstance(selection, QueryDict):
        items = selection.lists()
    else:
        items = ((k, v if isinstance(v, list | tuple) else [v]) for k, v in (selection or {}).items())
    for name, raw in items:
        values = [str(v) for v in raw if v not in (None, "")]
        if name in known and values:
            cleaned[name] = values
    return cleaned


def _as_querydict(cleaned: Mapping[str, list[str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, values in cleaned.items():
        data.setlist(name, list(values))
    return data


def select_suppliers(
    user: Any, organization: Organization, selection: QueryDict | Mapping[str, Any] | None
) -> QuerySet:
    """The organization's suppliers matching SELECTION (the supplier list's filters) that USER
    may see (all of them without a user: the CLI). Raises CampaignError for invalid filters."""
    base = Supplier.objects.filter(organization=organization)
    if user is not None:
        base = base.filter(pk__in=Supplier.objects.for_user(user, VIEW).values("pk"))
    filterset = SupplierFilterSet(_as_querydict(clean_selection(selection)), queryset=base)
    if not filterset.is_valid():
        problems = [f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()]
        raise CampaignError(_("Invalid supplier filters: %(problems)s") % {
            "problems": "; ".join(problems)})
    return filterset.qs.order_by()


def sendable_organizations(user: Any) -> QuerySet:
    return Organization.objects.filter(pk__in=member_organization_ids(user, ADD))


def _open_assessments(template: Template, suppliers: QuerySet) -> QuerySet:
    return Assessment.objects.filter(
        supplier__in=suppliers.values("pk"), template__key=template.key,
        template__organization_id=template.organization_id, status__in=OPEN_STATUSES,
    )


def preview(user: Any, organization: Organization, template: Template | None,
            selection: QueryDict | Mapping[str, Any] | None) -> dict[str, int]:
    """How many suppliers the selection matches, and how many of them would be skipped."""
    suppliers = select_suppliers(user, organization, selection)
    matched = suppliers.values("pk").distinct().count()
    skipped = 0
    if template is not None:
        skipped = _open_assessments(template, suppliers).values("supplier_id").distinct().count()
    return {"matched": matched, "skipped": skipped, "targets": matched - skipped}


def create_campaign(
    actor: Actor, organization: Organization, *, name: str, template: Template,
    due_on: datetime.date, selection: QueryDict | Mapping[str, Any] | None,
) -> CampaignResult:
    """Send TEMPLATE (this version, locked from now on) to every supplier SELECTION matches."""
    user = actor.user
    if user is not None and not sendable_organizations(user).filter(pk=organization.pk).exists():
        raise CampaignError(_("You may not send questionnaires for this organization."))
    if template.organization_id not in (None, organization.pk):
        raise CampaignError(_("This template belongs to another organization."))
    name = (name or "").strip()
    if not name:
        raise CampaignError(_("Give the campaign a name."))
    if due_on is None:
        raise CampaignError(_("Give a due date."))
    cleaned = clean_selection(selection)
    suppliers = select_suppliers(user, organization, cleaned)
    with transaction.atomic():
        # Locks the chosen suppliers (PostgreSQL) so a concurrent send queues behind this one,
        # as create_assessment does for a single supplier.
        chosen = list(
            Supplier.objects.select_for_update().filter(pk__in=suppliers.values("pk"))
            .order_by("code", "pk").values_list("pk", "code")
        )
        open_by_supplier: dict[int, int] = {}
        for supplier_id, assessment_id in (
            _open_assessments(template, Supplier.objects.filter(organization=organization))
            .filter(supplier_id__in=suppliers.values("pk")).order_by("pk")
            .values_list("supplier_id", "pk")
        ):
            open_by_supplier.setdefault(supplier_id, assessment_id)
        lock_template(template)
        campaign = Campaign.objects.create(
            organization=organization, name=name[:200], template=template, due_on=due_on,
            selection=cleaned, created_by=user,
        )
        targets = [(pk, code) for pk, code in chosen if pk not in open_by_supplier]
        skipped = [{"supplier": code, "assessment": open_by_supplier[pk]}
                   for pk, code in chosen if pk in open_by_supplier]
        assessments = Assessment.objects.bulk_create(
            [Assessment(organization=organization, supplier_id=pk, template=template, due_on=due_on,
                        created_by=user) for pk, _code in targets],
            batch_size=1000,
        )
        if assessments and assessments[0].pk is None:  # a backend without RETURNING
            assessments = list(Assessment.objects.filter(
                organization=organization, template=template, due_on=due_on,
                supplier_id__in=[pk for pk, _code in targets], created_at__gte=campaign.created_at,
            ).order_by("pk"))
        CampaignTarget.objects.bulk_create(
            [CampaignTarget(campaign=campaign, supplier_id=a.supplier_id, assessment=a)
             for a in assessments],
            batch_size=1000,
        )
        pending = [PendingEntry(AuditEntry.Action.CREATE, campaign, None, snapshot(campaign),
                                organization_id=organization.pk)]
        for assessment in assessments:
            assessment.template = template  # str() needs it; no query per row
            data = snapshot(assessment)
            for cached in ("score", "section_scores", "critical_failures", "scored_at"):
                data.pop(cached, None)
            data["campaign"] = campaign.pk
            pending.append(PendingEntry(AuditEntry.Action.CREATE, assessment, None, data,
                                        organization_id=organization.pk))
        record_many(actor, pending)
        campaign_id = campaign.pk
        transaction.on_commit(lambda: _enqueue_invitations(campaign_id))
    return CampaignResult(campaign, len(assessments), skipped)


def _enqueue_invitations(campaign_id: int) -> None:
    from renkei.campaigns.tasks import send_campaign_invitations

    try:
        send_campaign_invitations.enqueue(campaign_id)
    except Exception:  # noqa: BLE001 - the campaign exists; the mails can be sent again later
        logger.exception("could not enqueue the invitations of campaign %s", campaign_id)


# --- Counts ---------------------------------------------------------------------------------------

STATUS_ORDER = [s.value for s in AssessmentStatus]


def with_counts(campaigns: QuerySet) -> QuerySet:
    """Annotate target_count, done_count (submitted + approved) and overdue_count."""
    today = timezone.localdate()
    done = Q(targets__assessment__status__in=[AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED])
    overdue = Q(targets__assessment__status__in=list(ANSWERABLE_STATUSES),
                targets__assessment__due_on__lt=today)
    return campaigns.annotate(
        target_count=Count("targets", distinct=True),
        done_count=Count("targets", filter=done, distinct=True),
        overdue_count=Count("targets", filter=overdue, distinct=True),
    )


def completion_rate(done: int, total: int) -> float:
    """Submitted + approved over targets, in percent (0 without targets)."""
    return round(100 * done / total, 1) if total else 0.0


def status_counts(campaign: Campaign) -> dict[str, int]:
    """Targets per assessment status, every status present (one query)."""
    counts = dict.fromkeys(STATUS_ORDER, 0)
    rows = (CampaignTarget.objects.filter(campaign=campaign).values("assessment__status")
            .annotate(n=Count("pk")).order_by())
    for row in rows:
        counts[row["assessment__status"]] = row["n"]
    return counts


def campaign_document(campaign: Campaign) -> dict[str, Any]:
    """What `renkei campaigns show --json` and the API print."""
    counts = status_counts(campaign)
    total = sum(counts.values())
    done = counts[AssessmentStatus.SUBMITTED] + counts[AssessmentStatus.APPROVED]
    overdue = CampaignTarget.objects.filter(
        campaign=campaign, assessment__status__in=list(ANSWERABLE_STATUSES),
        assessment__due_on__lt=timezone.localdate()).count()
    return {
        "id": campaign.pk, "name": campaign.name, "organization": campaign.organization.slug,
        "template": campaign.template.key, "version": campaign.template.version,
        "due_on": campaign.due_on.isoformat(), "status": campaign.status,
        "selection": campaign.selection, "targets": total, "counts": counts,
        "completed": done, "completion_rate": completion_rate(done, total), "overdue": overdue,
    }


# --- Mails ------------------------------------------------------------------------------------------


def _claim(target: CampaignTarget, kind: str) -> CampaignMessage | None:
    """Insert the (target, kind) row; None when another run already did (it sends, not us)."""
    try:
        with transaction.atomic():
            return CampaignMessage.objects.create(target=target, kind=kind)
    except IntegrityError:
        return None


def _recipients(target: CampaignTarget) -> list[Any]:
    contacts = Contact.objects.filter(
        supplier_id=target.supplier_id, portal_access=True, user__isnull=False,
        user__is_active=True,
    ).select_related("user").order_by("pk")
    users, seen = [], set()
    for contact in contacts:
        if contact.user.email and contact.user_id not in seen:
            seen.add(contact.user_id)
            users.append(contact.user)
    return users


def _send_one(connection: Any, user: Any, kind: str, target: CampaignTarget) -> bool:
    campaign = target.campaign
    with translation.override(mail_language(user)):
        context = {
            "user": user, "kind": kind, "campaign": campaign, "supplier": target.supplier,
            "template_name": campaign.template.name,
            "organization_name": organization_name(campaign.organization),
            "due_on": campaign.due_on,
            "url": absolute_url(reverse("questionnaires:assessment-detail",
                                        args=[target.assessment_id])),
        }
        subject = render_to_string("campaigns/email/message_subject.txt", context)
        subject = settings.EMAIL_SUBJECT_PREFIX + " ".join(subject.split())
        text = render_to_string("campaigns/email/message.txt", context)
        html = render_to_string("campaigns/email/message.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email],
                                     connection=connection)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("campaign %s mail to user %s could not be sent: %s", kind, user.pk, exc)
        return False
    return True


def send_messages(targets: QuerySet, kind: str) -> dict[str, int]:
    """Send KIND to the contacts of every target not yet sent it. A target whose mail failed
    entirely is released (its row deleted) so the next run tries again."""
    sent = skipped = failed = 0
    targets = targets.select_related("campaign__organization", "campaign__template", "supplier")
    connection = get_connection()
    for target in targets.exclude(messages__kind=kind).order_by("pk").iterator(chunk_size=500):
        claimed = _claim(target, kind)
        if claimed is None:
            skipped += 1
            continue
        users = _recipients(target)
        ok = sum(_send_one(connection, user, kind, target) for user in users)
        if users and not ok:
            claimed.delete()
            failed += 1
            continue
        CampaignMessage.objects.filter(pk=claimed.pk).update(sent_at=timezone.now(), recipients=ok)
        sent += 1
    return {"sent": sent, "skipped": skipped, "failed": failed}


def send_invitations(campaign_id: int) -> dict[str, int]:
    return send_messages(CampaignTarget.objects.filter(campaign_id=campaign_id), MessageKind.INVITATION)


def send_reminders(today: datetime.date | None = None) -> dict[str, int]:
    """Remind the suppliers of open campaigns whose assessments are not yet submitted."""
    today = today or timezone.localdate()
    totals = {"sent": 0, "skipped": 0, "failed": 0}
    pending = CampaignTarget.objects.filter(
        campaign__status=CampaignStatus.OPEN, assessment__status__in=list(ANSWERABLE_STATUSES),
    )
    windows = {
        MessageKind.REMINDER_BEFORE: Q(
            campaign__due_on__gt=today,
            campaign__due_on__lte=today + datetime.timedelta(days=BEFORE_DAYS)),
        MessageKind.REMINDER_DUE: Q(
            campaign__due_on__lte=today,
            campaign__due_on__gt=today - datetime.timedelta(days=OVERDUE_DAYS)),
        MessageKind.REMINDER_OVERDUE: Q(
            campaign__due_on__lte=today - datetime.timedelta(days=OVERDUE_DAYS)),
    }
    for kind, window in windows.items():
        result = send_messages(pending.filter(window), kind)
        for key, value in result.items():
            totals[key] += value
    return totals
