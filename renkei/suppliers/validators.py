"""Checks for Japanese identifiers: 法人番号 (check digit) and the Pマーク registration number format."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CORPORATE_NUMBER = re.compile(r"^\d{13}$")
# AAnnnnnn(mm): AA body code (10 = JIPDEC, 11+ other bodies), 6-digit company number,
# optional grant count in parentheses.
_PMARK_NUMBER = re.compile(r"^(?:1\d|[2-9]\d)\d{6}(?:\(\d{2}\))?$")


def normalize_digits(value: str) -> str:
    """Full-width digits and parentheses to ASCII, hyphens and spaces removed."""
    value = unicodedata.normalize("NFKC", value or "").strip()
    return re.sub(r"[\s\-‐－ー]", "", value)


def corporate_number_check_digit(base12: str) -> int:
    """The 法人番号 check digit for the 12-digit base number (NTA specification)."""
    total = 0
    for position, char in enumerate(reversed(base12), start=1):
        total += int(char) * (1 if position % 2 else 2)
    return 9 - (total % 9)


def validate_corporate_number(value: str) -> None:
    if not value:
        return
    if not _CORPORATE_NUMBER.match(value):
        raise ValidationError(
            _("A corporate number has exactly 13 digits."), code="corporate_number_format"
        )
    if int(value[0]) != corporate_number_check_digit(value[1:]):
        raise ValidationError(
            _("The check digit of this corporate number is wrong: %(value)s"),
            code="corporate_number_check_digit",
            params={"value": value},
        )


def validate_pmark_number(value: str) -> None:
    if value and not _PMARK_NUMBER.match(value):
        raise ValidationError(
            _(
                "A Privacy Mark registration number has the form 10820123 or 10820123(05): "
                "a two-digit body code from 10, six digits, and an optional grant count."
            ),
            code="pmark_format",
        )
