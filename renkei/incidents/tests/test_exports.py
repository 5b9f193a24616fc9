"""The incident export for the 個人情報保護委員会 report: the workbook and the PDF read back with
real tools (openpyxl; poppler's pdftotext and pdfinfo), hostile text, English, and who may
download it."""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from renkei.audit.services import Actor
from renkei.incidents import affected, services
from renkei.incidents.exports import PPC_ITEMS, export_to, incident_pdf, incident_workbook
from renkei.incidents.models import Event, EventKind, Incident, Obligation

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
PPC_LABELS_JA = [label for _, label, _ in PPC_ITEMS]
REPORT_FIELDS = {
    "cause": "攻撃者が取引先のメールサーバーの管理者パスワードを推測し、不正にログインした。",
    "secondary_harm": "偽の請求書メールにより振込先の変更を求められた取引先が2社。実害は確認されていない。",
    "response_to_persons": "影響を受けた本人に12月3日付で書面にて通知した。",
    "publication": "12月4日に当社ウェブサイトで公表した。",
    "recurrence_prevention": "管理者アカウントの多要素認証を必須とし、送信ドメイン認証(DMARC)を導入する。",
    "lessons": "取引先からの振込先変更依頼は電話で確認する運用とする。",
}


def _when(days_ago: float) -> str:
    return (timezone.localtime() - datetime.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M")


def _seed003_incident(world, **texts) -> Incident:
    """Seed 003: a supplier's mail server taken over and spoofed invoice mails sent to partners."""
    actor = Actor(user=world.admin, label="admin")
    incident = services.record_incident(
        actor,
        world.buyer,
        {
            "supplier": world.s1.pk,
            "title": "取引先メールサーバーの乗っ取りと偽請求書メール",
            "description": "東海精密部品のメールサーバーが乗っ取られ、"
            "同社名義の偽の請求書メールが当社と他の取引先に送信された。",
            "detected_at": _when(3),
            "aware_at": _when(2.5),
            "systems_text": "東海精密部品のメールサーバー（外部公開）",
            "data_text": "取引担当者の氏名、メールアドレス、電話番号",
            "persons_affected": "1500",
            "personal_data": "on",
            "current_state": "メールサーバーは隔離され、パスワードは変更済み。",
            "reporter_name": "佐藤 一郎",
        },
    )
    services.triage(
        actor,
        incident,
        {
            "status": "investigating",
            "severity": "high",
            "category": "mail_takeover",
            "aware_at": timezone.localtime(incident.aware_at).strftime("%Y-%m-%dT%H:%M:%S"),
            "personal_data": "on",
            "persons_affected": "1500",
            "unauthorized_access": "on",
        },
    )
    incident.refresh_from_db()
    services.update_fields(
        actor,
        incident,
        {
            "title": texts.pop("title", incident.title),
            "description": incident.description,
            "systems_text": incident.systems_text,
            "data_text": incident.data_text,
            **REPORT_FIELDS,
            **texts,
        },
    )
    services.add_event(
        actor,
        incident,
        kind=EventKind.DECISION,
        text="委員会への速報を提出する。",
        attachment=SimpleUploadedFile("ログ抜粋.txt", "認証ログ".encode()),
    )
    affected.add_supplier(actor, incident, world.s2)
    return Incident.objects.select_related("organization", "supplier").get(pk=incident.pk)


def _report_rows(workbook) -> dict[str, object]:
    sheet = workbook.worksheets[0]
    return {row[1]: row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}


def _pdf_text(data: bytes, tmp_path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is needed: .ci/run installs it"
    path = tmp_path / "incident.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    )
    # CID fonts without poppler-data print "Missing language pack" and extract nothing.
    assert "Missing language pack" not in result.stderr
    return result.stdout


def _pages(data: bytes, tmp_path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])


def _squash(text: str) -> str:
    return "".join(text.split())


def test_workbook_carries_every_item_of_the_ppc_report(world):
    incident = _seed003_incident(world)
    book = load_workbook(io.BytesIO(incident_workbook(incident, language="ja")))
    assert book.sheetnames == ["報告書", "対応期限", "時系列", "影響範囲"]
    rows = _report_rows(book)
    for label in PPC_LABELS_JA:
        assert label in rows
    assert rows["概要"] == incident.description
    assert rows["漏えい等が発生し、又は発生したおそれがある個人データの項目"] == incident.data_text
    assert rows["漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数"] == 1500
    assert rows["原因"] == REPORT_FIELDS["cause"]
    assert rows["二次被害又はそのおそれの有無及びその内容"] == REPORT_FIELDS["secondary_harm"]
    assert rows["本人への対応の実施状況"] == REPORT_FIELDS["response_to_persons"]
    assert rows["公表の実施状況"] == REPORT_FIELDS["publication"]
    assert rows["再発防止のための措置"] == REPORT_FIELDS["recurrence_prevention"]
    assert rows["その他参考となる事項"] == REPORT_FIELDS["lessons"]
    values = set(rows.values())
    assert {incident.number, incident.title, incident.current_state, incident.systems_text} <= values
    assert "S1 東海精密部品株式会社" in values
    # Times are real Excel datetimes, wall-clock Japan time.
    sheet = book.worksheets[0]
    aware = timezone.localtime(incident.aware_at, TOKYO).replace(tzinfo=None)
    cells = [r[2] for r in sheet.iter_rows(min_row=2) if isinstance(r[2].value, datetime.datetime)]
    assert aware.replace(second=0, microsecond=0) in [c.value for c in cells]
    assert all(c.number_format == "yyyy-mm-dd hh:mm" for c in cells)


def test_workbook_lists_obligations_timeline_and_affected(world):
    incident = _seed003_incident(world)
    book = load_workbook(io.BytesIO(incident_workbook(incident, language="ja")))
    deadlines, timeline, reach = book["対応期限"], book["時系列"], book["影響範囲"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.column_dimensions["A"].width > 5
    obligations = list(Obligation.objects.filter(incident=incident))
    assert obligations and deadlines.max_row == len(obligations) + 1
    by_title = {row[2]: row for row in deadlines.iter_rows(min_row=2, values_only=True)}
    for obligation in obligations:
        row = by_title[obligation.title_ja]
        assert row[6] == obligation.basis
        if obligation.due_at is not None:
            assert row[3] == timezone.localtime(obligation.due_at, TOKYO).replace(tzinfo=None, microsecond=0)
    events = list(Event.objects.filter(incident=incident).order_by("at", "pk"))
    rows = list(timeline.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(events)
    assert [r[3] for r in rows] == [e.text for e in events]
    assert all(isinstance(r[0], datetime.datetime) for r in rows)
    decision = next(r for r in rows if r[3] == "委員会への速報を提出する。")
    assert decision[4] == "ログ抜粋.txt" and decision[2]
    assert "北陸物流株式会社" in [r[1] for r in reach.iter_rows(min_row=2, values_only=True)]


def test_pdf_reads_back_with_the_labels_and_values(world, tmp_path):
    incident = _seed003_incident(world)
    data = incident_pdf(incident, language="ja")
    assert data.startswith(b"%PDF-")
    text = _squash(_pdf_text(data, tmp_path))
    for label in PPC_LABELS_JA:
        assert _squash(label) in text
    for value in [
        *REPORT_FIELDS.values(),
        incident.number,
        incident.description,
        "1500",
        "委員会への速報を提出する。",
        "北陸物流株式会社",
        "ログ抜粋.txt",
    ]:
        assert _squash(value) in text, value
    for heading in ("個人データの漏えい等報告", "対応期限", "時系列", "影響範囲"):
        assert heading in text
    assert _pages(data, tmp_path) >= 1


HOSTILE = {
    '=HYPERLINK("http://evil.example/","click")': "formula",
    "+81-3-1234-5678": "plus",
    "-1+2": "minus",
    "@SUM(A1:A9)": "at",
}


def test_hostile_text_survives_both_formats(world, tmp_path):
    incident = _seed003_incident(world)
    formulas = list(HOSTILE)
    long_text = ("長い説明。" * 2000)[:10_000]
    Incident.objects.filter(pk=incident.pk).update(
        title="=1+1 🔥 件名",
        cause=formulas[0],
        secondary_harm=formulas[1],
        publication=formulas[2],
        recurrence_prevention=formulas[3],
        description=long_text,
        lessons="A" * 40_000,
    )
    Event.objects.create(incident=incident, at=timezone.now(), kind=EventKind.NOTE, text=long_text)
    Event.objects.create(incident=incident, at=timezone.now(), kind=EventKind.NOTE, text="\n" * 3000 + "終")
    incident = Incident.objects.select_related("organization", "supplier").get(pk=incident.pk)
    # NUL cannot be stored in PostgreSQL; SQLite keeps it, so the exports must cope.
    incident.response_to_persons = "制御\x00文字\x07と\x1bエスケープ\tタブ 😀 𠮷野家 <b>&amp;</b>"

    book = load_workbook(io.BytesIO(incident_workbook(incident, language="ja")))
    sheet = book.worksheets[0]
    cells = {row[1].value: row[2] for row in sheet.iter_rows(min_row=2)}
    for label, formula in zip(
        ["原因", "二次被害又はそのおそれの有無及びその内容", "公表の実施状況", "再発防止のための措置"],
        formulas,
        strict=True,
    ):
        assert cells[label].value == formula and cells[label].data_type == "s"
        assert cells[label].quotePrefix
    assert cells["概要"].value == long_text
    assert cells["本人への対応の実施状況"].value == "制御文字とエスケープ\tタブ 😀 𠮷野家 <b>&amp;</b>"
    cut = cells["その他参考となる事項"].value
    assert len(cut) == 32767 and cut.startswith("A" * 1000) and not cut.endswith("A")
    title_cell = next(c for c in cells.values() if c.value == "=1+1 🔥 件名")
    assert title_cell.data_type == "s"
    assert long_text in [r[3] for r in book["時系列"].iter_rows(min_row=2, values_only=True)]

    data = incident_pdf(incident, language="ja")
    text = _pdf_text(data, tmp_path)
    squashed = _squash(text)
    assert _squash(formulas[0]) in squashed and "@SUM(A1:A9)" in squashed
    assert "制御文字とエスケープ" in squashed and "<b>&amp;</b>" in squashed
    # Characters the Japanese CID fonts do not have are printed as 〓, not dropped silently.
    assert "〓野家" in squashed
    assert squashed.count("長い説明。") >= 3999  # the long overview and the long timeline entry
    assert "終" in squashed
    assert _pages(data, tmp_path) > 3


def test_english_export(world, tmp_path):
    incident = _seed003_incident(world)
    book = load_workbook(io.BytesIO(incident_workbook(incident, language="en")))
    assert book.sheetnames == ["Report", "Deadlines", "Timeline", "Affected"]
    rows = _report_rows(book)
    assert rows["Overview"] == incident.description
    assert rows["Cause"] == REPORT_FIELDS["cause"]
    assert rows["Measures to prevent recurrence"] == REPORT_FIELDS["recurrence_prevention"]
    assert rows["Aware since"] is not None and rows["Number"] == incident.number
    assert [c.value for c in book["Timeline"][1]] == ["When", "Kind", "Who", "Text", "Attachment"]
    assert book["Deadlines"]["A1"].value == "Authority"
    text = _squash(_pdf_text(incident_pdf(incident, language="en"), tmp_path))
    for phrase in (
        "Report of a personal data breach",
        "Measures to prevent recurrence",
        "Status of publication",
        "Page 1 of",
    ):
        assert _squash(phrase) in text
    assert _squash(REPORT_FIELDS["cause"]) in text


def test_export_to_chooses_the_format_by_suffix(world, tmp_path):
    incident = _seed003_incident(world)
    xlsx = export_to(incident, tmp_path / "report.XLSX")
    assert load_workbook(xlsx).sheetnames[0] == "報告書"
    pdf = export_to(incident, tmp_path / "report.pdf", language="en")
    assert pdf.read_bytes().startswith(b"%PDF-")
    with pytest.raises(ValueError, match="xlsx or .pdf"):
        export_to(incident, tmp_path / "report.csv")
    assert not (tmp_path / "report.csv").exists()


@pytest.mark.parametrize("name", ["admin", "analyst", "auditor"])
def test_staff_with_view_rights_download_both_files(world, client_for, name, tmp_path):
    incident = _seed003_incident(world)
    client = client_for(getattr(world, name))
    xlsx = client.get(reverse("incidents:export-xlsx", args=[incident.pk]))
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f'filename="{incident.number}.xlsx"' in xlsx["Content-Disposition"]
    assert "no-store" in xlsx["Cache-Control"]
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "報告書"
    pdf = client.get(reverse("incidents:export-pdf", args=[incident.pk]) + "?lang=en")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;") and "no-store" in pdf["Cache-Control"]
    assert "Measures to prevent recurrence" in _pdf_text(pdf.content, tmp_path)


@pytest.mark.parametrize("name", ["supplier1", "supplier2", "outsider", "xcontact", "nobody"])
def test_supplier_contacts_and_foreign_staff_get_404(world, client_for, name):
    incident = _seed003_incident(world)
    client = client_for(getattr(world, name))
    for route in ("incidents:export-xlsx", "incidents:export-pdf"):
        assert client.get(reverse(route, args=[incident.pk])).status_code == 404


def test_anonymous_is_sent_to_login(world, client):
    incident = _seed003_incident(world)
    response = client.get(reverse("incidents:export-pdf", args=[incident.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_non_ascii_number_gets_an_rfc5987_filename(world, client_for):
    incident = _seed003_incident(world)
    Incident.objects.filter(pk=incident.pk).update(number="事案-1")
    response = client_for(world.admin).get(reverse("incidents:export-xlsx", args=[incident.pk]))
    assert "filename*=utf-8''%E4%BA%8B%E6%A1%88-1.xlsx" in response["Content-Disposition"]


def test_export_queries_do_not_grow_with_the_timeline(world, client_for, django_assert_num_queries):
    incident = _seed003_incident(world)
    client = client_for(world.auditor)
    url = reverse("incidents:export-xlsx", args=[incident.pk])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    Event.objects.bulk_create(
        Event(incident=incident, at=timezone.now(), kind=EventKind.NOTE, text=f"メモ {i}", user=world.admin)
        for i in range(60)
    )
    # Session, user, the incident (with organization and supplier), obligations, events, affected.
    assert len(few) == 6
    with django_assert_num_queries(6):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(6):
        assert client.get(reverse("incidents:export-pdf", args=[incident.pk])).status_code == 200
