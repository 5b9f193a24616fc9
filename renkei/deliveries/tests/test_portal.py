"""The supplier portal's delivery pages: a contact sees and registers only its own supplier's
deliveries, triages their findings, and never sees the buyer's licence policy."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from renkei.deliveries.models import Delivery, ForbiddenLicence
from renkei.deliveries.tests.helpers import delivery, vulnerable
from renkei.suppliers.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


def _en(client):
    client.cookies["django_language"] = "en"
    return client


def test_contact_lists_only_its_suppliers_deliveries(world, client_for):
    own = delivery(world.s1, product="自社の納品")
    other = delivery(world.s2, product="他社の納品")
    response = client_for(world.supplier1).get(reverse("deliveries:portal_list"))
    text = response.content.decode()
    assert response.status_code == 200
    assert f'data-delivery="{own.pk}"' in text and other.product not in text
    assert reverse("deliveries:portal_detail", args=[own.pk]) in text


def test_staff_are_sent_to_their_own_pages(world, client_for):
    row = delivery(world.s1)
    client = client_for(world.analyst)
    assert client.get(reverse("deliveries:portal_list"))["Location"] == reverse("deliveries:list")
    assert client.get(reverse("deliveries:portal_new"))["Location"] == reverse("deliveries:new")
    assert client.get(reverse("deliveries:portal_detail", args=[row.pk]))["Location"] == reverse(
        "deliveries:detail", args=[row.pk]
    )
    assert client_for(world.nobody).get(reverse("deliveries:portal_list")).status_code == 403


def test_contact_of_another_supplier_gets_404(world, client_for):
    row = vulnerable(world.s1, findings=1)
    client = client_for(world.supplier2)
    item = row.findings.get()
    for url in (
        reverse("deliveries:portal_detail", args=[row.pk]),
        reverse("deliveries:vex-export", args=[row.pk]),
        reverse("deliveries:triage", args=[item.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("deliveries:triage", args=[item.pk]), {"state": "fixed"}).status_code == 404


def test_portal_detail_hides_the_buyers_parts(world, client_for):
    row = vulnerable(world.s1, findings=1)
    ForbiddenLicence.objects.create(organization=world.buyer, identifier="GPL-3.0-only")
    text = (
        _en(client_for(world.supplier1))
        .get(reverse("deliveries:portal_detail", args=[row.pk]))
        .content.decode()
    )
    assert 'id="finding-table"' in text and 'id="component-table"' in text and 'id="artifact-table"' in text
    assert reverse("deliveries:licences") not in text
    assert reverse("suppliers:detail", args=[world.s1.pk]) not in text
    assert reverse("deliveries:triage", args=[row.findings.get().pk]) in text  # contacts may triage
    assert client_for(world.supplier1).get(reverse("deliveries:licences")).status_code == 403


def test_contact_registers_a_delivery_for_its_supplier(world, client_for, media):
    from renkei.deliveries.tests.factories import cyclonedx

    client = client_for(world.supplier1)
    form = client.get(reverse("deliveries:portal_new"))
    assert form.status_code == 200
    assert 'name="supplier"' not in form.content.decode()
    response = client.post(
        reverse("deliveries:portal_new"),
        {
            "product": "検査装置ソフト",
            "version": "3.0",
            "supplier": world.s2.pk,  # ignored: a contact of one supplier registers for it
            "sbom": SimpleUploadedFile(
                "bom.cdx.json", cyclonedx([("Django", "4.2.0", "pkg:pypi/django@4.2.0")])
            ),
        },
    )
    created = Delivery.objects.get()
    assert response["Location"] == reverse("deliveries:portal_detail", args=[created.pk])
    assert (created.supplier, created.source, created.submitted_by) == (world.s1, "portal", world.supplier1)


def test_contact_of_two_suppliers_chooses_among_its_own(world, client_for, media):
    from renkei.deliveries.tests.factories import cyclonedx

    Contact.objects.create(supplier=world.s2, name="兼務", user=world.supplier1, portal_access=True)
    client = client_for(world.supplier1)
    form = client.get(reverse("deliveries:portal_new")).content.decode()
    assert f'<option value="{world.s2.pk}"' in form and f'<option value="{world.x1.pk}"' not in form
    sbom = cyclonedx([("Django", "4.2.0", "pkg:pypi/django@4.2.0")])
    refused = client.post(
        reverse("deliveries:portal_new"),
        {
            "supplier": world.x1.pk,
            "product": "製品",
            "version": "1",
            "sbom": SimpleUploadedFile("b.json", sbom),
        },
    )
    assert refused.status_code == 400 and "supplier" in refused.context["form"].errors
    response = client.post(
        reverse("deliveries:portal_new"),
        {
            "supplier": world.s2.pk,
            "product": "製品",
            "version": "1",
            "sbom": SimpleUploadedFile("b.json", sbom),
        },
    )
    assert response.status_code == 302
    assert Delivery.objects.get().supplier == world.s2
    listing = client.get(reverse("deliveries:portal_list") + f"?supplier={world.s2.pk}").content.decode()
    assert "製品" in listing


def test_portal_form_errors_are_shown(world, client_for, media):
    response = _en(client_for(world.supplier1)).post(reverse("deliveries:portal_new"), {"product": "x"})
    assert response.status_code == 400
    assert "version" in response.context["form"].errors
    assert not Delivery.objects.exists()


def test_dashboard_card_links_the_portal(world, client_for):
    text = client_for(world.supplier1).get(reverse("dashboard")).content.decode()
    assert 'data-portal="deliveries"' in text
    assert reverse("deliveries:portal_new") in text
