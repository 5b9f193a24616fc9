"""/api/v1/templates/: read-only, for_user, nested detail, constant queries."""

import pytest
from django.urls import reverse

from renkei.questionnaires.models import Template
from renkei.questionnaires.tests.helpers import load, many_items, small

pytestmark = pytest.mark.django_db

LIST = reverse("template-list")


def test_list_shows_latest_versions_of_builtin_and_own(world, api_for):
    load(small(), world.buyer)
    load(small(name="改訂版"), world.buyer)
    load(small(key="secret"), world.other)
    body = api_for(world.auditor).get(LIST).json()
    rows = [(r["key"], r["version"], r["organization"], r["items"], r["versions"])
            for r in body["results"]]
    assert rows == [("scrm-sheet", 1, None, 25, 1), ("mini", 2, "buyer", 5, 2)]
    first = body["results"][0]
    assert first["builtin"] is True and first["critical_items"] == 5 and first["locked"] is False
    assert first["name"] == "サプライチェーンリスク管理シート"


def test_all_versions_and_key_filter(world, api_for):
    load(small(), world.buyer)
    load(small(name="改訂版"), world.buyer)
    client = api_for(world.admin)
    rows = client.get(LIST, {"all_versions": "1", "key": "mini"}).json()["results"]
    assert [(r["key"], r["version"]) for r in rows] == [("mini", 2), ("mini", 1)]
    assert client.get(LIST, {"key": "nothing"}).json()["count"] == 0


def test_retrieve_nests_sections_items_and_choices(world, api_for):
    template = load(small(), world.buyer).template
    body = api_for(world.analyst).get(reverse("template-detail", args=[template.pk]),
                                      HTTP_ACCEPT_LANGUAGE="en").json()
    assert [s["key"] for s in body["sections"]] == ["basics", "more"]
    first = body["sections"][0]["items"][0]
    assert (first["id"], first["text"], first["type"], first["critical"]) == (
        "B-01", "Backups?", "tri_state", True)
    assert [(c["value"], c["label"], c["points"]) for c in first["choices"]] == [
        ("done", "○ Done", 100), ("in_progress", "△ In progress", 50), ("not_done", "× Not done", 0)]
    third = body["sections"][0]["items"][2]
    assert third["condition"] == {"item": "B-02", "in": ["yes"]} and third["weight"] == "2.00"
    assert body["name"] == "Mini questionnaire"


@pytest.mark.parametrize("who", ["outsider", "supplier1", "xcontact", "nobody"])
def test_foreign_template_is_404(world, api_for, who):
    template = load(small(), world.buyer).template
    assert api_for(getattr(world, who)).get(reverse("template-detail", args=[template.pk])).status_code == 404


@pytest.mark.parametrize("who", ["supplier1", "nobody"])
def test_non_staff_list_nothing(world, api_for, who):
    assert api_for(getattr(world, who)).get(LIST).json()["count"] == 0


def test_api_is_read_only(world, api_for):
    client = api_for(world.admin)
    template = Template.objects.get(key="scrm-sheet")
    assert client.post(LIST, {"key": "x"}, format="json").status_code == 405
    url = reverse("template-detail", args=[template.pk])
    assert client.patch(url, {"name_ja": "x"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405


def test_anonymous_gets_401(world, client):
    assert client.get(LIST).status_code in (401, 403)


def test_queries_are_constant(world, api_for, django_assert_num_queries):
    client = api_for(world.admin)
    load(small(), world.buyer)
    with django_assert_num_queries(3):  # token, count, page
        client.get(LIST)
    for n in range(6):
        load(small(key=f"k{n}"), world.buyer)
    with django_assert_num_queries(3):
        client.get(LIST)
    small_one = load(many_items(3, key="few"), world.buyer).template
    big_one = load(many_items(80, key="lots"), world.buyer).template
    with django_assert_num_queries(5) as few:
        client.get(reverse("template-detail", args=[small_one.pk]))
    with django_assert_num_queries(len(few)):
        client.get(reverse("template-detail", args=[big_one.pk]))
