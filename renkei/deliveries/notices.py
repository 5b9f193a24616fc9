"""Mails about deliveries (docs/deliveries.md): a delivery registered by a supplier, and deliveries
newly affected by a known vulnerability — to the buyer's admins and analysts and to the supplier's
portal contacts, one mail per person listing every delivery concerned. A finding is mailed once
(`notified_at`); a mail server that refuses is logged without the address and retried with the next
batch of news for that finding (its notified_at stays empty)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils import timezone

from renkei.accounts.models import Membership
from renkei.accounts.services import absolute_url, send_mail_to_user
from renkei.core.permissions import Role
from renkei.deliveries.models import SEVERITY_RANK, Delivery, Finding, Source
from renkei.suppliers.models import Contact

TEMPLATES = "deliveries/email"
# One run mails at most this many findings (each mail lists 20 per delivery); the rest stay
# unnotified and go with the next news, so a backlog never loads a whole portfolio at once.
MAX_FINDINGS_PER_RUN = 10_000


def staff_to_tell(organization_id: int) -> list[Any]:
    members = (
        Membership.objects.filter(
            organization_id=organization_id, role__in=[Role.ADMIN, Role.ANALYST], user__is_active=True
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user_id")
    )
    return [m.user for m in members]


def contacts_to_tell(supplier_id: int) -> list[Any]:
    contacts = (
        Contact.objects.filter(supplier_id=supplier_id, portal_access=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("user_id")
    )
    seen: dict[int, Any] = {}
    for contact in contacts:
        seen.setdefault(contact.user_id, contact.user)
    return list(seen.values())


def staff_url(delivery: Delivery) -> str:
    return absolute_url(reverse("deliveries:detail", args=[delivery.pk]))


def portal_url(delivery: Delivery) -> str:
    return absolute_url(reverse("deliveries:portal_detail", args=[delivery.pk]))


def delivery_registered(delivery_id: int) -> int:
    """A supplier registered a delivery: the buyer's admins and analysts hear of it."""
    delivery = Delivery.objects.select_related("organization", "supplier").filter(pk=delivery_id).first()
    if delivery is None or delivery.source == Source.STAFF:
        return 0
    sent = 0
    for user in staff_to_tell(delivery.organization_id):
        sent += send_mail_to_user(
            user,
            "registered",
            {"organization": delivery.organization, "delivery": delivery, "url": staff_url(delivery)},
            what=f"delivery {delivery.pk} notice",
            template_dir=TEMPLATES,
        )
    return sent


def _lines(findings: list[Finding]) -> list[dict[str, Any]]:
    """One entry per delivery: its new findings, worst first."""
    by_delivery: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_delivery[finding.delivery_id].append(finding)
    entries = []
    for items in by_delivery.values():
        items.sort(key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.osv_id))
        entries.append(
            {"delivery": items[0].delivery, "findings": items[:20], "more": max(0, len(items) - 20)}
        )
    entries.sort(key=lambda e: (e["delivery"].supplier.name, e["delivery"].product))
    return entries


def new_findings(delivery_ids: Iterable[int]) -> int:
    """Tell the buyer and the supplier about the open findings of these deliveries nobody was told
    of yet (new, reopened, or left over from a mail that failed); the number of mails sent."""
    findings = list(
        Finding.objects.filter(
            delivery_id__in=sorted(set(delivery_ids)), notified_at__isnull=True, resolved_at__isnull=True
        )
        .select_related("delivery__organization", "delivery__supplier", "component", "advisory")
        .order_by("delivery_id", "pk")[:MAX_FINDINGS_PER_RUN]
    )
    by_org: dict[int, list[Finding]] = defaultdict(list)
    by_supplier: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_org[finding.delivery.organization_id].append(finding)
        by_supplier[finding.delivery.supplier_id].append(finding)
    sent = 0
    done: set[int] = set()
    for org_findings in by_org.values():
        organization = org_findings[0].delivery.organization
        entries = _lines(org_findings)
        for entry in entries:
            entry["url"] = staff_url(entry["delivery"])
        ok = True
        for user in staff_to_tell(organization.pk):
            ok = (
                send_mail_to_user(
                    user,
                    "new_findings",
                    {"organization": organization, "entries": entries, "count": len(org_findings)},
                    what="vulnerability notice",
                    template_dir=TEMPLATES,
                )
                and ok
            )
            sent += 1
        if ok:
            done.update(f.pk for f in org_findings)
    for supplier_findings in by_supplier.values():
        delivery = supplier_findings[0].delivery
        entries = _lines(supplier_findings)
        for entry in entries:
            entry["url"] = portal_url(entry["delivery"])
        for user in contacts_to_tell(delivery.supplier_id):
            sent += send_mail_to_user(
                user,
                "new_findings_supplier",
                {
                    "organization": delivery.organization,
                    "supplier": delivery.supplier,
                    "entries": entries,
                    "count": len(supplier_findings),
                },
                what="vulnerability notice to a supplier",
                template_dir=TEMPLATES,
            )
    told = sorted(done)
    for start in range(0, len(told), 5000):
        Finding.objects.filter(pk__in=told[start : start + 5000]).update(notified_at=timezone.now())
    return sent
