"""Exporting the supplier registry: layout, formula neutralisation, round trip, the download."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from renkei.audit.models import AuditEntry
from renkei.suppliers.io.columns import headers
from renkei.suppliers.io.exporter import export_suppliers
from renkei.suppliers.models import Supplier
from renkei.suppliers.services import set_tags
from renkei.suppliers.tests.test_import import run


def export_bytes(queryset, fmt: str, lang: str = "ja") -> bytes:
    out = io.BytesIO()
    export_suppliers(queryset, out, fmt, lang)
    return out.getvalue()


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, so Japanese Excel reads UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def registry(world):
    """The world's buyer registry with a subcontractor, tags and formula-like text."""
    child = Supplier.objects.create(
        organization=world.buyer, code="S1-1", name="=cmd|' /C calc'!A0", tier=2,
        subcontracted_by=world.s1, notes="@SUM(1+1)\n二行目", country="VN", name_kana="'=x",
        export_controlled=True,
    )
    set_tags(child, ["-danger", "重要"])
    set_tags(world.s1, ["重要"])
    return Supplier.objects.filter(organization=world.buyer)


def test_csv_export_has_japanese_headers_and_labels(world, registry):
    rows = csv_rows(export_bytes(registry, "csv"))
    assert rows[0] == headers("ja")
    assert rows[0][:3] == ["取引先コード", "法人番号", "取引先名"]
    by_code = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert list(by_code) == ["S1", "S1-1", "S2"]
    s1 = by_code["S1"]
    assert (s1["国"], s1["業務機能"], s1["システムアクセス"], s1["個人情報件数"]) == (
        "日本", "生産", "VPN", "1200")
    assert by_code["S1-1"]["再委託元コード"] == "S1"
    assert by_code["S1-1"]["階層(ティア)"] == "2"
    assert by_code["S1-1"]["輸出管理該当"] == "はい"


def test_english_export_uses_the_english_aliases_and_labels(world, registry):
    rows = csv_rows(export_bytes(registry, "csv", "en"))
    assert rows[0][:3] == ["code", "corporate_number", "name"]
    s1 = dict(zip(rows[0], rows[1], strict=True))
    assert (s1["country"], s1["business_function"], s1["relationship"]) == (
        "Japan", "Production", "Supplier")


def test_formula_cells_are_neutralised_in_csv(world, registry):
    rows = csv_rows(export_bytes(registry, "csv"))
    child = dict(zip(rows[0], rows[2], strict=True))
    assert child["取引先名"] == "'=cmd|' /C calc'!A0"
    assert child["備考"] == "'@SUM(1+1)\n二行目"
    assert child["タグ"] == "'-danger;重要"
    assert child["取引先名カナ"] == "''=x"  # a stored leading quote survives the round trip


def test_formula_cells_are_written_as_strings_in_xlsx(world, registry):
    workbook = load_workbook(io.BytesIO(export_bytes(registry, "xlsx")))
    assert workbook.sheetnames == ["取引先"]
    sheet = workbook["取引先"]
    assert [c.value for c in sheet[1]] == headers("ja")
    name = sheet.cell(row=3, column=3)
    assert name.value == "=cmd|' /C calc'!A0"
    assert name.data_type == "s"  # never stored as a formula
    assert name.quotePrefix
    assert sheet.cell(row=2, column=11).value == 1200  # numbers stay numbers


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_export_then_import_changes_nothing(world, registry, fmt, lang):
    data = export_bytes(registry, fmt, lang)
    audit_before = AuditEntry.objects.count()
    result = run(world, data, f"registry.{fmt}", lang=lang)
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert AuditEntry.objects.count() == audit_before
    child = Supplier.objects.get(code="S1-1")
    assert (child.name, child.name_kana) == ("=cmd|' /C calc'!A0", "'=x")


def test_every_country_name_survives_the_round_trip(world):
    from django_countries import countries

    for lang in ("ja", "en"):
        rows = [["code", "name", "country"]] + [
            [f"C-{code}", code, ""] for code, _name in countries
        ]
        for row in rows[1:]:
            row[2] = row[1]
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        assert run(world, out.getvalue().encode(), lang=lang).errors == []
        exported = export_bytes(Supplier.objects.filter(organization=world.buyer), "csv", lang)
        result = run(world, exported, lang=lang)
        assert result.errors == [] and result.updated == 0


# -- the download -----------------------------------------------------------------------------

def download(client, fmt: str = "csv", query: str = "") -> list[list[str]]:
    response = client.get(reverse("suppliers:export", args=[fmt]) + query)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        return [[str(v or "") for v in row] for row in sheet.iter_rows(values_only=True)]
    return csv_rows(response.content)


def test_staff_export_their_organizations_suppliers_only(world, client_for):
    for who in ("admin", "analyst", "auditor"):
        codes = [row[0] for row in download(client_for(getattr(world, who)))[1:]]
        assert codes == ["S1", "S2"]


def test_an_outsiders_export_does_not_contain_s1(world, client_for):
    for fmt in ("csv", "xlsx"):
        rows = download(client_for(world.outsider), fmt)
        assert [row[0] for row in rows[1:]] == ["X1"]
        assert "東海精密部品株式会社" not in str(rows)


def test_supplier_contacts_cannot_export_the_registry(world, client_for):
    # The file carries the buyer's internal notes; contacts see their company on its page.
    response = client_for(world.supplier1).get(reverse("suppliers:export", args=["csv"]))
    assert response.status_code == 403


def test_staff_who_is_also_a_contact_elsewhere_exports_only_their_organization(world, client_for):
    from renkei.suppliers.models import Contact

    Contact.objects.create(supplier=world.x1, name="兼務", user=world.analyst, portal_access=True)
    rows = download(client_for(world.analyst))
    assert [row[0] for row in rows[1:]] == ["S1", "S2"]


def test_the_export_follows_the_list_filters(world, client_for):
    rows = download(client_for(world.analyst), query="?business_function=logistics")
    assert [row[0] for row in rows[1:]] == ["S2"]


def test_the_export_follows_the_page_language(world, client_for):
    client = client_for(world.analyst)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("suppliers:export", args=["csv"]))
    assert csv_rows(response.content)[0][0] == "code"


def test_unknown_format_is_404_and_anonymous_must_log_in(world, client_for, client):
    assert client_for(world.admin).get(reverse("suppliers:export", args=["pdf"])).status_code == 404
    assert client.get(reverse("suppliers:export", args=["csv"])).status_code == 302


def test_export_query_count_does_not_grow_with_suppliers(world, client_for):
    client = client_for(world.analyst)
    url = reverse("suppliers:export", args=["xlsx"])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(20):
        s = Supplier.objects.create(organization=world.buyer, code=f"M{i:02d}", name=f"追加{i}")
        set_tags(s, ["x", f"t{i}"])
    with CaptureQueriesContext(connection) as many:
        rows = download(client, "xlsx")
    assert len(rows) == 23
    assert len(many.captured_queries) == len(few.captured_queries)
