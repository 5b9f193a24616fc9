"""Mails about deliveries (docs/deliveries.md): a delivery registered by a supplier, and deliveries
newly affected by a known vulnerability — to the buyer's admins and analysts and to the supplier's
portal contacts, one mail per person listing every delivery concerned. A finding is mailed once
(`notified_at`); a mail server that refuses is logged without the address and retried with the next
batch of news for that finding (its notified_at stays empty)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.urls import reverse
from django.utils import timezone

from renkei.accounts.models import Membership, Organization
from renkei.accounts.services import absolute_url, send_mail_to_user
from renkei.core.permissions import Role
from renkei.deliveries.models import SEVERITY_RANK, Delivery, Finding, Severity, Source
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


def staff_url(delivery_id: int) -> str:
    return absolute_url(reverse("deliveries:detail", args=[delivery_id]))


def portal_url(delivery_id: int) -> str:
    return absolute_url(reverse("deliveries:portal_detail", args=[delivery_id]))


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
            {"organization": delivery.organization, "delivery": delivery, "url": staff_url(delivery.pk)},
            what=f"delivery {delivery.pk} notice",
            template_dir=TEMPLATES,
        )
    return sent


def _lines(findings: list[Any]) -> list[dict[str, Any]]:
    """One entry per delivery: its new findings, worst first."""
    by_delivery: dict[int, list[Any]] = defaultdict(list)
    for finding in findings:
        by_delivery[finding.delivery.pk].append(finding)
    entries = []
    for items in by_delivery.values():
        items.sort(key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.osv_id))
        entries.append(
            {"delivery": items[0].delivery, "findings": items[:20], "more": max(0, len(items) - 20)}
        )
    entries.sort(key=lambda e: (e["delivery"].supplier.name, e["delivery"].product))
    return entries


_FIELDS = (
    "pk",
    "osv_id",
    "severity",
    "advisory__aliases",
    "component__name",
    "component__version",
    "delivery_id",
    "delivery__product",
    "delivery__version",
    "delivery__organization_id",
    "delivery__supplier_id",
    "delivery__supplier__name",
)


def _unnotified(delivery_ids: Iterable[int]) -> list[Any]:
    """The open findings of these deliveries nobody was told of, as light rows shaped like the
    models the mail templates read (a run may carry thousands: no model instances)."""
    labels = dict(Severity.choices)
    deliveries: dict[int, Any] = {}
    rows = []
    for (
        pk,
        osv_id,
        severity,
        aliases,
        name,
        version,
        delivery_id,
        product,
        delivery_version,
        organization_id,
        supplier_id,
        supplier_name,
    ) in (
        Finding.objects.filter(
            delivery_id__in=sorted(set(delivery_ids)), notified_at__isnull=True, resolved_at__isnull=True
        )
        .order_by("delivery_id", "pk")
        .values_list(*_FIELDS)[:MAX_FINDINGS_PER_RUN]
    ):
        delivery = deliveries.get(delivery_id)
        if delivery is None:
            delivery = deliveries[delivery_id] = SimpleNamespace(
                pk=delivery_id,
                product=product,
                version=delivery_version,
                organization_id=organization_id,
                supplier_id=supplier_id,
                supplier=SimpleNamespace(pk=supplier_id, name=supplier_name),
            )
        rows.append(
            SimpleNamespace(
                pk=pk,
                osv_id=osv_id,
                severity=severity,
                get_severity_display=labels.get(severity, severity),  # lazy: each reader's language
                advisory=SimpleNamespace(aliases=aliases or []),
                component=SimpleNamespace(name=name, version=version),
                delivery=delivery,
            )
        )
    return rows


def new_findings(delivery_ids: Iterable[int]) -> int:
    """Tell the buyer and the supplier about the open findings of these deliveries nobody was told
    of yet (new, reopened, or left over from a mail that failed); the number of mails sent."""
    findings = _unnotified(delivery_ids)
    if not findings:
        return 0
    organizations = {
        o.pk: o for o in Organization.objects.filter(pk__in={f.delivery.organization_id for f in findings})
    }
    by_org: dict[int, list[Any]] = defaultdict(list)
    by_supplier: dict[int, list[Any]] = defaultdict(list)
    for finding in findings:
        by_org[finding.delivery.organization_id].append(finding)
        by_supplier[finding.delivery.supplier_id].append(finding)
    sent = 0
    done: set[int] = set()
    for org_findings in by_org.values():
        organization = organizations[org_findings[0].delivery.organization_id]
        entries = _lines(org_findings)
        for entry in entries:
            entry["url"] = staff_url(entry["delivery"].pk)
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
            entry["url"] = portal_url(entry["delivery"].pk)
        for user in contacts_to_tell(delivery.supplier_id):
            sent += send_mail_to_user(
                user,
                "new_findings_supplier",
                {
                    "organization": organizations[delivery.organization_id],
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
