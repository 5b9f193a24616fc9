"""Importing the supplier registry: the service (renkei.suppliers.io.importer) and the page."""

from __future__ import annotations

import csv
import io
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.suppliers.io import readers
from renkei.suppliers.io.importer import import_suppliers
from renkei.suppliers.models import Supplier
from renkei.suppliers.validators import corporate_number_check_digit

JA_HEADER = ["取引先コード", "法人番号", "取引先名", "関係", "業務機能", "機密情報区分",
             "輸出管理該当", "システムアクセス", "タグ", "国", "個人情報件数", "備考"]


def corporate_number(n: int) -> str:
    base = f"{n:012d}"
    return f"{corporate_number_check_digit(base)}{base}"


def wrong_check_digit(number: str) -> str:
    return f"{(int(number[0]) % 9) + 1}{number[1:]}"


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def run(world, data: bytes, filename: str = "suppliers.csv", **kwargs):
    kwargs.setdefault("lang", "ja")
    return import_suppliers(world.buyer, io.BytesIO(data), filename, Actor.cli(), **kwargs)


def errors_of(result) -> list[tuple[int | None, str]]:
    return [(e.row, e.column) for e in result.errors]


NEW_ROW = ["N1", corporate_number(1001), "新規精工株式会社", "委託先", "生産", "技術情報、顧客情報",
           "はい", "VPN;API", "重要;製造", "日本", "1,200", "メモ"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "shift_jis"])
def test_csv_in_utf8_with_or_without_bom_and_shift_jis_is_read(world, encoding):
    result = run(world, csv_bytes([JA_HEADER, NEW_ROW], encoding))
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    supplier = Supplier.objects.get(organization=world.buyer, code="N1")
    assert supplier.name == "新規精工株式会社"
    assert supplier.relationship == "contractor"
    assert supplier.business_function == "production"
    assert supplier.data_classes == ["customer", "technical"]
    assert supplier.access_methods == ["api", "vpn"]
    assert supplier.export_controlled is True
    assert supplier.country.code == "JP"
    assert supplier.personal_info_records == 1200
    assert sorted(supplier.tags.values_list("name", flat=True)) == ["製造", "重要"]


def test_english_aliases_identifiers_and_english_labels_are_accepted(world):
    rows = [
        ["code", "name", "relationship", "chain_type", "business_function", "data_classes",
         "export_controlled", "access_methods", "country", "tier"],
        ["E1", "Acme KK", "Contractor", "software", "Cloud / SaaS",
         "customer, Financial information",
         "false", "Remote desktop", "Vietnam", "2"],
        ["E2", "Beta KK", "subcontractor", "Service supply chain", "logistics", "",
         "×", "", "us", ""],
    ]
    result = run(world, csv_bytes(rows), lang="en")
    assert result.errors == []
    e1 = Supplier.objects.get(code="E1")
    assert (e1.relationship, e1.chain_type, e1.business_function) == (
        "contractor", "software", "cloud")
    assert e1.data_classes == ["customer", "financial"]
    assert e1.access_methods == ["remote_desktop"]
    assert (e1.country.code, e1.tier, e1.export_controlled) == ("VN", 2, False)
    e2 = Supplier.objects.get(code="E2")
    assert (e2.relationship, e2.chain_type, e2.country.code, e2.tier) == (
        "subcontractor", "service", "US", 1)


def test_xlsx_uses_the_sheet_named_torihikisaki_else_the_first(world):
    data = xlsx_bytes({
        "説明": [["この行は無視されます"]],
        "取引先": [JA_HEADER, [*NEW_ROW[:10], 1200, "メモ"]],
    })
    result = run(world, data, "registry.xlsx")
    assert result.errors == []
    assert Supplier.objects.get(code="N1").personal_info_records == 1200
    first_only = xlsx_bytes({"Sheet1": [["code", "name"], [101, "数値コード"]], "Other": [["x"]]})
    result = run(world, first_only, "registry.xlsx")
    assert result.errors == []
    assert Supplier.objects.filter(code="101", name="数値コード").exists()


def test_upsert_by_code_updates_only_changed_rows_and_records_field_changes(world):
    rows = [["取引先コード", "取引先名", "個人情報件数"],
            ["S1", "東海精密部品株式会社", "5000"],
            ["S2", "北陸物流株式会社", "0"]]
    before = AuditEntry.objects.count()
    result = run(world, csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    world.s1.refresh_from_db()
    assert world.s1.personal_info_records == 5000
    assert world.s1.name_kana == "トウカイセイミツブヒン"  # a column not in the file is left alone
    entries = list(AuditEntry.objects.order_by("sequence")[before:])
    assert len(entries) == 1
    assert entries[0].action == "update"
    assert entries[0].object_id == str(world.s1.pk)
    assert entries[0].changes == {"personal_info_records": [1200, 5000]}


def test_upsert_by_corporate_number_when_the_code_is_empty_or_unknown(world):
    rows = [["法人番号", "取引先コード", "取引先名"],
            ["7000012050002", "", "東海精密部品（新社名）"]]
    result = run(world, csv_bytes(rows))
    assert (result.created, result.updated, result.errors) == (0, 1, [])
    world.s1.refresh_from_db()
    assert (world.s1.code, world.s1.name) == ("S1", "東海精密部品（新社名）")
    # An unknown code with a known 法人番号 renames the supplier instead of duplicating it.
    rows[1][1] = "T-100"
    result = run(world, csv_bytes(rows))
    assert (result.created, result.updated) == (0, 1)
    world.s1.refresh_from_db()
    assert world.s1.code == "T-100"
    assert Supplier.objects.filter(organization=world.buyer).count() == 2


def test_empty_code_without_a_matching_corporate_number_is_an_error(world):
    result = run(world, csv_bytes([["取引先コード", "取引先名"], ["", "名無し"]]))
    assert errors_of(result) == [(2, "取引先コード")]


def test_dry_run_reports_counts_and_writes_nothing(world):
    rows = [JA_HEADER, NEW_ROW, ["S1", "", "東海精密部品株式会社改", "", "", "", "", "", "", "",
                                 "", ""]]
    audit_before = AuditEntry.objects.count()
    result = run(world, csv_bytes(rows), dry_run=True)
    assert result.errors == []
    assert (result.dry_run, result.created, result.updated) == (True, 1, 1)
    assert not Supplier.objects.filter(code="N1").exists()
    world.s1.refresh_from_db()
    assert world.s1.name == "東海精密部品株式会社"
    assert AuditEntry.objects.count() == audit_before


def test_any_invalid_row_writes_nothing_and_every_error_is_listed(world):
    rows = [
        JA_HEADER,
        NEW_ROW,
        ["N2", wrong_check_digit(corporate_number(1002)), "誤り1", "", "", "", "", "", "", "", "",
         ""],
        [],  # a blank row still counts in the spreadsheet's numbering
        ["N3", "", "", "宇宙人", "", "秘密", "たぶん", "", "", "火星", "-5", ""],
        ["S1", "", "名前変更", "", "", "", "", "", "", "", "", ""],
    ]
    result = run(world, csv_bytes(rows))
    assert sorted(errors_of(result)) == [
        (3, "法人番号"),
        (5, "個人情報件数"), (5, "取引先名"), (5, "国"), (5, "機密情報区分"), (5, "輸出管理該当"),
        (5, "関係"),
    ]
    reasons = " ".join(e.reason for e in result.errors)
    assert "チェックディジット" in reasons or "check digit" in reasons
    assert "宇宙人" in reasons and "火星" in reasons and "-5" in reasons
    assert (result.created, result.updated) == (0, 0)
    assert not Supplier.objects.filter(code="N1").exists()
    world.s1.refresh_from_db()
    assert world.s1.name == "東海精密部品株式会社"


def test_wrong_check_digit_is_reported_with_row_and_column(world):
    bad = wrong_check_digit(corporate_number(77))
    result = run(world, csv_bytes([["code", "corporate_number", "name"], ["N9", bad, "x"]]),
                 lang="en")
    assert errors_of(result) == [(2, "corporate_number")]
    assert "check digit" in result.errors[0].reason


def test_duplicate_codes_and_corporate_numbers_in_the_file(world):
    number = corporate_number(555)
    rows = [["取引先コード", "法人番号", "取引先名"],
            ["D1", number, "一"], ["D1", "", "二"], ["D3", number, "三"]]
    result = run(world, csv_bytes(rows))
    assert errors_of(result) == [(3, "取引先コード"), (4, "法人番号")]
    assert "2" in result.errors[0].reason  # names the other row
    assert not Supplier.objects.filter(code="D1").exists()


def test_corporate_number_of_another_registered_supplier_is_refused(world):
    rows = [["取引先コード", "法人番号", "取引先名"], ["S2", "7000012050002", "北陸物流株式会社"]]
    result = run(world, csv_bytes(rows))
    assert errors_of(result) == [(2, "法人番号")]
    assert "S1" in result.errors[0].reason


def test_missing_required_and_unknown_columns_are_listed(world):
    result = run(world, csv_bytes([["取引先名", "電話番号", "fax"], ["名前", "03", "04"]]))
    assert sorted(errors_of(result)) == [(1, "fax"), (1, "取引先コード"), (1, "電話番号")]


def test_cells_that_look_like_formulas_are_stored_as_plain_text(world):
    rows = [["code", "name", "notes", "tags"],
            ["F1", "=HYPERLINK(\"http://evil\")", "+81-3-0000", "@x;-y"],
            ["F2", "\t=1+1", "'=2+2", ""]]
    result = run(world, csv_bytes(rows))
    assert result.errors == []
    f1 = Supplier.objects.get(code="F1")
    assert f1.name == '=HYPERLINK("http://evil")'
    assert f1.notes == "+81-3-0000"
    assert sorted(f1.tags.values_list("name", flat=True)) == ["-y", "@x"]
    f2 = Supplier.objects.get(code="F2")
    assert f2.name == "=1+1"  # leading whitespace stripped, the text kept as text
    assert f2.notes == "=2+2"  # the export's neutralising quote is taken off again


def test_formula_cells_in_xlsx_are_stored_as_their_text(world):
    data = xlsx_bytes({"取引先": [["code", "name", "notes"], ["F3", "普通", "=1+2"]]})
    result = run(world, data, "f.xlsx")
    assert result.errors == []
    assert Supplier.objects.get(code="F3").notes == "=1+2"


def test_file_over_the_size_limit_is_refused_before_it_is_parsed(world, settings):
    settings.RENKEI_MAX_UPLOAD_MB = 1
    data = csv_bytes([JA_HEADER, NEW_ROW]) + b"#" * (1024 * 1024)
    with mock.patch.object(readers, "_read", side_effect=AssertionError("parsed")):
        result = run(world, data)
    assert len(result.errors) == 1
    assert "1 MB" in result.errors[0].reason
    assert not Supplier.objects.filter(code="N1").exists()


def test_corrupt_xlsx_and_old_xls_are_refused_with_a_message(world):
    result = run(world, b"PK\x03\x04 this is not really a zip", "broken.xlsx")
    assert len(result.errors) == 1 and ".xlsx" in result.errors[0].reason
    result = run(world, csv_bytes([JA_HEADER]), "not-a-workbook.xlsx")
    assert len(result.errors) == 1
    result = run(world, b"\xd0\xcf\x11\xe0", "old.xls")
    assert ".xls" in result.errors[0].reason


def test_malformed_csv_is_refused_with_the_row(world):
    data = "取引先コード,取引先名\nM1,\"閉じない引用符\nM2,二\n".encode()
    result = run(world, data)
    assert len(result.errors) == 1
    assert result.errors[0].row == 2
    assert "CSV" in result.errors[0].reason
    result = run(world, b"code,name\nM1,a\x00b\n")
    assert "NUL" in result.errors[0].reason
    result = run(world, "code,name\nM1,\u00e9\n".encode("utf-16"))
    assert len(result.errors) == 1


def test_undecodable_text_is_refused(world):
    result = run(world, b"code,name\nM1,\x81\xff\xfe\n")
    assert len(result.errors) == 1
    assert "UTF-8" in result.errors[0].reason


def test_too_many_rows_is_refused(world, settings):
    settings.RENKEI_IMPORT_MAX_ROWS = 2
    rows = [["code", "name"], ["A", "a"], ["B", "b"], ["C", "c"]]
    result = run(world, csv_bytes(rows))
    assert len(result.errors) == 1
    assert result.errors[0].row == 4
    assert not Supplier.objects.filter(code="A").exists()


def test_blank_rows_are_skipped(world):
    result = run(world, b"code,name\n\nB1,b\n,\n\n")
    assert (result.created, result.errors) == (1, [])


def test_subcontractors_may_come_before_their_parents_and_tiers_are_computed(world):
    rows = [["取引先コード", "取引先名", "再委託元コード", "階層(ティア)"],
            ["C3", "三次", "C2", ""],
            ["C2", "二次", "C1", "3"],
            ["C1", "一次", "S1", ""]]
    result = run(world, csv_bytes(rows))
    assert result.errors == [], result.errors
    tiers = dict(Supplier.objects.filter(code__in=["C1", "C2", "C3"]).values_list("code", "tier"))
    assert tiers == {"C1": 2, "C2": 3, "C3": 4}
    c3 = Supplier.objects.get(code="C3")
    assert c3.subcontracted_by.code == "C2"
    assert c3.subcontracted_by.subcontracted_by.subcontracted_by_id == world.s1.pk


def test_wrong_tier_unknown_parent_and_loops_are_errors(world):
    rows = [["code", "name", "subcontracted_by", "tier"],
            ["L1", "a", "L2", ""], ["L2", "b", "L1", ""],
            ["W1", "c", "S1", "5"],
            ["U1", "d", "NOPE", ""],
            ["Z1", "e", "Z1", ""]]
    result = run(world, csv_bytes(rows), lang="en")
    assert errors_of(result) == [
        (2, "subcontracted_by"), (3, "subcontracted_by"), (5, "subcontracted_by"),
        (6, "subcontracted_by"),
    ]
    assert "loop" in result.errors[0].reason
    rows = [["code", "name", "subcontracted_by", "tier"], ["W1", "c", "S1", "5"]]
    result = run(world, csv_bytes(rows), lang="en")
    assert errors_of(result) == [(2, "tier")]
    assert "tier 2" in result.errors[0].reason


def test_changing_a_parents_tier_needs_its_registry_subcontractors_in_the_file(world):
    Supplier.objects.create(organization=world.buyer, code="K1", name="子", tier=2,
                            subcontracted_by=world.s2)
    rows = [["code", "name", "subcontracted_by"], ["S2", "北陸物流株式会社", "S1"]]
    result = run(world, csv_bytes(rows), lang="en")
    assert errors_of(result) == [(2, "tier")]
    assert "K1" in result.errors[0].reason
    rows.append(["K1", "子", "S2"])
    result = run(world, csv_bytes(rows), lang="en")
    assert result.errors == []
    assert Supplier.objects.get(code="K1").tier == 3


def test_every_created_and_updated_supplier_gets_an_audit_entry(world):
    before = AuditEntry.objects.count()
    rows = [["code", "name", "tags"], ["A1", "新", "x"], ["S1", "東海精密部品株式会社", "y"],
            ["S2", "北陸物流株式会社", ""]]
    result = run(world, csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    entries = list(AuditEntry.objects.order_by("sequence")[before:])
    assert [(e.action, e.object_repr.split()[0]) for e in entries] == [
        ("create", "A1"), ("update", "S1")]
    assert entries[1].changes == {"tags": [[], ["y"]]}
    assert entries[0].changes["tags"] == [None, ["x"]]


def test_messages_follow_the_language(world):
    rows = [["code", "name", "country"], ["Q1", "q", "Atlantis"]]
    ja = run(world, csv_bytes(rows), lang="ja")
    en = run(world, csv_bytes(rows), lang="en")
    assert "国" in ja.errors[0].reason or "ISO" in ja.errors[0].reason
    assert ja.errors[0].reason != en.errors[0].reason
    assert "not a known country" in en.errors[0].reason


def _import_n(world, n: int, prefix: str) -> int:
    rows = [["code", "name", "tags", "subcontracted_by"]]
    rows += [[f"{prefix}{i}", f"名{i}", "a;b", "S1" if i % 2 else ""] for i in range(n)]
    with CaptureQueriesContext(connection) as queries:
        result = run(world, csv_bytes(rows))
    assert result.created == n
    return len(queries.captured_queries)


def test_the_number_of_queries_does_not_grow_with_rows(world):
    _import_n(world, 1, "W")  # creates the tags and the audit chain head once
    small = _import_n(world, 3, "Q")
    large = _import_n(world, 30, "R")
    assert small == large
    assert large <= 13


# -- the page ---------------------------------------------------------------------------------

def upload(client, data: bytes, name: str = "s.csv", *, dry_run: bool = False, **extra):
    payload = {"file": io.BytesIO(data)}
    payload["file"].name = name
    payload["dry_run" if dry_run else "import"] = "1"
    return client.post(reverse("suppliers:import"), payload, **extra)


def test_staff_can_check_then_import_a_file_on_the_page(world, client_for):
    client = client_for(world.analyst)
    page = client.get(reverse("suppliers:import"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "確認する" in html and "取り込む" in html
    assert "取引先の取り込み" in html and "1行に1社" in html
    response = upload(client, csv_bytes([JA_HEADER, NEW_ROW]), dry_run=True)
    assert response.status_code == 200
    assert "新規 1件" in response.content.decode()
    assert not Supplier.objects.filter(code="N1").exists()
    response = upload(client, csv_bytes([JA_HEADER, NEW_ROW]))
    assert response.status_code == 200
    assert response.context["result"].created == 1
    supplier = Supplier.objects.get(code="N1", organization=world.buyer)
    entry = AuditEntry.objects.get(object_id=str(supplier.pk), object_type="suppliers.supplier")
    assert entry.actor == world.analyst


def test_the_page_shows_every_error_with_row_and_column(world, client_for):
    rows = [JA_HEADER, ["N5", wrong_check_digit(corporate_number(5)), "x", "", "", "", "", "",
                        "", "", "", ""]]
    response = upload(client_for(world.admin), csv_bytes(rows))
    assert response.status_code == 400
    html = response.content.decode()
    assert "<td>2</td><td>法人番号</td>" in html
    client = client_for(world.admin)
    client.cookies["django_language"] = "en"
    english = upload(client, csv_bytes(rows))
    assert "check digit" in english.content.decode()


@pytest.mark.parametrize("who", ["auditor", "supplier1", "nobody"])
def test_auditors_and_supplier_contacts_cannot_import(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(reverse("suppliers:import")).status_code == 403
    assert upload(client, csv_bytes([JA_HEADER, NEW_ROW])).status_code == 403
    assert not Supplier.objects.filter(code="N1").exists()


def test_an_outsider_imports_into_their_own_organization_only(world, client_for):
    rows = [["code", "name"], ["S1", "上書き?"]]
    response = upload(client_for(world.outsider), csv_bytes(rows))
    assert response.status_code == 200
    world.s1.refresh_from_db()
    assert world.s1.name == "東海精密部品株式会社"
    assert Supplier.objects.get(organization=world.other, code="S1").name == "上書き?"


def test_the_page_refuses_a_file_over_the_limit_before_parsing(world, client_for, settings):
    settings.RENKEI_MAX_UPLOAD_MB = 1
    data = csv_bytes([JA_HEADER, NEW_ROW]) + b"#" * (2 * 1024 * 1024)
    with mock.patch.object(readers, "_read", side_effect=AssertionError("parsed")):
        response = upload(client_for(world.admin), data)
    assert response.status_code == 400
    assert "1 MB" in response.content.decode()
    assert not Supplier.objects.filter(code="N1").exists()


def test_anonymous_users_are_sent_to_log_in(world, client):
    response = client.get(reverse("suppliers:import"))
    assert response.status_code == 302


def test_the_page_query_count_does_not_grow_with_rows(world, client_for):
    client = client_for(world.analyst)

    def post(n: int, prefix: str) -> int:
        rows = [["code", "name", "tags"]] + [[f"{prefix}{i}", f"名{i}", "a"] for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            response = upload(client, csv_bytes(rows))
        assert response.context["result"].created == n
        return len(queries.captured_queries)

    post(1, "W")  # the first import creates the tag and the audit chain head
    assert post(2, "P") == post(40, "Q")
