"""The column layout of a supplier registry file (docs/import-format.md documents it for users).

Each column has a Japanese header (what the export writes by default) and an English alias (the
model field name, what `--lang en` writes); both are accepted on import, as are a few other
spellings. Choice cells accept the stable identifier, the Japanese label or the English label,
so a file typed by hand and a file written by the export are both understood.

`parse_cell` turns one cell into a model value or raises CellError with a message in the active
language; `format_cell` is its inverse for the export. Keeping both here keeps them in step,
which is what makes export -> import a no-op.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django_countries import countries

from renkei.suppliers.choices import (
    AccessMethod,
    BusinessFunction,
    ChainType,
    DataClass,
    Relationship,
)
from renkei.suppliers.models import MAX_TIER
from renkei.suppliers.validators import normalize_digits, validate_corporate_number

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (CSV injection). Tab and CR prefixes are included because some spreadsheets skip them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# What the export puts in front of such a cell in CSV; the import takes it off again.
NEUTRALISING_PREFIX = "'"
MULTI_VALUE_SPLIT = re.compile(r"[;,、；，]")
EXPORT_SEPARATOR = ";"
MAX_POSITIVE_INT = 2147483647  # PositiveIntegerField's guaranteed range on every database
TAG_MAX_LENGTH = 50
# The export names its sheet so; the import prefers a sheet with one of these names.
SHEET_TITLES = {"ja": "取引先", "en": "suppliers"}


class Kind(enum.StrEnum):
    TEXT = "text"
    CODE = "code"
    CORPORATE_NUMBER = "corporate_number"
    CHOICE = "choice"
    CHOICES = "choices"
    BOOL = "bool"
    COUNT = "count"
    TIER = "tier"
    COUNTRY = "country"
    PARENT = "parent"
    TAGS = "tags"


@dataclass(frozen=True)
class Column:
    field: str  # the model field name, also the English header
    ja: str  # the Japanese header
    kind: Kind
    max_length: int | None = None
    choices: type[models.TextChoices] | None = None
    default: Any = None
    required: bool = False
    aliases: tuple[str, ...] = ()  # further accepted header spellings

    def header(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.field


COLUMNS: tuple[Column, ...] = (
    Column("code", "取引先コード", Kind.CODE, max_length=50, required=True,
           aliases=("コード", "supplier code", "supplier_code")),
    Column("corporate_number", "法人番号", Kind.CORPORATE_NUMBER,
           aliases=("corporate number",)),
    Column("name", "取引先名", Kind.TEXT, max_length=200, required=True,
           aliases=("名称", "会社名", "supplier name")),
    Column("name_kana", "取引先名カナ", Kind.TEXT, max_length=200,
           aliases=("カナ", "フリガナ", "name kana")),
    Column("country", "国", Kind.COUNTRY, default="JP", aliases=("国・地域", "所在国")),
    Column("relationship", "関係", Kind.CHOICE, choices=Relationship,
           default=Relationship.SUPPLIER),
    Column("chain_type", "サプライチェーン種別", Kind.CHOICE, choices=ChainType,
           default=ChainType.BUSINESS, aliases=("chain type", "supply-chain type")),
    Column("tier", "階層(ティア)", Kind.TIER, aliases=("階層", "ティア")),
    Column("subcontracted_by", "再委託元コード", Kind.PARENT, max_length=50,
           aliases=("再委託元", "subcontracted by")),
    Column("business_function", "業務機能", Kind.CHOICE, choices=BusinessFunction,
           default=BusinessFunction.PROCUREMENT, aliases=("business function",)),
    Column("personal_info_records", "個人情報件数", Kind.COUNT, default=0,
           aliases=("personal info records",)),
    Column("data_classes", "機密情報区分", Kind.CHOICES, choices=DataClass, default=(),
           aliases=("data classes",)),
    Column("export_controlled", "輸出管理該当", Kind.BOOL, default=False,
           aliases=("輸出管理", "export controlled")),
    Column("access_methods", "システムアクセス", Kind.CHOICES, choices=AccessMethod, default=(),
           aliases=("access methods",)),
    Column("tags", "タグ", Kind.TAGS, default=()),
    Column("notes", "備考", Kind.TEXT, default="", aliases=("メモ",)),
)
BY_FIELD: dict[str, Column] = {c.field: c for c in COLUMNS}
REQUIRED: tuple[Column, ...] = tuple(c for c in COLUMNS if c.required)

_TRUE = ("はい", "1", "true", "yes", "y", "○", "〇", "◯", "該当", "有", "あり")
_FALSE = ("いいえ", "0", "false", "no", "n", "×", "✕", "非該当", "無", "なし")
# Spellings people use that are neither the code nor a catalog label.
_CHOICE_EXTRAS: dict[str, dict[str, str]] = {
    "relationship": {"取引先": "supplier", "委託先": "contractor", "再委託先": "subcontractor",
                     "グループ会社": "group", "子会社": "group",
                     "海外子会社": "overseas_subsidiary"},
    "chain_type": {"ビジネス": "business", "ソフトウェア": "software", "サービス": "service"},
    "access_methods": {"オンサイト": "onsite", "常駐": "onsite",
                       "リモートデスクトップ": "remote_desktop",
                       "rdp": "remote_desktop"},
}
_COUNTRY_EXTRAS = {"米国": "US", "アメリカ": "US", "usa": "US", "英国": "GB", "uk": "GB",
                   "大韓民国": "KR", "中華人民共和国": "CN", "台灣": "TW"}


class CellError(Exception):
    """A cell that cannot be read; the message is already in the user's language."""


def normalize_key(value: str) -> str:
    """The form in which headers and labels are compared: width, case and spacing folded."""
    folded = unicodedata.normalize("NFKC", value).casefold().strip()
    return re.sub(r"[\s_]+", " ", folded)


@functools.cache
def _header_index() -> dict[str, Column]:
    index: dict[str, Column] = {}
    for column in COLUMNS:
        for spelling in (column.field, column.ja, *column.aliases):
            index[normalize_key(spelling)] = column
    return index


def column_for_header(header: str) -> Column | None:
    return _header_index().get(normalize_key(header))


def choice_label(column: Column, value: str, lang: str) -> str:
    assert column.choices is not None
    with translation.override(lang):
        return str(column.choices(value).label)


@functools.cache
def _choice_index(field: str) -> dict[str, str]:
    column = BY_FIELD[field]
    assert column.choices is not None
    index: dict[str, str] = {}
    for value in column.choices.values:
        index[normalize_key(value)] = value
        for lang in ("en", "ja"):
            index.setdefault(normalize_key(choice_label(column, value, lang)), value)
    for spelling, value in _CHOICE_EXTRAS.get(field, {}).items():
        index.setdefault(normalize_key(spelling), value)
    return index


@functools.cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for lang in ("en", "ja"):
        with translation.override(lang):
            for code, name in countries:
                index.setdefault(normalize_key(str(name)), code)
    for spelling, code in _COUNTRY_EXTRAS.items():
        index.setdefault(normalize_key(spelling), code)
    return index


def country_name(code: str, lang: str) -> str:
    with translation.override(lang):
        return str(countries.name(code)) or code


def strip_neutralising_prefix(raw: str) -> str:
    """Undo the CSV export's protection: "'=x" was written for "=x", "''x" for "'x"."""
    if raw.startswith(NEUTRALISING_PREFIX) and raw[1:2] \
            and raw[1] in (*FORMULA_TRIGGERS, NEUTRALISING_PREFIX):
        return raw[1:]
    return raw


def neutralise(text: str) -> str:
    """Make TEXT safe to open in a spreadsheet as CSV: a formula trigger gets a quote in front.

    Text already starting with a quote gets one too, so that the import's removal of one
    quote gives back exactly the stored text.
    """
    if text.startswith((*FORMULA_TRIGGERS, NEUTRALISING_PREFIX)):
        return NEUTRALISING_PREFIX + text
    return text


def split_multi(raw: str) -> list[str]:
    return [part.strip() for part in MULTI_VALUE_SPLIT.split(raw) if part.strip()]


def _allowed_choices(column: Column, lang: str | None = None) -> str:
    assert column.choices is not None
    lang = lang or translation.get_language() or "ja"
    return "、".join(choice_label(column, v, lang) for v in column.choices.values) if lang == "ja" \
        else ", ".join(f"{v} ({choice_label(column, v, lang)})" for v in column.choices.values)


def _parse_choice(column: Column, raw: str) -> str:
    value = _choice_index(column.field).get(normalize_key(raw))
    if value is None:
        raise CellError(
            _("“%(value)s” is not an allowed value. Allowed: %(allowed)s.")
            % {"value": raw, "allowed": _allowed_choices(column)}
        )
    return value


def _parse_count(raw: str) -> int:
    text = unicodedata.normalize("NFKC", raw).strip()
    if re.fullmatch(r"\d{1,3}(,\d{3})+", text):
        text = text.replace(",", "")
    if not re.fullmatch(r"\d+", text) or int(text) > MAX_POSITIVE_INT:
        raise CellError(
            _("“%(value)s” is not a valid number: enter a whole number of 0 or more.")
            % {"value": raw}
        )
    return int(text)


def parse_cell(column: Column, raw: str, from_csv: bool = True) -> Any:
    """The model value for RAW (already stripped). An empty cell gives the column's default,
    except a tier (None: computed) and a subcontractor code (None: not a subcontractor).
    FROM_CSV: the cell may carry the CSV export's neutralising quote (XLSX cells never do)."""
    if from_csv:
        raw = strip_neutralising_prefix(raw)
    kind = column.kind
    if column.max_length and kind in (Kind.TEXT, Kind.CODE, Kind.PARENT) \
            and len(raw) > column.max_length:
        raise CellError(
            _("Too long: at most %(limit)d characters (this cell has %(length)d).")
            % {"limit": column.max_length, "length": len(raw)}
        )
    if kind in (Kind.TEXT, Kind.CODE):
        return raw
    if kind == Kind.PARENT:
        return raw or None
    if kind == Kind.CORPORATE_NUMBER:
        number = normalize_digits(raw)
        try:
            validate_corporate_number(number)
        except ValidationError as exc:
            raise CellError(" ".join(str(m) for m in exc.messages)) from exc
        return number
    if not raw:
        if kind in (Kind.CHOICES, Kind.TAGS):
            return []
        return None if kind == Kind.TIER else column.default
    if kind == Kind.CHOICE:
        return _parse_choice(column, raw)
    if kind == Kind.CHOICES:
        return sorted({_parse_choice(column, part) for part in split_multi(raw)})
    if kind == Kind.TAGS:
        tags = split_multi(raw)
        too_long = [t for t in tags if len(t) > TAG_MAX_LENGTH]
        if too_long:
            raise CellError(
                _("A tag has at most %(limit)d characters: %(tag)s")
                % {"limit": TAG_MAX_LENGTH, "tag": too_long[0]}
            )
        return sorted(set(tags))
    if kind == Kind.BOOL:
        key = normalize_key(raw)
        if key in {normalize_key(t) for t in _TRUE}:
            return True
        if key in {normalize_key(f) for f in _FALSE}:
            return False
        raise CellError(
            _("“%(value)s” is not yes or no. Write はい/いいえ, 1/0, true/false, ○/× or "
              "該当/非該当.") % {"value": raw}
        )
    if kind == Kind.COUNT:
        return _parse_count(raw)
    if kind == Kind.TIER:
        text = unicodedata.normalize("NFKC", raw).strip()
        if not re.fullmatch(r"\d+", text) or not 1 <= int(text) <= MAX_TIER:
            raise CellError(
                _("“%(value)s” is not a valid tier: enter a whole number from 1 to %(max)d.")
                % {"value": raw, "max": MAX_TIER}
            )
        return int(text)
    if kind == Kind.COUNTRY:
        key = normalize_key(raw)
        code = _country_index().get(key)
        if code is None and len(key) in (2, 3):
            code = countries.alpha2(key.upper()) or None
        if code is None:
            raise CellError(
                _("“%(value)s” is not a known country. Write an ISO code such as JP or a "
                  "country name such as 日本 or Japan.") % {"value": raw}
            )
        return code
    raise AssertionError(kind)  # pragma: no cover - every kind is handled above


def format_cell(column: Column, value: Any, lang: str) -> str | int:
    """The cell the export writes for VALUE; parse_cell(format_cell(v)) == v."""
    kind = column.kind
    if kind == Kind.CHOICE:
        return choice_label(column, value, lang)
    if kind == Kind.CHOICES:
        return EXPORT_SEPARATOR.join(choice_label(column, v, lang) for v in value)
    if kind == Kind.TAGS:
        return EXPORT_SEPARATOR.join(sorted(value))
    if kind == Kind.BOOL:
        if lang == "ja":
            return "はい" if value else "いいえ"
        return "yes" if value else "no"
    if kind == Kind.COUNTRY:
        return country_name(str(value), lang)
    if kind in (Kind.COUNT, Kind.TIER):
        return int(value)
    return "" if value is None else str(value)


def headers(lang: str) -> list[str]:
    return [c.header(lang) for c in COLUMNS]


def describe_columns(lang: str) -> Iterable[tuple[str, str]]:
    """(header, allowed values) pairs, used by the upload page's help."""
    for column in COLUMNS:
        if column.choices is not None:
            yield column.header(lang), _allowed_choices(column, lang)
