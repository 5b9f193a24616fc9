import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.suppliers.choices import AccessMethod, CertificationKind, DataClass, Relationship
from renkei.suppliers.models import Certification, Contact, Contract, Supplier, Tag

pytestmark = pytest.mark.django_db

VALID_CORPORATE_NUMBER = "7000012050002"


def detail(supplier, **query):
    url = reverse("suppliers:detail", args=[supplier.pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def listed_codes(response):
    return [s.code for s in response.context["page"].object_list]


def supplier_form_data(org, **overrides):
    data = {
        "organization": org.pk, "code": "N1", "name": "新規商事株式会社",
        "name_kana": "シンキショウジ",
        "corporate_number": "", "country": "JP", "relationship": "supplier",
        "chain_type": "business", "business_function": "procurement", "tier": 1,
        "subcontracted_by": "", "personal_info_records": 0, "tags": "", "notes": "",
    }
    data.update(overrides)
    return data


# --- Access: what a page answers for each role -------------------------------------------


class TestSupplierContactIsolation:
    def guessed_urls(self, world):
        s2_contact = Contact.objects.get(supplier=world.s2)
        s2_contract = Contract.objects.get(supplier=world.s2)
        s2_cert = Certification.objects.get(supplier=world.s2)
        x1 = world.x1
        urls = []
        for supplier in (world.s2, x1):
            urls += [
                detail(supplier),
                detail(supplier, tab="history"),
                reverse("suppliers:edit", args=[supplier.pk]),
                reverse("suppliers:delete", args=[supplier.pk]),
                reverse("suppliers:child-create", args=[supplier.pk, "contacts"]),
                reverse("suppliers:child-create", args=[supplier.pk, "certifications"]),
            ]
        for kind, child in (
            ("contacts", s2_contact), ("contracts", s2_contract), ("certifications", s2_cert)
        ):
            urls += [
                reverse("suppliers:child-edit", args=[world.s2.pk, kind, child.pk]),
                reverse("suppliers:child-delete", args=[world.s2.pk, kind, child.pk]),
                # S2's child reached through the contact's own supplier id:
                reverse("suppliers:child-edit", args=[world.s1.pk, kind, child.pk]),
            ]
        urls.append(reverse("suppliers:evidence", args=[world.s2.pk, s2_cert.pk]))
        urls.append(reverse("suppliers:evidence", args=[world.s1.pk, s2_cert.pk]))
        return urls

    def test_supplier_contact_cannot_open_other_suppliers_pages(self, world, client_for):
        client = client_for(world.supplier1)
        for url in self.guessed_urls(world):
            assert client.get(url).status_code == 404, url

    def test_supplier_contact_cannot_change_other_suppliers_records(self, world, client_for):
        client = client_for(world.supplier1)
        before = AuditEntry.objects.count()
        for url in self.guessed_urls(world):
            if "evidence" in url:
                continue
            assert client.post(url, {"name": "乗っ取り", "title": "x"}).status_code == 404, url
        assert AuditEntry.objects.count() == before
        assert Supplier.objects.get(pk=world.s2.pk).name == "北陸物流株式会社"
        assert Contact.objects.filter(supplier=world.s2, name="乗っ取り").count() == 0

    def test_foreign_supplier_answers_like_a_missing_one(self, world, client_for):
        client = client_for(world.admin)
        assert client.get(detail(world.x1)).status_code == 404
        assert client.get(reverse("suppliers:detail", args=[999999])).status_code == 404

    def test_supplier_contact_list_shows_only_its_supplier(self, world, client_for):
        response = client_for(world.supplier1).get(reverse("suppliers:list"))
        assert listed_codes(response) == ["S1"]

    def test_supplier_contact_does_not_see_history_tab(self, world, client_for):
        page = client_for(world.supplier1).get(detail(world.s1, tab="history")).content.decode()
        assert 'data-tab="history"' not in page
        assert 'data-tab="overview" aria-current' not in page  # fell back to overview
        assert "東海精密部品株式会社" in page


class TestReadOnlyAndEmpty:
    def test_auditor_gets_403_on_edit_of_a_visible_supplier(self, world, client_for):
        client = client_for(world.auditor)
        assert client.get(detail(world.s1)).status_code == 200
        assert client.get(reverse("suppliers:edit", args=[world.s1.pk])).status_code == 403
        post = client.post(reverse("suppliers:edit", args=[world.s1.pk]), {"name": "x"})
        assert post.status_code == 403
        assert client.get(reverse("suppliers:create")).status_code == 403
        assert client.get(reverse("suppliers:delete", args=[world.s1.pk])).status_code == 403
        contract = Contract.objects.get(supplier=world.s1)
        edit = reverse("suppliers:child-edit", args=[world.s1.pk, "contracts", contract.pk])
        assert client.get(edit).status_code == 403

    def test_auditor_sees_no_write_buttons(self, world, client_for):
        page = client_for(world.auditor).get(reverse("suppliers:list")).content.decode()
        assert reverse("suppliers:create") not in page
        assert "エクスポート" in page

    def test_nobody_sees_an_empty_list(self, world, client_for):
        response = client_for(world.nobody).get(reverse("suppliers:list"))
        assert response.status_code == 200
        assert listed_codes(response) == []
        assert "閲覧できる取引先はありません" in response.content.decode()

    def test_supplier_contact_only_reads_contracts(self, world, client_for):
        client = client_for(world.supplier1)
        contract = Contract.objects.get(supplier=world.s1)
        page = client.get(detail(world.s1, tab="contracts")).content.decode()
        assert "取引基本契約" in page
        assert reverse("suppliers:child-create", args=[world.s1.pk, "contracts"]) not in page
        edit = reverse("suppliers:child-edit", args=[world.s1.pk, "contracts", contract.pk])
        assert client.get(edit).status_code == 403
        create = reverse("suppliers:child-create", args=[world.s1.pk, "contracts"])
        assert client.post(create, {"title": "x"}).status_code == 403

    def test_unknown_child_kind_is_404(self, world, client_for):
        url = reverse("suppliers:child-create", args=[world.s1.pk, "passwords"])
        assert client_for(world.admin).get(url).status_code == 404


# --- The list: filters, sorting, pagination, query count ---------------------------------


@pytest.fixture
def registry(world):
    """S1, S2 plus suppliers that differ in one attribute each."""
    Supplier.objects.create(
        organization=world.buyer, code="C1", name="クラウド運用株式会社", name_kana="アクラウド",
        relationship=Relationship.CONTRACTOR, chain_type="service", business_function="cloud",
        country="US", access_methods=[AccessMethod.API], data_classes=[DataClass.CUSTOMER],
        export_controlled=True, personal_info_records=50000,
    )
    sub = Supplier.objects.create(
        organization=world.buyer, code="S1-1", name="再委託工業", name_kana="サイイタク",
        relationship=Relationship.SUBCONTRACTOR, tier=2, subcontracted_by=world.s1,
    )
    tag = Tag.objects.create(organization=world.buyer, name="重要")
    sub.tags.add(tag)
    Certification.objects.create(
        supplier=sub, kind=CertificationKind.SECURITY_ACTION_1,
        expires_on=datetime.date.today() + datetime.timedelta(days=10),
    )
    return world


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "物流"}, ["S2"]),
        ({"q": "7000012050002"}, ["S1"]),
        ({"relationship": "contractor"}, ["C1"]),
        ({"chain_type": "service"}, ["C1"]),
        ({"business_function": "logistics"}, ["S2"]),
        ({"tier": "2"}, ["S1-1"]),
        ({"country": "US"}, ["C1"]),
        ({"access": "vpn"}, ["S1"]),
        ({"access": "none"}, ["S1-1", "S2"]),
        ({"data_class": "customer"}, ["C1"]),
        ({"export_controlled": "true"}, ["C1"]),
        ({"personal_info_min": "1000"}, ["C1", "S1"]),
        ({"tag": "重要"}, ["S1-1"]),
        ({"certification": "isms"}, ["S1"]),
        ({"certification_status": "expired"}, ["S2"]),
        ({"certification_status": "expiring"}, ["S1-1"]),
        ({"certification_status": "missing"}, ["C1"]),
        ({"subcontracted_by": "SELF_S1"}, ["S1-1"]),
    ],
)
def test_list_filters(registry, client_for, query, expected):
    if query.get("subcontracted_by") == "SELF_S1":
        query = {"subcontracted_by": registry.s1.pk}
    response = client_for(registry.analyst).get(reverse("suppliers:list"), query)
    assert response.status_code == 200
    assert sorted(listed_codes(response)) == expected


def test_list_combines_multiple_relationships(registry, client_for):
    response = client_for(registry.admin).get(
        reverse("suppliers:list"), {"relationship": ["contractor", "subcontractor"]}
    )
    assert sorted(listed_codes(response)) == ["C1", "S1-1"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["C1", "S1", "S1-1", "S2"]),
        ("-code", ["S2", "S1-1", "S1", "C1"]),
        ("name", ["C1", "S1-1", "S1", "S2"]),
        ("-personal_info_records", ["C1", "S1", "S1-1", "S2"][:2]),
    ],
)
def test_list_sorting(registry, client_for, ordering, expected):
    response = client_for(registry.admin).get(reverse("suppliers:list"), {"ordering": ordering})
    assert listed_codes(response)[: len(expected)] == expected


def test_list_shows_certification_summary_and_export_links_with_filters(registry, client_for):
    page = client_for(registry.admin).get(
        reverse("suppliers:list"), {"relationship": "subcontractor"}
    ).content.decode()
    assert "期限間近 1" in page
    assert reverse("suppliers:export", args=["csv"]) + "?relationship=subcontractor" in page
    assert reverse("suppliers:export", args=["xlsx"]) + "?relationship=subcontractor" in page
    assert reverse("suppliers:import") in page


def make_suppliers(org, count, start=0):
    Supplier.objects.bulk_create(
        Supplier(organization=org, code=f"B{n:04d}", name=f"一括{n}", name_kana=f"イッカツ{n}")
        for n in range(start, start + count)
    )


def test_list_paginates_50_per_page(world, client_for):
    make_suppliers(world.buyer, 60)
    client = client_for(world.admin)
    first = client.get(reverse("suppliers:list"))
    assert len(listed_codes(first)) == 50
    second = client.get(reverse("suppliers:list"), {"page": 2})
    assert len(listed_codes(second)) == 12
    assert "2 / 2 ページ" in second.content.decode()
    assert client.get(reverse("suppliers:list"), {"page": "99"}).status_code == 200


LIST_QUERIES = 7


def _add_children(world, count):
    for supplier in Supplier.objects.filter(organization=world.buyer)[:count]:
        tag, _ = Tag.objects.get_or_create(organization=world.buyer, name=f"t{supplier.pk % 3}")
        supplier.tags.add(tag)
        Certification.objects.create(supplier=supplier, kind="isms",
                                     expires_on=datetime.date(2020, 1, 1))


@pytest.mark.parametrize("extra", [1, 58])
def test_list_query_count_is_constant(world, client_for, django_assert_num_queries, extra):
    # 3 or 60 buyer suppliers (S1, S2 + extra), each with tags and certifications.
    make_suppliers(world.buyer, extra)
    _add_children(world, 60)
    client = client_for(world.admin)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("suppliers:list"), {"ordering": "-updated_at", "q": ""})
    assert response.status_code == 200
    assert len(listed_codes(response)) == min(extra + 2, 50)


def test_list_query_count_is_constant_with_filters(world, client_for, django_assert_num_queries):
    make_suppliers(world.buyer, 58)
    _add_children(world, 60)
    client = client_for(world.admin)
    with django_assert_num_queries(LIST_QUERIES):
        client.get(reverse("suppliers:list"), {"tag": "t1", "certification_status": "expired"})


# --- Create and edit ------------------------------------------------------------------------


def test_create_with_wrong_corporate_number_shows_japanese_error_and_writes_nothing(
    world, client_for
):
    before = (Supplier.objects.count(), AuditEntry.objects.count())
    response = client_for(world.admin).post(
        reverse("suppliers:create"),
        supplier_form_data(world.buyer, corporate_number="8000012050002"),
    )
    assert response.status_code == 200
    assert "corporate_number" in response.context["form"].errors
    assert "チェックディジットが正しくありません" in response.content.decode()
    assert (Supplier.objects.count(), AuditEntry.objects.count()) == before


def test_edit_with_wrong_corporate_number_writes_nothing(world, client_for):
    before = AuditEntry.objects.count()
    response = client_for(world.analyst).post(
        reverse("suppliers:edit", args=[world.s1.pk]),
        supplier_form_data(world.buyer, code="S1", name="x", corporate_number="123"),
    )
    assert response.status_code == 200
    assert "法人番号は13桁の数字です" in response.content.decode()
    assert Supplier.objects.get(pk=world.s1.pk).name == "東海精密部品株式会社"
    assert AuditEntry.objects.count() == before


def test_create_picks_the_only_organization_and_records_tags(world, client_for):
    client = client_for(world.analyst)
    form_page = client.get(reverse("suppliers:create")).content.decode()
    assert 'type="hidden" name="organization"' in form_page
    response = client.post(
        reverse("suppliers:create"),
        supplier_form_data(world.buyer, tags="重要, 物流 ,重要"),
    )
    supplier = Supplier.objects.get(code="N1")
    assert response.status_code == 302
    assert response["Location"] == detail(supplier)
    assert sorted(supplier.tags.values_list("name", flat=True)) == ["物流", "重要"]
    entry = AuditEntry.objects.get(object_type="suppliers.supplier", object_id=str(supplier.pk))
    assert entry.action == "create"
    assert entry.actor == world.analyst


def test_create_refuses_an_organization_the_user_cannot_add_to(world, client_for):
    response = client_for(world.admin).post(
        reverse("suppliers:create"), supplier_form_data(world.other)
    )
    assert response.status_code == 200
    assert not Supplier.objects.filter(code="N1").exists()


def test_create_subcontractor_by_parent_code(world, client_for):
    client = client_for(world.admin)
    prefilled = client.get(reverse("suppliers:create"), {"subcontracted_by": "S1", "tier": 2})
    assert 'value="S1"' in prefilled.content.decode()
    response = client.post(
        reverse("suppliers:create"),
        supplier_form_data(
            world.buyer, subcontracted_by="S1", tier=2, relationship="subcontractor"
        ),
    )
    assert response.status_code == 302
    assert Supplier.objects.get(code="N1").subcontracted_by == world.s1
    # A foreign parent code is "not found", never attached.
    response = client.post(
        reverse("suppliers:create"),
        supplier_form_data(world.buyer, code="N2", subcontracted_by="X1", tier=2),
    )
    assert "このコードの取引先が見つかりません" in response.content.decode()
    # The tier must follow the parent (model rule), shown on the field.
    response = client.post(
        reverse("suppliers:create"),
        supplier_form_data(world.buyer, code="N3", subcontracted_by="S1", tier=5),
    )
    assert "tier" in response.context["form"].errors


def test_duplicate_code_is_a_form_error(world, client_for):
    response = client_for(world.admin).post(
        reverse("suppliers:create"), supplier_form_data(world.buyer, code="S1")
    )
    assert response.status_code == 200
    assert response.context["form"].errors


def test_successful_edit_is_audited_and_shown_on_history_tab(world, client_for):
    client = client_for(world.admin)
    page = client.get(reverse("suppliers:edit", args=[world.s1.pk])).content.decode()
    assert "東海精密部品株式会社" in page
    data = supplier_form_data(
        world.buyer, code="S1", name="東海精密部品株式会社", name_kana="トウカイセイミツブヒン",
        corporate_number=VALID_CORPORATE_NUMBER, business_function="production",
        personal_info_records=1200, notes="監査で確認済み", access_methods=["vpn"],
        data_classes=["technical"],
    )
    response = client.post(reverse("suppliers:edit", args=[world.s1.pk]), data, follow=True)
    assert response.redirect_chain[-1][0] == detail(world.s1)
    assert "変更を保存しました" in response.content.decode()
    entry = AuditEntry.objects.get(supplier_id_ref=world.s1.pk, action="update")
    assert entry.changes == {"notes": ["", "監査で確認済み"]}
    assert entry.actor == world.admin
    assert entry.address == "127.0.0.1"
    history = client.get(detail(world.s1, tab="history")).content.decode()
    assert "監査で確認済み" in history
    assert "127.0.0.1" in history


def test_supplier_contact_edits_only_its_own_company_fields(world, client_for):
    client = client_for(world.supplier1)
    form = client.get(reverse("suppliers:edit", args=[world.s1.pk])).context["form"]
    assert list(form.fields) == ["name", "name_kana", "country"]
    response = client.post(
        reverse("suppliers:edit", args=[world.s1.pk]),
        {"name": "東海精密部品（株）", "name_kana": "トウカイ", "corporate_number": "",
         "country": "JP", "tier": 5, "notes": "勝手に", "relationship": "group"},
    )
    assert response.status_code == 302
    s1 = Supplier.objects.get(pk=world.s1.pk)
    assert s1.name == "東海精密部品（株）"
    assert (s1.tier, s1.notes, s1.relationship) == (1, "", "supplier")


# --- Children, evidence, delete --------------------------------------------------------------


def test_supplier_contact_adds_a_contact_without_portal_access(world, client_for):
    client = client_for(world.supplier1)
    url = reverse("suppliers:child-create", args=[world.s1.pk, "contacts"])
    assert "portal_access" not in client.get(url).context["form"].fields
    response = client.post(url, {"name": "山田 三郎", "email": "yamada@s1.example.jp",
                                 "portal_access": "on"})
    assert response.status_code == 302
    contact = Contact.objects.get(name="山田 三郎")
    assert contact.supplier == world.s1
    assert contact.portal_access is False
    assert AuditEntry.objects.filter(object_type="suppliers.contact", action="create").exists()


def test_certification_upload_and_download(world, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(world.supplier1)
    url = reverse("suppliers:child-create", args=[world.s1.pk, "certifications"])
    upload = SimpleUploadedFile("isms.pdf", b"%PDF-1.4 evidence", content_type="application/pdf")
    response = client.post(url, {"kind": "isms", "number": "IS 9", "expires_on": "2031-01-31",
                                 "evidence": upload})
    assert response.status_code == 302
    cert = Certification.objects.get(number="IS 9")
    download = reverse("suppliers:evidence", args=[world.s1.pk, cert.pk])
    got = client.get(download)
    assert got.status_code == 200
    assert got["Content-Disposition"].startswith("attachment")
    assert b"".join(got.streaming_content) == b"%PDF-1.4 evidence"
    assert client_for(world.supplier2).get(download).status_code == 404
    assert client_for(world.auditor).get(download).status_code == 200
    tab = client.get(detail(world.s1, tab="certifications")).content.decode()
    assert download in tab
    assert 'data-status="valid"' in tab


def test_certification_status_badges(world, client_for):
    page = client_for(world.admin).get(detail(world.s2, tab="certifications")).content.decode()
    assert 'data-status="expired"' in page
    assert "期限切れ" in page


def test_oversized_evidence_is_refused_with_a_clear_message(world, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.RENKEI_MAX_UPLOAD_MB = 1
    url = reverse("suppliers:child-create", args=[world.s1.pk, "certifications"])
    upload = SimpleUploadedFile("big.pdf", b"x" * (1024 * 1024 + 1))
    response = client_for(world.admin).post(url, {"kind": "isms", "evidence": upload})
    assert response.status_code == 200
    assert "1 MB までです" in response.content.decode()
    assert not Certification.objects.filter(supplier=world.s1, kind="isms").exclude(
        number="IS 123456"
    ).exists()


def test_child_edit_and_delete_by_staff(world, client_for):
    client = client_for(world.analyst)
    contract = Contract.objects.get(supplier=world.s1)
    edit = reverse("suppliers:child-edit", args=[world.s1.pk, "contracts", contract.pk])
    response = client.post(edit, {"title": "取引基本契約（改定）", "re_outsourcing": "prohibited",
                                  "has_nda": "on"})
    assert response.status_code == 302
    assert Contract.objects.get(pk=contract.pk).title == "取引基本契約（改定）"
    delete = reverse("suppliers:child-delete", args=[world.s1.pk, "contracts", contract.pk])
    assert client.get(delete).status_code == 200
    assert client.post(delete).status_code == 302
    assert not Contract.objects.filter(pk=contract.pk).exists()
    assert AuditEntry.objects.filter(object_type="suppliers.contract", action="delete").exists()


def test_supplier_contact_cannot_delete_its_contacts(world, client_for):
    contact = Contact.objects.get(supplier=world.s1)
    url = reverse("suppliers:child-delete", args=[world.s1.pk, "contacts", contact.pk])
    assert client_for(world.supplier1).post(url).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_supplier_with_subcontractors_cannot_be_deleted(world, client_for):
    Supplier.objects.create(organization=world.buyer, code="S1-1", name="子", tier=2,
                            subcontracted_by=world.s1)
    client = client_for(world.admin)
    url = reverse("suppliers:delete", args=[world.s1.pk])
    assert "再委託先が 1 件あるため削除できません" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 409
    assert Supplier.objects.filter(pk=world.s1.pk).exists()


def test_supplier_delete_after_confirmation(world, client_for):
    client = client_for(world.admin)
    url = reverse("suppliers:delete", args=[world.s2.pk])
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 302
    assert not Supplier.objects.filter(pk=world.s2.pk).exists()
    # The supplier and its contact, contract and certification each leave an entry.
    assert AuditEntry.objects.filter(supplier_id_ref=world.s2.pk, action="delete").count() == 4


def test_chain_tab_shows_both_directions(world, client_for):
    child = Supplier.objects.create(organization=world.buyer, code="S1-1", name="二次工業",
                                    tier=2, subcontracted_by=world.s1)
    Supplier.objects.create(organization=world.buyer, code="S1-1-1", name="三次工業", tier=3,
                            subcontracted_by=child)
    client = client_for(world.admin)
    top = client.get(detail(world.s1, tab="chain")).content.decode()
    assert "二次工業" in top
    assert "三次工業" in top
    middle = client.get(detail(child, tab="chain")).content.decode()
    assert "東海精密部品株式会社" in middle
    assert "三次工業" in middle


def test_buyer_internal_notes_are_not_shown_to_the_suppliers_contact(world, client_for):
    world.s1.notes = "社内メモ：取引縮小を検討中"
    world.s1.save()
    url = reverse("suppliers:detail", args=[world.s1.pk])
    assert "取引縮小" in client_for(world.auditor).get(url).content.decode()
    assert "取引縮小" not in client_for(world.supplier1).get(url).content.decode()


def test_history_names_the_subcontracting_supplier_not_its_id(world, client_for):
    from renkei.audit.services import Actor
    from renkei.suppliers.services import save_record

    child = Supplier(
        organization=world.buyer, code="S1-1", name="二次請け工業", subcontracted_by=world.s1, tier=2
    )
    save_record(Actor.cli(world.admin), child)
    html = client_for(world.analyst).get(
        reverse("suppliers:detail", args=[child.pk]) + "?tab=history"
    ).content.decode()
    assert "S1 東海精密部品株式会社" in html
    assert f"#{world.s1.pk}<" not in html
