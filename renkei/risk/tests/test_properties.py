"""Property tests (hypothesis): the score moves only the right way.

- Changing an answer from × to ○ never raises likelihood (scored through the real scoring code of
  the questionnaires, critical items included).
- More sensitive data or deeper access never lowers impact, under any valid rubric.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.questionnaires.choices import DEFAULT_CHOICES, AnswerType
from renkei.questionnaires.scoring import ScoreItem, score
from renkei.risk.config import default_config, validate
from renkei.risk.factors import LatestAssessment, likelihood
from renkei.risk.impact import Profile, impact
from renkei.suppliers.choices import AccessMethod, BusinessFunction, ChainType, DataClass

TODAY = datetime.date(2026, 11, 22)
TRI = {c.value: c.points for c in DEFAULT_CHOICES[AnswerType.TRI_STATE]}
ANSWERS = ["done", "in_progress", "not_done", "n/a", None]

items_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 5), st.booleans(), st.booleans()),
    min_size=1, max_size=25,
)


def build(items):
    return [ScoreItem(item_id=f"I-{n:02d}", section=section, answer_type=AnswerType.TRI_STATE,
                      weight=Decimal(weight), critical=critical, allow_na=allow_na, points=TRI)
            for n, (section, weight, critical, allow_na) in enumerate(items)]


def rated(items, answers, evidence_rest):
    result = score(items, answers, today=TODAY)
    at = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    latest = LatestAssessment(1, "approved", at, result.overall, tuple(result.critical_failures))
    return likelihood({"assessment": latest, **evidence_rest}, default_config()["likelihood"], TODAY)


@settings(max_examples=300, deadline=None)
@given(items=items_strategy, data=st.data(),
       certs=st.sampled_from([None, [("isms", None)], [("pmark", datetime.date(2020, 1, 1))]]))
def test_changing_an_answer_from_x_to_o_never_raises_likelihood(items, data, certs):
    score_items = build(items)
    answers = {i.item_id: data.draw(st.sampled_from(ANSWERS)) for i in score_items}
    target = data.draw(st.sampled_from([i.item_id for i in score_items]))
    answers[target] = "not_done"
    before, _ = rated(score_items, answers, {"certifications": certs})
    after, _ = rated(score_items, {**answers, target: "done"}, {"certifications": certs})
    assert after <= before


profiles = st.builds(
    Profile,
    personal_info_records=st.integers(0, 2_000_000),
    data_classes=st.lists(st.sampled_from([c.value for c in DataClass]), unique=True).map(tuple),
    export_controlled=st.booleans(),
    access_methods=st.lists(st.sampled_from([c.value for c in AccessMethod]), unique=True).map(tuple),
    business_function=st.sampled_from([c.value for c in BusinessFunction]),
    chain_type=st.sampled_from([c.value for c in ChainType]),
    tags=st.sets(st.sampled_from(["単一調達先", "重要取引先"])).map(frozenset),
)
levels = st.integers(1, 5)
rubrics = st.fixed_dictionaries({
    "access": st.fixed_dictionaries({c.value: levels for c in AccessMethod}),
    "data_classes": st.fixed_dictionaries({c.value: levels for c in DataClass}),
    "export_controlled": levels,
    "reach_from": levels,
    "personal_info": st.lists(st.tuples(st.integers(1, 10**6), levels), max_size=5).map(
        lambda rows: [[n, lv] for n, lv in sorted({n: lv for n, lv in rows}.items())]),
})


def _valid(rubric):
    config, errors = validate({"impact": rubric})
    return config["impact"] if not errors else None


@settings(max_examples=400, deadline=None)
@given(profile=profiles, rubric=rubrics, data=st.data())
def test_more_sensitive_data_or_deeper_access_never_lowers_impact(profile, rubric, data):
    cleaned = _valid(rubric) or default_config()["impact"]
    before, _ = impact(profile, cleaned)
    change = data.draw(st.sampled_from(["records", "class", "export", "access"]))
    if change == "records":
        more = Profile(**{**profile.__dict__,
                          "personal_info_records": profile.personal_info_records + data.draw(
                              st.integers(0, 10**6))})
    elif change == "class":
        extra = data.draw(st.sampled_from([c.value for c in DataClass]))
        more = Profile(**{**profile.__dict__, "data_classes": tuple({*profile.data_classes, extra})})
    elif change == "export":
        more = Profile(**{**profile.__dict__, "export_controlled": True})
    else:
        extra = data.draw(st.sampled_from([c.value for c in AccessMethod]))
        more = Profile(**{**profile.__dict__, "access_methods": tuple({*profile.access_methods, extra})})
    after, _ = impact(more, cleaned)
    assert after >= before
