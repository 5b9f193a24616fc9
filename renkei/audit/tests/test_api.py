"""/api/v1/audit-entries/: read-only, staff of the organization only, filterable."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-entries/"


@pytest.fixture
def changed(world, api_for):
    """Two audited changes in `buyer` (S1 renamed, a contact added to S2) and one in `other`."""
    api_for(world.admin).patch(f"/api/v1/suppliers/{world.s1.pk}/", {"notes": "確認済み"},
                               format="json")
    api_for(world.admin).post("/api/v1/contacts/", {"supplier": world.s2.pk, "name": "新担当"},
                              format="json")
    api_for(world.outsider).patch(f"/api/v1/suppliers/{world.x1.pk}/", {"notes": "x"},
                                  format="json")
    return world


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_staff_see_their_organizations_entries(changed, api_for):
    rows = results(api_for(changed.auditor).get(URL))
    assert [(r["object_type"], r["action"]) for r in rows] == [
        ("suppliers.supplier", "update"), ("suppliers.contact", "create"),
    ]
    assert rows[0]["changes"] == {"notes": ["", "確認済み"]}
    assert rows[0]["actor_label"] == "admin"
    assert {r["organization"] for r in rows} == {changed.buyer.pk}
    assert len(results(api_for(changed.outsider).get(URL))) == 1


def test_filter_by_object_and_supplier(changed, api_for):
    client = api_for(changed.admin)
    by_object = results(client.get(URL, {"object_type": "suppliers.supplier",
                                         "object_id": changed.s1.pk}))
    assert [r["object_id"] for r in by_object] == [str(changed.s1.pk)]
    by_supplier = results(client.get(URL, {"supplier": changed.s2.pk}))
    assert [r["object_type"] for r in by_supplier] == ["suppliers.contact"]
    assert results(client.get(URL, {"action": "create"}))[0]["supplier"] == changed.s2.pk
    assert results(client.get(URL, {"supplier": changed.x1.pk})) == []


def test_supplier_contacts_see_no_entries(changed, api_for):
    client = api_for(changed.supplier1)
    assert results(client.get(URL)) == []
    assert results(client.get(URL, {"supplier": changed.s1.pk})) == []


def test_foreign_entry_is_404(changed, api_for):
    from renkei.audit.models import AuditEntry

    buyer_entry = AuditEntry.objects.filter(organization=changed.buyer).first()
    assert api_for(changed.admin).get(f"{URL}{buyer_entry.pk}/").status_code == 200
    for user in (changed.outsider, changed.supplier1, changed.nobody):
        assert api_for(user).get(f"{URL}{buyer_entry.pk}/").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_entries_are_read_only(changed, api_for, method):
    from renkei.audit.models import AuditEntry

    entry = AuditEntry.objects.filter(organization=changed.buyer).first()
    target = URL if method == "post" else f"{URL}{entry.pk}/"
    response = getattr(api_for(changed.admin), method)(target, {"action": "delete"}, format="json")
    assert response.status_code == 405
    assert AuditEntry.objects.filter(pk=entry.pk, action=entry.action).exists()


def test_unauthenticated_is_401(changed):
    assert APIClient().get(URL).status_code == 401


@pytest.mark.parametrize("extra", [0, 40])
def test_list_query_count_is_constant(changed, api_for, django_assert_num_queries, extra):
    client = api_for(changed.admin)
    for i in range(extra):
        client.patch(f"/api/v1/suppliers/{changed.s1.pk}/", {"notes": f"n{i}"}, format="json")
    with django_assert_num_queries(3):  # token lookup, count, page
        client.get(URL, {"page_size": 100})
