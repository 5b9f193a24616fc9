"""The certificate pages and /api/v1/certificates/: who sees which certificate, revocation from the
page, and pinned query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.pki.ca import init_ca
from renkei.pki.models import Certificate
from renkei.pki.tests.helpers import SYSTEM, issue_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def certs(ca, world):
    init_ca(SYSTEM, world.other)
    return {
        "sato": issue_for(world.supplier1, world.buyer, "client", "PC-SATO-01"),
        "suzuki": issue_for(world.supplier2, world.buyer, "device", "PC-SUZUKI-02"),
        "admin": issue_for(world.admin, world.buyer, "smime"),
        "other": issue_for(world.outsider, world.other, "device", "OTHER-PC"),
    }


def listed(client, url=None, **params) -> set[str]:
    response = client.get(url or reverse("pki:list"), params)
    assert response.status_code == 200
    return {c.serial for c in response.context["page"].object_list}


def api_listed(client, **params) -> set[str]:
    response = client.get(reverse("certificate-list"), params)
    assert response.status_code == 200
    return {row["serial"] for row in response.json()["results"]}


def test_staff_see_their_organizations_certificates_only(world, certs, client_for, api_for):
    expected = {certs[k].serial for k in ("sato", "suzuki", "admin")}
    for user in (world.admin, world.analyst, world.auditor):
        assert listed(client_for(user)) == expected
        assert api_listed(api_for(user)) == expected
    assert (
        listed(client_for(world.outsider)) == api_listed(api_for(world.outsider)) == {certs["other"].serial}
    )


def test_a_supplier_contact_sees_only_the_certificates_bound_to_them(world, certs, client_for, api_for):
    client, api = client_for(world.supplier1), api_for(world.supplier1)
    assert listed(client) == api_listed(api) == {certs["sato"].serial}
    assert client.get(reverse("pki:detail", args=[certs["sato"].pk])).status_code == 200
    assert (
        client.get(reverse("pki:download", args=[certs["sato"].pk])).content.decode()
        == certs["sato"].certificate_pem
    )
    for key in ("suzuki", "admin", "other"):  # a colleague's at the same buyer is as foreign as any
        pk = certs[key].pk
        assert client.get(reverse("pki:detail", args=[pk])).status_code == 404
        assert client.get(reverse("pki:download", args=[pk])).status_code == 404
        assert client.post(reverse("pki:revoke", args=[pk]), {"reason": "keyCompromise"}).status_code == 404
        assert api.get(reverse("certificate-detail", args=[pk])).status_code == 404
    assert listed(client_for(world.nobody)) == set()


def test_another_organizations_staff_get_404(world, certs, client_for, api_for):
    client, api = client_for(world.outsider), api_for(world.outsider)
    pk = certs["sato"].pk
    assert client.get(reverse("pki:detail", args=[pk])).status_code == 404
    assert client.post(reverse("pki:revoke", args=[pk]), {"reason": "keyCompromise"}).status_code == 404
    assert api.get(reverse("certificate-detail", args=[pk])).status_code == 404
    assert Certificate.objects.get(pk=pk).revoked_at is None


def test_revocation_from_the_page(world, certs, client_for):
    cert = certs["sato"]
    url = reverse("pki:revoke", args=[cert.pk])
    for user in (world.auditor, world.supplier1):
        assert client_for(user).post(url, {"reason": "keyCompromise"}).status_code == 403
    analyst = client_for(world.analyst)
    page = analyst.get(reverse("pki:detail", args=[cert.pk]))
    assert page.context["can_revoke"] and 'name="reason"' in page.content.decode()
    entries = AuditEntry.objects.count()
    assert analyst.post(url, {"reason": "not-a-reason"}).status_code == 302
    assert Certificate.objects.get(pk=cert.pk).revoked_at is None
    assert analyst.post(url, {"reason": "affiliationChanged"}).status_code == 302
    cert.refresh_from_db()
    assert cert.revocation_reason == "affiliationChanged" and cert.revoked_by == world.analyst
    assert AuditEntry.objects.count() == entries + 1
    page = analyst.get(reverse("pki:detail", args=[cert.pk]))
    assert not page.context["can_revoke"]
    # The holder sees that it was revoked, not who did it.
    own = client_for(world.supplier1).get(reverse("pki:detail", args=[cert.pk])).content.decode()
    assert 'data-state="revoked"' in own and "analyst" not in own
    again = analyst.post(url, {"reason": "keyCompromise"}, follow=True)
    assert "に失効済みです" in again.content.decode()


def test_search_and_filters(world, certs, client_for, api_for):
    client, api = client_for(world.admin), api_for(world.admin)
    sato = certs["sato"]
    assert listed(client, q="supplier1") == {sato.serial}
    assert listed(client, q="PC-SUZUKI") == {certs["suzuki"].serial}
    assert listed(client, q=sato.serial[:10].lower()) == {sato.serial}
    assert listed(client, q=sato.fingerprint_sha256[:16]) == {sato.serial}
    assert listed(client, profile="smime") == api_listed(api, profile="smime") == {certs["admin"].serial}
    Certificate.objects.filter(pk=sato.pk).update(
        not_after=sato.not_before.replace(year=sato.not_before.year)
    )
    assert sato.serial in listed(client, state="expired")
    assert api_listed(api, state="valid") == {certs["suzuki"].serial, certs["admin"].serial}
    assert api_listed(api, expiring_days=400) == {certs["admin"].serial}  # the device's runs 730 days
    assert api_listed(api, expiring_days=10) == set()
    bad = client.get(reverse("pki:list"), {"state": "nonsense"})
    assert bad.status_code == 200 and not bad.context["page"].object_list
    assert api.get(reverse("certificate-list"), {"state": "nonsense"}).status_code == 400


def test_list_page_and_api_query_counts_do_not_grow_with_rows(
    world, certs, client_for, api_for, django_assert_num_queries
):
    client, api = client_for(world.admin), api_for(world.admin)
    client.get(reverse("pki:list"))  # warm caches (session, content types)
    with django_assert_num_queries(5):
        client.get(reverse("pki:list"))
    with django_assert_num_queries(3):
        api.get(reverse("certificate-list"))
    for _ in range(5):
        issue_for(world.supplier1, world.buyer)
    with django_assert_num_queries(5):
        assert len(client.get(reverse("pki:list")).context["page"].object_list) == 8
    with django_assert_num_queries(3):
        assert api.get(reverse("certificate-list")).json()["count"] == 8
