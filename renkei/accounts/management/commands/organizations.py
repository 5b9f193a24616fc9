"""`renkei organizations create|list`: buyer organizations (委託元)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.management.base import RenkeiCommand


def organization_data(org: Organization) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "name_en": org.name_en,
        "corporate_number": org.corporate_number,
    }


def create_organization(actor: Actor, slug: str, name: str, name_en: str = "") -> Organization:
    """Create an organization; its audit chain starts with its own creation."""
    org = Organization(slug=slug, name=name, name_en=name_en)
    org.full_clean()
    with transaction.atomic():
        org.save()
        record_many(
            actor,
            [
                PendingEntry(
                    AuditEntry.Action.CREATE, org, None, snapshot(org), organization_id=org.id
                )
            ],
        )
    return org


class Command(RenkeiCommand):
    help = "Manage buyer organizations (委託元)."

    def add_actions(self, subparsers: Any) -> None:
        create = subparsers.add_parser("create", help="Create an organization.")
        create.add_argument("slug", metavar="SLUG", help="Short name used in URLs and commands.")
        create.add_argument("name", metavar="NAME", help="Name, usually Japanese.")
        create.add_argument("--name-en", default="", help="English name.")
        subparsers.add_parser("list", help="List organizations.")

    def run(self, action: str, **options: Any) -> Any:
        if action == "create":
            if Organization.objects.filter(slug=options["slug"]).exists():
                raise CommandError(
                    _("An organization with the short name %(slug)s already exists.")
                    % {"slug": options["slug"]}
                )
            try:
                org = create_organization(
                    Actor.cli(), options["slug"], options["name"], options["name_en"]
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            return organization_data(org)
        rows = Organization.objects.annotate(
            supplier_count=Count("suppliers", distinct=True),
            member_count=Count("memberships", distinct=True),
        ).order_by("slug")
        return [
            {**organization_data(o), "suppliers": o.supplier_count, "members": o.member_count}
            for o in rows
        ]

    def render_text(self, action: str, data: Any) -> str:
        if action == "create":
            return _("Created organization %(slug)s (%(name)s).") % data
        if not data:
            return _("No organizations. Create one with: renkei organizations create SLUG NAME")
        width = max(len(o["slug"]) for o in data)
        return "\n".join(
            f"{o['slug']:<{width}}  {o['name']}  "
            + _("%(suppliers)d suppliers, %(members)d members") % o
            for o in data
        )
