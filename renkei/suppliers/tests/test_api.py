"""The supplier registry API: access rules (one line each), CRUD with audit, validation, filters."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from renkei.accounts.models import Membership
from renkei.audit.models import AuditEntry
from renkei.core.permissions import Role
from renkei.suppliers.choices import CertificationKind
from renkei.suppliers.models import Certification, Contact, Contract, Supplier

pytestmark = pytest.mark.django_db

API = "/api/v1"
CHILDREN = {"contacts": Contact, "contracts": Contract, "certifications": Certification}


def url(kind, pk=None):
    return f"{API}/{kind}/" if pk is None else f"{API}/{kind}/{pk}/"


def codes(response):
    assert response.status_code == 200, response.content
    return sorted(row["code"] for row in response.json()["results"])


def supplier_ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["supplier"] for row in response.json()["results"])


def child_of(model, supplier):
    return model.objects.filter(supplier=supplier).first()


def _make_child(kind, supplier):
    if kind == "contracts":
        return Contract.objects.create(supplier=supplier, title="他社契約")
    return Certification.objects.create(supplier=supplier, kind=CertificationKind.ISMS)


# --- authentication ------------------------------------------------------------------------

def test_unauthenticated_request_answers_401(world):
    assert APIClient().get(url("suppliers")).status_code == 401


def test_bad_token_answers_401(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(url("suppliers")).status_code == 401


def test_token_authentication_works(world, api_for):
    assert codes(api_for(world.admin).get(url("suppliers"))) == ["S1", "S2"]


def test_session_authentication_works(world):
    client = APIClient()
    client.force_login(world.analyst)
    assert codes(client.get(url("suppliers"))) == ["S1", "S2"]


def test_inactive_user_token_is_refused(world, api_for):
    client = api_for(world.admin)
    world.admin.is_active = False
    world.admin.save()
    assert client.get(url("suppliers")).status_code == 401


# --- who sees what -----------------------------------------------------------------------------

def test_outsider_sees_only_x1(world, api_for):
    assert codes(api_for(world.outsider).get(url("suppliers"))) == ["X1"]


def test_outsider_cannot_open_buyer_supplier(world, api_for):
    assert api_for(world.outsider).get(url("suppliers", world.s1.pk)).status_code == 404


@pytest.mark.parametrize("kind", ["suppliers", "contacts", "contracts", "certifications",
                                  "audit-entries", "organizations"])
def test_user_without_role_sees_empty_lists(world, api_for, kind):
    response = api_for(world.nobody).get(url(kind))
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_supplier_contact_lists_only_own_supplier(world, api_for):
    client = api_for(world.supplier1)
    assert codes(client.get(url("suppliers"))) == ["S1"]
    for kind in CHILDREN:
        assert set(supplier_ids(client.get(url(kind)))) == {world.s1.pk}, kind


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
@pytest.mark.parametrize("target", ["s2", "x1"])
def test_supplier_contact_cannot_reach_other_supplier_by_guessed_id(world, api_for, method,
                                                                    target):
    supplier = getattr(world, target)
    response = getattr(api_for(world.supplier1), method)(
        url("suppliers", supplier.pk), {"name": "乗っ取り"}, format="json"
    )
    assert response.status_code == 404
    supplier.refresh_from_db()
    assert supplier.name != "乗っ取り"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("kind", list(CHILDREN))
@pytest.mark.parametrize("target", ["s2", "x1"])
def test_supplier_contact_cannot_reach_other_suppliers_children(world, api_for, method, kind,
                                                                target):
    child = child_of(CHILDREN[kind], getattr(world, target)) or _make_child(kind, world.x1)
    response = getattr(api_for(world.supplier1), method)(
        url(kind, child.pk), {"notes": "x"}, format="json"
    )
    assert response.status_code == 404
    assert CHILDREN[kind].objects.filter(pk=child.pk).exists()


def test_missing_id_answers_404_like_foreign_one(world, api_for):
    assert api_for(world.admin).get(url("suppliers", 999999)).status_code == 404


# --- auditor: read-only ----------------------------------------------------------------------

def test_auditor_can_list_and_retrieve(world, api_for):
    client = api_for(world.auditor)
    assert codes(client.get(url("suppliers"))) == ["S1", "S2"]
    assert client.get(url("suppliers", world.s1.pk)).status_code == 200


def test_auditor_cannot_create_supplier(world, api_for):
    response = api_for(world.auditor).post(url("suppliers"), {"code": "A1", "name": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_auditor_cannot_change_or_delete_supplier(world, api_for, method):
    response = getattr(api_for(world.auditor), method)(
        url("suppliers", world.s1.pk), {"name": "x"}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize("kind", list(CHILDREN))
def test_auditor_cannot_change_children(world, api_for, kind):
    client = api_for(world.auditor)
    child = child_of(CHILDREN[kind], world.s1)
    assert client.patch(url(kind, child.pk), {"notes": "x"}, format="json").status_code == 403
    assert client.delete(url(kind, child.pk)).status_code == 403
    assert client.post(url(kind), {"supplier": world.s1.pk}, format="json").status_code == 403


def test_no_audit_entry_when_refused(world, api_for):
    api_for(world.auditor).patch(url("suppliers", world.s1.pk), {"name": "x"}, format="json")
    assert not AuditEntry.objects.exists()


# --- supplier contacts: limited writes ---------------------------------------------------------

def test_supplier_contact_can_change_own_supplier_editable_fields(world, api_for):
    response = api_for(world.supplier1).patch(
        url("suppliers", world.s1.pk), {"name": "東海精密株式会社", "country": "VN"}, format="json"
    )
    assert response.status_code == 200, response.content
    world.s1.refresh_from_db()
    assert (world.s1.name, world.s1.country.code) == ("東海精密株式会社", "VN")


def test_supplier_contact_cannot_change_buyer_fields(world, api_for):
    response = api_for(world.supplier1).patch(
        url("suppliers", world.s1.pk),
        {"name": "新社名", "tier": 2, "personal_info_records": 0, "tags": ["安全"]}, format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"tier", "personal_info_records", "tags"}
    world.s1.refresh_from_db()
    assert world.s1.name == "東海精密部品株式会社"


def test_supplier_contact_may_put_back_unchanged_buyer_fields(world, api_for):
    client = api_for(world.supplier1)
    data = client.get(url("suppliers", world.s1.pk)).json()
    data["name_kana"] = "トウカイ"
    response = client.put(url("suppliers", world.s1.pk), data, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name_kana"] == "トウカイ"


def test_supplier_contact_cannot_delete_own_supplier(world, api_for):
    assert api_for(world.supplier1).delete(url("suppliers", world.s1.pk)).status_code == 403


def test_supplier_contact_cannot_create_supplier(world, api_for):
    response = api_for(world.supplier1).post(url("suppliers"), {"code": "N", "name": "新"})
    assert response.status_code == 403


def test_supplier_contact_can_add_contact_and_certification_to_own_supplier(world, api_for):
    client = api_for(world.supplier1)
    contact = client.post(url("contacts"), {"supplier": world.s1.pk, "name": "田中"}, format="json")
    assert contact.status_code == 201, contact.content
    cert = client.post(url("certifications"), {
        "supplier": world.s1.pk, "kind": "pmark", "number": "10820123(05)",
    }, format="json")
    assert cert.status_code == 201, cert.content
    assert client.patch(url("contacts", contact.json()["id"]), {"title": "部長"},
                        format="json").status_code == 200


@pytest.mark.parametrize("kind", ["contacts", "certifications"])
def test_supplier_contact_cannot_add_child_to_other_supplier_nor_learn_it_exists(world, api_for,
                                                                                 kind):
    client = api_for(world.supplier1)
    bodies = {}
    for supplier_id in (world.s2.pk, world.x1.pk, 999999):
        response = client.post(url(kind), {
            "supplier": supplier_id, "name": "x", "kind": "isms",
        }, format="json")
        assert response.status_code == 400
        bodies[supplier_id] = str(response.json()["supplier"]).replace(str(supplier_id), "ID")
    assert len(set(bodies.values())) == 1
    assert CHILDREN[kind].objects.filter(name="x").count() == 0


def test_supplier_contact_cannot_grant_portal_access(world, api_for):
    response = api_for(world.supplier1).post(url("contacts"), {
        "supplier": world.s1.pk, "name": "田中", "portal_access": True,
    }, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["portal_access"]


def test_supplier_contact_can_only_view_contracts(world, api_for):
    client = api_for(world.supplier1)
    contract = child_of(Contract, world.s1)
    assert client.get(url("contracts", contract.pk)).status_code == 200
    assert client.patch(url("contracts", contract.pk), {"title": "x"},
                        format="json").status_code == 403
    assert client.delete(url("contracts", contract.pk)).status_code == 403
    assert client.post(url("contracts"), {"supplier": world.s1.pk, "title": "x"},
                       format="json").status_code == 403


def test_supplier_contact_cannot_move_a_contact_to_another_supplier(world, api_for):
    contact = child_of(Contact, world.s1)
    response = api_for(world.supplier1).patch(
        url("contacts", contact.pk), {"supplier": world.s2.pk}, format="json"
    )
    contact.refresh_from_db()
    assert contact.supplier_id == world.s1.pk  # supplier is write-once (ignored on update)
    assert response.status_code == 200


def test_supplier_contact_sees_no_audit_entries(world, api_for):
    api_for(world.admin).patch(url("suppliers", world.s1.pk), {"notes": "x"}, format="json")
    response = api_for(world.supplier1).get(url("audit-entries"))
    assert response.json()["count"] == 0


# --- CRUD happy paths, audited ----------------------------------------------------------------

def test_admin_creates_supplier_in_only_organization_with_lists(world, api_for):
    response = api_for(world.admin).post(url("suppliers"), {
        "code": "S3", "name": "関西ソフト株式会社", "country": "JP", "tier": 1,
        "data_classes": ["customer", "technical", "customer"], "access_methods": ["vpn", "api"],
        "tags": ["重要", " クラウド ", "重要"], "business_function": "development",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organization"] == world.buyer.pk
    assert body["data_classes"] == ["customer", "technical"]
    assert body["access_methods"] == ["api", "vpn"]
    assert body["tags"] == ["クラウド", "重要"]
    assert body["country"] == "JP"
    assert body["has_system_access"] is True
    entry = AuditEntry.objects.get(object_type="suppliers.supplier", object_id=str(body["id"]))
    assert (entry.action, entry.actor, entry.organization) == ("create", world.admin, world.buyer)
    assert entry.changes["tags"] == [None, ["クラウド", "重要"]]


def test_supplier_update_and_delete_are_audited(world, api_for):
    client = api_for(world.analyst)
    response = client.patch(url("suppliers", world.s2.pk), {"tier": 1, "notes": "見直し"},
                            format="json")
    assert response.status_code == 200, response.content
    assert client.delete(url("suppliers", world.s2.pk)).status_code == 204
    assert not Supplier.objects.filter(pk=world.s2.pk).exists()
    actions = list(AuditEntry.objects.filter(supplier_id_ref=world.s2.pk)
                   .order_by("sequence").values_list("object_type", "action"))
    assert actions[0] == ("suppliers.supplier", "update")
    assert ("suppliers.supplier", "delete") in actions
    assert ("suppliers.contract", "delete") in actions


def test_put_replaces_tags(world, api_for):
    client = api_for(world.admin)
    data = client.get(url("suppliers", world.s1.pk)).json()
    data["tags"] = ["a", "b"]
    target = url("suppliers", world.s1.pk)
    assert client.put(target, data, format="json").json()["tags"] == ["a", "b"]
    data["tags"] = ["b"]
    assert client.put(target, data, format="json").json()["tags"] == ["b"]


@pytest.mark.parametrize("kind,body,change", [
    ("contacts", {"name": "山田"}, {"phone": "03-0000-0000"}),
    ("contracts", {"title": "保守契約", "re_outsourcing": "prohibited"}, {"has_nda": True}),
    ("certifications", {"kind": "isms", "number": "IS 1"}, {"expires_on": "2031-01-31"}),
])
def test_child_crud_is_audited(world, api_for, kind, body, change):
    client = api_for(world.admin)
    created = client.post(url(kind), {"supplier": world.s1.pk, **body}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    changed = client.patch(url(kind, pk), change, format="json")
    assert changed.status_code == 200, changed.content
    assert client.delete(url(kind, pk)).status_code == 204
    entries = AuditEntry.objects.filter(object_id=str(pk), object_type=f"suppliers.{kind[:-1]}")
    actions = list(entries.order_by("sequence").values_list("action", flat=True))
    assert actions == ["create", "update", "delete"]


def test_deleting_supplier_with_subcontractors_answers_409(world, api_for):
    client = api_for(world.admin)
    created = client.post(url("suppliers"), {
        "code": "S1-1", "name": "二次", "tier": 2, "subcontracted_by": world.s1.pk,
    }, format="json")
    assert created.status_code == 201, created.content
    assert client.delete(url("suppliers", world.s1.pk)).status_code == 409
    assert Supplier.objects.filter(pk=world.s1.pk).exists()


# --- organization on create --------------------------------------------------------------------

def test_organization_required_for_member_of_several(world, api_for):
    Membership.objects.create(user=world.admin, organization=world.other, role=Role.ANALYST)
    client = api_for(world.admin)
    response = client.post(url("suppliers"), {"code": "N1", "name": "新"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["organization"]
    response = client.post(url("suppliers"), {"code": "N1", "name": "新",
                                              "organization": world.other.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["organization"] == world.other.pk


def test_organization_must_allow_adding(world, api_for):
    Membership.objects.create(user=world.admin, organization=world.other, role=Role.AUDITOR)
    response = api_for(world.admin).post(url("suppliers"), {
        "code": "N1", "name": "新", "organization": world.other.pk,
    }, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["organization"]


def test_organization_cannot_be_changed(world, api_for):
    Membership.objects.create(user=world.admin, organization=world.other, role=Role.ADMIN)
    api_for(world.admin).patch(url("suppliers", world.s1.pk), {"organization": world.other.pk},
                               format="json")
    world.s1.refresh_from_db()
    assert world.s1.organization_id == world.buyer.pk


# --- validation --------------------------------------------------------------------------------

def test_subcontracted_by_foreign_supplier_is_answered_like_a_missing_one(world, api_for):
    client = api_for(world.admin)
    messages = set()
    for parent in (world.x1.pk, 999999):
        response = client.post(url("suppliers"), {
            "code": "N", "name": "新", "tier": 2, "subcontracted_by": parent,
        }, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["subcontracted_by"]
        messages.add(str(response.json()["subcontracted_by"]).replace(str(parent), "ID"))
    assert len(messages) == 1


def test_model_clean_applies_with_field_level_errors(world, api_for):
    response = api_for(world.admin).post(url("suppliers"), {
        "code": "N", "name": "新", "tier": 3, "subcontracted_by": world.s1.pk,
    }, format="json")
    assert response.status_code == 400
    assert response.json() == {"tier": ["階層1の取引先からの再委託先は階層2です。"]}


def test_corporate_number_check_digit_is_validated(world, api_for):
    response = api_for(world.admin).post(url("suppliers"), {
        "code": "N", "name": "新", "corporate_number": "1000012050002",
    }, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["corporate_number"]


def test_pmark_number_is_validated(world, api_for):
    response = api_for(world.admin).post(url("certifications"), {
        "supplier": world.s1.pk, "kind": CertificationKind.PMARK, "number": "123",
    }, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["number"]


def test_invalid_choice_in_list_is_a_field_error(world, api_for):
    response = api_for(world.admin).patch(url("suppliers", world.s1.pk),
                                          {"data_classes": ["secret"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["data_classes"]


def test_duplicate_code_is_a_field_error_in_japanese(world, api_for):
    response = api_for(world.admin).post(url("suppliers"), {"code": "S1", "name": "重複"},
                                         format="json")
    assert response.status_code == 400
    assert response.json() == {"code": ["この取引先コードの取引先はすでに登録されています。"]}


def test_validation_errors_are_japanese_by_default(world, api_for):
    response = api_for(world.admin).post(url("suppliers"), {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == ["この項目は必須です。"]


def test_validation_errors_follow_accept_language(world, api_for):
    response = api_for(world.admin).post(url("suppliers"), {"code": "S1", "name": "x"},
                                         format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"code": ["A supplier with this code already exists."]}
    response = api_for(world.admin).post(url("suppliers"), {}, format="json",
                                         HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["code"] == ["This field is required."]


def test_model_clean_message_follows_accept_language(world, api_for):
    response = api_for(world.admin).post(url("suppliers"), {
        "code": "N", "name": "新", "tier": 3, "subcontracted_by": world.s1.pk,
    }, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"tier": ["A subcontractor of a tier-1 supplier is tier 2."]}


def test_permission_message_is_japanese_by_default(world, api_for):
    response = api_for(world.auditor).patch(url("suppliers", world.s1.pk), {"name": "x"},
                                            format="json")
    assert response.json()["detail"] == "この記録は閲覧できますが、変更・削除はできません。"


# --- filters, ordering, pagination --------------------------------------------------------------

@pytest.mark.parametrize("query,expected", [
    ("q=東海", ["S1"]),
    ("q=s2", ["S2"]),
    ("q=7000012050002", ["S1"]),
    ("business_function=logistics", ["S2"]),
    ("business_function=logistics&business_function=production", ["S1", "S2"]),
    ("tier=1", ["S1", "S2"]),
    ("tier=2", []),
    ("data_class=technical", ["S1"]),
    ("access=none", ["S2"]),
    ("access=vpn", ["S1"]),
    ("personal_info_min=1000", ["S1"]),
    ("certification=pmark", ["S2"]),
    ("certification_status=expired", ["S2"]),
    ("certification_status=valid", ["S1"]),
    ("country=JP", ["S1", "S2"]),
])
def test_supplier_filterset_works_through_api(world, api_for, query, expected):
    assert codes(api_for(world.admin).get(f"{url('suppliers')}?{query}")) == expected


def test_tag_filter(world, api_for):
    client = api_for(world.admin)
    client.patch(url("suppliers", world.s2.pk), {"tags": ["重要"]}, format="json")
    assert codes(client.get(url("suppliers"), {"tag": "重要"})) == ["S2"]


def test_invalid_filter_value_is_400(world, api_for):
    response = api_for(world.admin).get(url("suppliers"), {"business_function": "nope"})
    assert response.status_code == 400


def test_ordering(world, api_for):
    response = api_for(world.admin).get(url("suppliers"), {"ordering": "-code"})
    assert [row["code"] for row in response.json()["results"]] == ["S2", "S1"]


def test_pagination(world, api_for):
    body = api_for(world.admin).get(url("suppliers"), {"page_size": 1}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["next"] and body["previous"] is None


def test_children_filter_by_supplier(world, api_for):
    client = api_for(world.admin)
    for kind in CHILDREN:
        assert supplier_ids(client.get(url(kind), {"supplier": world.s2.pk})) == [world.s2.pk]
        assert supplier_ids(client.get(url(kind), {"supplier": world.x1.pk})) == []


def test_certification_kind_filter(world, api_for):
    response = api_for(world.admin).get(url("certifications"), {"kind": "pmark"})
    assert supplier_ids(response) == [world.s2.pk]


# --- constant queries ---------------------------------------------------------------------------

def _add_suppliers(world, count):
    Supplier.objects.bulk_create([
        Supplier(organization=world.buyer, code=f"B{i:03}", name=f"取引先{i}")
        for i in range(count)
    ])
    for supplier in Supplier.objects.filter(code__startswith="B"):
        supplier.tags.create(organization=world.buyer, name=f"t{supplier.code}")


# token lookup, count, page, tag prefetch
SUPPLIER_LIST_QUERIES = 5  # token, count, page, tags, the reader's staff organizations


@pytest.mark.parametrize("count", [3, 60])
def test_supplier_list_query_count_is_constant(world, api_for, django_assert_num_queries, count):
    _add_suppliers(world, count - 2)
    client = api_for(world.admin)
    with django_assert_num_queries(SUPPLIER_LIST_QUERIES):
        response = client.get(url("suppliers"), {"page_size": 100})
    assert response.json()["count"] == count


@pytest.mark.parametrize("kind", list(CHILDREN))
@pytest.mark.parametrize("count", [3, 60])
def test_child_list_query_count_is_constant(world, api_for, django_assert_num_queries, kind,
                                            count):
    model = CHILDREN[kind]
    fields = {"contacts": {"name": "n"}, "contracts": {"title": "t"},
              "certifications": {"kind": "isms"}}[kind]
    model.objects.bulk_create([model(supplier=world.s1, **fields) for _ in range(count)])
    client = api_for(world.admin)
    # token lookup, count, page; contracts also ask whether the reader is staff (internal notes)
    with django_assert_num_queries(4 if kind == "contracts" else 3):
        client.get(url(kind), {"page_size": 100})


def test_buyer_internal_notes_are_hidden_from_supplier_contacts(world, api_for):
    world.s1.notes = "社内メモ：要注意"
    world.s1.save()
    Contract.objects.filter(supplier=world.s1).update(notes="価格交渉中")
    assert api_for(world.analyst).get(url("suppliers", world.s1.pk)).json()["notes"] == "社内メモ：要注意"
    own = api_for(world.supplier1).get(url("suppliers", world.s1.pk)).json()
    assert "notes" not in own and "subcontracted_by" not in own
    contracts = api_for(world.supplier1).get(url("contracts")).json()["results"]
    assert contracts and all("notes" not in row for row in contracts)
    assert api_for(world.auditor).get(url("contracts")).json()["results"][0]["notes"] is not None


# --- evidence files -----------------------------------------------------------------------------

@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(client, supplier, content=b"%PDF-1.4 evidence"):
    return client.post(url("certifications"), {
        "supplier": supplier.pk, "kind": "isms", "number": "IS 9",
        "expires_on": datetime.date(2031, 1, 1).isoformat(),
        "evidence": SimpleUploadedFile("証明書.pdf", content, content_type="application/pdf"),
    }, format="multipart")


def test_evidence_upload_and_download(world, api_for, media):
    created = _upload(api_for(world.supplier1), world.s1)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["evidence_name"] == "証明書.pdf"
    assert "evidence" not in body
    response = api_for(world.admin).get(url("certifications", body["id"]) + "evidence/",
                                        HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 evidence"
    assert "attachment" in response["Content-Disposition"]
    assert body["evidence_url"].endswith(f"/api/v1/certifications/{body['id']}/evidence/")


def test_evidence_download_checks_for_user(world, api_for, media):
    pk = _upload(api_for(world.admin), world.s1).json()["id"]
    for user in (world.supplier2, world.outsider, world.nobody):
        assert api_for(user).get(url("certifications", pk) + "evidence/").status_code == 404
    assert api_for(world.supplier1).get(url("certifications", pk) + "evidence/").status_code == 200
    assert APIClient().get(url("certifications", pk) + "evidence/").status_code == 401


def test_evidence_download_without_file_is_404(world, api_for):
    cert = child_of(Certification, world.s1)
    assert api_for(world.admin).get(url("certifications", cert.pk) + "evidence/").status_code == 404


def test_evidence_over_limit_is_refused(world, api_for, media, settings):
    settings.RENKEI_MAX_UPLOAD_MB = 0
    response = _upload(api_for(world.admin), world.s1, content=b"x" * 10)
    assert response.status_code == 400
    assert list(response.json()) == ["evidence"]


def test_evidence_can_be_removed(world, api_for, media):
    client = api_for(world.admin)
    pk = _upload(client, world.s1).json()["id"]
    response = client.patch(url("certifications", pk), {"evidence": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["evidence_url"] is None


# --- me and organizations -----------------------------------------------------------------------

def test_me_for_staff(world, api_for):
    body = api_for(world.analyst).get(f"{API}/me/").json()
    assert body["username"] == "analyst"
    assert body["primary_role"] == "analyst"
    assert [(m["organization"]["slug"], m["role"]) for m in body["memberships"]] == [
        ("buyer", "analyst")
    ]
    assert body["suppliers"] == []


def test_me_for_supplier_contact(world, api_for):
    body = api_for(world.supplier1).get(f"{API}/me/").json()
    assert body["primary_role"] == "supplier"
    assert body["memberships"] == []
    assert [s["code"] for s in body["suppliers"]] == ["S1"]


def test_me_requires_authentication(world):
    assert APIClient().get(f"{API}/me/").status_code == 401


def test_organizations_are_restricted(world, api_for):
    def slugs(user):
        return [o["slug"] for o in api_for(user).get(url("organizations")).json()["results"]]

    assert slugs(world.admin) == ["buyer"]
    assert slugs(world.outsider) == ["other"]
    assert slugs(world.supplier1) == []
    assert api_for(world.admin).get(url("organizations", world.other.pk)).status_code == 404


@pytest.mark.parametrize("kind", ["suppliers", *CHILDREN])
def test_user_without_role_cannot_create(world, api_for, kind):
    response = api_for(world.nobody).post(url(kind), {"supplier": world.s1.pk, "code": "N",
                                                      "name": "x"}, format="json")
    assert response.status_code == 403


def test_options_describes_the_endpoint(world, api_for):
    response = api_for(world.admin).options(url("suppliers"))
    assert response.status_code == 200
    assert "POST" in response.json()["actions"]
