"""The check-sheet import pages: upload → preview (再判定) → confirm (views_sheet_import)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from renkei.accounts.models import Membership
from renkei.audit.models import AuditEntry
from renkei.core.permissions import Role
from renkei.questionnaires import views_sheet_import as views
from renkei.questionnaires.models import Item, Template
from renkei.questionnaires.tests.test_sheet_import import seed_004_workbook, to_bytes

UPLOAD = reverse("questionnaires:sheet-import")
PREVIEW = reverse("questionnaires:sheet-import-preview")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"


def sheet_file(name: str = "scrm.xlsx", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else to_bytes(seed_004_workbook()), XLSX)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "sheet-imports"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def uploaded(client, **extra):
    response = client.post(UPLOAD, {"file": sheet_file(**extra)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def fields_of(page) -> dict[str, str]:
    """The preview form as the browser would submit it (selected options, text inputs)."""
    form = page.context["form"]
    data = {name: "" if value is None else str(value) for name, value in form.initial.items()}
    data["shown"] = page.context["shown"]
    return data


# --- Access ---------------------------------------------------------------------------------------


class TestAccess:
    @pytest.mark.parametrize("who", ["auditor", "supplier1", "nobody"])
    def test_users_without_add_permission_get_403(self, world, client_for, who):
        client = client_for(getattr(world, who))
        assert client.get(UPLOAD).status_code == 403
        assert client.post(UPLOAD, {"file": sheet_file()}).status_code == 403
        assert client.get(PREVIEW).status_code == 403

    def test_anonymous_is_sent_to_login(self, client, db):
        assert client.get(UPLOAD).status_code == 302

    def test_outsider_cannot_import_into_the_buyer(self, world, client_for, settings):
        client = client_for(world.outsider)
        response = client.post(UPLOAD, {"organization": world.buyer.pk, "file": sheet_file()})
        assert response.status_code == 302  # the only choice is its own organization
        page = client.get(PREVIEW)
        assert page.context["organization"] == world.other
        client.post(PREVIEW, {**fields_of(page), "action": "confirm"})
        assert not Template.objects.filter(organization=world.buyer).exists()
        assert Template.objects.filter(organization=world.other).count() == 1

    def test_staff_of_two_organizations_cannot_choose_one_without_add(self, world, client_for):
        Membership.objects.create(user=world.analyst, organization=world.other, role=Role.AUDITOR)
        client = client_for(world.analyst)
        response = client.post(UPLOAD, {"organization": world.other.pk, "file": sheet_file()})
        assert response.status_code == 302  # only the buyer is offered, so it is implied
        assert client.get(PREVIEW).context["organization"] == world.buyer

    def test_a_choice_is_required_between_two_organizations_with_add(self, world, client_for):
        Membership.objects.create(user=world.admin, organization=world.other, role=Role.ANALYST)
        client = client_for(world.admin)
        assert 'name="organization"' in client.get(UPLOAD).content.decode()
        response = client.post(UPLOAD, {"organization": world.other.pk, "file": sheet_file()})
        assert response.status_code == 302
        assert client.get(PREVIEW).context["organization"] == world.other

    def test_another_users_upload_id_is_useless(self, world, client_for, settings):
        uploaded(client_for(world.admin))
        token = stored_files(settings)[0].stem
        other = client_for(world.analyst)
        session = other.session
        session[views.SESSION_KEY] = {"id": token, "filename": "x.xlsx", "organization": world.buyer.pk}
        session.save()
        response = other.get(PREVIEW)
        assert response.status_code == 302 and response["Location"] == UPLOAD


# --- Upload ---------------------------------------------------------------------------------------


def test_upload_page_in_japanese(world, client_for):
    page = client_for(world.analyst).get(UPLOAD).content.decode()
    assert "チェックシートの取り込み" in page
    assert 'accept=".xlsx"' in page


def test_upload_stores_the_file_server_side_and_writes_nothing(world, client_for, settings):
    client = client_for(world.analyst)
    before = AuditEntry.objects.count()
    uploaded(client)
    files = stored_files(settings)
    assert len(files) == 1
    assert files[0].parent.name == str(world.analyst.pk)
    assert client.session[views.SESSION_KEY]["id"] == files[0].stem
    assert set(client.session[views.SESSION_KEY]) == {"id", "filename", "organization"}
    page = client.get(PREVIEW)
    assert page.status_code == 200
    assert not Template.objects.filter(organization__isnull=False).exists()
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(("name", "data", "message"), [
    ("macro.xlsm", None, "マクロ"),
    ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
    ("list.csv", "No,設問\n1,a\n".encode(), "CSV"),
    ("broken.xlsx", b"PK\x03\x04broken", "壊れている"),
])
def test_bad_files_get_a_japanese_message_and_nothing_is_stored(world, client_for, settings, name,
                                                                data, message):
    response = client_for(world.analyst).post(UPLOAD, {"file": sheet_file(name, data)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert stored_files(settings) == []


def test_oversized_upload_is_refused(world, client_for, settings):
    settings.RENKEI_MAX_UPLOAD_MB = 1
    data = to_bytes(seed_004_workbook()) + b"\x00" * (1024 * 1024 + 1)
    response = client_for(world.analyst).post(UPLOAD, {"file": sheet_file("big.xlsx", data)})
    assert response.status_code == 400
    assert "上限" in response.content.decode() or "MB" in response.content.decode()
    assert stored_files(settings) == []


def test_a_new_upload_replaces_the_previous_one(world, client_for, settings):
    client = client_for(world.analyst)
    uploaded(client)
    first = stored_files(settings)
    uploaded(client)
    second = stored_files(settings)
    assert len(second) == 1 and second != first


def test_files_older_than_a_day_are_purged(world, client_for, settings):
    client = client_for(world.analyst)
    uploaded(client)
    old = stored_files(settings)[0]
    day_ago = time.time() - views.KEEP_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    response = client.get(PREVIEW)
    assert response.status_code == 302  # expired: not used any more
    uploaded(client_for(world.admin))  # any upload sweeps the old files away
    assert old not in stored_files(settings) and not old.exists()


# --- Preview and confirm --------------------------------------------------------------------------


def test_preview_shows_the_detection_and_the_questions(world, client_for):
    client = uploaded(client_for(world.analyst))
    page = client.get(PREVIEW)
    html = page.content.decode()
    analysis = page.context["analysis"]
    assert analysis.mapping.header_row == 4
    for text in ("機密情報の保護", "サイバーセキュリティ対策", "再判定", "テンプレートを作成", "S2-1",
                 "情報セキュリティ方針の策定を行い公表していますか", "○ 対応済み"):
        assert text in html
    assert page.context["form"].initial["key"] == "scrm"
    assert page.context["form"].initial["name"] == "サプライチェーンリスク管理シート"


def test_confirm_creates_the_template_cleans_up_and_redirects(world, client_for, settings):
    client = uploaded(client_for(world.analyst))
    page = client.get(PREVIEW)
    data = {**fields_of(page), "key": "vendor-check", "name": "取引先チェック", "action": "confirm"}
    response = client.post(PREVIEW, data)
    template = Template.objects.get(organization=world.buyer, key="vendor-check")
    assert response.status_code == 302
    assert response["Location"] == reverse("questionnaires:template-detail", args=[template.pk])
    assert template.name_ja == "取引先チェック" and template.version == 1
    assert Item.objects.filter(template=template).count() == 8
    assert list(template.sections.order_by("order").values_list("title_ja", flat=True)) == [
        "情報セキュリティにおける第三者認証の有無", "機密情報の保護", "サイバーセキュリティ対策"]
    assert AuditEntry.objects.filter(object_id=str(template.pk)).exists()
    assert stored_files(settings) == []
    assert views.SESSION_KEY not in client.session
    follow = client.get(response["Location"])
    assert "取引先チェック" in follow.content.decode()


def test_override_then_confirm_uses_the_corrections(world, client_for):
    client = uploaded(client_for(world.analyst))
    page = client.get(PREVIEW)
    fields = fields_of(page)
    # No answer column: every item becomes free text. First 再判定, then confirm what was shown.
    page = client.post(PREVIEW, {**fields, "answer": "0", "action": "redetect"})
    assert page.status_code == 200
    assert page.context["analysis"].mapping.answer is None
    assert not Template.objects.filter(organization__isnull=False).exists()
    fields = {**fields_of(page), "key": "free-text", "name": "記述式", "action": "confirm"}
    response = client.post(PREVIEW, fields)
    assert response.status_code == 302
    template = Template.objects.get(key="free-text")
    assert set(template.items.values_list("answer_type", flat=True)) == {"text"}


def test_confirm_with_unapplied_changes_shows_the_new_preview_first(world, client_for):
    client = uploaded(client_for(world.analyst))
    page = client.get(PREVIEW)
    response = client.post(PREVIEW, {**fields_of(page), "answer": "0", "action": "confirm"})
    assert response.status_code == 200
    assert "設定が変更されました" in response.content.decode()
    assert response.context["analysis"].mapping.answer is None  # the new preview is shown
    assert not Template.objects.filter(organization__isnull=False).exists()


def test_changing_the_header_row_detects_its_columns_afresh(world, client_for):
    client = uploaded(client_for(world.analyst))
    page = client.get(PREVIEW)
    page = client.post(PREVIEW, {**fields_of(page), "header_row": "10", "action": "redetect"})
    mapping = page.context["analysis"].mapping
    assert (mapping.header_row, mapping.question, mapping.answer) == (10, 2, 3)
    assert page.context["analysis"].sections[0].title == "機密情報の保護"
    # A column changed together with the header row is kept.
    page = client.post(PREVIEW, {**fields_of(page), "header_row": "4", "help": "3", "answer": "0",
                                 "action": "redetect"})
    mapping = page.context["analysis"].mapping
    assert (mapping.header_row, mapping.answer, mapping.help) == (4, None, 3)


def test_invalid_key_is_a_form_error_and_nothing_is_written(world, client_for, settings):
    client = uploaded(client_for(world.analyst))
    page = client.get(PREVIEW)
    response = client.post(PREVIEW, {**fields_of(page), "key": "Bad Key!", "action": "confirm"})
    assert response.status_code == 400
    assert "小文字" in response.content.decode()
    assert not Template.objects.filter(organization__isnull=False).exists()
    assert len(stored_files(settings)) == 1  # kept for another try


def test_same_key_again_makes_a_new_version_or_nothing_when_identical(world, client_for):
    client = client_for(world.analyst)
    for _ in range(2):
        uploaded(client)
        page = client.get(PREVIEW)
        client.post(PREVIEW, {**fields_of(page), "action": "confirm"})
    assert Template.objects.filter(key="scrm").count() == 1  # identical: unchanged
    uploaded(client)
    page = client.get(PREVIEW)
    assert "既に" in page.content.decode()
    client.post(PREVIEW, {**fields_of(page), "name": "改訂版", "action": "confirm"})
    assert list(Template.objects.filter(key="scrm").values_list("version", flat=True)
                .order_by("version")) == [1, 2]


def test_sheet_without_a_header_cannot_be_confirmed_until_the_row_is_chosen(world, client_for):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["確認事項一覧"])
    sheet.append(["ア", "パスワードは８文字以上ですか"])
    sheet.append(["イ", "画面ロックを設定していますか"])
    client = client_for(world.analyst)
    client.post(UPLOAD, {"file": sheet_file("nohead.xlsx", to_bytes(workbook))})
    page = client.get(PREVIEW)
    assert "見出し行（「No」「設問」「回答」などが並ぶ行）が見つかりませんでした" in page.content.decode()
    assert "テンプレートを作成</button>" not in page.content.decode()
    response = client.post(PREVIEW, {**fields_of(page), "action": "confirm"})
    assert response.status_code == 400
    assert not Template.objects.filter(organization__isnull=False).exists()
    # The header row and the columns chosen together, with one 再判定.
    page = client.post(PREVIEW, {**fields_of(page), "header_row": "1", "number": "1", "question": "2",
                                 "action": "redetect"})
    assert page.context["analysis"].problems == []
    response = client.post(PREVIEW, {**fields_of(page), "key": "nohead", "action": "confirm"})
    assert response.status_code == 302
    assert Template.objects.get(key="nohead").items.count() == 2


def test_preview_without_an_upload_goes_back_to_upload(world, client_for):
    response = client_for(world.analyst).get(PREVIEW, follow=True)
    assert response.redirect_chain[-1][0] == UPLOAD
    assert "もう一度アップロード" in response.content.decode()


def test_loader_problems_are_shown_by_sheet_row_and_nothing_is_written(world, client_for, settings):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["No", "設問", "回答"])
    sheet.append([1, "短い設問ですか", None])
    sheet.append([2, "長" * 2001, None])
    client = client_for(world.analyst)
    client.post(UPLOAD, {"file": sheet_file("long.xlsx", to_bytes(workbook))})
    page = client.get(PREVIEW)
    response = client.post(PREVIEW, {**fields_of(page), "action": "confirm"})
    assert response.status_code == 400
    assert response.context["load_problems"][0][0] == 3  # the sheet row of the long question
    assert "3 行目" in response.content.decode()
    assert not Template.objects.filter(organization__isnull=False).exists()
    assert len(stored_files(settings)) == 1


def test_the_library_links_to_the_sheet_import_for_staff_who_may_add(world, client_for):
    link = reverse("questionnaires:sheet-import")
    assert link in client_for(world.analyst).get(reverse("questionnaires:template-list")).content.decode()
    assert link not in client_for(world.auditor).get(reverse("questionnaires:template-list")).content.decode()
