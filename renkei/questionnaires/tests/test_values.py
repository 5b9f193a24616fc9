"""values.parse_answer: what people type, accepted as what they mean; anything else refused
with a message naming the allowed values. Pure: no database."""

import datetime

import pytest
from django.utils import translation

from renkei.questionnaires.values import (
    NA,
    AnswerError,
    AnswerSpec,
    ChoiceSpec,
    ParsedAnswer,
    parse_answer,
)

TRI = AnswerSpec("tri_state", allow_na=True)
TRI_STRICT = AnswerSpec("tri_state")
YES_NO = AnswerSpec("yes_no")
CLOUD = (ChoiceSpec("m365", "Microsoft 365"), ChoiceSpec("gws", "Google Workspace"),
         ChoiceSpec("other", "その他", "Other"))
SINGLE = AnswerSpec("single_choice", choices=CLOUD)
MULTI = AnswerSpec("multiple_choice", allow_na=True, choices=CLOUD)
NUMBER = AnswerSpec("number")
DATE = AnswerSpec("date")
CERT = AnswerSpec("certificate")
TEXT = AnswerSpec("text")


@pytest.mark.parametrize("raw", ["○", "◯", "〇", "o", "O", "Ｏ", "済", "done", " ○ ", "○ 対応済み",
                                 "対応済み", "DONE"])
def test_tri_state_done(raw):
    assert parse_answer(TRI, raw) == ParsedAnswer("done")


@pytest.mark.parametrize("raw", ["△", "▲", "▵", "▽", "対応中", "in_progress", "△ 対応中"])
def test_tri_state_in_progress(raw):
    assert parse_answer(TRI, raw) == ParsedAnswer("in_progress")


@pytest.mark.parametrize("raw", ["×", "✕", "✖", "x", "X", "ｘ", "未", "not_done", "未対応"])
def test_tri_state_not_done(raw):
    assert parse_answer(TRI, raw) == ParsedAnswer("not_done")


@pytest.mark.parametrize("raw", ["該当なし", "n/a", "N/A", "Ｎ／Ａ", "－", "-", " 該当なし "])
def test_not_applicable_when_allowed(raw):
    parsed = parse_answer(TRI, raw)
    assert parsed == NA and parsed.as_value == "n/a" and parsed.value is None


@pytest.mark.parametrize("raw", ["該当なし", "n/a", "－"])
def test_not_applicable_refused_when_not_allowed(raw):
    with translation.override("ja"), pytest.raises(AnswerError, match="該当なし"):
        parse_answer(TRI_STRICT, raw)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", []])
def test_blank_is_empty(raw):
    assert parse_answer(TRI, raw).is_empty


@pytest.mark.parametrize("raw", ["maybe", "◎", "2", 1, True, {"a": 1}])
def test_tri_state_refuses_and_names_the_allowed_values(raw):
    with translation.override("ja"), pytest.raises(AnswerError) as info:
        parse_answer(TRI_STRICT, raw)
    assert "○ 対応済み / △ 対応中 / × 未対応" in info.value.message


def test_message_in_english():
    with translation.override("en"), pytest.raises(AnswerError) as info:
        parse_answer(TRI, "maybe")
    assert info.value.message == (
        "“maybe” is not one of: ○ Done / △ In progress / × Not done / Not applicable.")


@pytest.mark.parametrize("raw,value", [
    ("はい", "yes"), ("いいえ", "no"), ("yes", "yes"), ("No", "no"), ("Y", "yes"), ("n", "no"),
    ("○", "yes"), ("×", "no"), ("true", "yes"), ("FALSE", "no"), ("1", "yes"), ("0", "no"),
    ("１", "yes"), (True, "yes"), (False, "no"), (1, "yes"), (0, "no"), ("あり", "yes"),
])
def test_yes_no(raw, value):
    assert parse_answer(YES_NO, raw) == ParsedAnswer(value)


@pytest.mark.parametrize("raw", ["△", "maybe", "2"])
def test_yes_no_refuses(raw):
    with translation.override("ja"), pytest.raises(AnswerError, match="はい / いいえ"):
        parse_answer(YES_NO, raw)


@pytest.mark.parametrize("raw,value", [
    ("m365", "m365"), ("Microsoft 365", "m365"), ("microsoft 365", "m365"),
    ("Ｍｉｃｒｏｓｏｆｔ　３６５", "m365"), ("その他", "other"), ("Other", "other"),
])
def test_single_choice_by_value_or_label(raw, value):
    assert parse_answer(SINGLE, raw) == ParsedAnswer(value)


def test_single_choice_refuses_unknown():
    with translation.override("ja"), pytest.raises(AnswerError, match="Microsoft 365 / Google"):
        parse_answer(SINGLE, "AWS")


@pytest.mark.parametrize("raw,value", [
    (["m365", "other"], ["m365", "other"]),
    (["other", "m365", "m365"], ["m365", "other"]),  # template order, no duplicates
    ("m365, gws", ["m365", "gws"]),
    ("Microsoft 365、その他", ["m365", "other"]),
    ("gws;other", ["gws", "other"]),
    ("m365 / gws", ["m365", "gws"]),
    ("m365・Other", ["m365", "other"]),
    ("m365，gws", ["m365", "gws"]),
    ("Google Workspace", ["gws"]),
])
def test_multiple_choice(raw, value):
    assert parse_answer(MULTI, raw) == ParsedAnswer(value)


def test_multiple_choice_na_and_errors():
    assert parse_answer(MULTI, "n/a") == NA
    assert parse_answer(MULTI, ["", " "]).is_empty
    with pytest.raises(AnswerError):
        parse_answer(MULTI, "m365, AWS")
    with pytest.raises(AnswerError):
        parse_answer(MULTI, 5)


@pytest.mark.parametrize("raw,value", [
    ("1200", 1200), ("１，２００", 1200), ("1,200", 1200), (" 3.5 ", 3.5), (42, 42), (2.0, 2),
    ("-7", -7), ("１２００", 1200),
])
def test_number(raw, value):
    parsed = parse_answer(NUMBER, raw)
    assert parsed.value == value and type(parsed.value) is type(value)


@pytest.mark.parametrize("raw", ["abc", "1.2.3", True, "1e400", "nan", "12345678901234567"])
def test_number_refuses(raw):
    with pytest.raises(AnswerError):
        parse_answer(NUMBER, raw)


@pytest.mark.parametrize("raw,value", [
    ("2025-03-31", "2025-03-31"), ("2025/3/31", "2025-03-31"), ("２０２５／０３／３１", "2025-03-31"),
    ("2025.03.31", "2025-03-31"), ("2025年3月31日", "2025-03-31"), ("20250331", "2025-03-31"),
    ("令和7年3月31日", "2025-03-31"), ("R7.3.31", "2025-03-31"), ("令和元年5月1日", "2019-05-01"),
    ("平成31年4月30日", "2019-04-30"), (datetime.date(2025, 1, 2), "2025-01-02"),
    (datetime.datetime(2025, 1, 2, 9, 0), "2025-01-02"),
])
def test_date(raw, value):
    assert parse_answer(DATE, raw) == ParsedAnswer(value)


@pytest.mark.parametrize("raw", ["2025-02-30", "31/03/2025", "tomorrow", 20250331])
def test_date_refuses(raw):
    with translation.override("en"), pytest.raises(AnswerError, match="YYYY-MM-DD"):
        parse_answer(DATE, raw)


def test_certificate():
    raw = {"held": "はい", "kind": " ＩＳＭＳ ", "number": "IS 123456", "expires_on": "2026/3/31"}
    assert parse_answer(CERT, raw).value == {
        "held": True, "kind": "ISMS", "number": "IS 123456", "expires_on": "2026-03-31"}
    assert parse_answer(CERT, "×").value == {"held": False, "kind": "", "number": "",
                                             "expires_on": None}
    assert parse_answer(CERT, {"held": True}).value["expires_on"] is None


@pytest.mark.parametrize("raw", [{"held": "maybe"}, {"kind": "ISMS"}, {"held": True, "owner": "x"},
                                 {"held": True, "expires_on": "someday"},
                                 {"held": True, "number": "9" * 101}])
def test_certificate_refuses(raw):
    with pytest.raises(AnswerError):
        parse_answer(CERT, raw)


def test_text_is_normalised_and_limited():
    assert parse_answer(TEXT, "  ＡＢＣ　株式会社 ") == ParsedAnswer("ABC 株式会社")
    assert parse_answer(TEXT, 123) == ParsedAnswer("123")
    assert parse_answer(TEXT, "x" * 4000).value == "x" * 4000
    with pytest.raises(AnswerError, match="4000"):
        parse_answer(TEXT, "x" * 4001)


def test_file_items_need_an_upload():
    with pytest.raises(AnswerError):
        parse_answer(AnswerSpec("file"), "report.pdf")
    assert parse_answer(AnswerSpec("file", allow_na=True), "該当なし") == NA


def test_choices_overriding_labels_are_used():
    spec = AnswerSpec("tri_state", choices=(
        ChoiceSpec("done", "実施", "Yes"), ChoiceSpec("in_progress", "一部"),
        ChoiceSpec("not_done", "未実施")))
    assert parse_answer(spec, "実施") == ParsedAnswer("done")
    assert parse_answer(spec, "○") == ParsedAnswer("done")


def test_a_certificate_without_held_names_the_missing_field():
    with translation.override("en"):
        with pytest.raises(AnswerError, match="whether the certificate is held.*kind, number"):
            parse_answer(CERT, {"held": "", "kind": "", "number": "N1", "expires_on": ""})
        with pytest.raises(AnswerError, match=r"held: yes or no"):
            parse_answer(CERT, {"held": "", "kind": "", "number": "", "expires_on": ""})
