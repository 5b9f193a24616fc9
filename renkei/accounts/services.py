"""Onboarding people: inviting a supplier contact to the portal and revoking its access, and
managing an organization's staff members (add, change role, remove).

Views and the CLI call these. The contact's change (login user, portal access) goes through
renkei.suppliers.services.save_record, so it is validated and audited like any other change; a
membership change is recorded in the organization's audit trail in the same transaction.

A set-password link is Django's password-reset token (default_token_generator) for the user:
valid for PASSWORD_RESET_TIMEOUT and spent once the password is set. It is only ever sent to
the user's own address, and only while the user has no password: a person who already has an
account (for example because they answer for another buyer too) gets a link to the login page.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, replace
from typing import Any

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

from renkei.accounts.models import Membership, Organization, User
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record, snapshot
from renkei.core.mail import send_notice
from renkei.core.permissions import Role
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


def active_member(organization_id: int, value: Any) -> User | None:
    """The active staff member of the organization that VALUE (a user or a user id, as a form or
    the API sends it) names; None for a blank VALUE. Raises LookupError for anyone else."""
    if value in (None, ""):
        return None
    user_id = value.pk if isinstance(value, User) else value
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise LookupError(value) from None
    member = (Membership.objects.filter(organization_id=organization_id, user_id=user_id,
                                        user__is_active=True).select_related("user").first())
    if member is None:
        raise LookupError(value)
    return member.user


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


def _create_user(email: str, display_name: str) -> User:
    """A new user named by EMAIL, without a password until the invitation link sets one."""
    user = User(username=email.lower(), email=email, display_name=display_name[:150])
    user.set_unusable_password()
    try:
        user.full_clean()
    except ValidationError as exc:
        raise InvitationError(
            _("No account can be created for %(email)s: %(problem)s")
            % {"email": email, "problem": " ".join(exc.messages)}
        ) from exc
    user.save()
    return user


def _invitation_url(user: User) -> tuple[str, bool]:
    """(link, sets_password): a set-password link while USER has no password, else the login
    page, so an invitation can never take over an account someone already uses."""
    if user.has_usable_password():
        return absolute_url(reverse("login")), False
    return set_password_url(user), True


def _retire_unused_invitation(user: User | None) -> None:
    """Spend USER's outstanding set-password links once nothing is left for them to open."""
    if user is None or user.has_usable_password():
        return
    still_needed = (
        user.memberships.exists() or user.supplier_contacts.filter(portal_access=True).exists()
    )
    if not still_needed:
        # Changing the (unusable) password hash invalidates outstanding tokens.
        user.set_unusable_password()
        user.save(update_fields=["password"])


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
            user = _create_user(contact.email, contact.name)
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
    url, sets_password = _invitation_url(user)
    invitation = Invitation(contact, user, url, created, sets_password, sent=False)
    return send_invitation(actor, invitation) if send else invitation


def send_invitation(actor: Actor, invitation: Invitation) -> Invitation:
    """E-mail INVITATION (after the transaction that made it has committed)."""
    return replace(invitation, sent=_send(actor, invitation))


def organization_name(organization: Organization) -> str:
    """The organization's name in the active language."""
    if translation.get_language() == "en" and organization.name_en:
        return organization.name_en
    return organization.name


def send_mail_to_user(
    user: User, template: str, context: dict[str, Any], *, what: str,
    template_dir: str = "accounts/email",
) -> bool:
    """Render TEMPLATE_DIR/TEMPLATE{_subject.txt,.txt,.html} in USER's language and send it
    to USER's own address. False (and a warning naming WHAT) if the mail server refused it."""
    return send_mail_to_address(
        user.email, mail_language(user), template, {**context, "user": user}, what=what,
        template_dir=template_dir,
    )


def send_mail_to_address(
    address: str, language: str, template: str, context: dict[str, Any], *, what: str,
    template_dir: str = "accounts/email",
) -> bool:
    """Render TEMPLATE_DIR/TEMPLATE{_subject.txt,.txt,.html} in LANGUAGE and send it to ADDRESS
    (someone who may have no account: an incident reporter, a partner) for context["organization"],
    signed when it signs its notices. False (and a warning naming WHAT, never the address) if the
    mail server refused it."""
    with translation.override(language):
        context = {
            **context,
            "organization_name": organization_name(context["organization"]),
            "expiry_days": settings.PASSWORD_RESET_TIMEOUT // (24 * 3600),
            "login_url": absolute_url(reverse("login")),
            "reset_url": absolute_url(reverse("password_reset")),
        }
        subject = render_to_string(f"{template_dir}/{template}_subject.txt", context)
        subject = settings.EMAIL_SUBJECT_PREFIX + " ".join(subject.split())
        text = render_to_string(f"{template_dir}/{template}.txt", context)
        html = render_to_string(f"{template_dir}/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
    message.attach_alternative(html, "text/html")
    try:
        send_notice(message, context["organization"])
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("%s could not be sent: %s", what, exc)
        return False
    return True


def _send(actor: Actor, invitation: Invitation) -> bool:
    contact = invitation.contact
    context = {
        "contact": contact,
        "supplier": contact.supplier,
        "organization": contact.supplier.organization,
        "inviter": actor.user,
        "url": invitation.url,
        "sets_password": invitation.sets_password,
    }
    return send_mail_to_user(
        invitation.user, "invitation", context, what=f"invitation mail to contact {contact.pk}"
    )


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
        _retire_unused_invitation(contact.user)
    return contact


# --- Staff members of an organization -----------------------------------------------------------


class MemberError(Exception):
    """A membership change that is refused (the last administrator, a duplicate, ...)."""


@dataclass(frozen=True)
class MemberInvitation:
    membership: Membership
    user: User
    url: str  # the set-password link, or the login page for a user who has a password
    created_user: bool
    sets_password: bool
    sent: bool


def _locked_organization(organization_id: int) -> Organization:
    """Lock the organization row: membership changes of one organization run one at a time, so
    two admins demoting each other at once cannot leave it without an administrator."""
    return Organization.objects.select_for_update().get(pk=organization_id)


def is_last_admin(membership: Membership) -> bool:
    """MEMBERSHIP is its organization's only administrator."""
    return membership.role == Role.ADMIN and not _other_admins(membership)


def _other_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(organization_id=membership.organization_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def grant_membership(actor: Actor, user: User, organization: Organization, role: str) -> Membership:
    """Make USER a member of ORGANIZATION with ROLE (audited). Call inside a transaction."""
    if role not in Role.values:
        raise MemberError(_("Unknown role %(role)s.") % {"role": role})
    with transaction.atomic():
        _locked_organization(organization.pk)
        if Membership.objects.filter(user=user, organization=organization).exists():
            raise MemberError(
                _("%(user)s is already a member of %(organization)s.")
                % {"user": user.email or user.username, "organization": organization}
            )
        membership = Membership.objects.create(user=user, organization=organization, role=role)
        record(actor, AuditEntry.Action.CREATE, membership, None, snapshot(membership))
    return membership


def create_staff_user(
    actor: Actor,
    username: str,
    *,
    email: str,
    role: str,
    organization: Organization,
    password: str,
) -> User:
    """A new user with a password and a staff membership (the CLI's `users create`)."""
    with transaction.atomic():
        user = User(username=username, email=email)
        user.set_password(password)
        user.full_clean()
        user.save()
        grant_membership(actor, user, organization, role)
    return user


def _add(
    actor: Actor, organization: Organization, email: str, display_name: str, role: str
) -> tuple[Membership, bool]:
    with transaction.atomic():
        user = _find_user(email)
        created = user is None
        if user is None:
            user = _create_user(email, display_name or email)
        elif not user.is_active:
            raise MemberError(
                _("The account for %(email)s is disabled.") % {"email": user.email or email}
            )
        elif not user.email:
            raise MemberError(
                _("The login %(username)s has no e-mail address to send the invitation to.")
                % {"username": user.username}
            )
        membership = grant_membership(actor, user, organization, role)
    return membership, created


def add_member(
    actor: Actor,
    organization: Organization,
    *,
    email: str,
    display_name: str = "",
    role: str,
    send: bool = True,
) -> MemberInvitation:
    """Add the person with EMAIL to ORGANIZATION as ROLE and e-mail them.

    An existing account (named by or using the address) gets the membership and a mail with
    the login page; its password and display name stay as they are. Otherwise a user without a
    password is created and the mail carries a set-password link, accepted by the same
    invitation page as a supplier contact's.
    """
    email, display_name = email.strip(), display_name.strip()
    try:
        try:
            membership, created = _add(actor, organization, email, display_name, role)
        except IntegrityError:
            # Another request created the same user (or membership) a moment ago: once more
            # finds it and answers with the proper message.
            membership, created = _add(actor, organization, email, display_name, role)
    except InvitationError as exc:
        raise MemberError(str(exc)) from exc
    user = membership.user
    url, sets_password = _invitation_url(user)
    invitation = MemberInvitation(membership, user, url, created, sets_password, sent=False)
    return send_member_invitation(actor, invitation) if send else invitation


def send_member_invitation(actor: Actor, invitation: MemberInvitation) -> MemberInvitation:
    """E-mail INVITATION (after the transaction that made it has committed)."""
    membership = invitation.membership
    with translation.override(mail_language(invitation.user)):
        role_label = str(Role(membership.role).label)
    context = {
        "membership": membership,
        "organization": membership.organization,
        "role": role_label,
        "inviter": actor.user,
        "url": invitation.url,
        "sets_password": invitation.sets_password,
    }
    sent = send_mail_to_user(
        invitation.user, "member_invitation", context,
        what=f"member invitation mail for membership {membership.pk}",
    )
    return replace(invitation, sent=sent)


def change_role(actor: Actor, membership: Membership, role: str) -> Membership:
    """Give MEMBERSHIP another role (audited). The last administrator keeps the role."""
    if role not in Role.values:
        raise MemberError(_("Unknown role %(role)s.") % {"role": role})
    with transaction.atomic():
        _locked_organization(membership.organization_id)
        membership = Membership.objects.select_related("user", "organization").get(
            pk=membership.pk
        )
        if membership.role == role:
            return membership
        if membership.role == Role.ADMIN and not _other_admins(membership):
            raise MemberError(
                _("%(user)s is the last administrator of %(organization)s and keeps the role. "
                  "Make another member an administrator first.")
                % {"user": membership.user, "organization": membership.organization}
            )
        before = snapshot(membership)
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        record(actor, AuditEntry.Action.UPDATE, membership, before, snapshot(membership))
    return membership


def remove_member(actor: Actor, membership: Membership) -> None:
    """End MEMBERSHIP (audited). The user is never deleted: it may belong to other
    organizations or be a supplier contact. The last administrator cannot be removed."""
    with transaction.atomic():
        _locked_organization(membership.organization_id)
        membership = (
            Membership.objects.select_related("user", "organization")
            .filter(pk=membership.pk)
            .first()
        )
        if membership is None:
            return
        if membership.role == Role.ADMIN and not _other_admins(membership):
            raise MemberError(
                _("%(user)s is the last administrator of %(organization)s and cannot be removed. "
                  "Make another member an administrator first.")
                % {"user": membership.user, "organization": membership.organization}
            )
        before = snapshot(membership)
        record(actor, AuditEntry.Action.DELETE, membership, before, None)
        user = membership.user
        membership.delete()
        _retire_unused_invitation(user)
