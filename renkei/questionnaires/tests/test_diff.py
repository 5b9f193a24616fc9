"""前回との差分 across template versions: items added in this version and items removed from it."""

import pytest
from django.urls import reverse

from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import approve, create_assessment, save_answers, submit
from renkei.questionnaires.diff import DiffRow, assessment_diff, compute_diff
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db


def test_compute_diff_lists_removed_items_with_their_old_answer():
    rows = compute_diff({"A": "done", "B": "yes", "C": "n/a"}, {"A": "done", "D": "no"}, ["A", "D"],
                        previous_items=["A", "B", "X", "C"])
    assert rows == [DiffRow("D", None, "no", True), DiffRow("B", "yes", None, False, removed=True),
                    DiffRow("X", None, None, False, removed=True),
                    DiffRow("C", "n/a", None, False, removed=True)]
    assert rows[1].as_dict() == {"item": "B", "before": "yes", "after": None, "new": False,
                                 "removed": True}


def test_the_diff_shows_items_removed_and_added_since_the_previous_version(world, client_for,
                                                                          api_for):
    first = create_assessment(Actor.system("t"), world.s1, load(small(), world.buyer).template)
    save_answers(Actor.system("t"), first, {"B-01": "○", "B-02": "はい", "B-03": "△", "M-01": "m365",
                                            "M-02": "古い備考"})
    submit(Actor.system("t"), first)
    approve(Actor.system("t"), first)
    data = small()
    data["sections"][1]["items"] = [data["sections"][1]["items"][0],
                                    {"id": "M-09", "text": "新しい設問", "type": "yes_no"}]
    second = create_assessment(Actor.system("t"), world.s1, load(data, world.buyer).template)
    save_answers(Actor.system("t"), second, {"B-01": "○", "B-02": "はい", "B-03": "△",
                                             "M-01": "m365", "M-09": "いいえ"})
    rows = assessment_diff(second)["rows"]
    assert [(r["item"], r["new"], r["removed"], r["before_display"], r["after_display"])
            for r in rows] == [("M-09", True, False, "", "いいえ"), ("M-02", False, True, "古い備考", "")]
    body = client_for(world.analyst).get(
        reverse("questionnaires:assessment-detail", args=[second.pk])).content.decode()
    assert 'data-item="M-02" data-removed' in body and "古い備考" in body
    changes = api_for(world.analyst).get(f"/api/v1/assessments/{second.pk}/diff/").json()["changes"]
    assert changes[-1] == {"item": "M-02", "before": "古い備考", "after": None, "new": False,
                           "removed": True}
