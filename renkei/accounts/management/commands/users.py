"""`renkei users create|token|list`: staff accounts of buyer organizations."""

from __future__ import annotations

import secrets
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from renkei.accounts.models import Membership, Organization, User
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.management.base import RenkeiCommand
from renkei.core.permissions import Role


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


def create_staff_user(
    actor: Actor,
    username: str,
    *,
    email: str,
    role: str,
    organization: Organization,
    password: str,
) -> User:
    """Create a user with a staff membership; the membership is recorded in the audit trail."""
    with transaction.atomic():
        user = User(username=username, email=email)
        user.set_password(password)
        user.full_clean()
        user.save()
        membership = Membership.objects.create(user=user, organization=organization, role=role)
        record_many(
            actor,
            [
                PendingEntry(
                    AuditEntry.Action.CREATE,
                    membership,
                    None,
                    snapshot(membership),
                    organization_id=organization.id,
                )
            ],
        )
    return user


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

    def run(self, action: str, **options: Any) -> Any:
        if action == "create":
            return self.create(**options)
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
        data = user_data(user)
        data["password"] = password if generated else None
        return data

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
        if not data:
            return _("No users.")
        lines = []
        for u in data:
            where = ", ".join(f"{m['organization']}:{m['role']}" for m in u["memberships"])
            where = ", ".join(filter(None, [where, *[f"supplier:{s}" for s in u["suppliers"]]]))
            state = "" if u["is_active"] else " " + _("(inactive)")
            lines.append(f"{u['username']:<20} {u['email']:<32} {where}{state}")
        return "\n".join(lines)
