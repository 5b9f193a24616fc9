"""Sharing an incident with partners, and their acknowledgements (docs/incidents.md, "Sharing").

Staff with change rights choose a level of detail (renkei.incidents.share_content), the suppliers
to tell (the affected ones by default; other suppliers and group companies too) and any further
addresses. Each recipient gets a mail with the frozen text and a personal link; opening the link
records when it was read, confirming it with a name records who acknowledged and from where.

Whom at a supplier: the model has no "security contact" flag, so the supplier's primary contacts
that have an e-mail address get the notice; a supplier without such a primary contact has all its
contacts with an address told. The share page lists, per supplier, exactly who that is.

The links: 32 random bytes, URL-safe, only in the mail; the database keeps their SHA-256 and the
audit trail not even that (as renkei.pki.enrollment). A link does not expire: acknowledging weeks
later is still worth recording, and it shows only what that recipient was sent.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.tokens import find_by_token, new_token
from renkei.incidents import share_content
from renkei.incidents.forms import ShareForm
from renkei.incidents.models import AffectedItem, EventKind, Incident, Recipient, Share
from renkei.incidents.services import IncidentError, _event, _staff

logger = logging.getLogger("renkei.incidents")

MAX_RECIPIENTS = 200
LINE_MAX = 320  # a display name and the longest valid address
TEMPLATES = "incidents/email"
# Stored in Recipient.send_error (English, like a log line); the pages show their own wording.
SEND_FAILED = "The mail server refused the message, or it could not be signed."


# --- Small helpers --------------------------------------------------------------------------------


def ack_url(token: str) -> str:
    from renkei.accounts.services import absolute_url

    return absolute_url(reverse("incidents:ack", args=[token]))


def _recipient_snapshot(recipient: Recipient) -> dict[str, Any]:
    data = snapshot(recipient)
    data.pop("token_hash", None)  # not even the hash goes to the audit trail
    return data


def _share_snapshot(share: Share) -> dict[str, Any]:
    data = snapshot(share)
    data["content"] = share.content  # JSON already; snapshot() would turn it into its repr
    return data


def pick_contacts(contacts: Iterable[Any]) -> list[Any]:
    """Whom to tell at one supplier: its primary contacts with an address, else all with one."""
    with_address = [c for c in contacts if c.email]
    primary = [c for c in with_address if c.is_primary]
    return primary or with_address


# --- Who can be told --------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One supplier on the share page, with the contacts that would get the mail."""

    supplier: Any
    affected: bool
    group: bool
    contacts: list[Any]
    without_address: int
    checked: bool = False  # set by the page: preselected, or what was posted

    @property
    def preselected(self) -> bool:
        return self.affected and bool(self.contacts)


def _suppliers(organization_id: int) -> Any:
    from renkei.suppliers.choices import SupplierStatus
    from renkei.suppliers.models import Contact, Supplier

    return (
        Supplier.objects.filter(organization_id=organization_id)
        .exclude(status=SupplierStatus.REJECTED)
        .only("pk", "code", "name", "relationship", "organization_id")
        .prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.order_by("-is_primary", "name", "pk"))
        )
    )


def affected_supplier_ids(incident: Incident) -> set[int]:
    """The suppliers the incident reaches and staff did not set aside."""
    rows = AffectedItem.objects.filter(incident=incident, excluded=False, supplier__isnull=False)
    return set(rows.values_list("supplier_id", flat=True))


def candidates(incident: Incident) -> list[Candidate]:
    """Every supplier of the organization: the affected ones first, then group companies, then the
    others (by code). The reporting supplier is listed but never preselected: it knows."""
    from renkei.suppliers.choices import Relationship

    affected = affected_supplier_ids(incident) - {incident.supplier_id}
    groups = {Relationship.GROUP, Relationship.OVERSEAS_SUBSIDIARY}
    rows = []
    for supplier in _suppliers(incident.organization_id):
        contacts = list(supplier.contacts.all())
        chosen = pick_contacts(contacts)
        rows.append(
            Candidate(
                supplier=supplier,
                affected=supplier.pk in affected,
                group=supplier.relationship in groups,
                contacts=chosen,
                without_address=sum(1 for c in contacts if not c.email),
            )
        )
    rows.sort(key=lambda c: (not c.affected, not c.group, c.supplier.code))
    return rows


# --- Validation -------------------------------------------------------------------------------------


@dataclass
class _Planned:
    supplier: Any
    name: str
    email: str


@dataclass
class _Plan:
    people: list[_Planned] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def add(self, supplier: Any, name: str, address: str) -> None:
        key = address.lower()
        if key not in self.seen:  # the same person through two suppliers, or typed again
            self.seen.add(key)
            self.people.append(_Planned(supplier, name[:200], address))


def parse_extra(text: str | Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """("Name <address>" or "address" lines) -> ([(name, address)], [error per bad line])."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    found: list[tuple[str, str]] = []
    errors: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        name, address = email.utils.parseaddr(line)
        # parseaddr reads past garbage (two addresses, a stray "<"): the line must be exactly the
        # address, or a name followed by the address in angle brackets.
        exact = address and (line == address or line.endswith(f"<{address}>"))
        try:
            if len(line) > LINE_MAX or not exact or any(c in name for c in "<>;@"):
                raise ValidationError("")
            validate_email(address)
        except ValidationError:
            shown = line if len(line) <= 60 else line[:57] + "..."
            errors.append(
                _("Line %(number)d (“%(line)s”) is not “Name <address>” or one e-mail address.")
                % {"number": number, "line": shown}
            )
            continue
        found.append((name.strip().strip('"').strip() or address, address))
    return found, errors


def _plan(incident: Incident, supplier_ids: Iterable[Any], extra: str | Sequence[str]) -> _Plan:
    errors: dict[str, str] = {}
    try:
        ids = {int(i) for i in supplier_ids}
    except (TypeError, ValueError):
        ids, errors["suppliers"] = set(), _("Unknown supplier.")
    suppliers = list(_suppliers(incident.organization_id).filter(pk__in=ids)) if ids else []
    if len(suppliers) != len(ids):
        errors["suppliers"] = _("Unknown supplier.")
    plan = _Plan()
    unreachable = []
    for supplier in sorted(suppliers, key=lambda s: s.code):
        contacts = pick_contacts(supplier.contacts.all())
        if not contacts:
            unreachable.append(supplier.name)
        for contact in contacts:
            plan.add(supplier, contact.name, contact.email)
    if unreachable and "suppliers" not in errors:
        errors["suppliers"] = _(
            "No contact with an e-mail address at: %(suppliers)s. Add one in the registry, or type "
            "the address under further recipients."
        ) % {"suppliers": "、".join(unreachable)}
    found, line_errors = parse_extra(extra)
    if line_errors:
        errors["extra"] = " ".join(line_errors)
    for name, address in found:
        plan.add(None, name, address)
    if not errors and not plan.people:
        errors["suppliers"] = _("Choose at least one supplier or type an address.")
    if len(plan.people) > MAX_RECIPIENTS:
        errors["__all__"] = _("At most %(limit)d recipients at a time (%(count)d chosen).") % {
            "limit": MAX_RECIPIENTS,
            "count": len(plan.people),
        }
    if errors:
        raise IncidentError(_("Correct the errors below."), errors)
    return plan


# --- Sharing ----------------------------------------------------------------------------------------


def share(
    actor: Actor,
    incident: Incident,
    *,
    detail: str,
    message: str = "",
    supplier_ids: Iterable[Any] = (),
    extra_recipients: str | Sequence[str] = "",
    language: str | None = None,
) -> Share:
    """Tell the chosen suppliers' contacts and the typed addresses about INCIDENT at DETAIL.
    Everything is checked first; the mails go out after the commit (S/MIME-signed when the
    organization has a notice signer), each recipient's sent_at or send_error recorded."""
    from renkei.pki.smime import notice_signer

    _staff(actor, incident.organization_id)
    language = language or settings.LANGUAGE_CODE
    form = ShareForm({"detail": detail, "message": message or ""})
    errors: dict[str, str] = {}
    if not form.is_valid():
        errors.update({name: str(messages[0]) for name, messages in form.errors.items()})
    if language not in dict(settings.LANGUAGES):
        errors["language"] = _("Unknown language.")
    try:
        plan = _plan(incident, supplier_ids, extra_recipients)
    except IncidentError as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise IncidentError(_("Correct the errors below."), errors)
    detail, message = form.cleaned_data["detail"], form.cleaned_data["message"].strip()
    tokens: dict[str, str] = {}
    with transaction.atomic():
        # Fresh from the database: the frozen text is what the incident says now.
        locked = Incident.objects.select_related("organization", "supplier").get(pk=incident.pk)
        row = Share(
            incident=locked,
            detail=detail,
            message=message,
            content=share_content.build(locked, detail, message, language),
            signed=notice_signer(locked.organization_id) is not None,
            created_by=actor.user,
        )
        row.save()
        recipients = []
        for person in plan.people:
            token, digest = new_token()
            tokens[digest] = token
            recipients.append(
                Recipient(
                    share=row,
                    supplier=person.supplier,
                    name=person.name,
                    email=person.email,
                    token_hash=digest,
                )
            )
        Recipient.objects.bulk_create(recipients)
        saved = list(Recipient.objects.filter(share=row).select_related("supplier").order_by("pk"))
        org = locked.organization_id
        record_many(
            actor,
            [
                PendingEntry(AuditEntry.Action.CREATE, row, None, _share_snapshot(row), organization_id=org),
                *(
                    PendingEntry(
                        AuditEntry.Action.CREATE,
                        r,
                        None,
                        _recipient_snapshot(r),
                        organization_id=org,
                        supplier_id=r.supplier_id,
                    )
                    for r in saved
                ),
            ],
        )
        _event(locked, actor, EventKind.SHARED, _event_text(row, saved))
        transaction.on_commit(lambda: deliver(row.pk, tokens), robust=True)
    return row


def _event_text(row: Share, recipients: list[Recipient]) -> str:
    names = sorted({r.supplier.name for r in recipients if r.supplier is not None})
    others = sum(1 for r in recipients if r.supplier is None)
    text = ngettext(
        "Shared with %(count)d recipient at the level “%(level)s”.",
        "Shared with %(count)d recipients at the level “%(level)s”.",
        len(recipients),
    ) % {"count": len(recipients), "level": row.get_detail_display()}
    if names:
        text += "\n" + _("Suppliers: %(names)s") % {"names": "、".join(names)}
    if others:
        text += "\n" + _("Further addresses: %(count)d") % {"count": others}
    return text


def deliver(share_pk: int, tokens: dict[str, str]) -> int:
    """Mail each recipient of the share whose link is in TOKENS (hash -> token) and that was not
    mailed yet; record sent_at or send_error. The number sent."""
    from renkei.accounts.services import send_mail_to_address

    row = Share.objects.select_related("incident__organization").get(pk=share_pk)
    language = row.content.get("language") or settings.LANGUAGE_CODE
    sent = 0
    for recipient in row.recipients.filter(sent_at__isnull=True).order_by("pk"):
        token = tokens.get(recipient.token_hash)
        if token is None:
            continue
        context = {
            "organization": row.incident.organization,
            "content": row.content,
            "recipient_name": recipient.name,
            "ack_url": ack_url(token),
            "signed": row.signed,
        }
        ok = send_mail_to_address(
            recipient.email,
            language,
            "share",
            context,
            what=f"incident share {row.pk} recipient {recipient.pk}",
            template_dir=TEMPLATES,
        )
        if ok:
            sent += 1
            Recipient.objects.filter(pk=recipient.pk).update(sent_at=timezone.now(), send_error="")
        else:
            Recipient.objects.filter(pk=recipient.pk).update(send_error=SEND_FAILED)
    return sent


# --- The recipient's link ---------------------------------------------------------------------------


def find_recipient(token: str) -> Recipient | None:
    """The recipient for TOKEN or None; looked up by hash, compared in constant time."""
    return find_by_token(Recipient.objects.select_related("share__incident__organization", "supplier"), token)


def mark_opened(recipient: Recipient) -> None:
    """The first opening of the link (only the field: a timeline line per opening is noise)."""
    if recipient.opened_at is None:
        now = timezone.now()
        if Recipient.objects.filter(pk=recipient.pk, opened_at__isnull=True).update(opened_at=now):
            recipient.opened_at = now


def acknowledge(recipient: Recipient, *, name: str, address: str) -> bool:
    """NAME confirms having read the notice; False (and nothing written) if it was already
    acknowledged. The timeline and the audit trail record who, when and from where."""
    name = " ".join((name or "").split())[:100]
    if not name:
        raise IncidentError(_("Correct the errors below."), {"name": _("Enter your name.")})
    with transaction.atomic():
        locked = Recipient.objects.select_for_update().get(pk=recipient.pk)
        if locked.acknowledged_at is not None:
            recipient.acknowledged_at, recipient.acknowledged_by = (
                locked.acknowledged_at,
                locked.acknowledged_by,
            )
            return False
        before = _recipient_snapshot(locked)
        now = timezone.now()
        locked.acknowledged_at, locked.acknowledged_by = now, name
        locked.acknowledged_from = (address or "")[:45]
        locked.opened_at = locked.opened_at or now
        locked.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledged_from", "opened_at"])
        incident = recipient.share.incident
        where = recipient.supplier.name if recipient.supplier is not None else recipient.email
        actor = Actor(
            user=None,
            address=locked.acknowledged_from,
            label=_("%(name)s (acknowledgement link)") % {"name": name},
        )
        record_many(
            actor,
            [
                PendingEntry(
                    AuditEntry.Action.UPDATE,
                    locked,
                    before,
                    _recipient_snapshot(locked),
                    organization_id=incident.organization_id,
                    supplier_id=locked.supplier_id,
                )
            ],
        )
        _event(
            incident,
            actor,
            EventKind.RECEIVED,
            _("%(name)s (%(where)s) acknowledged") % {"name": name, "where": where},
        )
    recipient.acknowledged_at, recipient.acknowledged_by = locked.acknowledged_at, locked.acknowledged_by
    recipient.acknowledged_from, recipient.opened_at = locked.acknowledged_from, locked.opened_at
    return True


# --- The incident page's section --------------------------------------------------------------------


def shares_context(incident: Incident) -> dict[str, Any]:
    """{"shares": [...]} for incidents/partials/shares.html: every share, newest first, with who
    sent it and its recipients (with their supplier) and counts. Two queries."""
    recipients = Recipient.objects.select_related("supplier").order_by("name", "pk")
    shares = list(
        Share.objects.filter(incident=incident)
        .select_related("created_by")
        .prefetch_related(Prefetch("recipients", queryset=recipients, to_attr="recipient_list"))
        .order_by("-created_at", "-pk")
    )
    for row in shares:
        people = row.recipient_list
        row.count_total = len(people)
        row.count_sent = sum(1 for r in people if r.sent_at)
        row.count_failed = sum(1 for r in people if r.send_error and not r.sent_at)
        row.count_opened = sum(1 for r in people if r.opened_at)
        row.count_acknowledged = sum(1 for r in people if r.acknowledged_at)
    return {"shares": shares}
