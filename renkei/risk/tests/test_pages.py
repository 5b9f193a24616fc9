"""Risk pages and API: staff see ratings; supplier contacts and other buyers never do."""

from __future__ import annotations

import pytest
from django.urls import reverse

from renkei.risk.models import RiskSettings, SupplierRisk
from renkei.risk.services import recompute_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(world):
    recompute_organization(world.buyer)
    recompute_organization(world.other)
    return world


def test_overview_shows_the_heatmap_with_links_to_the_cells(rated, client_for):
    response = client_for(rated.analyst).get(reverse("risk:overview"))
    assert response.status_code == 200
    risk = SupplierRisk.objects.get(supplier=rated.s1)
    cell = f"risk_impact={risk.impact}&amp;risk_likelihood={risk.likelihood}"
    assert cell in response.content.decode()
    assert rated.x1.name not in response.content.decode()


def test_heatmap_cell_link_lists_exactly_the_suppliers_in_it(rated, client_for):
    risk = SupplierRisk.objects.get(supplier=rated.s1)
    url = (f"{reverse('suppliers:list')}?organization={rated.buyer.pk}"
           f"&risk_impact={risk.impact}&risk_likelihood={risk.likelihood}")
    page = client_for(rated.analyst).get(url)
    codes = [s.code for s in page.context["page"].object_list]
    expected = sorted(SupplierRisk.objects.filter(
        organization=rated.buyer, impact=risk.impact, likelihood=risk.likelihood
    ).values_list("supplier__code", flat=True))
    assert sorted(codes) == expected and "S1" in codes
    level = client_for(rated.analyst).get(f"{reverse('suppliers:list')}?risk_level={risk.level}")
    assert "S1" in [s.code for s in level.context["page"].object_list]


def test_supplier_contact_cannot_learn_its_rating_from_the_list_filter(rated, client_for):
    risk = SupplierRisk.objects.get(supplier=rated.s1)
    client = client_for(rated.supplier1)
    for query in (f"risk_level={risk.level}", f"risk_impact={risk.impact}", "risk_impact=1",
                  "risk_level=low"):
        page = client.get(f"{reverse('suppliers:list')}?{query}")
        assert list(page.context["page"].object_list) == [], query


def test_supplier_tab_explains_every_factor(rated, client_for):
    response = client_for(rated.auditor).get(reverse("suppliers:detail", args=[rated.s1.pk]) + "?tab=risk")
    text = response.content.decode()
    risk = SupplierRisk.objects.get(supplier=rated.s1)
    assert response.status_code == 200
    for factor in risk.factor_list():
        assert factor["reason"] in text
    for reason in risk.impact_list():
        assert reason["reason"] in text


def test_supplier_contact_sees_no_risk_tab(rated, client_for):
    client = client_for(rated.supplier1)
    page = client.get(reverse("suppliers:detail", args=[rated.s1.pk]) + "?tab=risk")
    assert page.status_code == 200 and page.context["tab"] == "overview"
    assert "risk" not in dict(page.context["tabs"])
    assert 'id="supplier-risk"' not in page.content.decode()
    dashboard = client.get(reverse("dashboard"))
    assert 'id="dashboard-risk"' not in dashboard.content.decode()


@pytest.mark.parametrize("name", ["risk:overview", "risk:settings"])
def test_risk_pages_are_for_staff_only(rated, client_for, name):
    for user in (rated.supplier1, rated.nobody):
        assert client_for(user).get(reverse(name)).status_code == 403
    assert client_for(rated.supplier1).post(reverse("risk:recompute")).status_code == 403


def test_dashboard_has_the_small_heatmap(rated, client_for):
    text = client_for(rated.auditor).get(reverse("dashboard")).content.decode()
    assert 'id="dashboard-risk"' in text and 'id="risk-heatmap"' in text


def test_only_admins_change_settings_and_errors_name_fields(rated, client_for):
    url = reverse("risk:settings")
    assert client_for(rated.analyst).get(url).status_code == 403
    assert client_for(rated.auditor).post(reverse("risk:recompute")).status_code == 403
    client = client_for(rated.admin)
    assert client.get(url).status_code == 200
    bad = client.post(url, {"config": '{"impact": {"access": {"vpn": 0}}}'})
    assert bad.status_code == 400 and "impact.access.vpn" in bad.content.decode()
    assert client.post(url, {"config": "{nope"}).status_code == 400
    good = client.post(url, {"config": '{"criticality": {"1": 5, "2": 4}}'})
    assert good.status_code == 302
    assert RiskSettings.objects.get(organization=rated.buyer).config["criticality"] == {"1": 5, "2": 4}
    assert client.post(url, {"reset": "1"}).status_code == 302
    # Another organization's id is not found.
    assert client.get(url + f"?organization={rated.other.pk}").status_code == 404


def test_analyst_can_recompute(rated, client_for):
    SupplierRisk.objects.all().delete()
    response = client_for(rated.analyst).post(reverse("risk:recompute"))
    assert response.status_code == 302
    assert SupplierRisk.objects.filter(organization=rated.buyer).count() == 2
    assert not SupplierRisk.objects.filter(organization=rated.other).exists()


def test_api_lists_and_explains_risks_for_staff(rated, api_for):
    client = api_for(rated.auditor)
    listed = client.get(reverse("supplierrisk-list")).json()
    assert {row["supplier_code"] for row in listed["results"]} == {"S1", "S2"}
    row = client.get(reverse("supplierrisk-detail", args=[rated.s1.pk])).json()
    assert row["supplier"] == rated.s1.pk and row["factors"] and row["impact_factors"]
    assert {"name", "contribution", "reason"} <= set(row["factors"][0])
    assert client.get(reverse("supplierrisk-detail", args=[rated.x1.pk])).status_code == 404
    level = SupplierRisk.objects.get(supplier=rated.s1).level
    assert client.get(reverse("supplierrisk-list") + f"?level={level}").json()["count"] >= 1
    settings = client.get(reverse("risksettings-list")).json()
    assert [row["organization"] for row in settings] == [rated.buyer.pk]
    assert settings[0]["customized"] is False and len(settings[0]["config"]["matrix"]) == 5


def test_api_gives_supplier_contacts_nothing(rated, api_for):
    client = api_for(rated.supplier1)
    assert client.get(reverse("supplierrisk-list")).json()["count"] == 0
    assert client.get(reverse("supplierrisk-detail", args=[rated.s1.pk])).status_code == 404
    assert client.get(reverse("risksettings-list")).json() == []
    assert client.post(reverse("supplierrisk-list"), {}).status_code in (403, 405)


def test_overview_of_an_empty_organization(world, client_for):
    response = client_for(world.outsider).get(reverse("risk:overview"))
    assert response.status_code == 200
    assert 'id="risk-heatmap"' not in response.content.decode()
