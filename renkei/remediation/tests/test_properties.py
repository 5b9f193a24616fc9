"""Property (hypothesis): verifying a remediation action never raises likelihood — whatever the
answers, weights, critical items, overdue actions and actions already verified."""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.questionnaires.choices import DEFAULT_CHOICES, AnswerType
from renkei.questionnaires.scoring import ScoreItem, score
from renkei.risk.config import default_config
from renkei.risk.factors import LatestAssessment, Remediated, likelihood

TODAY = datetime.date(2026, 11, 22)
TRI = {c.value: c.points for c in DEFAULT_CHOICES[AnswerType.TRI_STATE]}

items_strategy = st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=1, max_size=20)


def rated(items, answers, verified, overdue):
    result = score(items, answers, today=TODAY)
    at = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    latest = LatestAssessment(7, "approved", at, result.overall, tuple(result.critical_failures))
    # As the loader computes it: weight ÷ the weights of the scored answers, for × items only.
    total = sum(float(i.weight) for i in items if answers.get(i.item_id) in TRI)
    shares = {
        i.item_id: float(i.weight) / total
        for i in items
        if i.item_id in verified and answers.get(i.item_id) == "not_done"
    }
    evidence = {
        "assessment": latest,
        "remediated": [Remediated(7, shares)] if shares else [],
        "overdue_actions": overdue,
    }
    return likelihood(evidence, default_config()["likelihood"], TODAY)[0]


@settings(max_examples=300, deadline=None)
@given(items=items_strategy, data=st.data(), overdue=st.integers(0, 6))
def test_verifying_an_action_never_raises_likelihood(items, data, overdue):
    score_items = [
        ScoreItem(
            item_id=f"I-{n:02d}",
            section="s",
            answer_type=AnswerType.TRI_STATE,
            weight=Decimal(weight),
            critical=critical,
            points=TRI,
        )
        for n, (weight, critical) in enumerate(items)
    ]
    answers = {
        i.item_id: data.draw(st.sampled_from(["done", "in_progress", "not_done", None])) for i in score_items
    }
    verified = set(data.draw(st.lists(st.sampled_from([i.item_id for i in score_items]), unique=True)))
    newly = data.draw(st.sampled_from([i.item_id for i in score_items]))
    before = rated(score_items, answers, verified, overdue)
    # The verified action was done (not overdue) before, so the overdue count stays.
    after = rated(score_items, answers, verified | {newly}, overdue)
    assert after <= before
