"""Assessment pages: the supplier's 質問票 tab, sending, answering by section, submit, review."""

import pytest
from django.urls import reverse

from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import create_assessment, save_answers, submit
from renkei.questionnaires.models import Assessment, Template
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db


def page(assessment):
    return reverse("questionnaires:assessment-detail", args=[assessment.pk])


@pytest.fixture
def sent(world):
    return create_assessment(Actor.system("t"), world.s1, load(small(), world.buyer).template)


def test_staff_send_from_the_supplier_tab(world, client_for):
    client = client_for(world.analyst)
    tab = client.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=assessments")
    text = tab.content.decode()
    assert "send-questionnaire" in text and "サプライチェーンリスク管理シート" in text
    template = Template.objects.get(key="scrm-sheet")
    response = client.post(reverse("questionnaires:assessment-create"),
                           {"supplier": world.s1.pk, "template": template.pk, "due_on": "2030-04-30"})
    assessment = Assessment.objects.get()
    assert response.status_code == 302 and response.url == page(assessment)
    body = client.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=assessments")
    assert "未着手" in body.content.decode() and "2030-04-30" in body.content.decode()
    again = client.post(reverse("questionnaires:assessment-create"),
                        {"supplier": world.s1.pk, "template": template.pk}, follow=True)
    assert "未承認の質問票があります" in again.content.decode() and Assessment.objects.count() == 1


@pytest.mark.parametrize("who", ["auditor", "supplier1"])
def test_no_send_form_without_add(world, client_for, who):
    tab = client_for(getattr(world, who)).get(
        reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=assessments")
    assert tab.status_code == 200 and "send-questionnaire" not in tab.content.decode()
    template = Template.objects.get(key="scrm-sheet")
    response = client_for(getattr(world, who)).post(
        reverse("questionnaires:assessment-create"), {"supplier": world.s1.pk, "template": template.pk})
    assert response.status_code in (403, 404) and not Assessment.objects.exists()


def test_supplier_contact_answers_a_section_and_submits(world, client_for, sent):
    client = client_for(world.supplier1)
    body = client.get(page(sent)).content.decode()
    assert "このセクションを保存" in body and 'name="a-B-01"' in body
    response = client.post(page(sent), {"section": "basics", "a-B-01": "not_done", "a-B-02": "no",
                                        "c-B-01": "来月対応", "c-B-02": "", "c-B-03": ""})
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == "in_progress" and sent.critical_failures == ["B-01"]
    body = client.get(page(sent)).content.decode()
    assert 'id="critical-failures"' in body and "critical-failure" in body and "来月対応" in body
    client.post(page(sent), {"section": "more", "a-M-01": ["n/a"], "c-M-01": "", "c-M-02": ""})
    client.post(reverse("questionnaires:assessment-submit", args=[sent.pk]))
    sent.refresh_from_db()
    assert sent.status == "submitted"
    body = client.get(page(sent)).content.decode()
    assert "このセクションを保存" not in body and "承認する" not in body and "× 未対応" in body


def test_a_refused_answer_is_shown_next_to_its_item(world, client_for, sent):
    response = client_for(world.supplier1).post(
        page(sent), {"section": "more", "a-M-01": ["m365"], "a-M-02": "x" * 4001, "c-M-01": "",
                     "c-M-02": ""})
    assert response.status_code == 400
    assert "4000 文字以内" in response.content.decode() and not sent.answers.exists()


def test_staff_return_and_approve(world, client_for, sent):
    save_answers(Actor.system("t"), sent, {"B-01": "○", "B-02": "いいえ", "M-01": "m365"})
    submit(Actor.system("t"), sent)
    client = client_for(world.analyst)
    assert "差し戻す" in client.get(page(sent)).content.decode()
    client.post(reverse("questionnaires:assessment-return", args=[sent.pk]), {"comment": "根拠を"})
    sent.refresh_from_db()
    assert sent.status == "returned"
    assert "根拠を" in client_for(world.supplier1).get(page(sent)).content.decode()
    submit(Actor.system("t"), sent)
    client.post(reverse("questionnaires:assessment-approve", args=[sent.pk]))
    sent.refresh_from_db()
    assert sent.status == "approved"


@pytest.mark.parametrize("who,code", [("supplier2", 404), ("outsider", 404), ("xcontact", 404),
                                      ("nobody", 404), ("auditor", 200), ("admin", 200)])
def test_page_access(world, client_for, sent, who, code):
    assert client_for(getattr(world, who)).get(page(sent)).status_code == code


def test_auditor_and_supplier_cannot_review_or_answer(world, client_for, sent):
    save_answers(Actor.system("t"), sent, {"B-01": "○", "B-02": "いいえ", "M-01": "m365"})
    auditor = client_for(world.auditor)
    assert auditor.post(page(sent), {"section": "basics", "a-B-01": "not_done"}).status_code == 403
    submit(Actor.system("t"), sent)
    for who in ("auditor", "supplier1"):
        client_for(getattr(world, who)).post(reverse("questionnaires:assessment-approve",
                                                     args=[sent.pk]))
    sent.refresh_from_db()
    assert sent.status == "submitted"


def test_page_query_count_is_constant(world, client_for, sent, django_assert_max_num_queries):
    client = client_for(world.supplier1)
    save_answers(Actor.system("t"), sent, {"B-01": "○", "B-02": "はい", "B-03": "△", "M-01": "m365"})
    with django_assert_max_num_queries(20):
        assert client.get(page(sent)).status_code == 200


def test_autosave_of_a_certificate_without_held_keeps_the_answer_and_says_why(world, client_for):
    template = load({"key": "cert", "name": "認証", "sections": [{"key": "c", "title": "認証", "items": [
        {"id": "C-01", "text": "ISMS", "type": "certificate"}]}]}, world.buyer).template
    sent = create_assessment(Actor.system("t"), world.s1, template)
    save_answers(Actor.system("t"), sent, {"C-01": {"held": "yes", "number": "N1"}})
    client = client_for(world.supplier1)
    url = reverse("questionnaires:assessment-autosave", args=[sent.pk])
    fields = {"item": "C-01", "a-C-01-held": "", "a-C-01-kind": "ISMS", "a-C-01-number": "N2",
              "a-C-01-expires_on": "2030-03-31"}
    response = client.post(url, fields, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and response.json()["ok"] is False
    assert sent.answers.get().value == {"held": True, "kind": "", "number": "N1", "expires_on": None}
    # Every field emptied clears it, as before.
    cleared = client.post(url, {"item": "C-01", "a-C-01-held": "", "a-C-01-kind": "",
                                "a-C-01-number": "", "a-C-01-expires_on": ""})
    assert cleared.status_code == 200 and not sent.answers.exists()
