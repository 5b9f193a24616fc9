"""The daily digest: one mail per staff member and organization with the alerts raised since
their last digest that are still open, grouped by kind in attention order.

Japanese unless the user chose English (renkei.accounts.services.mail_language). A unique
(user, organization, day) row is claimed before the mail is sent, so a day's digest is sent once
whatever the number of workers or runs; a failed mail releases the row (retried by the next run).
Nothing new: no mail and no row, and the next digest still starts from the last one sent.
Users opt out with DigestPreference (the switch on /monitoring/).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from renkei.accounts.models import Membership
from renkei.accounts.services import absolute_url, send_mail_to_user
from renkei.monitoring import sources
from renkei.monitoring.models import Alert, Digest, DigestPreference

ITEMS_PER_KIND = 5
# The first digest of a user covers the alerts raised in the last day.
FIRST_DIGEST_WINDOW = datetime.timedelta(days=1)


def digest_enabled(user: Any) -> bool:
    return not DigestPreference.objects.filter(user=user, enabled=False).exists()


def set_digest(user: Any, enabled: bool) -> None:
    DigestPreference.objects.update_or_create(user=user, defaults={"enabled": enabled})


def _claim(user_id: int, organization_id: int, day: datetime.date,
           cutoff: datetime.datetime) -> Digest | None:
    try:
        with transaction.atomic():
            return Digest.objects.create(user_id=user_id, organization_id=organization_id, day=day,
                                         cutoff=cutoff)
    except IntegrityError:
        return None


def send_digests(today: datetime.date | None = None, *, organization_id: int | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    cutoff = timezone.now()
    totals = {"sent": 0, "nothing_new": 0, "already_sent": 0, "failed": 0, "opted_out": 0}
    opted_out = DigestPreference.objects.filter(user=OuterRef("user_id"), enabled=False)
    memberships = (Membership.objects.filter(user__is_active=True).exclude(user__email="")
                   .annotate(opted_out=Exists(opted_out))
                   .select_related("user", "organization").order_by("organization_id", "user_id"))
    if organization_id is not None:
        memberships = memberships.filter(organization_id=organization_id)
    for membership in memberships:
        if membership.opted_out:
            totals["opted_out"] += 1
            continue
        outcome = _send_one(membership, today, cutoff)
        totals[outcome] += 1
    return totals


def _send_one(membership: Membership, today: datetime.date, cutoff: datetime.datetime) -> str:
    user, organization = membership.user, membership.organization
    if Digest.objects.filter(user=user, organization=organization, day=today).exists():
        return "already_sent"
    last = (Digest.objects.filter(user=user, organization=organization, sent_at__isnull=False)
            .order_by("-cutoff").values_list("cutoff", flat=True).first())
    since = last or cutoff - FIRST_DIGEST_WINDOW
    new = Alert.objects.filter(organization=organization, resolved_at__isnull=True,
                               raised_at__gt=since, raised_at__lte=cutoff)
    counts = dict(new.order_by().values_list("kind").annotate(n=Count("pk")))
    if not counts:
        return "nothing_new"
    claimed = _claim(user.pk, organization.pk, today, cutoff)
    if claimed is None:
        return "already_sent"
    order = {kind: i for i, (kind, _label) in enumerate(sources.kinds())}
    groups = []
    for kind in sorted(counts, key=lambda k: (order.get(k, 999), k)):
        groups.append({"kind": kind, "count": counts[kind],
                       "alerts": list(new.filter(kind=kind).select_related("supplier")
                                      .order_by("priority", "raised_at", "pk")[:ITEMS_PER_KIND]),
                       "url": absolute_url(f"{reverse('monitoring:list')}?organization={organization.pk}"
                                           f"&kind={kind}")})
    total = sum(counts.values())
    context = {"organization": organization, "groups": groups, "total": total, "day": today,
               "list_url": absolute_url(f"{reverse('monitoring:list')}?organization={organization.pk}"),
               "preferences_url": absolute_url(reverse("monitoring:list"))}
    # Labels and reasons are rendered by the template's filters, in the user's language.
    sent = send_mail_to_user(user, "digest", context, what=f"digest to user {user.pk}",
                             template_dir="monitoring/email")
    if not sent:
        claimed.delete()
        return "failed"
    Digest.objects.filter(pk=claimed.pk).update(sent_at=timezone.now(), alerts=total)
    return "sent"

