#!/usr/bin/env bash
# Refresh the translation catalogs after changing user-facing text, then compile them.
# Needs GNU gettext (Debian package gettext). Fill every new msgstr in the Japanese catalog;
# the English catalog stays empty because the msgids are English.
set -euo pipefail
cd "$(dirname "$0")/../renkei"
../.venv/bin/renkei makemessages -l ja -l en --no-obsolete --no-wrap \
    --ignore "*/tests/*" --ignore "testing.py"
for lang in ja en; do
    msgfmt --check -o "locale/$lang/LC_MESSAGES/django.mo" "locale/$lang/LC_MESSAGES/django.po"
done
fuzzy=$(msgattrib --only-fuzzy --no-obsolete locale/ja/LC_MESSAGES/django.po | grep -c '^msgid' || true)
if [ "${fuzzy:-0}" -gt 0 ]; then
    echo "$((fuzzy - 1)) guessed (fuzzy) Japanese translations to check: scripts/translate.py" >&2
fi
untranslated=$(msgattrib --untranslated --no-obsolete locale/ja/LC_MESSAGES/django.po | grep -c '^msgid' || true)
# The header is one "untranslated" entry.
if [ "${untranslated:-0}" -gt 1 ]; then
    echo "$((untranslated - 1)) Japanese translations missing in renkei/locale/ja/LC_MESSAGES/django.po" >&2
    exit 1
fi
