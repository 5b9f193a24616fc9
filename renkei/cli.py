"""The `renkei` program: Django's manage.py plus the product's `renkei <area> <action>` commands."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renkei.settings")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError, ProgrammingError

    from renkei.env import ConfigError

    try:
        execute_from_command_line(argv or sys.argv)
    except ConfigError as exc:
        sys.stderr.write(f"renkei: configuration error: {exc}\n")
        sys.exit(2)
    except (OperationalError, ProgrammingError) as exc:
        # A missing table means the database was never migrated or is behind this version:
        # say what to do instead of printing a traceback.
        text = str(exc)
        if "no such table" in text or "does not exist" in text:
            sys.stderr.write(
                f"renkei: the database is not up to date ({text.splitlines()[0]}).\n"
                "Run `renkei migrate` first. / データベースが最新ではありません。"
                "先に `renkei migrate` を実行してください。\n"
            )
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
