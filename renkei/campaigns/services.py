"""Creating campaigns (set-based), their per-status counts, and their invitation and reminder mails.

`create_campaign` chooses the suppliers with the supplier list's own SupplierFilterSet, skips
those that already have an open assessment of the same template key, and creates every
assessment, target and audit entry in a constant number of queries (bulk inserts), so a
campaign to thousands of suppliers takes seconds. The invitation mails are sent by a task
enqueued when the transaction commits (renkei.campaigns.tasks); reminders by a daily job.

How a target is reached depends on its supplier's contacts (`reach`): contacts with an active
portal account get the login URL of the assessment; otherwise the contacts with an e-mail and
no account (the primary ones if any) each get their own answer link (AccessLink, kind
campaign), fresh in every mail, the previous one revoked; a target with neither is 連絡先なし
and gets nothing until someone adds a contact. Answer-link tokens exist only in the mail: they
are never stored, logged or written to the audit trail.
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
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.accounts.services import absolute_url, mail_language, organization_name
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record, record_many, snapshot
from renkei.campaigns.models import Campaign, CampaignMessage, CampaignStatus, CampaignTarget, MessageKind
from renkei.core.mail import send_notice
from renkei.core.models import member_organization_ids
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.questionnaires.assessments_services import AssessmentError
from renkei.questionnaires.choices import ANSWERABLE_STATUSES, OPEN_STATUSES, AssessmentStatus, LinkKind
from renkei.questionnaires.models import AccessLink, Assessment, Template
from renkei.questionnaires.portal import issue_link, revoke_access_link
from renkei.questionnaires.services import lock_template
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.filtersets import SupplierFilterSet
from renkei.suppliers.models import Contact, Supplier

logger = logging.getLogger(__name__)

# Query parameters of the supplier list that do not choose suppliers.
IGNORED_PARAMS = frozenset({"ordering", "page", "organization", "csrfmiddlewaretoken"})
BEFORE_DAYS = 7
OVERDUE_DAYS = 3
# No "7 days before" reminder within this many days of the invitation (a campaign due in 5 days
# would otherwise get the invitation and, the next morning, a reminder).
INVITATION_GAP_DAYS = 3
# Answer links in campaign mails work until this many days after the due date (11 days after the
# last scheduled reminder), and at least LINK_MIN_DAYS after the mail that carries them.
LINK_GRACE_DAYS = 14
LINK_MIN_DAYS = 7

# How a target's supplier is reached (see `reach`).
REACH_PORTAL = "portal"
REACH_LINK = "link"
REACH_NONE = "none"


class CampaignError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CampaignNotAllowed(CampaignError):
    """The user may see the campaign but not change it (403)."""


@dataclass
class CampaignResult:
    campaign: Campaign
    created: int
    # [{"supplier": code, "name": name, "assessment": id}], as stored on the campaign.
    skipped: list[dict[str, Any]] = field(default_factory=list)


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
    # Candidates get their questionnaire through intake; rejected ones are not suppliers.
    base = Supplier.objects.filter(organization=organization, status=SupplierStatus.ACTIVE)
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
            .order_by("code", "pk").values_list("pk", "code", "name")
        )
        open_by_supplier: dict[int, int] = {}
        for supplier_id, assessment_id in (
            _open_assessments(template, Supplier.objects.filter(organization=organization))
            .filter(supplier_id__in=suppliers.values("pk")).order_by("pk")
            .values_list("supplier_id", "pk")
        ):
            open_by_supplier.setdefault(supplier_id, assessment_id)
        lock_template(template)
        targets = [(pk, code) for pk, code, _name in chosen if pk not in open_by_supplier]
        skipped = [{"supplier": code, "name": supplier_name, "assessment": open_by_supplier[pk]}
                   for pk, code, supplier_name in chosen if pk in open_by_supplier]
        campaign = Campaign.objects.create(
            organization=organization, name=name[:200], template=template, due_on=due_on,
            selection=cleaned, created_by=user, skipped=skipped,
        )
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


# --- Closing ------------------------------------------------------------------------------------


def may_change(user: Any, campaign: Campaign) -> bool:
    return Campaign.objects.for_user(user, CHANGE).filter(pk=campaign.pk).exists()


def close_campaign(actor: Actor, campaign: Campaign) -> tuple[Campaign, bool]:
    """Close CAMPAIGN: no more invitations or reminders. Its assessments are left as they are
    (still answerable and reviewable one by one). Returns (campaign, whether this call closed it);
    closing a closed campaign changes nothing. A closed campaign is never reopened."""
    user = actor.user
    if user is not None and not may_change(user, campaign):
        raise CampaignNotAllowed(_("You may not close this campaign."))
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status == CampaignStatus.CLOSED:
            return locked, False
        before = snapshot(locked)
        locked.status = CampaignStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.closed_by = user
        locked.save(update_fields=["status", "closed_at", "closed_by"])
        record(actor, AuditEntry.Action.UPDATE, locked, before, snapshot(locked))
    return locked, True


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


def _portal_contacts() -> QuerySet:
    """Contacts who log in: portal access and an active account with an e-mail address."""
    return (Contact.objects.filter(portal_access=True, user__is_active=True)
            .exclude(user__email=""))


def _link_contacts() -> QuerySet:
    """Contacts mailed an answer link: an e-mail address and no account. A contact whose account
    lost its portal access is not mailed a link: that would give the access back by the side door."""
    return Contact.objects.filter(user__isnull=True).exclude(email="")


def with_reach(targets: QuerySet) -> QuerySet:
    """Annotate has_portal and has_email (two EXISTS; see `reach`)."""
    supplier = OuterRef("supplier_id")
    return targets.annotate(
        has_portal=Exists(_portal_contacts().filter(supplier_id=supplier)),
        has_email=Exists(_link_contacts().filter(supplier_id=supplier)),
    )


def reach(target: CampaignTarget) -> str:
    """portal, link or none, for a target annotated by `with_reach` (the contacts as they are
    now: adding a contact changes how the next mail goes)."""
    if target.has_portal:
        return REACH_PORTAL
    return REACH_LINK if target.has_email else REACH_NONE


def with_last_message(targets: QuerySet) -> QuerySet:
    """Annotate last_kind and last_sent_at: the last mail actually sent to the target."""
    last = (CampaignMessage.objects.filter(target=OuterRef("pk"), sent_at__isnull=False)
            .order_by("-sent_at", "-pk"))
    return targets.annotate(last_kind=Subquery(last.values("kind")[:1]),
                            last_sent_at=Subquery(last.values("sent_at")[:1]))


def no_contact_count(campaign: Campaign) -> int:
    """Targets whose supplier has neither a portal account nor a contact with an e-mail."""
    supplier = OuterRef("supplier_id")
    return (CampaignTarget.objects.filter(campaign=campaign)
            .exclude(Exists(_portal_contacts().filter(supplier_id=supplier)))
            .exclude(Exists(_link_contacts().filter(supplier_id=supplier))).count())


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
        # Added keys (existing ones keep their meaning).
        "skipped": campaign.skipped, "no_contact": no_contact_count(campaign),
        "closed_at": campaign.closed_at.isoformat() if campaign.closed_at else None,
        "closed_by": campaign.closed_by.get_username() if campaign.closed_by else None,
    }


# --- Mails ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    access: str  # REACH_PORTAL: the login URL; REACH_LINK: an answer link of their own
    language: str
    ref: str  # for the logs: "user 12" / "contact 34" (never an address or a link)


def _claim(target: CampaignTarget, kind: str) -> CampaignMessage | None:
    """Insert the (target, kind) row; None when another run already did (it sends, not us)."""
    try:
        with transaction.atomic():
            return CampaignMessage.objects.create(target=target, kind=kind)
    except IntegrityError:
        return None


def portal_recipients(supplier_id: int) -> list[Recipient]:
    """The portal users of a supplier (active account with an e-mail), one per address. Also
    used by the reassessment invitations of renkei.monitoring."""
    found: list[Recipient] = []
    seen: set[str] = set()
    for contact in (_portal_contacts().filter(supplier_id=supplier_id)
                    .select_related("user").order_by("pk")):
        user = contact.user
        if user.email.lower() not in seen:
            seen.add(user.email.lower())
            found.append(Recipient(user.email, getattr(user, "display_name", "") or user.email,
                                   REACH_PORTAL, mail_language(user), f"user {user.pk}"))
    return found


def _recipients(target: CampaignTarget) -> list[Recipient]:
    """The portal users of the target's supplier; without any, the contacts with an e-mail and
    no account (the primary ones when some are primary), one per address."""
    found = portal_recipients(target.supplier_id)
    if found:
        return found
    seen: set[str] = set()
    contacts = list(_link_contacts().filter(supplier_id=target.supplier_id).order_by("pk"))
    primary = [c for c in contacts if c.is_primary]
    for contact in primary or contacts:
        if contact.email.lower() not in seen:
            seen.add(contact.email.lower())
            found.append(Recipient(contact.email, contact.name, REACH_LINK, settings.LANGUAGE_CODE,
                                   f"contact {contact.pk}"))
    return found


def link_expiry(campaign: Campaign, today: datetime.date | None = None) -> datetime.datetime:
    """When the answer links of CAMPAIGN's mails stop working: the end of the day LINK_GRACE_DAYS
    after the due date, and never sooner than LINK_MIN_DAYS after today."""
    today = today or timezone.localdate()
    last_day = max(campaign.due_on + datetime.timedelta(days=LINK_GRACE_DAYS),
                   today + datetime.timedelta(days=LINK_MIN_DAYS))
    return _start_of(last_day + datetime.timedelta(days=1))


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _render(recipient: Recipient, kind: str, target: CampaignTarget, url: str,
            expires_on: datetime.date | None) -> tuple[str, str, str]:
    campaign = target.campaign
    return render_assessment_mail(recipient, kind, organization=campaign.organization,
                                  supplier=target.supplier, template=campaign.template,
                                  due_on=campaign.due_on, url=url, expires_on=expires_on,
                                  campaign=campaign)


def render_assessment_mail(recipient: Recipient, kind: str, *, organization: Organization,
                           supplier: Supplier, template: Template, due_on: datetime.date | None,
                           url: str, expires_on: datetime.date | None = None,
                           campaign: Campaign | None = None) -> tuple[str, str, str]:
    """(subject, text, html) of an invitation or reminder to answer TEMPLATE, in the recipient's
    language. Also used by the reassessment invitations of renkei.monitoring."""
    with translation.override(recipient.language):
        context = {
            "recipient_name": recipient.name, "access": recipient.access, "kind": kind,
            "campaign": campaign, "supplier": supplier,
            "template_name": template.name,
            "organization_name": organization_name(organization),
            "due_on": due_on, "url": url, "expires_on": expires_on,
        }
        subject = render_to_string("campaigns/email/message_subject.txt", context)
        subject = settings.EMAIL_SUBJECT_PREFIX + " ".join(subject.split())
        text = render_to_string("campaigns/email/message.txt", context)
        html = render_to_string("campaigns/email/message.html", context)
    return subject, text, html


def _send_one(connection: Any, recipient: Recipient, kind: str, target: CampaignTarget,
              actor: Actor) -> bool:
    """Mail KIND to RECIPIENT. A link recipient gets a new answer link; once it is mailed, the
    earlier campaign links of that address for that assessment are revoked (the tokens were never
    stored, so they cannot be sent again); a link whose mail failed is revoked at once."""
    link: AccessLink | None = None
    expires_on = None
    if recipient.access == REACH_LINK:
        expires_at = link_expiry(target.campaign)
        try:
            link, path = issue_link(actor, target.assessment, kind=LinkKind.CAMPAIGN,
                                    expires_at=expires_at, sent_to=recipient.email,
                                    sent_to_name=recipient.name[:100])
        except AssessmentError:  # submitted or approved meanwhile: nothing to answer
            return False
        url = absolute_url(path)
        expires_on = timezone.localtime(expires_at).date() - datetime.timedelta(days=1)
    else:
        url = absolute_url(reverse("questionnaires:assessment-detail", args=[target.assessment_id]))
    subject, text, html = _render(recipient, kind, target, url, expires_on)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient.email],
                                     connection=connection)
    message.attach_alternative(html, "text/html")
    try:
        send_notice(message, target.campaign.organization_id)
    except (smtplib.SMTPException, OSError) as exc:
        # The recipient by id only: the message (and its link) must not reach the logs.
        logger.warning("campaign %s mail to %s could not be sent: %s", kind, recipient.ref,
                       type(exc).__name__)
        if link is not None:
            revoke_access_link(actor, link)
        return False
    if link is not None:
        for older in AccessLink.objects.filter(
                assessment_id=target.assessment_id, kind=LinkKind.CAMPAIGN,
                sent_to__iexact=recipient.email, revoked_at__isnull=True).exclude(pk=link.pk):
            revoke_access_link(actor, older)
    return True


def send_messages(targets: QuerySet, kind: str) -> dict[str, int]:
    """Send KIND to the contacts of every target of an open campaign not yet sent it. A target
    whose mail failed entirely, or that has nobody to mail (連絡先なし), is released (its row
    deleted) so a later run tries again."""
    sent = skipped = failed = unreachable = 0
    actor = Actor.system("campaign-mail")
    targets = targets.filter(campaign__status=CampaignStatus.OPEN).select_related(
        "campaign__organization", "campaign__template", "supplier", "assessment")
    connection = get_connection()
    for target in targets.exclude(messages__kind=kind).order_by("pk").iterator(chunk_size=500):
        claimed = _claim(target, kind)
        if claimed is None:
            skipped += 1
            continue
        recipients = _recipients(target)
        if not recipients:
            claimed.delete()
            unreachable += 1
            continue
        ok = sum(_send_one(connection, recipient, kind, target, actor) for recipient in recipients)
        if not ok:
            claimed.delete()
            failed += 1
            continue
        CampaignMessage.objects.filter(pk=claimed.pk).update(sent_at=timezone.now(), recipients=ok)
        sent += 1
    return {"sent": sent, "skipped": skipped, "failed": failed, "unreachable": unreachable}


def send_invitations(campaign_id: int) -> dict[str, int]:
    return send_messages(CampaignTarget.objects.filter(campaign_id=campaign_id), MessageKind.INVITATION)


def send_reminders(today: datetime.date | None = None) -> dict[str, int]:
    """Remind the suppliers of open campaigns whose assessments are not yet submitted."""
    today = today or timezone.localdate()
    totals = {"sent": 0, "skipped": 0, "failed": 0, "unreachable": 0}
    pending = CampaignTarget.objects.filter(
        campaign__status=CampaignStatus.OPEN, assessment__status__in=list(ANSWERABLE_STATUSES),
    )
    # Invited (or created) within the last INVITATION_GAP_DAYS days, counted in whole days.
    recent = _start_of(today - datetime.timedelta(days=INVITATION_GAP_DAYS - 1))
    invited_recently = Q(campaign__created_at__gte=recent) | Exists(CampaignMessage.objects.filter(
        target=OuterRef("pk"), kind=MessageKind.INVITATION, claimed_at__gte=recent))
    windows = {
        MessageKind.REMINDER_BEFORE: Q(
            campaign__due_on__gt=today,
            campaign__due_on__lte=today + datetime.timedelta(days=BEFORE_DAYS)) & ~invited_recently,
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
