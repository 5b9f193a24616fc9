"""Incidents: the one place they change (docs/incidents.md).

Pages, the portal, the reporting link, the API, the CLI and the demo call these. Each function
validates first (through the forms of renkei.incidents.forms), then writes in one transaction
with its audit entries and its timeline event; mail goes out after the commit.

Who may do what:
- staff with change rights (admin, analyst) record, triage, decide, share and close; auditors read;
- a supplier contact with portal access reports incidents of its own supplier, reads them (not the
  obligations, the affected list or the shares) and adds messages; it sees our events only when
  they were marked for the supplier;
- a reporting link lets whoever holds it report one incident for the supplier it names.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.errors import NotAllowed as BaseNotAllowed
from renkei.core.errors import ServiceError
from renkei.core.models import contact_supplier_ids, staff_may
from renkei.core.permissions import ADD, CHANGE
from renkei.incidents import affected, obligations
from renkei.incidents.forms import IntakeForm, StaffIntakeForm, TriageForm
from renkei.incidents.models import (
    Event,
    EventKind,
    Incident,
    Obligation,
    ObligationStatus,
    Source,
    Status,
)

logger = logging.getLogger("renkei.incidents")
ATTACHMENT_MAX = 20 * 1024 * 1024
# Categories that are malware for the IPA notification rule (コンピュータウイルス届出).
MALWARE_CATEGORIES = ("ransomware", "malware")


class IncidentError(ServiceError):
    """A refused change to an incident."""


class NotAllowed(IncidentError, BaseNotAllowed):
    """The user may see the incident but not do this with it."""


def form_error(form: Any) -> IncidentError:
    """The form's errors as one IncidentError: field -> first message ("__all__" for the form)."""
    errors = {name: str(messages[0]) for name, messages in form.errors.items()}
    return IncidentError(_("Correct the errors below."), errors)


def _staff(actor: Actor, organization_id: int, action: str = CHANGE) -> None:
    if actor.user is not None and not staff_may(actor.user, organization_id, action):
        raise NotAllowed(_("You may not change this incident."))


def is_contact_of(user: Any, supplier_id: int | None) -> bool:
    if supplier_id is None or user is None or not user.is_authenticated or not user.is_active:
        return False
    return contact_supplier_ids(user).filter(supplier_id=supplier_id).exists()


def _event(
    incident: Incident,
    actor: Actor,
    kind: str,
    text: str = "",
    *,
    supplier_visible: bool = False,
    at: datetime.datetime | None = None,
    attachment: UploadedFile | None = None,
) -> Event:
    event = Event(
        incident=incident,
        at=at or timezone.now(),
        kind=kind,
        text=text,
        user=actor.user,
        actor_label=actor.label[:150],
        supplier_visible=supplier_visible,
    )
    if attachment is not None:
        event.attachment_name = attachment.name[:200]
        event.attachment.save(attachment.name, attachment, save=False)
    event.save()
    return event


def _audit(
    actor: Actor,
    action: str,
    obj: Any,
    before: dict | None,
    after: dict | None,
    *,
    supplier_id: int | None = None,
) -> None:
    record_many(actor, [PendingEntry(action, obj, before, after, supplier_id=supplier_id)])


def _incident_snapshot(incident: Incident) -> dict[str, Any]:
    return snapshot(incident)


# --- Intake -------------------------------------------------------------------------------------


def next_number(organization: Organization, year: int) -> str:
    """INC-YEAR-NNNN, counted per organization and year; the caller holds the organization lock."""
    prefix = f"INC-{year}-"
    last = (
        Incident.objects.filter(organization=organization, number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    following = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{following:04d}"


def report(
    actor: Actor,
    supplier: Any,
    data: dict[str, Any],
    *,
    source: str = Source.PORTAL,
    reporter_name: str = "",
    reporter_email: str = "",
    files: Any = None,
) -> Incident:
    """A supplier's report (portal or reporting link). The reporter gets an acknowledgement and
    the organization's staff a notice, after the commit."""
    if source == Source.PORTAL and actor.user is not None and not is_contact_of(actor.user, supplier.pk):
        raise NotAllowed(_("You may not report incidents for this supplier."))
    form = IntakeForm(data, files)
    if not form.is_valid():
        raise form_error(form)
    user = actor.user
    name = reporter_name or (user.get_full_name() or user.username if user else "")
    email = reporter_email or (user.email if user else "")
    return _create(
        actor,
        supplier.organization,
        supplier,
        form.cleaned_data,
        source=source,
        reporter_name=name,
        reporter_email=email,
        aware_at=timezone.now(),
    )


def record_incident(
    actor: Actor, organization: Organization, data: dict[str, Any], suppliers: Any = None
) -> Incident:
    """Staff record an incident (reported by phone, found by ourselves, ...)."""
    _staff(actor, organization.pk, ADD)
    from renkei.suppliers.models import Supplier

    allowed = suppliers if suppliers is not None else Supplier.objects.filter(organization=organization)
    form = StaffIntakeForm(data, suppliers=allowed)
    if not form.is_valid():
        raise form_error(form)
    values = dict(form.cleaned_data)
    supplier = values.pop("supplier", None)
    if supplier is not None and supplier.organization_id != organization.pk:
        raise IncidentError(_("Correct the errors below."), {"supplier": _("Unknown supplier.")})
    aware_at = values.pop("aware_at", None) or timezone.now()
    return _create(
        actor,
        organization,
        supplier,
        values,
        source=Source.STAFF,
        reporter_name=values.pop("reporter_name", "") or "",
        reporter_email="",
        aware_at=aware_at,
    )


def _create(
    actor: Actor,
    organization: Organization,
    supplier: Any,
    values: dict[str, Any],
    *,
    source: str,
    reporter_name: str,
    reporter_email: str,
    aware_at: datetime.datetime,
) -> Incident:
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        incident = Incident(
            organization=organization,
            supplier=supplier,
            source=source,
            number=next_number(organization, timezone.localtime(aware_at).year),
            reported_by=actor.user if source != Source.LINK else None,
            reporter_name=reporter_name[:100],
            reporter_email=reporter_email,
            aware_at=aware_at,
            **{k: v for k, v in values.items() if k not in ("reporter_name",)},
        )
        incident.save()
        _mark_supplier(incident)
        _audit(actor, AuditEntry.Action.CREATE, incident, None, _incident_snapshot(incident))
        _event(
            incident,
            actor,
            EventKind.REPORTED,
            incident.description[:2000],
            supplier_visible=True,
            at=aware_at if source == Source.STAFF else None,
        )
        affected.refresh(actor, incident)
        sync_obligations(actor, incident)
        transaction.on_commit(lambda: _announce(incident.pk), robust=True)
    return incident


def _announce(incident_pk: int) -> None:
    from renkei.incidents import notices

    incident = Incident.objects.select_related("organization", "supplier").get(pk=incident_pk)
    notices.acknowledge_reporter(incident)
    notices.tell_staff(incident)


# --- Triage and obligations ---------------------------------------------------------------------


def facts_of(incident: Incident) -> obligations.Facts:
    return obligations.Facts.from_mapping(
        {
            "aware_at": incident.aware_at.isoformat(),
            "personal_data": incident.personal_data,
            "persons_affected": incident.persons_affected or 0,
            "sensitive_personal_data": incident.sensitive_personal_data,
            "financial_harm_possible": incident.financial_harm_possible,
            "unauthorized_access": incident.unauthorized_access,
            "export_controlled_tech": incident.export_controlled_tech,
            "we_are_contractor": incident.we_are_contractor,
            "malware": incident.category in MALWARE_CATEGORIES,
            "regulated_sector": incident.regulated_sector,
        }
    )


def sync_obligations(actor: Actor, incident: Incident) -> list[Obligation]:
    """Bring the incident's obligations in line with its facts: new ones added, deadlines moved
    when the facts move them, ones the facts no longer call for withdrawn (kept, with their
    history). Owners, statuses and notes stay. Inside the caller's transaction."""
    found = {o.id: o for o in obligations.evaluate(facts_of(incident))}
    existing = {o.rule_id: o for o in incident.obligations.all()}
    changes: list[str] = []
    pending: list[PendingEntry] = []
    for rule_id, result in found.items():
        row = existing.get(rule_id)
        if row is None:
            row = Obligation(
                incident=incident,
                rule_id=rule_id,
                rules_version=result.rules_version,
                authority=result.authority,
                kind=result.kind,
                title_ja=result.title_ja,
                title_en=result.title_en,
                basis=result.basis,
                due_at=result.due,
            )
            row.save()
            pending.append(
                PendingEntry(
                    AuditEntry.Action.CREATE,
                    row,
                    None,
                    snapshot(row),
                    organization_id=incident.organization_id,
                )
            )
            changes.append(_("Applies: %(title)s") % {"title": _title(row)})
            continue
        before = snapshot(row)
        moved = row.due_at != result.due
        row.due_at, row.basis, row.rules_version = result.due, result.basis, result.rules_version
        row.title_ja, row.title_en = result.title_ja, result.title_en
        returned = row.withdrawn
        row.withdrawn = False
        if moved:
            row.warned = ""
        row.save()
        after = snapshot(row)
        if after != before:
            pending.append(
                PendingEntry(
                    AuditEntry.Action.UPDATE, row, before, after, organization_id=incident.organization_id
                )
            )
        if returned:
            changes.append(_("Applies again: %(title)s") % {"title": _title(row)})
        elif moved:
            changes.append(_("Deadline moved: %(title)s") % {"title": _title(row)})
    for rule_id, row in existing.items():
        if rule_id not in found and not row.withdrawn:
            before = snapshot(row)
            row.withdrawn = True
            row.save(update_fields=["withdrawn"])
            pending.append(
                PendingEntry(
                    AuditEntry.Action.UPDATE,
                    row,
                    before,
                    snapshot(row),
                    organization_id=incident.organization_id,
                )
            )
            changes.append(_("No longer applies: %(title)s") % {"title": _title(row)})
    if pending:
        record_many(actor, pending)
    if changes:
        _event(incident, actor, EventKind.OBLIGATION, "\n".join(changes))
    return list(incident.obligations.all())


def _title(row: Obligation) -> str:
    from django.utils.translation import get_language

    return row.title_en if (get_language() or "").startswith("en") else row.title_ja


TRIAGE_TEXT_FIELDS = ("status", "severity", "category")


def triage(actor: Actor, incident: Incident, data: dict[str, Any]) -> Incident:
    """Severity, category, status and the facts; the obligations follow the facts."""
    _staff(actor, incident.organization_id)
    form = TriageForm(data, instance=Incident.objects.get(pk=incident.pk))
    if not form.is_valid():
        raise form_error(form)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        before = _incident_snapshot(locked)
        for name, value in form.cleaned_data.items():
            setattr(locked, name, value)
        if locked.status == Status.CLOSED and locked.closed_at is None:
            locked.closed_at = timezone.now()
        elif locked.status != Status.CLOSED:
            locked.closed_at = None
        locked.save()
        after = _incident_snapshot(locked)
        if after != before:
            _audit(actor, AuditEntry.Action.UPDATE, locked, before, after, supplier_id=locked.supplier_id)
            _event(
                locked,
                actor,
                EventKind.TRIAGE,
                _describe(before, after, locked),
                supplier_visible=before["status"] != after["status"],
            )
            sync_obligations(actor, locked)
            if any(before[name] != after[name] for name in ("status", "severity", "aware_at")):
                _mark_supplier(locked)
    return locked


def _describe(before: dict, after: dict, incident: Incident) -> str:
    lines = []
    for name, new in after.items():
        if name in ("updated_at", "closed_at") or before.get(name) == new:
            continue
        field = Incident._meta.get_field(name)
        value = getattr(incident, f"get_{name}_display")() if field.choices else new
        if isinstance(value, bool):
            value = _("yes") if value else _("no")
        lines.append(f"{field.verbose_name}: {value}")
    return "\n".join(lines)


def _mark_supplier(incident: Incident) -> None:
    """The supplier's likelihood counts its recent incidents (renkei.risk.factors)."""
    if incident.supplier_id:
        from renkei.risk.signals import mark

        mark([incident.supplier_id])


def update_fields(actor: Actor, incident: Incident, data: dict[str, Any]) -> Incident:
    """The report fields (cause, secondary harm, ...) and the lessons."""
    from renkei.incidents.forms import ReportFieldsForm

    _staff(actor, incident.organization_id)
    form = ReportFieldsForm(data, instance=Incident.objects.get(pk=incident.pk))
    if not form.is_valid():
        raise form_error(form)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        before = _incident_snapshot(locked)
        for name, value in form.cleaned_data.items():
            setattr(locked, name, value)
        locked.save()
        after = _incident_snapshot(locked)
        if after != before:
            _audit(actor, AuditEntry.Action.UPDATE, locked, before, after, supplier_id=locked.supplier_id)
            kind = EventKind.LESSONS if before["lessons"] != after["lessons"] else EventKind.NOTE
            changed = [
                str(Incident._meta.get_field(n).verbose_name)
                for n in after
                if n != "updated_at" and before.get(n) != after.get(n)
            ]
            _event(locked, actor, kind, _("Updated: %(fields)s") % {"fields": "、".join(changed)})
    return locked


def update_obligation(
    actor: Actor, obligation: Obligation, *, status: str, owner: Any = None, note: str = ""
) -> Obligation:
    incident = obligation.incident
    _staff(actor, incident.organization_id)
    if status not in ObligationStatus.values:
        raise IncidentError(_("Correct the errors below."), {"status": _("Unknown status.")})
    if owner is not None and not staff_may(owner, incident.organization_id, "view"):
        raise IncidentError(
            _("Correct the errors below."), {"owner": _("Not a member of this organization.")}
        )
    with transaction.atomic():
        locked = Obligation.objects.select_for_update().get(pk=obligation.pk)
        before = snapshot(locked)
        locked.status, locked.owner, locked.note = status, owner, note.strip()[:10_000]
        locked.done_at = timezone.now() if status == ObligationStatus.DONE else None
        locked.save()
        after = snapshot(locked)
        if after != before:
            record_many(
                actor,
                [
                    PendingEntry(
                        AuditEntry.Action.UPDATE,
                        locked,
                        before,
                        after,
                        organization_id=incident.organization_id,
                    )
                ],
            )
            text = f"{_title(locked)}: {locked.get_status_display()}"
            if locked.owner_id != before.get("owner"):
                text += "\n" + _("Owner: %(name)s") % {
                    "name": owner.get_full_name() or owner.username if owner else "—"
                }
            if locked.note and locked.note != before.get("note"):
                text += "\n" + locked.note
            _event(incident, actor, EventKind.DECISION, text)
    return locked


# --- Timeline -----------------------------------------------------------------------------------


def add_event(
    actor: Actor,
    incident: Incident,
    *,
    kind: str,
    text: str = "",
    attachment: UploadedFile | None = None,
    supplier_visible: bool = False,
) -> Event:
    """A note, decision or message by staff, or a message by the reporting supplier's contact."""
    contact = actor.user is not None and is_contact_of(actor.user, incident.supplier_id)
    staff = actor.user is None or staff_may(actor.user, incident.organization_id, CHANGE)
    if not staff and not contact:
        raise NotAllowed(_("You may not change this incident."))
    if not staff:  # a supplier contact writes messages its own side sees
        kind, supplier_visible = EventKind.MESSAGE, True
    if kind not in (EventKind.NOTE, EventKind.DECISION, EventKind.MESSAGE):
        raise IncidentError(_("Correct the errors below."), {"kind": _("Unknown kind.")})
    text = (text or "").strip()
    if len(text) > 10_000:
        raise IncidentError(
            _("Correct the errors below."),
            {"text": _("Enter at most %(limit)d characters.") % {"limit": 10_000}},
        )
    if attachment is not None and attachment.size > ATTACHMENT_MAX:
        raise IncidentError(
            _("Correct the errors below."),
            {"attachment": _("The file is larger than %(mb)d MB.") % {"mb": 20}},
        )
    if not text and attachment is None:
        raise IncidentError(_("Correct the errors below."), {"text": _("Write something or attach a file.")})
    with transaction.atomic():
        event = _event(
            incident,
            actor,
            EventKind.ATTACHMENT if attachment is not None and not text else kind,
            text,
            supplier_visible=supplier_visible,
            attachment=attachment,
        )
        record_many(
            actor,
            [
                PendingEntry(
                    AuditEntry.Action.CREATE,
                    event,
                    None,
                    snapshot(event),
                    organization_id=incident.organization_id,
                    supplier_id=incident.supplier_id,
                )
            ],
        )
    if not staff:
        transaction.on_commit(lambda: _tell_staff_of_message(event.pk), robust=True)
    return event


def _tell_staff_of_message(event_pk: int) -> None:
    from renkei.incidents import notices

    notices.tell_staff_of_message(Event.objects.select_related("incident__organization").get(pk=event_pk))


def events_for(user: Any, incident: Incident) -> Any:
    """The timeline USER may read: all of it for staff; for a supplier contact, what was marked
    for the supplier."""
    events = Event.objects.filter(incident=incident).select_related("user")
    if staff_may(user, incident.organization_id, "view"):
        return events
    return events.filter(supplier_visible=True)


# --- Afterwards ---------------------------------------------------------------------------------


def add_action(
    actor: Actor,
    incident: Incident,
    *,
    title: str,
    due_on: Any = None,
    owner_side: str = "supplier",
    description: str = "",
) -> Any:
    """A remediation action from the lessons, in the supplier's open plan, linked to the incident."""
    from renkei.remediation.models import ActionSource
    from renkei.remediation.services import create_action

    _staff(actor, incident.organization_id)
    if incident.supplier_id is None:
        raise IncidentError(_("Link the incident to a supplier before adding actions."))
    with transaction.atomic():
        action = create_action(
            actor,
            incident.supplier,
            title=title,
            source=ActionSource.INCIDENT,
            due_on=due_on,
            owner_side=owner_side,
            description=description,
        )
        incident.actions.add(action)
        _event(incident, actor, EventKind.ACTION, action.title)
    return action
