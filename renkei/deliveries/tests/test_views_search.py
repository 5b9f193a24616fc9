"""Portfolio search ("which deliveries contain …"), the open findings across deliveries, and the
licence policy page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.deliveries.models import Component, ForbiddenLicence
from renkei.deliveries.tests.helpers import advisory, delivery, finding, vulnerable

pytestmark = pytest.mark.django_db


def _en(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def log4j(world):
    """log4j-core 2.14.1 in an S1 delivery (with the Log4Shell finding), 2.17.1 in an S2 one, and
    2.14.0 in another buyer's delivery."""
    adv = advisory("GHSA-jfh8-c2jp-5v3q", aliases=["CVE-2021-44228"], severity="critical")
    rows = {}
    for name, supplier, version in (
        ("old", world.s1, "2.14.1"),
        ("new", world.s2, "2.17.1"),
        ("foreign", world.x1, "2.14.0"),
    ):
        row = delivery(supplier, product=f"製品-{name}", components=1)
        Component.objects.filter(delivery=row).update(
            name="log4j-core",
            version=version,
            package="log4j-core",
            purl=f"pkg:maven/org.apache.logging.log4j/log4j-core@{version}",
        )
        if version.startswith("2.14"):
            finding(row, row.components.get(), adv)
        rows[name] = row
    return rows


def test_which_deliveries_contain_a_component_and_version(world, client_for, log4j):
    client = client_for(world.analyst)
    text = client.get(reverse("deliveries:findings") + "?contains=log4j-core+2.14").content.decode()
    assert f'data-delivery="{log4j["old"].pk}"' in text
    assert f'data-delivery="{log4j["new"].pk}"' not in text and "製品-foreign" not in text
    every = client.get(reverse("deliveries:findings") + "?contains=log4j-core").content.decode()
    assert f'data-delivery="{log4j["new"].pk}"' in every


@pytest.mark.parametrize("text", ["CVE-2021-44228", "cve-2021-44228", "GHSA-jfh8-c2jp-5v3q"])
def test_which_deliveries_an_advisory_reaches(world, client_for, log4j, text):
    response = client_for(world.analyst).get(reverse("deliveries:findings") + f"?contains={text}")
    assert response.context["advisory_mode"]
    page = response.content.decode()
    assert f'data-delivery="{log4j["old"].pk}"' in page
    assert "製品-new" not in page and "製品-foreign" not in page


def test_nothing_found_says_so(world, client_for, log4j):
    text = (
        client_for(world.analyst).get(reverse("deliveries:findings") + "?contains=left-pad").content.decode()
    )
    assert 'id="no-hits"' in text


def test_open_findings_across_the_portfolio_worst_first(world, client_for):
    vulnerable(world.s1, findings=3)
    vulnerable(world.x1, findings=2, product="他社")
    response = client_for(world.auditor).get(reverse("deliveries:findings"))
    rows = list(response.context["page"].object_list)
    assert [r.severity for r in rows] == ["critical", "high", "medium"]
    assert "他社" not in response.content.decode()
    filtered = client_for(world.auditor).get(reverse("deliveries:findings") + "?severity=high")
    assert [r.severity for r in filtered.context["page"].object_list] == ["high"]


def test_portfolio_search_is_for_staff(world, client_for):
    assert client_for(world.supplier1).get(reverse("deliveries:findings")).status_code == 403


def test_portfolio_query_count(world, client_for, django_assert_max_num_queries):
    for index in range(10):
        vulnerable(world.s1, findings=5, product=f"製品{index}")
    client = client_for(world.analyst)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("deliveries:findings") + "?contains=lib-1")
    assert response.context["page"].paginator.count == 50


# --- Licence policy ------------------------------------------------------------------------------


def test_admin_forbids_and_allows_a_licence(world, client_for):
    client = _en(client_for(world.admin))
    response = client.post(
        reverse("deliveries:licences"), {"identifier": "AGPL-3.0-only", "note": "社内規程"}
    )
    assert response.status_code == 302
    row = ForbiddenLicence.objects.get(organization=world.buyer)
    assert row.identifier == "AGPL-3.0-only"
    assert 'data-licence="AGPL-3.0-only"' in client.get(reverse("deliveries:licences")).content.decode()
    assert client.post(reverse("deliveries:licence-remove", args=[row.pk])).status_code == 302
    assert not ForbiddenLicence.objects.exists()
    assert AuditEntry.objects.filter(object_type="deliveries.forbiddenlicence").count() == 2


def test_a_bad_identifier_is_shown_on_the_field(world, client_for):
    response = _en(client_for(world.analyst)).post(
        reverse("deliveries:licences"), {"identifier": "not a licence!"}
    )
    assert response.status_code == 400 and "identifier" in response.context["form"].errors
    assert not ForbiddenLicence.objects.exists()


def test_auditor_reads_the_policy_but_cannot_change_it(world, client_for):
    row = ForbiddenLicence.objects.create(organization=world.buyer, identifier="GPL-3.0-only")
    client = client_for(world.auditor)
    page = client.get(reverse("deliveries:licences"))
    assert page.status_code == 200 and 'id="licence-form"' not in page.content.decode()
    assert client.post(reverse("deliveries:licences"), {"identifier": "MIT"}).status_code == 403
    assert client.post(reverse("deliveries:licence-remove", args=[row.pk])).status_code == 403
    assert ForbiddenLicence.objects.count() == 1


def test_contacts_and_other_buyers_do_not_reach_the_policy(world, client_for):
    row = ForbiddenLicence.objects.create(organization=world.buyer, identifier="GPL-3.0-only")
    assert client_for(world.supplier1).get(reverse("deliveries:licences")).status_code == 403
    assert (
        client_for(world.supplier1).post(reverse("deliveries:licence-remove", args=[row.pk])).status_code
        == 404
    )
    other = client_for(world.outsider)
    assert 'data-licence="GPL-3.0-only"' not in other.get(reverse("deliveries:licences")).content.decode()
    assert other.post(reverse("deliveries:licence-remove", args=[row.pk])).status_code == 404
    assert ForbiddenLicence.objects.count() == 1
