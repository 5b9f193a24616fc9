"""The incident's mails: the reporter's acknowledgement and the staff's notices (docs/incidents.md).

Every mail goes through renkei.accounts.services.send_mail_to_address and so through send_notice:
S/MIME-signed when the organization signs its notices. A mail that cannot be sent is logged
(without the address) and left as a timeline event saying so; the report itself stands.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Membership
from renkei.accounts.services import absolute_url, mail_language, send_mail_to_address, send_mail_to_user
from renkei.audit.services import Actor
from renkei.core.permissions import Role
from renkei.incidents.models import Event, EventKind, Incident

TEMPLATES = "incidents/email"


def _system_event(incident: Incident, text: str) -> None:
    Event.objects.create(
        incident=incident,
        at=timezone.now(),
        kind=EventKind.ACKNOWLEDGED,
        text=text,
        actor_label="renkei",
        supplier_visible=True,
    )


def acknowledge_reporter(incident: Incident) -> bool:
    """Tell the reporter we have the report, with its number (portal and link reports)."""
    if not incident.reporter_email or incident.source == "staff":
        return False
    user = incident.reported_by
    language = mail_language(user) if user is not None else settings.LANGUAGE_CODE
    context = {
        "organization": incident.organization,
        "incident": incident,
        "reporter_name": incident.reporter_name,
        "portal_url": absolute_url(reverse("incidents:portal_detail", args=[incident.pk]))
        if user is not None
        else "",
    }
    sent = send_mail_to_address(
        incident.reporter_email,
        language,
        "acknowledgement",
        context,
        what=f"incident {incident.pk} acknowledgement",
        template_dir=TEMPLATES,
    )
    _system_event(
        incident,
        _("Acknowledgement sent to the reporter.")
        if sent
        else _("The acknowledgement to the reporter could not be sent."),
    )
    return sent


def staff_to_tell(incident: Incident) -> list[Any]:
    """The organization's admins and analysts with an address."""
    members = (
        Membership.objects.filter(
            organization_id=incident.organization_id,
            role__in=[Role.ADMIN, Role.ANALYST],
            user__is_active=True,
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user_id")
    )
    return [m.user for m in members]


def tell_staff(incident: Incident) -> int:
    """A new incident: every admin and analyst hears of it (the deadlines may already run)."""
    if incident.source == "staff":
        return 0
    url = absolute_url(reverse("incidents:detail", args=[incident.pk]))
    sent = 0
    for user in staff_to_tell(incident):
        sent += send_mail_to_user(
            user,
            "new_incident",
            {"organization": incident.organization, "incident": incident, "url": url},
            what=f"incident {incident.pk} notice",
            template_dir=TEMPLATES,
        )
    return sent


def tell_staff_of_message(event: Event) -> int:
    incident = event.incident
    url = absolute_url(reverse("incidents:detail", args=[incident.pk])) + "#timeline"
    sent = 0
    for user in staff_to_tell(incident):
        sent += send_mail_to_user(
            user,
            "supplier_message",
            {"organization": incident.organization, "incident": incident, "event": event, "url": url},
            what=f"incident {incident.pk} message notice",
            template_dir=TEMPLATES,
        )
    return sent


def actor_for_task() -> Actor:
    return Actor.system("incidents")
