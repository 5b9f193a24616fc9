"""`renkei users create|token|list|invite|unlock`: staff accounts of buyer organizations, portal
invitations for supplier contacts, and lifting a login lockout."""

from __future__ import annotations

import secrets
import sys
from typing import Any

from axes.utils import reset as reset_login_failures
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from renkei.accounts.models import Organization, User
from renkei.accounts.services import (
    InvitationError,
    MemberError,
    create_staff_user,
    invite_contact,
    send_invitation,
)
from renkei.audit.services import Actor
from renkei.core.management.base import RenkeiCommand
from renkei.core.permissions import Role
from renkei.suppliers.models import Contact, Supplier
from renkei.suppliers.services import save_record


def user_data(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "is_active": user.is_active,
        "memberships": [
            {"organization": m.organization.slug, "role": m.role} for m in user.memberships.all()
        ],
        "suppliers": sorted(
            {
                f"{c.supplier.organization.slug}/{c.supplier.code}"
                for c in user.supplier_contacts.all()
                if c.portal_access
            }
        ),
    }


class Command(RenkeiCommand):
    help = "Manage staff users (admin, analyst, auditor) and their API tokens."
    stealth_options = ("stdin",)

    def add_actions(self, subparsers: Any) -> None:
        create = subparsers.add_parser("create", help="Create a staff user in an organization.")
        create.add_argument("username", metavar="USERNAME")
        create.add_argument("--email", required=True)
        create.add_argument("--role", required=True, choices=[str(r) for r in Role])
        create.add_argument("--organization", required=True, metavar="SLUG")
        create.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input. Without it a random "
            "password is generated and printed once.",
        )
        token = subparsers.add_parser("token", help="Print the user's API token (created once).")
        token.add_argument("username", metavar="USERNAME")
        subparsers.add_parser("list", help="List users with their memberships.")
        invite = subparsers.add_parser(
            "invite",
            help="Invite a supplier contact to the portal: creates the contact (if the supplier "
            "has none with the address) and its login, and e-mails a set-password link.",
        )
        invite.add_argument("--supplier", required=True, metavar="CODE")
        invite.add_argument("--email", required=True, metavar="ADDRESS")
        invite.add_argument(
            "--organization", metavar="SLUG",
            help="The buyer, when several organizations use the supplier code.",
        )
        invite.add_argument("--name", help="The contact's name, for a new contact.")
        unlock = subparsers.add_parser(
            "unlock",
            help="Clear the failed logins recorded for a login ID, from every address, so a "
            "locked-out user can log in again at once.",
        )
        unlock.add_argument("username", metavar="USERNAME")

    def run(self, action: str, **options: Any) -> Any:
        if action == "create":
            return self.create(**options)
        if action == "invite":
            return self.invite(**options)
        if action == "unlock":
            # Attempts are recorded for any username typed, existing or not: clear them either way.
            username = options["username"]
            return {"username": username, "cleared": reset_login_failures(username=username)}
        if action == "token":
            user = User.objects.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(_("No user %(username)s.") % {"username": options["username"]})
            if not user.is_active:
                raise CommandError(
                    _("User %(username)s is inactive.") % {"username": user.username}
                )
            token, _created = Token.objects.get_or_create(user=user)
            return {"username": user.username, "token": token.key}
        users = User.objects.order_by("username").prefetch_related(
            "memberships__organization", "supplier_contacts__supplier__organization"
        )
        return [user_data(u) for u in users]

    def create(self, **options: Any) -> dict[str, Any]:
        username = options["username"]
        if User.objects.filter(username=username).exists():
            raise CommandError(_("A user %(username)s already exists.") % {"username": username})
        org = Organization.objects.filter(slug=options["organization"]).first()
        if org is None:
            raise CommandError(
                _("No organization with the short name %(slug)s.")
                % {"slug": options["organization"]}
            )
        try:
            validate_email(options["email"])
        except ValidationError as exc:
            raise CommandError(_("Not a valid e-mail address: %(email)s") % options) from exc
        generated = not options["password_stdin"]
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            password = self.stdin_password(options.get("stdin") or sys.stdin)
            try:
                validate_password(password, User(username=username, email=options["email"]))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        try:
            user = create_staff_user(
                Actor.cli(),
                username,
                email=options["email"],
                role=options["role"],
                organization=org,
                password=password,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except MemberError as exc:
            raise CommandError(str(exc)) from exc
        data = user_data(user)
        data["password"] = password if generated else None
        return data

    def invite(self, **options: Any) -> dict[str, Any]:
        code, email, slug = options["supplier"], options["email"].strip(), options["organization"]
        suppliers = Supplier.objects.filter(code=code).select_related("organization")
        if slug:
            if not Organization.objects.filter(slug=slug).exists():
                raise CommandError(
                    _("No organization with the short name %(slug)s.") % {"slug": slug}
                )
            suppliers = suppliers.filter(organization__slug=slug)
        found = list(suppliers.order_by("pk")[:2])
        if not found:
            raise CommandError(_("No supplier with the code %(code)s.") % {"code": code})
        if len(found) > 1:
            raise CommandError(
                _("Several organizations have a supplier %(code)s; name one with --organization.")
                % {"code": code}
            )
        supplier = found[0]
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(_("Not a valid e-mail address: %(email)s") % options) from exc
        actor = Actor.cli()
        try:
            with transaction.atomic():
                contact = supplier.contacts.filter(email__iexact=email).order_by("pk").first()
                if contact is None:
                    contact = Contact(
                        supplier=supplier, name=(options["name"] or email).strip(), email=email
                    )
                    save_record(actor, contact)
                invitation = invite_contact(actor, contact, send=False)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except InvitationError as exc:
            raise CommandError(str(exc)) from exc
        invitation = send_invitation(actor, invitation)
        if not invitation.sent:
            self.stderr.write(
                _("The invitation e-mail could not be sent; hand over the link yourself.")
            )
        return {
            "username": invitation.user.username,
            "email": invitation.user.email or contact.email,
            "supplier": supplier.code,
            "organization": supplier.organization.slug,
            "invitation_url": invitation.url,
            "sets_password": invitation.sets_password,
            "sent": invitation.sent,
        }

    def stdin_password(self, stream: Any) -> str:
        password = stream.readline().rstrip("\r\n")
        if not password:
            raise CommandError(_("No password on standard input."))
        return password

    def render_text(self, action: str, data: Any) -> str:
        if action == "create":
            membership = data["memberships"][0]
            text = _("Created %(username)s (%(role)s in %(organization)s).") % {
                "username": data["username"],
                **membership,
            }
            if data["password"]:
                text += "\n" + _("Password (shown once): %(password)s") % data
            return text
        if action == "token":
            return data["token"]
        if action == "unlock":
            if data["cleared"]:
                return _("Cleared the failed logins of %(username)s; the login is unlocked.") % data
            return _("No failed logins are recorded for %(username)s.") % data
        if action == "invite":
            return "\n".join(
                [
                    _("Invited %(email)s to %(organization)s/%(supplier)s (login ID %(username)s).")
                    % data,
                    _("Invitation link: %(invitation_url)s") % data,
                ]
            )
        if not data:
            return _("No users.")
        lines = []
        for u in data:
            where = ", ".join(f"{m['organization']}:{m['role']}" for m in u["memberships"])
            where = ", ".join(filter(None, [where, *[f"supplier:{s}" for s in u["suppliers"]]]))
            state = "" if u["is_active"] else " " + _("(inactive)")
            lines.append(f"{u['username']:<20} {u['email']:<32} {where}{state}")
        return "\n".join(lines)
