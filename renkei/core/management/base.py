"""RenkeiCommand: the shared shape of `renkei <area> <action>` commands.

A command subclass declares actions (sub-commands) and returns plain data from them. With
--json the data is written as one JSON document on stdout; without it the command prints
human text. Errors go to stderr with a non-zero exit through CommandError.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _


class RenkeiCommand(BaseCommand, ABC):
    """Base for product commands with a --json switch.

    Subclasses implement `add_actions(subparsers)` to declare sub-commands (each parser gets
    --json and --lang added automatically) and `run(action, **options)` returning the data to
    print. Messages and names are Japanese unless --lang en is given.
    `render_text(action, data)` turns the data into human text.
    """

    json_output: bool = False

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        # CommandParser raises CommandError instead of exiting when called from call_command.
        subparsers._parser_class = CommandParser  # type: ignore[attr-defined]
        self.add_actions(subparsers)
        for sub in subparsers.choices.values():
            self.add_json_flag(sub)
            sub.add_argument("--lang", choices=[code for code, _name in settings.LANGUAGES],
                             help="Language of messages and names (default ja).")

    @staticmethod
    def add_json_flag(parser: ArgumentParser) -> None:
        parser.add_argument(
            "--json", action="store_true", dest="json", help="Write one JSON document on stdout."
        )

    @abstractmethod
    def add_actions(self, subparsers: Any) -> None:
        """Add one subparser per action (`renkei <area> <action>`)."""

    def handle(self, *args: Any, **options: Any) -> None:
        self.json_output = bool(options.get("json"))
        action = options.pop("action")
        with translation.override(options.get("lang") or settings.LANGUAGE_CODE):
            data = self.run(action, **options)
            if self.json_output:
                self.write_json(data)
            else:
                text = self.render_text(action, data)
                if text:
                    self.stdout.write(text)

    @abstractmethod
    def run(self, action: str, **options: Any) -> Any:
        """Carry out ACTION; the returned data is printed as JSON or by render_text."""

    def render_text(self, action: str, data: Any) -> str:
        return json.dumps(data, ensure_ascii=False, indent=2, default=str)

    def write_json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, default=str))


class ActionsCommand(RenkeiCommand):
    """A RenkeiCommand whose actions are found by name: ACTIONS lists (name, help); each action
    is `add_<name>(parser)` for its arguments, `do_<name>(**options)` returning the data, and an
    optional `text_<name>(data)` for the human text (a hyphen in a name is an underscore in the
    method's). Adding an action is adding those methods."""

    ACTIONS: tuple[tuple[str, str], ...] = ()

    def add_actions(self, subparsers: Any) -> None:
        for name, help_text in self.ACTIONS:
            parser = subparsers.add_parser(name, help=help_text)
            getattr(self, f"add_{name.replace('-', '_')}")(parser)

    def run(self, action: str, **options: Any) -> Any:
        return getattr(self, f"do_{action.replace('-', '_')}")(**options)

    def render_text(self, action: str, data: Any) -> str:
        render = getattr(self, f"text_{action.replace('-', '_')}", None)
        return render(data) if render else super().render_text(action, data)


def fail(message: str) -> CommandError:
    """A CommandError to raise: printed on stderr, exit status 1."""
    return CommandError(message)


def organization_by_slug(slug: str | None) -> Any:
    """The organization named, or the only one; a clear error otherwise."""
    from renkei.accounts.models import Organization

    if slug:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise fail(_("No organization %(slug)s.") % {"slug": slug})
        return organization
    organizations = list(Organization.objects.order_by("pk")[:2])
    if len(organizations) != 1:
        raise fail(_("Name the organization with --organization SLUG."))
    return organizations[0]
