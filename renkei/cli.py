"""The `renkei` program: Django's manage.py plus the product's `renkei <area> <action>` commands."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renkei.settings")
    from django.core.management import execute_from_command_line

    from renkei.env import ConfigError

    try:
        execute_from_command_line(argv or sys.argv)
    except ConfigError as exc:
        sys.stderr.write(f"renkei: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
