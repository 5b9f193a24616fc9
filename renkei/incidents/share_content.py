"""What the partners are told about an incident, at each level of detail (docs/incidents.md, "Sharing").

The text is built once, when staff share, and frozen in Share.content: the acknowledgement page
and the mails show exactly that, never the live incident, so "who knew what" stays true when the
incident changes afterwards. Labels (headings) are rendered by the templates in the reader's
language; the values here are in the share's language.

- NOTICE: that an incident happened at the supplier, its category, what to watch for;
- SUMMARY: also the title, what happened, when it was detected, the current state and status;
- DETAILED: also the systems and the data involved and the timeline the reporting supplier sees.
The staff's message comes with every level.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from renkei.incidents.models import Category, Detail, Event, Incident

# The timeline shown at the DETAILED level: the most recent entries, each shortened.
TIMELINE_MAX = 50
EVENT_TEXT_MAX = 2000
CONTENT_VERSION = 1


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def watch_for(category: str, party: str) -> list[str]:
    """What partners should look out for after an incident of CATEGORY at PARTY (active language)."""
    forged = _(
        "Mails that appear to come from %(party)s may be forged or sent by the attackers, including "
        "replies in threads you already have with them."
    )
    attachments = _(
        "Do not open attachments or links in unexpected mails from %(party)s, above all invoices, "
        "payment notices and password-protected ZIP files."
    )
    payment = _(
        "Confirm any request to change a bank account or payment details by phone, at a number you "
        "already know, never one given in the mail."
    )
    advice: dict[str, list[str]] = {
        Category.MAIL_TAKEOVER: [forged, attachments, payment],
        Category.PHISHING: [forged, attachments, payment],
        Category.MALWARE: [
            forged,
            attachments,
            _(
                "If someone opened such an attachment, take that PC off the network and call your "
                "security team."
            ),
        ],
        Category.RANSOMWARE: [
            _(
                "Files and mails received from %(party)s recently may carry malware: scan them before "
                "opening them."
            ),
            _(
                "Check the connections between your systems and %(party)s (VPN, file transfer, shared "
                "services); they may have to be suspended."
            ),
            _("Deliveries and replies from %(party)s may be delayed."),
        ],
        Category.UNAUTHORIZED_ACCESS: [
            _(
                "Accounts and passwords shared with %(party)s, or used by %(party)s on your systems, may "
                "be known to the attackers: change them and check recent logins."
            ),
            _("Check connections from %(party)s (VPN, remote access, file transfer) for unusual activity."),
            payment,
        ],
        Category.INSIDER: [
            _(
                "Information you exchanged with %(party)s may have been taken: watch for unusual "
                "enquiries or uses of it."
            ),
        ],
        Category.LOST_DEVICE: [
            _(
                "Information you exchanged with %(party)s may have been on the lost device or media: "
                "watch for unusual enquiries or uses of it."
            ),
        ],
        Category.TAMPERING: [
            _(
                "Downloads, updates and pages of %(party)s's website or service may have been altered: "
                "install nothing from it until %(party)s confirms it is safe."
            ),
        ],
        Category.DDOS: [
            _("Services of %(party)s may be unavailable; reach them another way if needed."),
        ],
        Category.MISDELIVERY: [
            _(
                "Information may have reached the wrong recipient: tell us if you received anything "
                "from %(party)s that was not meant for you."
            ),
        ],
    }
    general = _(
        "Be careful with unexpected mails, files or requests that appear to come from %(party)s, and "
        "confirm unusual requests by phone."
    )
    lines = advice.get(category, [general])
    lines = [*lines, _("Tell us at once if you notice anything unusual.")]
    return [line % {"party": party} for line in lines]


def party_of(incident: Incident) -> str:
    """Where it happened: the supplier, or our own organization for an incident without one."""
    from renkei.accounts.services import organization_name

    if incident.supplier is not None:
        return incident.supplier.name
    return organization_name(incident.organization)


def _timeline(incident: Incident) -> list[dict[str, str]]:
    """The entries the reporting supplier sees (its own messages, our replies, status changes):
    nothing that was only for our staff."""
    events = list(
        Event.objects.filter(incident=incident, supplier_visible=True)
        .exclude(text="")
        .order_by("-at", "-pk")[:TIMELINE_MAX]
    )
    return [
        {"at": _when(e.at), "kind": e.get_kind_display(), "text": e.text[:EVENT_TEXT_MAX]}
        for e in reversed(events)
    ]


def build(incident: Incident, detail: str, message: str, language: str) -> dict[str, Any]:
    """The frozen content of a share at DETAIL, in LANGUAGE."""
    from renkei.accounts.services import organization_name

    with translation.override(language):
        party = party_of(incident)
        content: dict[str, Any] = {
            "version": CONTENT_VERSION,
            "language": language,
            "detail": detail,
            "organization": organization_name(incident.organization),
            "reference": incident.number,
            "party": party,
            "category": incident.category,
            "category_label": incident.get_category_display() if incident.category else "",
            "watch_for": watch_for(incident.category, party),
            "message": message,
        }
        if detail in (Detail.SUMMARY, Detail.DETAILED):
            content.update(
                {
                    "title": incident.title,
                    "description": incident.description,
                    "detected_at": _when(incident.detected_at),
                    "status": incident.get_status_display(),
                    "current_state": incident.current_state,
                }
            )
        if detail == Detail.DETAILED:
            content.update(
                {
                    "systems": incident.systems_text,
                    "data": incident.data_text,
                    "persons_affected": incident.persons_affected,
                    "timeline": _timeline(incident),
                }
            )
    return content


def previews(incident: Incident, language: str) -> list[dict[str, Any]]:
    """What recipients would read at each level now (the share page shows them side by side)."""
    return [
        {"value": value, "label": label, "content": build(incident, value, "", language)}
        for value, label in Detail.choices
    ]
