"""The attention list on the dashboard and /monitoring/, acknowledging, the API, and the
number of queries of both pages (constant in the number of alerts)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from renkei.audit.models import AuditEntry
from renkei.monitoring.models import Alert
from renkei.monitoring.services import run_daily, write_snapshots
from renkei.monitoring.tests.conftest import set_level
from renkei.suppliers.models import Certification, Contract, Supplier

pytestmark = pytest.mark.django_db


def make_alerts(world, n: int) -> None:
    """N alerts on N suppliers (certifications expiring soon), through the daily job."""
    today = timezone.localdate()
    suppliers = Supplier.objects.bulk_create([
        Supplier(organization=world.buyer, code=f"B{i:03d}", name=f"部品{i}株式会社") for i in range(n)])
    Certification.objects.bulk_create([
        Certification(supplier=s, kind="isms", number=str(i),
                      expires_on=today + datetime.timedelta(days=10 + i))
        for i, s in enumerate(suppliers)])
    from renkei.risk.services import recompute_organization

    recompute_organization(world.buyer)
    run_daily(today, mail=False)


@pytest.fixture
def alerting(rated):
    Contract.objects.all().delete()
    Certification.objects.all().delete()
    set_level(rated.s1, "critical", criticality=1, factors=[
        {"name": "critical_items", "contribution": 1.0, "params": {"items": ["S-07"]}}])
    set_level(rated.s2, "low")
    today = timezone.localdate()
    Certification.objects.create(supplier=rated.s2, kind="pmark", number="P",
                                 expires_on=today + datetime.timedelta(days=15))
    run_daily(today, mail=False)
    return rated


def test_dashboard_lists_what_to_look_at_first_with_the_reason(alerting, client_for):
    page = client_for(alerting.analyst).get("/")
    text = page.content.decode()
    assert page.status_code == 200 and 'id="attention"' in text
    first = text.index('data-kind="critical_gap"')
    assert first < text.index('data-kind="certification_expiring_30"')
    assert "S-07" in text  # why: the critical item not done


def test_monitoring_page_filters_and_acknowledge(alerting, client_for):
    client = client_for(alerting.analyst)
    page = client.get(f"/monitoring/?organization={alerting.buyer.pk}&kind=certification_expiring_30")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-kind="certification_expiring_30"' in text and 'data-alert' in text
    assert '<li class="alert-row" data-kind="critical_gap"' not in text
    alert = Alert.objects.get(kind="critical_gap")
    entries = AuditEntry.objects.count()
    response = client.post(f"/monitoring/alerts/{alert.pk}/acknowledge/", {"next": "/monitoring/"})
    assert response.status_code == 302 and response["Location"] == "/monitoring/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == alerting.analyst and alert.resolved_at is None
    assert AuditEntry.objects.count() == entries + 1
    # Off the attention list, on the acknowledged filter.
    assert 'data-kind="critical_gap"' not in client.get("/").content.decode()
    acked = client.get("/monitoring/?state=acknowledged").content.decode()
    assert f'data-alert="{alert.pk}"' in acked
    # An off-site next is ignored.
    other = Alert.objects.get(kind="certification_expiring_30")
    response = client.post(f"/monitoring/alerts/{other.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert response["Location"].startswith("/monitoring/")


def test_auditor_reads_but_cannot_acknowledge(alerting, client_for, api_for):
    alert = Alert.objects.get(kind="critical_gap")
    assert client_for(alerting.auditor).get("/monitoring/").status_code == 200
    assert client_for(alerting.auditor).post(f"/monitoring/alerts/{alert.pk}/acknowledge/").status_code == 403
    assert api_for(alerting.auditor).post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_supplier_contacts_and_outsiders_see_no_alerts(alerting, client_for, api_for):
    alert = Alert.objects.get(kind="critical_gap")
    for user in (alerting.supplier1, alerting.outsider):
        assert client_for(user).post(f"/monitoring/alerts/{alert.pk}/acknowledge/").status_code == 404
        api = api_for(user)
        assert api.get("/api/v1/alerts/").json()["results"] == []
        assert api.get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    assert client_for(alerting.supplier1).get("/monitoring/").status_code == 403
    assert 'id="attention"' not in client_for(alerting.supplier1).get("/").content.decode()


def test_api_lists_in_attention_order_and_acknowledges(alerting, api_for):
    api = api_for(alerting.admin)
    rows = api.get("/api/v1/alerts/?state=open").json()["results"]
    # S1 (critical, registered 2025-01-10, never assessed) is also past its 6-month cadence.
    assert [r["kind"] for r in rows] == ["critical_gap", "certification_expiring_30", "assessment_stale"]
    assert rows[0]["supplier_code"] == "S1" and "S-07" in rows[0]["reason"]
    acked = api.post(f"/api/v1/alerts/{rows[0]['id']}/acknowledge/").json()
    assert acked["acknowledged_by"] == "admin"
    assert [r["kind"] for r in api.get("/api/v1/alerts/?state=open").json()["results"]] == [
        "certification_expiring_30", "assessment_stale"]
    assert len(api.get("/api/v1/alerts/?kind=critical_gap").json()["results"]) == 1


def test_supplier_risk_tab_shows_the_trend(alerting, client_for):
    today = timezone.localdate()
    write_snapshots(alerting.buyer.pk, today - datetime.timedelta(days=1))
    set_level(alerting.s1, "high")
    write_snapshots(alerting.buyer.pk, today)
    text = client_for(alerting.analyst).get(f"/suppliers/{alerting.s1.pk}/?tab=risk").content.decode()
    assert 'id="supplier-trend"' in text and "<svg" in text and "line-level" in text
    page = client_for(alerting.analyst).get("/monitoring/").content.decode()
    assert 'id="portfolio-trend"' in page and "area-critical" in page


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_counts_do_not_grow_with_the_alerts(rated, client_for):
    client = client_for(rated.admin)
    make_alerts(rated, 3)
    small = (_queries(client, "/"), _queries(client, "/monitoring/"))
    Supplier.objects.filter(code__startswith="B").delete()
    make_alerts(rated, 40)
    large = (_queries(client, "/"), _queries(client, "/monitoring/"))
    assert small == large
    # Pinned: the monitoring page runs 11 queries (the dashboard's total belongs to several apps;
    # the attention card adds 3 to it, constant as checked above).
    assert large[1] == 11, large
