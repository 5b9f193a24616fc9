"""`renkei demo`: migrate, build the sample supply chain of 株式会社みなと精機, and serve it."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from renkei.core.demo import ORG_NAME, ORG_SLUG, DemoLogin, build_demo
from renkei.core.management.commands.serve import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_THREADS,
    display_url,
    serve_forever,
)
from renkei.suppliers.models import Supplier


def logins_text(url: str, logins: list[DemoLogin]) -> str:
    role_names = {
        "admin": _("administrator"),
        "analyst": _("analyst"),
        "auditor": _("auditor (read-only)"),
        "supplier": _("supplier contact"),
    }
    lines = [_("Demo logins for %(url)s:") % {"url": url}]
    width = max(len(login.username) for login in logins)
    for login in logins:
        role = role_names.get(login.role, login.role)
        where = f" [{login.supplier}]" if login.supplier else ""
        lines.append(
            f"  {login.username:<{width}}  {login.password:<20}  {role}{where}  {login.name}"
        )
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Set up a demo: migrate the database (SQLite under RENKEI_HOME by default), create or "
        "refresh the sample data (safe to run again), print one login per role and serve it."
    )
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host", default=DEFAULT_HOST, help="Address to listen on (default: %(default)s)."
        )
        parser.add_argument(
            "--port", type=int, default=DEFAULT_PORT, help="Port (default: %(default)s)."
        )
        parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="Server threads.")
        parser.add_argument(
            "--no-serve", action="store_true", help="Build the data, print the logins and exit."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='With --no-serve: print {"url": ..., "logins": [...]} as JSON.',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        call_command("migrate", interactive=False, verbosity=0)
        logins = build_demo()
        url = display_url(options["host"], options["port"])
        if as_json:
            payload = {"url": url, "logins": [login.as_dict() for login in logins]}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
        else:
            count = Supplier.objects.filter(organization__slug=ORG_SLUG).count()
            self.stdout.write(
                _("Demo data ready: %(org)s with %(count)d suppliers.")
                % {"org": ORG_NAME, "count": count}
            )
        if options["no_serve"]:
            if not as_json:
                self.stdout.write(logins_text(url, logins))
            return
        # The logins are printed once the port is bound, with the real URL (--port 0).
        banner = None if as_json else (lambda bound: logins_text(bound, logins))
        serve_forever(
            options["host"], options["port"], options["threads"], self.stdout, banner=banner
        )
