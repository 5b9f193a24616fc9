"""/api/v1/assessments/: for_user, 404/403, answers with field-level Japanese errors, submit,
return, approve, export, constant query counts."""

import pytest
from django.urls import reverse

from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import create_assessment
from renkei.questionnaires.models import Assessment, Template
from renkei.questionnaires.tests.helpers import load, small
from renkei.suppliers.models import Supplier

pytestmark = pytest.mark.django_db

LIST = reverse("assessment-list")


def url(name, assessment):
    return reverse(f"assessment-{name}", args=[assessment.pk])


@pytest.fixture
def sent(world):
    return create_assessment(Actor.system("t"), world.s1, load(small(), world.buyer).template)


def test_staff_create_by_key_or_id(world, api_for):
    client = api_for(world.analyst)
    response = client.post(LIST, {"supplier": world.s1.pk, "template_key": "scrm-sheet",
                                  "due_on": "2030-04-30"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["supplier_code"], body["template_key"], body["version"], body["status"],
            body["answers"]) == ("S1", "scrm-sheet", 1, "not_started", [])
    template = Template.objects.get(key="scrm-sheet")
    again = client.post(LIST, {"supplier": world.s2.pk, "template": template.pk}, format="json")
    assert again.status_code == 201
    twice = client.post(LIST, {"supplier": world.s2.pk, "template": template.pk}, format="json")
    assert twice.status_code == 400 and "未承認の質問票があります" in twice.json()["detail"]


@pytest.mark.parametrize("payload", [
    {"supplier": "X1", "template_key": "scrm-sheet"},
    {"supplier": "S1", "template_key": "nothing"},
    {"supplier": "S1"},
    {"supplier": "S1", "template_key": "theirs"},
])
def test_create_refusals_are_field_errors(world, api_for, payload):
    load(small(key="theirs"), world.other)
    codes = {"X1": world.x1.pk, "S1": world.s1.pk}
    response = api_for(world.admin).post(LIST, {**payload, "supplier": codes[payload["supplier"]]},
                                         format="json")
    assert response.status_code == 400 and not Assessment.objects.exists()


@pytest.mark.parametrize("who", ["auditor", "supplier1", "outsider"])
def test_only_staff_with_add_create(world, api_for, who):
    response = api_for(getattr(world, who)).post(
        LIST, {"supplier": world.s1.pk, "template_key": "scrm-sheet"}, format="json")
    assert response.status_code == 400 and not Assessment.objects.exists()


@pytest.mark.parametrize("who,seen", [("admin", 1), ("auditor", 1), ("supplier1", 1),
                                      ("supplier2", 0), ("outsider", 0), ("xcontact", 0)])
def test_list_through_for_user(world, api_for, sent, who, seen):
    assert api_for(getattr(world, who)).get(LIST).json()["count"] == seen


@pytest.mark.parametrize("who", ["supplier2", "outsider", "xcontact", "nobody"])
def test_foreign_assessment_is_404_everywhere(world, api_for, sent, who):
    client = api_for(getattr(world, who))
    assert client.get(url("detail", sent)).status_code == 404
    assert client.get(url("export", sent)).status_code == 404
    for name in ("answers", "submit", "return", "approve"):
        assert client.post(url(name, sent), {"item": "B-01", "value": "○"},
                           format="json").status_code == 404


def test_supplier_contact_answers_submits_and_cannot_review(world, api_for, sent):
    client = api_for(world.supplier1)
    response = client.post(url("answers", sent), {"item": "B-01", "value": "◯", "comment": "毎日"},
                           format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "in_progress" and body["score"] == 100.0
    assert body["answers"] == [{"item": "B-01", "value": "done", "comment": "毎日", "evidence": False,
                                "answered_at": body["answers"][0]["answered_at"]}]
    missing = client.post(url("submit", sent))
    assert missing.status_code == 400 and missing.json()["missing"] == ["B-02", "M-01"]
    assert client.post(url("answers", sent), {"answers": {"B-02": "いいえ", "M-01": "該当なし"}},
                       format="json").status_code == 200
    assert client.post(url("submit", sent)).json()["status"] == "submitted"
    assert client.post(url("approve", sent)).status_code == 403
    assert client.post(url("return", sent), {"comment": "x"}, format="json").status_code == 403
    staff = api_for(world.analyst)
    returned = staff.post(url("return", sent), {"comment": "根拠を添付してください"}, format="json")
    assert returned.json()["status"] == "returned"
    assert client.get(url("detail", sent)).json()["return_comment"] == "根拠を添付してください"
    client.post(url("submit", sent))
    assert staff.post(url("approve", sent)).json()["status"] == "approved"


def test_refused_values_are_field_level_in_japanese(world, api_for, sent):
    client = api_for(world.supplier1)
    response = client.post(url("answers", sent), {"item": "B-01", "value": "maybe"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"value": ["「maybe」は次のいずれでもありません: "
                                         "○ 対応済み / △ 対応中 / × 未対応。"]}
    batch = client.post(url("answers", sent), {"answers": {"B-01": "○", "B-02": "たぶん"}},
                        format="json")
    assert batch.status_code == 400 and list(batch.json()["answers"]) == ["B-02"]
    english = client.post(url("answers", sent), {"item": "B-01", "value": "maybe"}, format="json",
                          HTTP_ACCEPT_LANGUAGE="en")
    assert "is not one of" in english.json()["value"][0]
    assert not sent.answers.exists()


def test_auditor_may_view_not_answer(world, api_for, sent):
    client = api_for(world.auditor)
    assert client.get(url("detail", sent)).status_code == 200
    assert client.post(url("answers", sent), {"item": "B-01", "value": "○"},
                       format="json").status_code == 403
    assert client.post(url("submit", sent)).status_code == 403


def test_export_document(world, api_for, sent):
    api_for(world.supplier1).post(url("answers", sent), {"item": "B-01", "value": "×"}, format="json")
    body = api_for(world.admin).get(url("export", sent)).json()
    assert (body["template"], body["version"], body["supplier"], body["status"]) == (
        "mini", 1, "S1", "in_progress")
    assert body["critical_failures"] == ["B-01"] and body["score"] == 0.0
    first = body["answers"][0]
    assert (first["item"], first["text"], first["value"], first["critical_failure"]) == (
        "B-01", "バックアップを取っていますか", "not_done", True)
    assert [a["item"] for a in body["answers"]] == ["B-01", "B-02", "B-03", "M-01", "M-02"]


def test_query_counts_are_constant(world, api_for, django_assert_num_queries):
    client = api_for(world.admin)
    template = load(small(), world.buyer).template
    first = create_assessment(Actor.system("t"), world.s1, template)
    with django_assert_num_queries(3):  # token, count, page
        client.get(LIST)
    with django_assert_num_queries(3):  # token, assessment, answers with their items
        client.get(url("detail", first))
    for n in range(10):
        supplier = Supplier.objects.create(organization=world.buyer, code=f"Q{n}", name=f"社{n}")
        create_assessment(Actor.system("t"), supplier, template)
    with django_assert_num_queries(3):
        assert client.get(LIST).json()["count"] == 11
