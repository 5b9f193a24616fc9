"""Deadlines of obligations: warnings to their owners, and the figures of the dashboard panel
(docs/incidents.md, "Deadlines").

The hourly job (renkei.incidents.tasks) warns about every open obligation with a deadline in
stages — 3 days before, 1 day before, once overdue — each stage once, stored in
Obligation.warned ("" → "3d" → "1d" → "overdue"). An obligation first seen late jumps straight
to the stage it is in; a moved deadline clears `warned` (services.sync_obligations), so the
warnings start again. Mail goes to the obligation's owner, or, without one, to the admins and
analysts of the organization; each person gets one mail per organization per run listing all
their obligations (a mail is signed and sent on behalf of one organization).

A stage is claimed before the mail goes (a conditional UPDATE, so two runs at once cannot both
send it) and released when no mail carrying the obligation could be sent: the next run tries
again. An obligation counts as warned when at least one of its recipients got the mail, so one
refused address does not make everyone else's mail repeat every hour.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import get_language, gettext_lazy

from renkei.accounts.models import Membership
from renkei.accounts.services import absolute_url, send_mail_to_user
from renkei.core.models import member_organization_ids
from renkei.core.permissions import VIEW
from renkei.incidents.labels import AUTHORITIES
from renkei.incidents.models import Incident, Obligation, ObligationStatus, Status

logger = logging.getLogger("renkei.incidents")

TEMPLATES = "incidents/email"
# The stages in order; a later stage is never followed by an earlier one for the same deadline.
NONE, DAYS_3, DAY_1, OVERDUE = "", "3d", "1d", "overdue"
STAGES = (NONE, DAYS_3, DAY_1, OVERDUE)
RANK = {stage: n for n, stage in enumerate(STAGES)}
SOON = datetime.timedelta(days=3)
STAGE_LABELS = {
    DAYS_3: gettext_lazy("Due within 3 days"),
    DAY_1: gettext_lazy("Due within 1 day"),
    OVERDUE: gettext_lazy("Overdue"),
}


def stage_at(due_at: datetime.datetime, now: datetime.datetime) -> str:
    """The stage a deadline DUE_AT is in at NOW."""
    left = due_at - now
    if left <= datetime.timedelta(0):
        return OVERDUE
    if left <= datetime.timedelta(days=1):
        return DAY_1
    if left <= SOON:
        return DAYS_3
    return NONE


def live() -> Any:
    """Open obligations with a deadline, that the facts still call for."""
    return Obligation.objects.filter(status=ObligationStatus.OPEN, withdrawn=False, due_at__isnull=False)


@dataclass
class _Warning:
    obligation: Obligation
    stage: str
    previous: str
    recipients: list[Any] = field(default_factory=list)
    sent: bool = False


def _due_now(now: datetime.datetime) -> list[_Warning]:
    """Obligations owed a warning at NOW, with the stage each is owed (one query)."""
    rows = (
        live()
        .filter(due_at__lte=now + SOON)
        .exclude(warned=OVERDUE)
        .select_related("incident", "incident__organization", "incident__supplier", "owner")
        .order_by("due_at", "pk")
    )
    owed = []
    for row in rows:
        stage = stage_at(row.due_at, now)
        if RANK[stage] > RANK.get(row.warned, 0):
            owed.append(_Warning(row, stage, row.warned))
    return owed


def _recipients(owed: list[_Warning]) -> None:
    """Who hears of each warning: the owner while a member of the incident's organization and
    reachable, else the organization's admins and analysts (notices.staff_to_tell). Two queries
    at most, whatever the number of obligations."""
    from renkei.incidents.notices import staff_to_tell

    owners = {
        (w.obligation.owner_id, w.obligation.incident.organization_id) for w in owed if w.obligation.owner_id
    }
    members = set()
    if owners:
        members = set(
            Membership.objects.filter(
                user_id__in={u for u, _o in owners},
                organization_id__in={o for _u, o in owners},
            ).values_list("user_id", "organization_id")
        )
    staff: dict[int, list[Any]] = {}
    for warning in owed:
        obligation = warning.obligation
        owner, organization_id = obligation.owner, obligation.incident.organization_id
        if owner is not None and owner.is_active and owner.email and (owner.pk, organization_id) in members:
            warning.recipients = [owner]
            continue
        if organization_id not in staff:
            staff[organization_id] = staff_to_tell(obligation.incident)
        warning.recipients = staff[organization_id]


def _claim(warning: _Warning) -> bool:
    """Take the stage for this run; False if another run (or a moved deadline) got there first."""
    return bool(
        Obligation.objects.filter(
            pk=warning.obligation.pk, warned=warning.previous, due_at=warning.obligation.due_at
        ).update(warned=warning.stage)
    )


def _release(warning: _Warning) -> None:
    """No mail carried it: back to the previous stage, unless the deadline was reset meanwhile."""
    Obligation.objects.filter(pk=warning.obligation.pk, warned=warning.stage).update(warned=warning.previous)


def obligation_title(obligation: Obligation) -> str:
    """The obligation's title in the active language (the rules carry ja and en)."""
    return obligation.title_en if (get_language() or "").startswith("en") else obligation.title_ja


# A mail is rendered in its reader's language, after the items are built: resolved at rendering.
lazy_title = lazy(obligation_title, str)


def _item(warning: _Warning) -> dict[str, Any]:
    obligation = warning.obligation
    return {
        "obligation": obligation,
        "incident": obligation.incident,
        "title": lazy_title(obligation),
        "authority": AUTHORITIES.get(obligation.authority, obligation.authority),
        "stage": warning.stage,
        "stage_label": STAGE_LABELS[warning.stage],
        "overdue": warning.stage == OVERDUE,
        "due_at": obligation.due_at,
        "url": absolute_url(reverse("incidents:detail", args=[obligation.incident_id])) + "#obligations",
    }


def _send(user: Any, organization: Any, warnings: list[_Warning]) -> bool:
    items = [_item(w) for w in warnings]
    context = {
        "organization": organization,
        "items": items,
        "overdue": sum(1 for i in items if i["overdue"]),
        "list_url": absolute_url(reverse("incidents:list")),
    }
    pks = ",".join(str(w.obligation.pk) for w in warnings)
    return send_mail_to_user(
        user,
        "deadline",
        context,
        template_dir=TEMPLATES,
        what=f"deadline warning for obligations {pks} to user {user.pk}",
    )


def warn_deadlines(now: datetime.datetime | None = None) -> dict[str, Any]:
    """Send the warnings owed at NOW (default: now). Returns what happened:

    {"warned": obligations whose stage advanced, "stages": {"3d": n, "1d": n, "overdue": n},
     "mails": mails sent, "failed": mails the server refused, "retry": obligations left for the
     next run because no mail carrying them went out (no one to tell, or every mail failed)}.
    """
    now = now or timezone.now()
    owed = _due_now(now)
    _recipients(owed)
    claimed = [w for w in owed if w.recipients and _claim(w)]
    result: dict[str, Any] = {
        "warned": 0,
        "stages": {DAYS_3: 0, DAY_1: 0, OVERDUE: 0},
        "mails": 0,
        "failed": 0,
        "retry": sum(1 for w in owed if not w.recipients),
    }
    # One mail per person and organization, listing all their obligations, soonest due first.
    grouped: dict[tuple[int, int], list[_Warning]] = defaultdict(list)
    people: dict[int, Any] = {}
    for warning in claimed:
        organization_id = warning.obligation.incident.organization_id
        for user in warning.recipients:
            people[user.pk] = user
            grouped[(user.pk, organization_id)].append(warning)
    for (user_pk, _organization_id), warnings in sorted(grouped.items()):
        organization = warnings[0].obligation.incident.organization
        if _send(people[user_pk], organization, warnings):
            result["mails"] += 1
            for warning in warnings:
                warning.sent = True
        else:
            result["failed"] += 1
    for warning in claimed:
        if warning.sent:
            result["warned"] += 1
            result["stages"][warning.stage] += 1
        else:
            _release(warning)
            result["retry"] += 1
    if owed:
        logger.info("deadline warnings: %s", result)
    return result


# --- The dashboard panel ------------------------------------------------------------------------

PANEL_ROWS = 10


def dashboard_panel(user: Any, now: datetime.datetime | None = None) -> dict[str, Any]:
    """The incidents panel of the dashboard for USER's staff organizations: open incidents,
    obligations due within 3 days, overdue obligations, and the first PANEL_ROWS of those
    obligations, soonest first. One query, two when something is due."""
    now = now or timezone.now()
    due = Q(
        obligations__status=ObligationStatus.OPEN,
        obligations__withdrawn=False,
        obligations__due_at__isnull=False,
    )
    # Staff only: a supplier contact's view of its own incidents is the portal, not this panel.
    incidents = Incident.objects.for_user(user, VIEW).filter(
        organization_id__in=member_organization_ids(user, VIEW)
    )
    counts = incidents.aggregate(
        open=Count("pk", filter=~Q(status=Status.CLOSED), distinct=True),
        overdue=Count("obligations", filter=due & Q(obligations__due_at__lte=now)),
        soon=Count(
            "obligations", filter=due & Q(obligations__due_at__gt=now, obligations__due_at__lte=now + SOON)
        ),
    )
    rows: list[dict[str, Any]] = []
    if counts["overdue"] or counts["soon"]:
        obligations = (
            Obligation.objects.for_user(user, VIEW)
            .filter(status=ObligationStatus.OPEN, withdrawn=False, due_at__lte=now + SOON)
            .select_related("incident")
            .order_by("due_at", "pk")[:PANEL_ROWS]
        )
        rows = [
            {
                "obligation": o,
                "incident": o.incident,
                "overdue": o.due_at <= now,
                "title": obligation_title(o),
                "authority": AUTHORITIES.get(o.authority, o.authority),
            }
            for o in obligations
        ]
    return {
        "open": counts["open"],
        "overdue": counts["overdue"],
        "soon": counts["soon"],
        "rows": rows,
        "more": counts["overdue"] + counts["soon"] - len(rows),
    }
