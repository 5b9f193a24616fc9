"""Scoring as pure functions: no database."""

import datetime
from decimal import Decimal

import pytest

from renkei.questionnaires.scoring import ScoreItem, certificate_points, score, visible_items

TRI = {"done": 100, "in_progress": 50, "not_done": 0}
TODAY = datetime.date(2026, 11, 22)


def tri(item_id, section="s", **kw):
    return ScoreItem(item_id=item_id, section=section, answer_type="tri_state", points=TRI, **kw)


def test_all_done_is_100_and_nothing_answered_is_none():
    items = [tri("A"), tri("B")]
    assert score(items, {"A": "done", "B": "done"}, today=TODAY).overall == 100.0
    empty = score(items, {}, today=TODAY)
    assert (empty.overall, empty.sections, empty.critical_failures) == (None, {"s": None}, [])


def test_section_and_overall_scores_are_weighted_over_all_items_not_averaged():
    items = [tri("A", "x"), tri("B", "x", weight=Decimal(3)), tri("C", "y")]
    result = score(items, {"A": "done", "B": "in_progress", "C": "not_done"}, today=TODAY)
    assert result.sections == {"x": 62.5, "y": 0.0}  # (100 + 3×50) / 400
    assert result.overall == 50.0  # (100 + 150 + 0) / 500


def test_not_applicable_is_excluded_only_where_allowed():
    items = [tri("A"), tri("B", allow_na=True), tri("C")]
    assert score(items, {"A": "done", "B": "n/a", "C": "done"}, today=TODAY).overall == 100.0
    items = [tri("A"), tri("B"), tri("C")]
    # n/a where not allowed counts as unanswered: excluded too, never as points
    assert score(items, {"A": "done", "B": "n/a", "C": "not_done"}, today=TODAY).overall == 50.0


def test_unanswered_unknown_values_and_weight_zero_are_excluded():
    items = [tri("A"), tri("B"), tri("C", weight=Decimal(0))]
    assert score(items, {"A": "done", "B": "maybe", "C": "not_done"}, today=TODAY).overall == 100.0


def test_unscored_types_never_count():
    items = [tri("A"), *(ScoreItem(f"T{n}", "s", kind) for n, kind in
                         enumerate(("text", "number", "date", "file")))]
    answers = {"A": "in_progress", "T0": "x", "T1": "12", "T2": "2026-01-01", "T3": "f.pdf"}
    assert score(items, answers, today=TODAY).overall == 50.0


def test_yes_no_single_and_multiple_choice_points():
    items = [
        ScoreItem("Y", "s", "yes_no", points={"yes": 100, "no": 0}),
        ScoreItem("S", "s", "single_choice", points={"a": 80, "b": 20}),
        ScoreItem("M", "s", "multiple_choice", points={"a": 30, "b": 90, "c": 10}),
    ]
    result = score(items, {"Y": "yes", "S": "b", "M": ["a", "b"]}, today=TODAY)
    assert result.overall == 70.0  # (100 + 20 + 90) / 300: the best chosen counts
    assert score(items, {"M": []}, today=TODAY).overall is None
    assert score(items, {"M": "a"}, today=TODAY).overall is None  # not a list


@pytest.mark.parametrize(("answer", "points"), [
    ({"held": True, "number": "IS 1", "expires_on": "2027-03-31"}, 100),
    ({"held": True, "expires_on": TODAY}, 100),  # valid through its last day
    ({"held": True, "expires_on": "2026-11-21"}, 0),
    ({"held": True, "expires_on": datetime.datetime(2020, 1, 1, 9, 0)}, 0),
    ({"held": True}, 100),  # no expiry date given
    ({"held": True, "expires_on": "someday"}, 0),
    ({"held": False, "expires_on": "2030-01-01"}, 0),
    ({"held": "yes"}, 0),
    ("yes", None),
])
def test_certificate_rule(answer, points):
    assert certificate_points(answer, TODAY) == points


def test_certificate_items_score_and_flag_when_critical():
    items = [ScoreItem("C", "cert", "certificate", critical=True), tri("A", "other")]
    result = score(items, {"C": {"held": False}, "A": "done"}, today=TODAY)
    assert (result.sections, result.critical_failures) == ({"cert": 0.0, "other": 100.0}, ["C"])
    assert score(items, {"C": {"held": True, "expires_on": "2026-12-01"}}, today=TODAY).overall == 100.0
    expired = score(items, {"C": {"held": True, "expires_on": "2026-12-01"}},
                    today=datetime.date(2027, 1, 1))
    assert expired.overall == 0.0


def test_conditions_hide_items_and_their_dependants():
    items = [
        ScoreItem("Q", "s", "yes_no", points={"yes": 100, "no": 0}, weight=Decimal(0)),
        tri("R", condition={"item": "Q", "in": ["yes"]}),
        tri("S", condition={"item": "R", "in": ["done", "in_progress"]}),
        tri("T"),
    ]
    answers = {"Q": "no", "R": "not_done", "S": "not_done", "T": "done"}
    assert [i.item_id for i in visible_items(items, answers)] == ["Q", "T"]
    assert score(items, answers, today=TODAY).overall == 100.0
    answers["Q"] = "yes"
    assert [i.item_id for i in visible_items(items, answers)] == ["Q", "R", "T"]
    assert score(items, answers, today=TODAY).overall == 50.0
    answers["R"] = "in_progress"  # now S is shown too: (50 + 0 + 100) / 300
    assert [i.item_id for i in visible_items(items, answers)] == ["Q", "R", "S", "T"]
    assert score(items, answers, today=TODAY).overall == 50.0


def test_conditions_on_multiple_choice_and_not_applicable():
    items = [
        ScoreItem("M", "s", "multiple_choice", points={"a": 0, "b": 0}, weight=Decimal(0),
                  allow_na=True),
        tri("X", condition={"item": "M", "in": ["b"]}),
        tri("Y", condition={"item": "M", "in": ["n/a"]}),
    ]
    assert [i.item_id for i in visible_items(items, {"M": ["a", "b"]})] == ["M", "X"]
    assert [i.item_id for i in visible_items(items, {"M": "n/a"})] == ["M", "Y"]
    assert [i.item_id for i in visible_items(items, {})] == ["M"]


def test_critical_failures_are_lowest_answers_of_visible_critical_items_in_order():
    items = [
        tri("B", critical=True), tri("A", critical=True), tri("C"),
        tri("D", critical=True, allow_na=True), tri("E", critical=True, weight=Decimal(0)),
        tri("F", critical=True, condition={"item": "C", "in": ["done"]}),
        ScoreItem("G", "s", "single_choice", points={"x": 10, "y": 10}, critical=True),
    ]
    answers = {"B": "not_done", "A": "not_done", "C": "not_done", "D": "n/a", "E": "not_done",
               "F": "not_done", "G": "x"}
    assert score(items, answers, today=TODAY).critical_failures == ["B", "A", "E"]
    assert score(items, {"B": "in_progress"}, today=TODAY).critical_failures == []


def test_rounding_is_half_up_to_one_decimal():
    items = [tri("A"), tri("B"), tri("C", weight=Decimal("0.5")), tri("D", weight=Decimal("0.25"))]
    result = score(items, {"A": "done", "B": "not_done", "C": "in_progress", "D": "not_done"},
                   today=TODAY)
    assert result.overall == 45.5  # 125 / 275 = 45.4545...


def test_items_from_models_score_the_builtin_sheet(db):
    from renkei.questionnaires.models import Template

    template = Template.objects.get(key="scrm-sheet")
    items = [ScoreItem.from_item(i) for i in template.items.select_related("section")
             .prefetch_related("choices").order_by("order")]
    answers = {i.item_id: "done" for i in items if i.answer_type == "tri_state"}
    answers.update({"P-03": "not_done", "P-04": "n/a", "C-01": {"held": False},
                    "C-02": {"held": True, "expires_on": "2030-01-01"}, "C-03": "TISAX"})
    result = score(items, answers, today=TODAY)
    assert result.sections == {"certifications": 50.0, "protection": 83.3, "cybersecurity": 100.0}
    assert result.overall == pytest.approx(round(2100 / 23, 1))
    assert result.critical_failures == ["P-03"]
