"""The delivery pages in Japanese (the default language). Skipped until the catalogue carries the
pages' messages (/tmp/po/dlvweb.json compiled into renkei/locale)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from renkei.deliveries.tests.helpers import delivery, vulnerable

pytestmark = pytest.mark.django_db


def _compiled() -> bool:
    with translation.override("ja"):
        return translation.gettext("Register a delivery") != "Register a delivery"


needs_catalogue = pytest.mark.skipif(not _compiled(), reason="delivery page messages not compiled yet")


@needs_catalogue
def test_staff_pages_are_japanese(world, client_for):
    row = vulnerable(world.s1, findings=2, signature_status="valid")
    client = client_for(world.analyst)
    listing = client.get(reverse("deliveries:list")).content.decode()
    assert "納品物を登録" in listing and "未対応の脆弱性" in listing and "SBOM 充足度" in listing
    detail = client.get(reverse("deliveries:detail", args=[row.pk])).content.decode()
    for text in (
        "既知の脆弱性",
        "納品ファイル",
        "SBOM の品質",
        "コンポーネント",
        "ライセンス",
        "VEX をインポート",
        "供給者名",
    ):
        assert text in detail, text
    assert "ライセンスポリシー" in client.get(reverse("deliveries:licences")).content.decode()
    assert "納品物を横断検索" in client.get(reverse("deliveries:findings")).content.decode()
    assert "脆弱性データ" in client.get(reverse("deliveries:advisories")).content.decode()


@needs_catalogue
def test_empty_list_and_form_are_japanese(world, client_for):
    client = client_for(world.analyst)
    assert "納品物はまだありません" in client.get(reverse("deliveries:list")).content.decode()
    form = client.get(reverse("deliveries:new")).content.decode()
    assert "納品ファイル 1" in form and "SBOM の署名" in form


@needs_catalogue
def test_portal_pages_are_japanese(world, client_for):
    row = delivery(world.s1)
    client = client_for(world.supplier1)
    assert "納品物を登録" in client.get(reverse("deliveries:portal_list")).content.decode()
    assert "納品物" in client.get(reverse("deliveries:portal_detail", args=[row.pk])).content.decode()
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "納品物を登録" in dashboard
