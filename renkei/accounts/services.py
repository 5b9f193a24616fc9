"""Supplier-contact onboarding: inviting a contact to the portal and revoking its access.

Views and the CLI call these. The contact's change (login user, portal access) goes through
renkei.suppliers.services.save_record, so it is validated and audited like any other change.

A set-password link is Django's password-reset token (default_token_generator) for the user:
valid for PASSWORD_RESET_TIMEOUT and spent once the password is set. It is only ever sent to
the user's own address, and only while the user has no password: a person who already has an
account (for example because they answer for another buyer too) gets a link to the login page.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from renkei.accounts.models import User
from renkei.audit.services import Actor
from renkei.suppliers.models import Contact
from renkei.suppliers.services import save_record

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}


class InvitationError(Exception):
    """The contact cannot be invited (no address, an address no account can use, ...)."""


@dataclass(frozen=True)
class Invitation:
    contact: Contact
    user: User
    url: str  # the set-password link, or the login page for a user who has a password
    created_user: bool  # a new user was created for the contact
    sets_password: bool  # url is a set-password link
    sent: bool  # the e-mail was handed to the mail server


def absolute_url(path: str) -> str:
    return f"{settings.RENKEI_BASE_URL}{path}"


def set_password_url(user: User) -> str:
    """The absolute invitation link that lets USER choose a password (once)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return absolute_url(reverse("invitation-accept", kwargs={"uidb64": uid, "token": token}))


def mail_language(user: User) -> str:
    return user.language if user.language in SUPPORTED_LANGUAGES else settings.LANGUAGE_CODE


def _find_user(email: str) -> User | None:
    """The existing account for EMAIL: the user named by the address, else the one using it."""
    user = User.objects.filter(username=email.lower()).first()
    if user is not None:
        return user
    matches = list(User.objects.filter(email__iexact=email).order_by("pk")[:2])
    if len(matches) > 1:
        raise InvitationError(
            _("Several accounts use the address %(email)s; ask the administrator to resolve it.")
            % {"email": email}
        )
    return matches[0] if matches else None


def _create_user(contact: Contact) -> User:
    user = User(
        username=contact.email.lower(), email=contact.email, display_name=contact.name[:150]
    )
    # No password until the person sets one through the invitation link.
    user.set_unusable_password()
    try:
        user.full_clean()
    except ValidationError as exc:
        raise InvitationError(
            _("No account can be created for %(email)s: %(problem)s")
            % {"email": contact.email, "problem": " ".join(exc.messages)}
        ) from exc
    user.save()
    return user


def _link(actor: Actor, contact: Contact) -> tuple[User, bool]:
    """Find or create the contact's user and give it portal access."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update(of=("self",)).select_related("user").get(
            pk=contact.pk
        )
        # A contact that had a login keeps it (re-inviting, or after revoking); the mail then
        # goes to that user's own address, never to one typed into the contact later.
        user = contact.user or _find_user(contact.email)
        created = user is None
        if user is None:
            user = _create_user(contact)
        elif not user.is_active:
            raise InvitationError(
                _("The account for %(email)s is disabled.") % {"email": user.email or contact.email}
            )
        elif not user.email:
            raise InvitationError(
                _("The login %(username)s has no e-mail address to send the invitation to.")
                % {"username": user.username}
            )
        contact.user = user
        contact.portal_access = True
        try:
            save_record(actor, contact)
        except ValidationError as exc:
            raise InvitationError(" ".join(exc.messages)) from exc
    return user, created


def invite_contact(actor: Actor, contact: Contact, *, send: bool = True) -> Invitation:
    """Give CONTACT a login (a new user, or the existing one with its address) and portal
    access, and e-mail the invitation. Calling it again re-sends the invitation.

    The mail is in the user's language (Japanese unless the user chose English). A mail
    server that cannot be reached does not undo the invitation: `sent` is False and the link
    can be handed over another way.
    """
    if not contact.email:
        raise InvitationError(_("The contact has no e-mail address."))
    try:
        user, created = _link(actor, contact)
    except IntegrityError:
        # Another request created the same user a moment ago: link that one.
        user, created = _link(actor, contact)
    contact.refresh_from_db()
    sets_password = not user.has_usable_password()
    url = set_password_url(user) if sets_password else absolute_url(reverse("login"))
    invitation = Invitation(contact, user, url, created, sets_password, sent=False)
    return send_invitation(actor, invitation) if send else invitation


def send_invitation(actor: Actor, invitation: Invitation) -> Invitation:
    """E-mail INVITATION (after the transaction that made it has committed)."""
    return replace(invitation, sent=_send(actor, invitation))


def _send(actor: Actor, invitation: Invitation) -> bool:
    contact, user = invitation.contact, invitation.user
    organization = contact.supplier.organization
    with translation.override(mail_language(user)):
        context = {
            "contact": contact,
            "supplier": contact.supplier,
            "organization": organization,
            "organization_name": (
                organization.name_en
                if translation.get_language() == "en" and organization.name_en
                else organization.name
            ),
            "inviter": actor.user,
            "user": user,
            "url": invitation.url,
            "sets_password": invitation.sets_password,
            "expiry_days": settings.PASSWORD_RESET_TIMEOUT // (24 * 3600),
            "login_url": absolute_url(reverse("login")),
            "reset_url": absolute_url(reverse("password_reset")),
        }
        subject = render_to_string("accounts/email/invitation_subject.txt", context)
        subject = settings.EMAIL_SUBJECT_PREFIX + " ".join(subject.split())
        text = render_to_string("accounts/email/invitation.txt", context)
        html = render_to_string("accounts/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [user.email]
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("invitation mail to contact %s could not be sent: %s", contact.pk, exc)
        return False
    return True


def revoke_portal_access(actor: Actor, contact: Contact) -> Contact:
    """Take portal access away from CONTACT (audited). The user keeps its account, for its
    other suppliers or buyers; an unused invitation link stops working when nothing else is
    left for it."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if not contact.portal_access:
            return contact
        contact.portal_access = False
        save_record(actor, contact)
        user = contact.user
        if user is not None and not user.has_usable_password():
            still_needed = (
                user.memberships.exists()
                or user.supplier_contacts.filter(portal_access=True).exists()
            )
            if not still_needed:
                # Changing the (unusable) password hash invalidates outstanding tokens.
                user.set_unusable_password()
                user.save(update_fields=["password"])
    return contact
