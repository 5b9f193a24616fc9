"""Likelihood factors, each alone, and the sum."""

from __future__ import annotations

import datetime

from renkei.risk import factors
from renkei.risk.config import default_config
from renkei.risk.factors import LatestAssessment, likelihood

TODAY = datetime.date(2026, 11, 22)
SETTINGS = default_config()["likelihood"]


def submitted(days_ago: int = 10, score: float | None = 100.0,
              failures: tuple[str, ...] = ()) -> LatestAssessment:
    at = datetime.datetime.combine(TODAY - datetime.timedelta(days=days_ago), datetime.time(9),
                                   tzinfo=datetime.UTC)
    return LatestAssessment(1, "approved", at, score, failures)


def valid_isms():
    return [("isms", TODAY + datetime.timedelta(days=100))]


def by_name(found):
    return {f["name"]: f for f in found}


def test_a_fresh_perfect_assessment_and_a_valid_certificate_give_likelihood_1():
    value, found = likelihood({"assessment": submitted(), "certifications": valid_isms()}, SETTINGS, TODAY)
    assert value == 1
    assert by_name(found)["questionnaire_gaps"]["contribution"] == 0


def test_never_assessed_is_the_worst_age_and_an_unknown_gap():
    value, found = likelihood({"assessment": None, "certifications": valid_isms()}, SETTINGS, TODAY)
    named = by_name(found)
    assert named["assessment_age"]["params"] == {"days": None}
    assert named["assessment_age"]["contribution"] == SETTINGS["no_assessment"]
    assert named["questionnaire_gaps"]["contribution"] == SETTINGS["unknown_questionnaire_gap"]
    assert value == 3


def test_gaps_scale_with_the_score():
    _v, found = likelihood({"assessment": submitted(score=60.0), "certifications": valid_isms()},
                           SETTINGS, TODAY)
    assert by_name(found)["questionnaire_gaps"]["contribution"] == 1.0  # 40 % of 2.5


def test_critical_failures_count_up_to_the_cap():
    _v, found = likelihood({"assessment": submitted(failures=("S-07", "S-12", "S-13", "S-14")),
                            "certifications": valid_isms()}, SETTINGS, TODAY)
    critical = by_name(found)["critical_items"]
    assert critical["contribution"] == SETTINGS["critical_failure_max"]
    assert critical["params"]["items"] == ["S-07", "S-12", "S-13", "S-14"]


def test_missing_and_expired_certifications():
    expired = [("pmark", TODAY - datetime.timedelta(days=1))]
    none = by_name(likelihood({"assessment": submitted(), "certifications": None}, SETTINGS, TODAY)[1])
    old = by_name(likelihood({"assessment": submitted(), "certifications": expired}, SETTINGS, TODAY)[1])
    assert none["certifications"]["contribution"] == SETTINGS["missing_certification"]
    assert old["certifications"]["contribution"] == SETTINGS["expired_certification"]
    assert old["certifications"]["params"] == {"expired": ["pmark"]}
    # A kind that does not count (SECURITY ACTION ★1 is a self-declaration) is as good as none.
    star1 = [("security_action_1", None)]
    assert "certifications" in by_name(likelihood({"assessment": submitted(), "certifications": star1},
                                                  SETTINGS, TODAY)[1])


def test_age_of_the_assessment():
    def age(days):
        return by_name(likelihood({"assessment": submitted(days_ago=days), "certifications": valid_isms()},
                                  SETTINGS, TODAY)[1]).get("assessment_age")

    assert age(300) is None
    assert age(400)["contribution"] == SETTINGS["stale_assessment"]
    assert age(800)["contribution"] == SETTINGS["very_stale_assessment"]


def test_hooks_for_remediation_and_incidents_are_registered_and_silent():
    assert {"overdue_remediation", "recent_incidents"} <= set(factors.FACTORS)
    _v, found = likelihood({"assessment": None}, SETTINGS, TODAY)
    assert not {"overdue_remediation", "recent_incidents"} & set(by_name(found))


def test_likelihood_is_capped_at_5():
    value, _found = likelihood({"assessment": submitted(days_ago=2000, score=0.0,
                                                         failures=("A", "B", "C")),
                                "certifications": None}, SETTINGS, TODAY)
    assert value == 5


def test_every_factor_has_a_reason():
    _v, found = likelihood({"assessment": submitted(days_ago=800, score=50.0, failures=("S-07",)),
                            "certifications": [("isms", TODAY - datetime.timedelta(days=3))]},
                           SETTINGS, TODAY)
    for f in found:
        assert factors.describe(f["name"], f["params"]) not in ("", f["name"])
