"""Expiry reminders: 30 and 7 days before a certificate expires, mailed to its holder by the daily
job, each kind once per certificate (a CertificateReminder row is claimed before the mail goes).

Not reminded: revoked or expired certificates, certificates already renewed (a live renewal
exists), and certificates bound to nobody. A certificate first seen inside the 7-day window gets
only the 7-day reminder. A mail that fails, or a holder without an e-mail address, releases the
row so a later run tries again."""

from __future__ import annotations

import datetime
import logging
import math
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from renkei.accounts.services import absolute_url, send_mail_to_user
from renkei.pki.choices import ReminderKind
from renkei.pki.models import Certificate, CertificateReminder
from renkei.pki.profiles import get_profile

logger = logging.getLogger("renkei.pki")

WINDOWS = {ReminderKind.DAYS_30: (7, 30), ReminderKind.DAYS_7: (0, 7)}


def due(kind: str, now: datetime.datetime) -> Any:
    """Certificates owed the reminder KIND at NOW."""
    low, high = WINDOWS[kind]
    renewed = Certificate.objects.filter(renewed_from=OuterRef("pk"), revoked_at__isnull=True)
    return (
        Certificate.objects.live(now)
        .filter(
            user__isnull=False,
            user__is_active=True,
            not_after__gt=now + datetime.timedelta(days=low),
            not_after__lte=now + datetime.timedelta(days=high),
        )
        .exclude(Exists(renewed))
        .exclude(reminders__kind=kind)
    )


def _claim(cert: Certificate, kind: str) -> CertificateReminder | None:
    try:
        with transaction.atomic():
            return CertificateReminder.objects.create(certificate=cert, kind=kind)
    except IntegrityError:
        return None


def _send(cert: Certificate, kind: str, now: datetime.datetime) -> bool:
    profile = get_profile(cert.profile)
    days_left = max(1, math.ceil((cert.not_after - now).total_seconds() / 86400))
    context = {
        "organization": cert.organization,
        "certificate": cert,
        "certificate_name": cert.device_name or cert.common_name,
        "profile_label": profile.label if profile else cert.profile,
        "not_after": timezone.localtime(cert.not_after),
        "days_left": days_left,
        "url": absolute_url(reverse("pki:detail", args=[cert.pk])),
    }
    return send_mail_to_user(
        cert.user,
        "reminder",
        context,
        template_dir="pki/email",
        what=f"certificate reminder {kind} for certificate {cert.pk}",
    )


def send_reminders(now: datetime.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"sent": 0, "skipped": 0, "failed": 0, "unreachable": 0}
    for kind in (ReminderKind.DAYS_7, ReminderKind.DAYS_30):
        rows = due(kind, now).select_related("user", "organization").order_by("pk")
        for cert in rows.iterator(chunk_size=500):
            claimed = _claim(cert, kind)
            if claimed is None:
                counts["skipped"] += 1
                continue
            if not cert.user.email:
                claimed.delete()
                counts["unreachable"] += 1
                continue
            if not _send(cert, kind, now):
                claimed.delete()
                counts["failed"] += 1
                continue
            CertificateReminder.objects.filter(pk=claimed.pk).update(sent_at=timezone.now())
            counts["sent"] += 1
    return counts


def run_daily(now: datetime.datetime | None = None) -> dict[str, Any]:
    """The daily PKI job: fresh CRLs for every CA, then the expiry reminders."""
    from renkei.pki.crl import refresh_all

    result: dict[str, Any] = {"crls": refresh_all()}
    result.update(send_reminders(now))
    logger.info("pki daily job: %s", result)
    return result
