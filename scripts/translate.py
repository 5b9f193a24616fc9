#!/usr/bin/env python3
"""Fill Japanese translations from JSON files of {"English msgid": "日本語"} (a msgctxt is written
"context\u0004msgid") and clear their fuzzy
flags (makemessages guesses fuzzy translations, which are wrong more often than not and which
msgfmt leaves out). Then report every entry still untranslated or fuzzy.

    .venv/bin/python scripts/translate.py [FILE.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib

CATALOG = Path(__file__).resolve().parent.parent / "renkei/locale/ja/LC_MESSAGES/django.po"


def main(paths: list[str]) -> int:
    catalog = polib.pofile(str(CATALOG), wrapwidth=0)
    wanted: dict[str, str] = {}
    for path in paths:
        wanted.update(json.loads(Path(path).read_text(encoding="utf-8")))
    for entry in catalog:
        if entry.obsolete:
            continue
        # A key "context\u0004msgid" names an entry with a msgctxt (gettext's own notation).
        key = f"{entry.msgctxt}\u0004{entry.msgid}" if entry.msgctxt else entry.msgid
        if key in wanted:
            entry.msgstr = wanted[key]
            if entry.msgid_plural:
                entry.msgstr_plural = {0: wanted[key]}
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        if "fuzzy" not in entry.flags:  # "#|" lines belong to fuzzy entries only
            entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    catalog.save(str(CATALOG))
    missing = [e.msgid for e in catalog if not e.obsolete and e.msgid
               and ("fuzzy" in e.flags or not (e.msgstr or any(e.msgstr_plural.values())))]
    for msgid in missing:
        print(f"untranslated or fuzzy: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
