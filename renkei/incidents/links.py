"""Single-use reporting links (docs/incidents.md, "Intake"): a person without an account, or a
supplier not yet on the portal, reports one incident through /incidents/report/<token>/.

The token is 32 random bytes (URL-safe base64) and exists only in the e-mail; the database keeps
its SHA-256 (ReportLink.token_hash), never the token, and neither goes to the audit trail or the
logs. A link is usable while it is unused, not withdrawn and not expired; the page says the same
"no longer valid" for every other case, so holding an old link tells nothing about it.

Who may do what:
- create and withdraw links: staff of the supplier's organization with add / change rights
  (administrators, analysts); auditors see the list;
- report: whoever holds the token, once, for the supplier the link names.

Reporting is one transaction: the link row is locked (select_for_update), checked, the incident
created through services.report and the link marked used. Of two concurrent submissions the
second waits for the lock, then finds the link used and creates nothing.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record, snapshot
from renkei.core.errors import NotAllowed, ServiceError
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE
from renkei.core.tokens import LinkState, find_by_token, link_state, new_token
from renkei.incidents import services
from renkei.incidents.models import Incident, ReportLink, Source

logger = logging.getLogger("renkei.incidents")

LINK_DAYS = 14
MAX_LINK_DAYS = 90


class LinkError(ServiceError):
    """A reporting link that cannot be created, sent or withdrawn."""


class LinkInvalid(LinkError):
    """The token names no usable link (unknown, used, expired or withdrawn: not said which)."""


# --- Small helpers --------------------------------------------------------------------------------


def report_url(token: str) -> str:
    from renkei.accounts.services import absolute_url

    return absolute_url(reverse("incidents:report", args=[token]))


def _snapshot(link: ReportLink) -> dict[str, Any]:
    data = snapshot(link)
    data.pop("token_hash", None)  # not even the hash goes to the audit trail
    return data


def visible_links(user: Any, action: str) -> QuerySet:
    """Links of the organizations where USER's staff role allows ACTION (contacts see none)."""
    return ReportLink.objects.for_user(user, action)


def clean_days(days: Any) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= MAX_LINK_DAYS:
        message = _("Enter a number of days from 1 to %(max)d.") % {"max": MAX_LINK_DAYS}
        raise LinkError(message, {"days": message})
    return value


def clean_email(email: Any) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        message = _("Enter a valid e-mail address.")
        raise LinkError(message, {"email": message}) from None
    return email


# --- Creating, sending, withdrawing ----------------------------------------------------------------


def create_link(actor: Actor, supplier: Any, email: str, days: int = LINK_DAYS) -> tuple[ReportLink, str]:
    """A new link for SUPPLIER to be sent to EMAIL (audited). Returns (link, token): the token is
    stored nowhere, so this is the only time it exists; hand it to deliver()."""
    if actor.user is not None and not staff_may(actor.user, supplier.organization_id, ADD):
        raise NotAllowed(_("You may not create reporting links for this supplier."))
    email, days = clean_email(email), clean_days(days)
    token, digest = new_token()
    link = ReportLink(
        organization_id=supplier.organization_id,
        supplier=supplier,
        email=email,
        token_hash=digest,
        expires_at=timezone.now() + datetime.timedelta(days=days),
        created_by=actor.user,
    )
    with transaction.atomic():
        link.save()
        record(actor, AuditEntry.Action.CREATE, link, None, _snapshot(link))
    return link, token


def send_link(link: ReportLink, token: str) -> bool:
    """E-mail the link (Japanese: the person may have no account that says otherwise). False if
    the mail server refused it (logged without the address or the token)."""
    from django.conf import settings

    from renkei.accounts.services import send_mail_to_address

    context = {
        "organization": link.supplier.organization,
        "supplier": link.supplier,
        "url": report_url(token),
        "expires_at": timezone.localtime(link.expires_at),
    }
    try:
        return send_mail_to_address(
            link.email,
            settings.LANGUAGE_CODE,
            "report_link",
            context,
            what=f"reporting link {link.pk}",
            template_dir="incidents/email",
        )
    except ValueError:  # an address the mail library cannot write
        logger.warning("reporting link %s: the address is not usable", link.pk)
        return False


def deliver(actor: Actor, link: ReportLink, token: str) -> ReportLink:
    """Send LINK; if the mail cannot be sent, withdraw it again (nobody has its token) and say so."""
    if send_link(link, token):
        return link
    revoke_link(actor, link)
    raise LinkError(
        _(
            "The e-mail to %(email)s could not be sent, so the link was withdrawn. Check the mail server "
            "and the address, then try again."
        )
        % {"email": link.email}
    )


def revoke_link(actor: Actor, link: ReportLink) -> ReportLink:
    """Withdraw LINK (audited). Withdrawing twice changes nothing; a used link stays used."""
    if actor.user is not None and not staff_may(actor.user, link.organization_id, CHANGE):
        raise NotAllowed(_("You may not withdraw reporting links."))
    with transaction.atomic():
        locked = ReportLink.objects.select_for_update().get(pk=link.pk)
        if locked.used_at is not None:
            raise LinkError(_("The link was already used to report an incident."))
        if locked.revoked_at is None:
            before = _snapshot(locked)
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record(actor, AuditEntry.Action.UPDATE, locked, before, _snapshot(locked))
    return locked


# --- Reporting through a link ---------------------------------------------------------------------


def find_link(token: str) -> ReportLink | None:
    """The usable link for TOKEN, or None (unknown, used, expired, withdrawn alike)."""
    link = find_by_token(ReportLink.objects.select_related("supplier", "organization"), token)
    return link if link is not None and link_state(link) == LinkState.ACTIVE else None


def redeem(token: str, data: Any, *, address: str, reporter_name: str, reporter_email: str) -> Incident:
    """Report the incident DATA for the link's supplier and use the link up, in one transaction.
    LinkInvalid if the link is not usable (or was used meanwhile); IncidentError (link left
    usable) if DATA does not validate."""
    found = find_link(token)
    if found is None:
        raise LinkInvalid(_("This link is no longer valid."))
    actor = Actor(user=None, address=address, label="link")
    with transaction.atomic():
        link = ReportLink.objects.select_for_update().get(pk=found.pk)
        if link_state(link) != LinkState.ACTIVE:
            raise LinkInvalid(_("This link is no longer valid."))
        incident = services.report(
            actor,
            found.supplier,
            data,
            source=Source.LINK,
            reporter_name=reporter_name,
            reporter_email=reporter_email,
        )
        before = _snapshot(link)
        link.used_at, link.incident = timezone.now(), incident
        link.save(update_fields=["used_at", "incident"])
        record(actor, AuditEntry.Action.UPDATE, link, before, _snapshot(link))
    return incident
