"""The template library pages: staff only, built-in shared, foreign templates 404."""

import pytest
from django.urls import reverse

from renkei.questionnaires.models import Template
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db

LIST = reverse("questionnaires:template-list")


def detail(template):
    return reverse("questionnaires:template-detail", args=[template.pk])


def builtin():
    return Template.objects.get(key="scrm-sheet")


@pytest.mark.parametrize("who", ["admin", "analyst", "auditor", "outsider"])
def test_staff_see_the_library_with_the_builtin_sheet(world, client_for, who):
    text = client_for(getattr(world, who)).get(LIST).content.decode()
    assert "サプライチェーンリスク管理シート" in text and "組み込み" in text


@pytest.mark.parametrize("who", ["supplier1", "xcontact", "nobody"])
def test_non_staff_cannot_open_the_library(world, client_for, who):
    assert client_for(getattr(world, who)).get(LIST).status_code == 403


def test_anonymous_is_sent_to_login(world, client):
    assert client.get(LIST).status_code == 302
    assert client.get(detail(builtin())).status_code == 302


def test_list_shows_own_latest_version_with_counts_not_foreign(world, client_for):
    load(small(), world.buyer)
    load(small(name="ミニ質問票 改訂版"), world.buyer)
    load(small(name="他社の秘密の質問票"), world.other)
    text = client_for(world.auditor).get(LIST).content.decode()
    assert "ミニ質問票 改訂版" in text and "v2" in text and "（2 版）" in text
    assert "他社の秘密の質問票" not in text


def test_empty_library_says_how_to_load_one(world, client_for):
    Template.objects.all().delete()
    text = client_for(world.admin).get(LIST).content.decode()
    assert "質問票テンプレートはまだありません" in text


def test_detail_shows_items_types_points_conditions_and_versions(world, client_for):
    first = load(small(), world.buyer).template
    second = load(small(name="ミニ質問票 改訂版"), world.buyer).template
    response = client_for(world.analyst).get(detail(second))
    assert response.status_code == 200
    text = response.content.decode()
    for expected in ("B-01", "バックアップを取っていますか", "重要", "○ 対応済み", "B-02 が はい のときのみ",
                     "Microsoft 365", "該当なし可", detail(first), "複数選択"):
        assert expected in text, expected


def test_builtin_detail_shows_the_sheet(world, client_for):
    text = client_for(world.outsider).get(detail(builtin())).content.decode()
    assert text.count('class="badge badge-expired"') == 5  # critical items
    assert "データのバックアップを定期的の実施していますか" in text and "保有かつ有効期限内 100" in text


def test_detail_in_english(world, client_for):
    client = client_for(world.admin)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    text = client.get(detail(builtin())).content.decode()
    assert "Supply-chain risk management sheet" in text and "Do you back up your data regularly?" in text


@pytest.mark.parametrize("who", ["outsider", "supplier1", "xcontact", "nobody"])
def test_foreign_template_is_404(world, client_for, who):
    template = load(small(), world.buyer).template
    assert client_for(getattr(world, who)).get(detail(template)).status_code == 404


@pytest.mark.parametrize("who", ["supplier1", "nobody"])
def test_builtin_template_is_404_for_non_staff(world, client_for, who):
    assert client_for(getattr(world, who)).get(detail(builtin())).status_code == 404


def test_pages_take_constant_queries(world, client_for, django_assert_max_num_queries):
    client = client_for(world.admin)
    load(small(), world.buyer)
    client.get(LIST)
    with django_assert_max_num_queries(8) as before:
        client.get(LIST)
    for n in range(5):
        load(small(key=f"k{n}"), world.buyer)
    with django_assert_max_num_queries(len(before)):
        client.get(LIST)
    with django_assert_max_num_queries(10) as first:
        client.get(detail(builtin()))
    big = load(small(key="big", sections=small()["sections"] * 1), world.buyer).template
    with django_assert_max_num_queries(len(first)):
        client.get(detail(big))
