"""The Excel round trip on the assessment page and in `renkei sheets export|import`."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import create_assessment, save_answers
from renkei.questionnaires.models import Answer
from renkei.questionnaires.tests.helpers import load, small
from renkei.questionnaires.tests.test_sheets import exported, fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(world):
    return create_assessment(Actor.system("t"), world.s1, load(small(), world.buyer).template)


def upload(data, name="answers.xlsx"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.mark.parametrize("who", ["analyst", "auditor", "supplier1"])
def test_staff_and_the_supplier_contact_download(world, client_for, sent, who):
    response = client_for(getattr(world, who)).get(reverse("questionnaires:assessment-sheet",
                                                           args=[sent.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert load_workbook(io.BytesIO(response.content)).worksheets[0].title == "回答"


@pytest.mark.parametrize("who", ["supplier2", "outsider", "xcontact"])
def test_others_get_404(world, client_for, sent, who):
    client = client_for(getattr(world, who))
    assert client.get(reverse("questionnaires:assessment-sheet", args=[sent.pk])).status_code == 404
    response = client.post(reverse("questionnaires:assessment-sheet-import", args=[sent.pk]),
                           {"file": upload(exported(sent))})
    assert response.status_code == 404 and Answer.objects.count() == 0


def test_page_shows_the_buttons_while_open(world, client_for, sent):
    text = client_for(world.supplier1).get(
        reverse("questionnaires:assessment-detail", args=[sent.pk])).content.decode()
    assert "Excel でダウンロード" in text and 'id="sheet-upload"' in text
    text = client_for(world.auditor).get(
        reverse("questionnaires:assessment-detail", args=[sent.pk])).content.decode()
    assert "Excel でダウンロード" in text and 'id="sheet-upload"' not in text


def test_upload_success_and_errors_by_cell(world, client_for, sent):
    client = client_for(world.supplier1)
    url = reverse("questionnaires:assessment-sheet-import", args=[sent.pk])
    bad = fill(exported(sent), {"B-01": "○", "B-02": "maybe"})
    response = client.post(url, {"file": upload(bad)})
    assert response.status_code == 400
    text = response.content.decode()
    assert "回答!E10" in text and "maybe" in text and Answer.objects.count() == 0
    good = fill(exported(sent), {"B-01": "○", "B-02": "はい", "B-03": "△"})
    response = client.post(url, {"file": upload(good)}, follow=True)
    assert "3 件の回答を変更" in response.content.decode()
    assert Answer.objects.filter(assessment=sent).count() == 3
    refused = client.post(url, {"file": upload(good, "answers.xlsm")}, follow=True)
    assert "マクロ" in refused.content.decode()


def test_upload_for_another_assessment_is_refused(world, client_for, sent):
    other = create_assessment(Actor.system("t"), world.s1, load(small(key="other"), world.buyer).template)
    response = client_for(world.supplier1).post(
        reverse("questionnaires:assessment-sheet-import", args=[other.pk]),
        {"file": upload(fill(exported(sent), {"B-01": "○"}))}, follow=True)
    assert "別の質問票" in response.content.decode() and Answer.objects.count() == 0


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("sheets", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_cli_export_and_import_json(world, sent, tmp_path):
    path = tmp_path / "a.xlsx"
    run("export", "--assessment", str(sent.pk), "--out", str(path))
    path.write_bytes(fill(path.read_bytes(), {"B-01": "〇", "B-02": "いいえ"}))
    data = json.loads(run("import", str(path), "--as", "supplier1", "--json"))
    assert data == {"assessment": sent.pk, "changed": 2, "unchanged": 3, "errors": []}
    data = json.loads(run("import", str(path), "--json"))
    assert data == {"assessment": sent.pk, "changed": 0, "unchanged": 5, "errors": []}


def test_cli_import_errors_exit_non_zero_with_json(world, sent, tmp_path):
    path = tmp_path / "a.xlsx"
    run("export", "--assessment", str(sent.pk), "--out", str(path), "--lang", "en")
    path.write_bytes(fill(path.read_bytes(), {"B-01": "maybe"}))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("sheets", "import", str(path), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["assessment"] == sent.pk and data["changed"] == 0
    assert data["errors"][0]["cell"] == "Answers!E9" and "maybe" in data["errors"][0]["reason"]
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("sheets", "import", str(path), "--as", "outsider", "--json", stdout=out)
    assert json.loads(out.getvalue())["errors"][0]["cell"] == ""


def test_api_sheet_download_and_upload(world, api_for, sent):
    url = f"/api/v1/assessments/{sent.pk}/sheet/"
    response = api_for(world.supplier1).get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    data = fill(response.content, {"B-01": "○", "B-02": "maybe"})
    bad = api_for(world.supplier1).post(url, {"file": upload(data)}, format="multipart")
    assert bad.status_code == 400 and bad.json()["errors"][0]["cell"] == "回答!E10"
    good = fill(response.content, {"B-01": "○"})
    ok = api_for(world.supplier1).post(url, {"file": upload(good)}, format="multipart")
    assert ok.status_code == 200 and ok.json() == {"assessment": sent.pk, "changed": 1,
                                                   "unchanged": 4, "errors": []}
    assert api_for(world.auditor).post(url, {"file": upload(good)},
                                       format="multipart").status_code == 403
    assert api_for(world.supplier2).get(url).status_code == 404
    refused = api_for(world.supplier1).post(url, {"file": upload(b"junk")}, format="multipart")
    assert refused.status_code == 400 and "壊れ" in refused.json()["detail"]


def test_a_hostile_supplier_code_cannot_break_the_download_header(world, client_for, sent, api_for):
    world.s1.code = '東海"\r\nX-Evil: 1'
    world.s1.save()
    url = reverse("questionnaires:assessment-sheet", args=[sent.pk])
    for response in (client_for(world.analyst).get(url),
                     api_for(world.analyst).get(f"/api/v1/assessments/{sent.pk}/sheet/")):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
        assert "X-Evil" not in response.headers


def test_cli_reports_conflicts_with_answers_changed_after_the_download(world, sent, tmp_path):
    path = tmp_path / "a.xlsx"
    run("export", "--assessment", str(sent.pk), "--out", str(path))
    save_answers(Actor(user=world.supplier1), sent, {"B-01": "×"})
    path.write_bytes(fill(path.read_bytes(), {"B-01": "○", "B-02": "はい"}))
    out = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="Nothing was imported"):
        call_command("sheets", "import", str(path), "--json", "--lang", "en", stdout=out)
    data = json.loads(out.getvalue())
    assert data["changed"] == 0 and [(e["cell"], e.get("conflict")) for e in data["errors"]] == [
        ("回答!E9", True)]
    assert "after this sheet was downloaded" in data["errors"][0]["reason"]
    assert Answer.objects.get(item__item_id="B-01").value == "not_done"
    assert not Answer.objects.filter(item__item_id="B-02").exists()
