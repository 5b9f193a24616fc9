"""The one parser of answers (docs/questionnaire-format.md, "Answer types").

The portal, the API, the CLI and the Excel import all call `parse_answer(item, raw)`, so an
answer means the same wherever it is typed. It accepts what people really type — ◯ 〇 o for ○,
▲ for △, ✕ x for ×, 該当なし or － for not applicable, full-width digits, 令和 dates — after NFKC
normalisation and trimming, and refuses anything else with an AnswerError whose message (in the
active language) names the allowed values.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from django.utils.translation import gettext as _

from renkei.questionnaires.choices import DEFAULT_CHOICES, NOT_APPLICABLE, AnswerType

TEXT_MAX = 4000
CERTIFICATE_FIELD_MAX = 100
COMMENT_MAX = 2000
NUMBER_MAX_DIGITS = 15


class AnswerError(ValueError):
    """An answer that is not one of the item's allowed values; str() is the user's message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ChoiceSpec:
    value: str
    label_ja: str
    label_en: str = ""


@dataclass(frozen=True)
class AnswerSpec:
    """What the parser needs of an item: plain data, so the parser needs no database."""

    answer_type: str
    allow_na: bool = False
    choices: tuple[ChoiceSpec, ...] = ()
    item_id: str = ""

    @classmethod
    def of(cls, item: Any) -> AnswerSpec:
        """From an Item row (prefetch its choices) or an AnswerSpec."""
        if isinstance(item, AnswerSpec):
            return item
        choices = tuple(ChoiceSpec(c.value, c.label_ja, c.label_en) for c in item.choices.all())
        return cls(item.answer_type, item.allow_na, choices, item.item_id)

    def with_default_choices(self) -> AnswerSpec:
        if self.choices or self.answer_type not in DEFAULT_CHOICES:
            return self
        defaults = tuple(
            ChoiceSpec(c.value, c.label_ja, c.label_en) for c in DEFAULT_CHOICES[self.answer_type]
        )
        return AnswerSpec(self.answer_type, self.allow_na, defaults, self.item_id)


@dataclass(frozen=True)
class ParsedAnswer:
    """VALUE as stored (None when not applicable or empty); EMPTY: nothing was given."""

    value: Any
    not_applicable: bool = False

    @property
    def is_empty(self) -> bool:
        return self.value is None and not self.not_applicable

    @property
    def as_value(self) -> Any:
        """The value in the format of docs/questionnaire-format.md ("n/a" when not applicable)."""
        return NOT_APPLICABLE if self.not_applicable else self.value


EMPTY = ParsedAnswer(None, False)
NA = ParsedAnswer(None, True)

# Tokens compared after `_key` (NFKC, trimmed, case-folded, inner spaces removed).
NA_TOKENS = frozenset({"該当なし", "該当無し", "対象外", "n/a", "na", "-", "―", "ー", "—", "–"})
TRI_STATE_TOKENS = {
    "done": {"○", "◯", "〇", "o", "済", "済み", "対応済", "対応済み", "実施済", "実施済み", "done",
             "yes"},
    "in_progress": {"△", "▲", "▵", "▽", "▼", "対応中", "実施中", "一部", "一部対応",
                    "in_progress", "inprogress", "partial", "partly"},
    "not_done": {"×", "✕", "✖", "✗", "☓", "x", "未", "未対応", "未実施", "not_done", "notdone",
                 "no"},
}
YES_NO_TOKENS = {
    "yes": {"はい", "yes", "y", "○", "◯", "〇", "o", "true", "1", "有", "有り", "あり"},
    "no": {"いいえ", "no", "n", "×", "✕", "✖", "x", "false", "0", "無", "無し", "なし"},
}
LIST_SEPARATORS = re.compile(r"[,、;/・\n]")
ERAS = {"令和": 2018, "r": 2018, "平成": 1988, "h": 1988, "昭和": 1925, "s": 1925}
DATE_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<y>\d{8})$"),
)
ERA_PATTERN = re.compile(
    r"^(?P<era>令和|平成|昭和|r|h|s)(?P<y>\d{1,2}|元)[年.\-/](?P<m>\d{1,2})[月.\-/](?P<d>\d{1,2})日?$"
)


def normalize(text: str) -> str:
    """NFKC and trimmed (full-width letters and digits become ASCII; spaces collapse)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _key(text: str) -> str:
    return normalize(text).casefold().replace(" ", "")


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not normalize(raw)) or raw == []


def _is_na(raw: Any) -> bool:
    return isinstance(raw, str) and _key(raw) in NA_TOKENS


def is_not_applicable(raw: Any) -> bool:
    """RAW is one of the ways of writing 該当なし (n/a, －, 対象外, ...)."""
    return _is_na(raw)


def allowed_text(spec: AnswerSpec) -> str:
    """The allowed answers as people see them: 「○ 対応済み / △ 対応中 / × 未対応 / 該当なし」."""
    from renkei.questionnaires.models import localized

    spec = spec.with_default_choices()
    labels = [localized(c.label_ja, c.label_en) for c in spec.choices]
    if spec.allow_na:
        labels.append(_("Not applicable"))
    return " / ".join(labels)


def _not_one_of(raw: Any, spec: AnswerSpec) -> AnswerError:
    return AnswerError(_("“%(value)s” is not one of: %(allowed)s.")
                       % {"value": str(raw)[:50], "allowed": allowed_text(spec)})


def _choice_lookup(spec: AnswerSpec) -> Mapping[str, str]:
    """Typed token -> choice value: values, labels (ja and en, with and without their leading
    symbol) and, for ○/△/× and yes/no, the usual ways of writing them. Built once per set of
    choices (an import of 1,000 sheets asks for the same few thousands of times)."""
    spec = spec.with_default_choices()
    return _lookup_for(spec.answer_type, spec.choices)


@functools.lru_cache(maxsize=2048)
def _lookup_for(answer_type: str, choices: tuple[ChoiceSpec, ...]) -> Mapping[str, str]:
    lookup: dict[str, str] = {}
    synonyms = {AnswerType.TRI_STATE: TRI_STATE_TOKENS, AnswerType.YES_NO: YES_NO_TOKENS}.get(
        answer_type, {}
    )
    values = {c.value for c in choices}
    for value, tokens in synonyms.items():
        if value in values:
            for token in tokens:
                lookup[_key(token)] = value
    for choice in choices:
        for label in (choice.label_ja, choice.label_en):
            if not label:
                continue
            lookup.setdefault(_key(label), choice.value)
            head, _sep, rest = normalize(label).partition(" ")
            if rest and len(head) == 1 and not head.isalnum():
                lookup.setdefault(_key(rest), choice.value)  # "対応済み" for "○ 対応済み"
        lookup[_key(choice.value)] = choice.value  # a stored value always wins
    return MappingProxyType(lookup)


def _parse_choice(spec: AnswerSpec, raw: Any, lookup: Mapping[str, str]) -> str:
    if isinstance(raw, bool) and spec.answer_type == AnswerType.YES_NO:
        return "yes" if raw else "no"
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _not_one_of(raw, spec)
    value = lookup.get(_key(str(raw)))
    if value is None:
        raise _not_one_of(raw, spec)
    return value


def _parse_multiple(spec: AnswerSpec, raw: Any, lookup: Mapping[str, str]) -> list[str] | None:
    if isinstance(raw, str):
        whole = lookup.get(_key(raw))
        parts = [whole] if whole else [p for p in LIST_SEPARATORS.split(normalize(raw)) if p.strip()]
    elif isinstance(raw, list | tuple):
        parts = list(raw)
    else:
        raise _not_one_of(raw, spec)
    chosen = {_parse_choice(spec, part, lookup) for part in parts if not _is_blank(part)}
    order = [c.value for c in spec.choices]
    return [value for value in order if value in chosen] or None


def parse_number(raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise AnswerError(_("Enter a number."))
    if isinstance(raw, int | float | Decimal):
        text = str(raw)
    elif isinstance(raw, str):
        text = normalize(raw).replace(",", "").replace(" ", "").replace("、", "")
    else:
        raise AnswerError(_("Enter a number."))
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise AnswerError(_("“%(value)s” is not a number.") % {"value": str(raw)[:50]}) from exc
    if (not number.is_finite() or len(number.as_tuple().digits) > NUMBER_MAX_DIGITS
            or number.adjusted() >= NUMBER_MAX_DIGITS):
        raise AnswerError(_("“%(value)s” is not a number.") % {"value": str(raw)[:50]})
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def parse_date(raw: Any) -> datetime.date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日, YYYYMMDD, 令和6年4月1日, R6.4.1 (and 平成, 昭和)."""
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    message = _("“%(value)s” is not a date; write it as YYYY-MM-DD (e.g. 2025-03-31).")
    if not isinstance(raw, str):
        raise AnswerError(message % {"value": str(raw)[:50]})
    text = normalize(raw).replace(" ", "").casefold()
    try:
        match = ERA_PATTERN.match(text)
        if match:
            year = 1 if match["y"] == "元" else int(match["y"])
            return datetime.date(ERAS[match["era"]] + year, int(match["m"]), int(match["d"]))
        for pattern in DATE_PATTERNS:
            match = pattern.match(text)
            if match and len(match["y"]) == 8:
                return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            if match:
                return datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        pass
    raise AnswerError(message % {"value": str(raw)[:50]})


def parse_text(raw: Any, limit: int = TEXT_MAX) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise AnswerError(_("Enter text."))
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if len(text) > limit:
        raise AnswerError(_("At most %(limit)d characters (this has %(length)d).")
                          % {"limit": limit, "length": len(text)})
    return text


def _held(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    lookup = {_key(token): value == "yes" for value, tokens in YES_NO_TOKENS.items() for token in tokens}
    if isinstance(raw, str | int) and _key(str(raw)) in lookup:
        return lookup[_key(str(raw))]
    raise AnswerError(_("“held” must be yes or no (はい / いいえ)."))


CERTIFICATE_FIELDS = ("held", "kind", "number", "expires_on")


def parse_certificate(raw: Any) -> dict[str, Any]:
    """{held, kind, number, expires_on}; a plain yes/no (はい, ○, ×, ...) is {held} alone."""
    if not isinstance(raw, Mapping):
        raw = {"held": raw}
    unknown = sorted(set(raw) - set(CERTIFICATE_FIELDS))
    if unknown:
        raise AnswerError(_("Unknown fields: %(fields)s (allowed: held, kind, number, expires_on).")
                          % {"fields": ", ".join(map(str, unknown))})
    if _is_blank(raw.get("held")):
        if any(not _is_blank(raw.get(name)) for name in ("kind", "number", "expires_on")):
            # A partly filled certificate must not be dropped (or saved) without its 保有 field.
            raise AnswerError(_("Choose whether the certificate is held (yes or no); the kind, number "
                                "and expiry date cannot be saved without it."))
        raise AnswerError(_("Say whether the certificate is held (held: yes or no)."))
    held = _held(raw.get("held"))
    expires = raw.get("expires_on")
    return {
        "held": held,
        "kind": "" if _is_blank(raw.get("kind")) else parse_text(raw["kind"], CERTIFICATE_FIELD_MAX),
        "number": ("" if _is_blank(raw.get("number"))
                   else parse_text(raw["number"], CERTIFICATE_FIELD_MAX)),
        "expires_on": None if _is_blank(expires) else parse_date(expires).isoformat(),
    }


def parse_answer(item: Any, raw: Any) -> ParsedAnswer:
    """Parse RAW (typed text, a JSON value or a cell value) as an answer to ITEM (an Item with
    prefetched choices, or an AnswerSpec). Blank input gives EMPTY (the caller clears the
    answer); 該当なし gives NA when the item allows it. Raises AnswerError otherwise."""
    spec = AnswerSpec.of(item)
    if _is_blank(raw):
        return EMPTY
    if _is_na(raw) or (isinstance(raw, Mapping) and raw.get("not_applicable") is True):
        if not spec.allow_na:
            raise AnswerError(_("“Not applicable” is not allowed for this item."))
        return NA
    kind = spec.answer_type
    if kind in (AnswerType.TRI_STATE, AnswerType.YES_NO, AnswerType.SINGLE_CHOICE):
        return ParsedAnswer(_parse_choice(spec, raw, _choice_lookup(spec)))
    if kind == AnswerType.MULTIPLE_CHOICE:
        values = _parse_multiple(spec, raw, _choice_lookup(spec))
        return ParsedAnswer(values) if values else EMPTY
    if kind == AnswerType.NUMBER:
        return ParsedAnswer(parse_number(raw))
    if kind == AnswerType.DATE:
        return ParsedAnswer(parse_date(raw).isoformat())
    if kind == AnswerType.CERTIFICATE:
        return ParsedAnswer(parse_certificate(raw))
    if kind == AnswerType.TEXT:
        text = parse_text(raw)
        return ParsedAnswer(text) if text else EMPTY
    if kind == AnswerType.FILE:
        raise AnswerError(_("Attach the evidence file."))
    raise AnswerError(_("Unknown answer type %(type)s.") % {"type": kind})


def display_value(answer_type: str, value: Any, choices: Iterable[Any] = ()) -> str:
    """A stored value as people read it (choice labels, dates, certificates)."""
    from renkei.questionnaires.models import localized

    if value is None:
        return ""
    if value == NOT_APPLICABLE:
        return _("Not applicable")
    labels = {c.value: localized(c.label_ja, c.label_en) for c in choices}
    if answer_type == AnswerType.MULTIPLE_CHOICE and isinstance(value, list):
        return "、".join(labels.get(v, v) for v in value)
    if answer_type == AnswerType.CERTIFICATE and isinstance(value, Mapping):
        parts = [_("Held") if value.get("held") else _("Not held")]
        parts += [str(value[k]) for k in ("kind", "number") if value.get(k)]
        if value.get("expires_on"):
            parts.append(_("expires %(date)s") % {"date": value["expires_on"]})
        return " ".join(parts)
    if isinstance(value, str) and value in labels:
        return labels[value]
    return str(value)
