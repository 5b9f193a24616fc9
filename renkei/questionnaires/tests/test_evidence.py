"""Evidence files on answers: uploads through the pages, the portal and the API, the checks on
what is uploaded, replacing and removing, downloads, the audit trail and evidence requests."""

import io
import logging
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import (
    create_assessment,
    missing_items,
    return_for_changes,
    review_answer,
    save_answers,
    submit,
)
from renkei.questionnaires.evidence import EvidenceRefused, attach_evidence, clean_name, remove_evidence
from renkei.questionnaires.models import Answer
from renkei.questionnaires.portal import create_access_link, progress
from renkei.questionnaires.tests.helpers import SMALL, load, small

pytestmark = pytest.mark.django_db

FILES_SECTION = {
    "key": "files", "title": "証跡",
    "items": [
        {"id": "F-01", "text": "情報セキュリティ基本方針の文書", "type": "file"},
        {"id": "F-02", "text": "委託先一覧", "type": "file", "not_applicable": True,
         "required": False},
    ],
}
DOC = small(key="evid", sections=[*SMALL["sections"], FILES_SECTION])


def pdf(extra: bytes = b"") -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\n" + extra + b"\n%%EOF\n"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "ISMS 台帳"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


DOCX = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
PPTX = zipped({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"})
GOOD = {
    "policy.pdf": pdf(), "screen.png": PNG, "photo.jpg": JPEG, "photo.jpeg": JPEG,
    "ledger.xlsx": None, "rules.docx": DOCX, "slides.pptx": PPTX,
    "list.csv": "取引先,区分\n東海,一次\n".encode("cp932"), "memo.txt": "バックアップ手順".encode(),
    "bundle.zip": zipped({"a.txt": b"a"}),
}


@pytest.fixture(autouse=True)
def english(world, settings):
    """New messages get their Japanese when the catalog is merged; the tests read the English."""
    from renkei.accounts.models import User

    User.objects.update(language="en")
    with translation.override("en"):
        yield


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def sent(world, media):
    return create_assessment(Actor.system("t"), world.s1, load(DOC, world.buyer).template)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def contact(world):
    return Actor(user=world.supplier1, label="supplier1")


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def evidence_url(assessment, item):
    return reverse("questionnaires:assessment-evidence", args=[assessment.pk, item])


# --- Uploading ----------------------------------------------------------------------------------


def test_a_file_item_is_answered_by_its_upload_without_javascript(world, client_for, sent, media):
    client = client_for(world.supplier1)
    page = client.get(reverse("questionnaires:assessment-detail", args=[sent.pk])).content.decode()
    assert 'form="evidence-form-F-01"' in page and 'enctype="multipart/form-data"' in page
    response = client.post(evidence_url(sent, "F-01"), {"file": upload("方針.pdf", pdf())})
    assert response.status_code == 302 and response["Location"].endswith("#item-F-01")
    answer = Answer.objects.get(assessment=sent, item__item_id="F-01")
    assert answer.value is None and not answer.not_applicable and answer.answered_by == world.supplier1
    folder = f"evidence/{world.buyer.pk}/{world.s1.pk}/assessments/{sent.pk}/"
    assert answer.evidence.name == folder + "方針.pdf"
    assert (media / answer.evidence.name).read_bytes() == pdf()
    assert "F-01" not in missing_items(sent)
    sent.refresh_from_db()
    assert sent.status == "in_progress"
    assert progress(sent)["answered"] == 1
    page = client.get(reverse("questionnaires:assessment-detail", args=[sent.pk])).content.decode()
    assert "方針.pdf" in page and 'form="evidence-remove-F-01"' in page


def test_upload_with_javascript_answers_json(world, client_for, sent):
    response = client_for(world.supplier1).post(
        evidence_url(sent, "B-01"), {"file": upload("backup.png", PNG)},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["progress"]["total"] >= 1
    bad = client_for(world.supplier1).post(
        evidence_url(sent, "B-01"), {"file": upload("backup.png", b"not a png")},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert bad.status_code == 400 and "does not match its extension" in bad.json()["error"]


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_allowed_type_is_accepted(world, sent, media, name):
    data = GOOD[name] if GOOD[name] is not None else xlsx()
    answer = attach_evidence(contact(world), sent, "B-02", upload(name, data))
    assert answer.evidence.name.endswith(name)
    assert (media / answer.evidence.name).read_bytes() == data


BAD = {
    "empty": ("policy.pdf", b"", "The file is empty"),
    "executable": ("setup.exe", b"MZ\x90\x00", "not accepted"),
    "html": ("page.html", b"<script>alert(1)</script>", "not accepted"),
    "svg": ("logo.svg", b"<svg onload=alert(1)>", "not accepted"),
    "no extension": ("README", b"hello", "not accepted"),
    "macro workbook": ("book.xlsm", b"PK\x03\x04", "not accepted"),
    "zip named pdf": ("policy.pdf", zipped({"a": b"a"}), "does not match"),
    "html named png": ("shot.png", b"<html><script>x</script>", "does not match"),
    "pdf named jpg": ("photo.jpg", pdf(), "does not match"),
    "plain zip named xlsx": ("ledger.xlsx", zipped({"a.txt": b"a"}), "does not match"),
    "docx named xlsx": ("ledger.xlsx", DOCX, "does not match"),
    "truncated zip": ("bundle.zip", b"PK\x03\x04garbage", "does not match"),
    "exe named txt": ("memo.txt", b"MZ\x90\x00\x03", "does not match"),
    "binary txt": ("memo.txt", b"abc\x00def", "does not match"),
    "docx with macros": ("rules.docx", zipped({"[Content_Types].xml": b"<T/>", "word/document.xml": b"x",
                                                "word/vbaProject.bin": b"x"}), "macros"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_uploads_are_refused_and_leave_nothing(world, client_for, sent, media, case):
    name, data, reason = BAD[case]
    entries = AuditEntry.objects.count()
    response = client_for(world.supplier1).post(evidence_url(sent, "F-01"), {"file": upload(name, data)},
                                                follow=True)
    assert reason in response.content.decode(), case
    assert not Answer.objects.filter(assessment=sent).exists()
    assert stored_files(media) == []
    assert AuditEntry.objects.count() == entries


def test_too_large_is_refused_before_the_file_is_read(world, sent, media, settings):
    settings.RENKEI_MAX_UPLOAD_MB = 1

    class Unreadable(SimpleUploadedFile):
        def read(self, *args):
            raise AssertionError("read before the size check")

    big = Unreadable("big.pdf", b"", content_type="application/pdf")
    big.size = 1024 * 1024 + 1
    with pytest.raises(EvidenceRefused, match="1 MB"):
        attach_evidence(contact(world), sent, "F-01", big)
    assert stored_files(media) == []


def test_no_file_and_unknown_item_are_refused(world, client_for, sent, media):
    client = client_for(world.supplier1)
    assert "Choose the file" in client.post(evidence_url(sent, "F-01"), follow=True).content.decode()
    response = client.post(evidence_url(sent, "NOPE"), {"file": upload("a.pdf", pdf())}, follow=True)
    assert "No such item in this questionnaire" in response.content.decode()
    assert stored_files(media) == []


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\windows\\win.pdf", "win.pdf"),
    ('a"b\r\nX-Injected: 1.pdf', "abX-Injected_1.pdf"),
    ("<script>alert(1)</script>.pdf", "script.pdf"),
    ("請求書.PDF", "請求書.PDF"),
    ("a\x00b\x1b[31m.pdf", "ab31m.pdf"),
    ("ＩＳＭＳ 認証書 \"最新\".pdf", "ISMS_認証書_最新.pdf"),
    (".pdf", "evidence.pdf"),
    ("....//....//x.pdf", "x.pdf"),
    ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
])
def test_hostile_file_names_are_cleaned(world, client_for, sent, media, name, expected):
    assert clean_name(name) == expected
    attach_evidence(contact(world), sent, "F-01", upload(name, pdf()))
    answer = Answer.objects.get(assessment=sent, item__item_id="F-01")
    stored = Path(answer.evidence.path).resolve()
    assert stored.parent == (media / "evidence" / str(world.buyer.pk) / str(world.s1.pk) / "assessments"
                             / str(sent.pk)).resolve()
    response = client_for(world.analyst).get(evidence_url(sent, "F-01"))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment") and "\n" not in disposition and "\r" not in disposition
    assert "X-Injected" not in response.headers


# --- Replacing and removing ---------------------------------------------------------------------


def test_replace_and_remove_delete_the_old_file_after_commit(world, sent, media,
                                                             django_capture_on_commit_callbacks):
    actor = contact(world)
    with django_capture_on_commit_callbacks(execute=True):
        first = attach_evidence(actor, sent, "F-01", upload("v1.pdf", pdf(b"one")))
    old = media / first.evidence.name
    with django_capture_on_commit_callbacks(execute=True):
        second = attach_evidence(actor, sent, "F-01", upload("v2.pdf", pdf(b"two")))
    assert not old.exists() and (media / second.evidence.name).read_bytes() == pdf(b"two")
    with django_capture_on_commit_callbacks(execute=True):
        assert remove_evidence(actor, sent, "F-01") is None  # nothing else left: the answer goes
    assert stored_files(media) == []
    assert not Answer.objects.filter(assessment=sent, item__item_id="F-01").exists()
    entries = list(AuditEntry.objects.filter(object_type="questionnaires.answer").order_by("sequence"))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert entries[0].changes["evidence"][1].endswith("v1.pdf")
    assert len(entries[0].changes["evidence_sha256"][1]) == 64
    assert entries[1].changes["evidence"][1].endswith("v2.pdf")
    assert entries[0].actor == world.supplier1


def test_removing_supporting_evidence_keeps_the_answer(world, client_for, sent, media):
    save_answers(contact(world), sent, {"B-01": "done"})
    client = client_for(world.supplier1)
    client.post(evidence_url(sent, "B-01"), {"file": upload("手順.txt", b"daily")})
    response = client.post(reverse("questionnaires:assessment-evidence-remove", args=[sent.pk, "B-01"]))
    assert response.status_code == 302
    answer = Answer.objects.get(assessment=sent, item__item_id="B-01")
    assert answer.value == "done" and not answer.evidence


def test_a_failure_after_the_file_was_written_removes_it(world, sent, media, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr("renkei.questionnaires.evidence.record_many", broken)
    with pytest.raises(RuntimeError):
        attach_evidence(contact(world), sent, "F-01", upload("policy.pdf", pdf()))
    assert stored_files(media) == []
    assert not Answer.objects.filter(assessment=sent).exists()


def test_section_save_and_autosave_keep_the_evidence(world, client_for, sent, media):
    client = client_for(world.supplier1)
    client.post(evidence_url(sent, "F-01"), {"file": upload("policy.pdf", pdf())})
    before = AuditEntry.objects.count()
    client.post(reverse("questionnaires:assessment-detail", args=[sent.pk]),
                {"section": "files", "c-F-01": "", "c-F-02": ""})
    client.post(reverse("questionnaires:assessment-autosave", args=[sent.pk]), {"item": "F-01"})
    answer = Answer.objects.get(assessment=sent, item__item_id="F-01")
    assert answer.evidence and AuditEntry.objects.count() == before


def test_uploads_are_refused_once_submitted(world, client_for, sent, media):
    attach_evidence(contact(world), sent, "F-01", upload("policy.pdf", pdf()))
    save_answers(contact(world), sent, {"B-01": "done", "B-02": "no", "M-01": "n/a"})
    submit(contact(world), sent)
    files = stored_files(media)
    response = client_for(world.supplier1).post(evidence_url(sent, "F-01"),
                                                {"file": upload("late.pdf", pdf())}, follow=True)
    assert "can no longer be changed" in response.content.decode()
    assert stored_files(media) == files


# --- Who may upload and download ----------------------------------------------------------------


def test_downloads_follow_for_user_and_are_attachments(world, client_for, api_for, sent, media):
    attach_evidence(contact(world), sent, "F-01", upload("policy.pdf", pdf()))
    url = evidence_url(sent, "F-01")
    for who in ("supplier1", "admin", "analyst", "auditor"):
        response = client_for(getattr(world, who)).get(url)
        assert response.status_code == 200, who
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == pdf()
    for who in ("supplier2", "outsider", "xcontact", "nobody"):
        assert client_for(getattr(world, who)).get(url).status_code == 404, who
    assert Client().get(url).status_code == 302
    api = reverse("assessment-evidence", args=[sent.pk, "F-01"])
    assert api_for(world.supplier2).get(api).status_code == 404
    assert api_for(world.supplier1).get(api).status_code == 200
    # An item without a file, or an unknown one: 404.
    assert client_for(world.supplier1).get(evidence_url(sent, "B-01")).status_code == 404


def test_foreign_evidence_cannot_be_replaced_or_removed(world, client_for, api_for, sent, media):
    attach_evidence(contact(world), sent, "F-01", upload("policy.pdf", pdf()))
    files = stored_files(media)
    for who in ("supplier2", "outsider"):
        page, api = client_for(getattr(world, who)), api_for(getattr(world, who))
        assert page.post(evidence_url(sent, "F-01"), {"file": upload("x.pdf", pdf())}).status_code == 404
        assert page.post(reverse("questionnaires:assessment-evidence-remove",
                                 args=[sent.pk, "F-01"])).status_code == 404
        url = reverse("assessment-evidence", args=[sent.pk, "F-01"])
        assert api.post(url, {"file": upload("x.pdf", pdf())}, format="multipart").status_code == 404
        assert api.delete(url).status_code == 404
    assert client_for(world.auditor).post(evidence_url(sent, "F-01"),
                                          {"file": upload("x.pdf", pdf())}).status_code == 403
    assert stored_files(media) == files


def test_staff_who_may_change_can_upload(world, client_for, sent, media):
    response = client_for(world.analyst).post(evidence_url(sent, "F-01"), {"file": upload("a.pdf", pdf())})
    assert response.status_code == 302
    assert Answer.objects.get(assessment=sent, item__item_id="F-01").answered_by == world.analyst


def test_upload_and_download_through_an_answer_link(world, sent, media):
    _link, path = create_access_link(Actor(user=world.analyst, label="analyst"), sent)
    client = Client()
    client.get(path)
    url = reverse("questionnaires:portal-evidence", args=["F-01"])
    assert client.post(url, {"file": upload("policy.pdf", pdf())}).status_code == 302
    answer = Answer.objects.get(assessment=sent, item__item_id="F-01")
    entry = AuditEntry.objects.filter(object_type="questionnaires.answer").get()
    assert entry.actor is None and entry.actor_label == f"link:{sent.pk}"
    download = client.get(url)
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    assert b"".join(download.streaming_content) == pdf()
    assert client.post(reverse("questionnaires:portal-evidence-remove", args=["F-01"])).status_code == 302
    answer = Answer.objects.filter(pk=answer.pk).first()
    assert answer is None
    # Without the link session nothing works.
    assert Client().get(url).status_code == 404


def test_file_names_never_reach_the_logs(world, client_for, sent, media, caplog):
    secret = "極秘_買収計画"
    with caplog.at_level(logging.DEBUG):
        client = client_for(world.supplier1)
        client.post(evidence_url(sent, "F-01"), {"file": upload(f"{secret}.pdf", pdf())})
        client.post(evidence_url(sent, "F-01"), {"file": upload(f"{secret}.exe", b"MZ")})
        client.get(evidence_url(sent, "F-01"))
        client.get(evidence_url(sent, "B-01"))  # 404 is logged with its path only
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged


# --- API ----------------------------------------------------------------------------------------


def test_api_upload_download_delete(world, api_for, sent, media, django_capture_on_commit_callbacks):
    api = api_for(world.supplier1)
    url = reverse("assessment-evidence", args=[sent.pk, "F-01"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"file": upload("policy.pdf", pdf())}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["evidence_name"] == "policy.pdf" and response.json()["evidence"] is True
    bad = api.post(url, {"file": upload("policy.pdf", b"<html>")}, format="multipart")
    assert bad.status_code == 400 and "file" in bad.json()
    download = api.get(url, HTTP_ACCEPT="application/json")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    detail = api.get(reverse("assessment-detail", args=[sent.pk])).json()
    assert [a["evidence"] for a in detail["answers"] if a["item"] == "F-01"] == [True]
    with django_capture_on_commit_callbacks(execute=True):
        gone = api.delete(url)
    assert gone.status_code == 200 and gone.json()["evidence"] is False
    assert stored_files(media) == []
    assert api_for(world.auditor).post(url, {"file": upload("a.pdf", pdf())},
                                       format="multipart").status_code == 403


# --- Evidence requests in the review ------------------------------------------------------------


def test_an_evidence_request_is_shown_with_the_reviewer_and_answered_by_an_upload(
        world, client_for, api_for, sent, media):
    type(world.analyst).objects.filter(pk=world.analyst.pk).update(display_name="監査 花子")
    actor = contact(world)
    save_answers(actor, sent, {"B-01": "done", "B-02": "no", "M-01": "n/a"})
    attach_evidence(actor, sent, "F-01", upload("policy.pdf", pdf()))
    submit(actor, sent)
    analyst = client_for(world.analyst)
    detail = reverse("questionnaires:assessment-detail", args=[sent.pk])
    assert 'value="evidence"' in analyst.get(detail).content.decode()
    refused = analyst.post(reverse("questionnaires:assessment-review", args=[sent.pk]),
                           {"item": "B-01", "state": "evidence", "comment": ""}, follow=True)
    assert "Say what the supplier should clarify or fix" in refused.content.decode()
    analyst.post(reverse("questionnaires:assessment-review", args=[sent.pk]),
                 {"item": "B-01", "state": "evidence", "comment": "バックアップの記録を添付してください"})
    answer = Answer.objects.get(assessment=sent, item__item_id="B-01")
    assert answer.review_state == "evidence" and answer.reviewed_by == world.analyst
    return_for_changes(Actor(user=world.analyst, label="analyst"), sent)
    page = client_for(world.supplier1).get(detail).content.decode()
    assert "Evidence requested" in page and "バックアップの記録を添付してください" in page
    assert "監査 花子" in page and answer.reviewed_at.strftime("%Y-%m-%d") in page
    assert "evidence-requested" in page
    api = api_for(world.supplier1).get(reverse("assessment-detail", args=[sent.pk])).json()
    [row] = [a for a in api["answers"] if a["item"] == "B-01"]
    assert row["review_state"] == "evidence" and row["reviewed_by_name"] == "監査 花子"
    attach_evidence(actor, sent, "B-01", upload("backup-log.csv", b"date,ok\n2026-11-01,1\n"))
    answer.refresh_from_db()
    assert answer.review_state == "pending" and answer.value == "done"
    entry = AuditEntry.objects.filter(object_type="questionnaires.answer").order_by("-sequence").first()
    assert entry.changes["review_state"] == ["evidence", "pending"]


def test_review_api_accepts_the_evidence_state(world, api_for, sent, media):
    actor = contact(world)
    save_answers(actor, sent, {"B-01": "done", "B-02": "no", "M-01": "n/a"})
    attach_evidence(actor, sent, "F-01", upload("policy.pdf", pdf()))
    submit(actor, sent)
    response = api_for(world.analyst).post(reverse("assessment-review", args=[sent.pk]),
                                           {"item": "F-01", "state": "evidence", "comment": "新しい版を"},
                                           format="json")
    assert response.status_code == 200
    approve = api_for(world.analyst).post(reverse("assessment-approve", args=[sent.pk]))
    assert approve.status_code == 400 and approve.json()["open_reviews"] == ["F-01"]
    review_answer(Actor(user=world.analyst, label="a"), sent, "F-01", "accepted")


# --- Excel and query counts ---------------------------------------------------------------------


def test_excel_round_trip_keeps_evidence_and_says_upload_in_the_portal(world, sent, media):
    from renkei.questionnaires.sheets import export_assessment, import_assessment_sheet

    actor = contact(world)
    attach_evidence(actor, sent, "F-01", upload("policy.pdf", pdf()))
    save_answers(actor, sent, {"B-01": "done"})
    attach_evidence(actor, sent, "B-01", upload("log.txt", b"ok"))
    out = io.BytesIO()
    export_assessment(sent, out, lang="ja")
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert "ポータルでアップロードしてください" in cells
    out.seek(0)
    result = import_assessment_sheet(out, "sheet.xlsx", actor, expected_assessment=sent)
    assert not result.errors
    assert Answer.objects.get(assessment=sent, item__item_id="F-01").evidence
    assert Answer.objects.get(assessment=sent, item__item_id="B-01").evidence


def test_the_answer_page_costs_the_same_queries_with_many_items(world, client_for, media):
    from renkei.questionnaires.tests.helpers import many_items

    def queries(count: int) -> int:
        template = load(many_items(count, key=f"many{count}"), world.buyer).template
        assessment = create_assessment(Actor.system("t"), world.s1, template)
        actor = contact(world)
        for n in range(0, count, 3):
            attach_evidence(actor, assessment, f"Q-{n:04d}", upload("e.pdf", pdf()))
        client = client_for(world.supplier1)
        url = reverse("questionnaires:assessment-detail", args=[assessment.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries(60) == queries(9)
