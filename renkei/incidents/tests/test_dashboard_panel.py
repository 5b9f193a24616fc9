"""The dashboard's incidents panel: open incidents, obligations due within 3 days, overdue ones in
red with a link to their incident; only the user's own organizations; a pinned query cost."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from renkei.incidents.deadlines import dashboard_panel
from renkei.incidents.models import Status
from renkei.incidents.tests.test_deadlines import incident, obligation

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def _panel(page: str) -> str:
    start = page.index('id="dashboard-incidents"')
    return page[start : page.index("</section>", start)]


def test_overdue_obligations_are_red_and_link_to_their_incident(world, client_for):
    now = timezone.now()
    ours = incident(world, title="請求書なりすましメール")
    obligation(ours, rule="late", due_at=now - 2 * HOUR)
    obligation(ours, rule="soon", due_at=now + 30 * HOUR)
    obligation(ours, rule="later", due_at=now + 10 * 24 * HOUR)  # neither
    obligation(ours, rule="gone", due_at=now - HOUR, withdrawn=True)
    closed = incident(world, title="解決済みの件")
    closed.status = Status.CLOSED
    closed.save(update_fields=["status"])
    foreign = incident(world, world.other, title="他社の機密インシデント")
    obligation(foreign, rule="foreign", due_at=now - HOUR)
    page = client_for(world.analyst).get(reverse("dashboard")).content.decode()
    panel = _panel(page)
    with translation.override("ja"):  # 「インシデント」 once the catalog has it (the lead merges it)
        assert f">{gettext('Incidents')}</a></h2>" in panel
    assert 'data-stat="incidents-open"><span class="num">1<' in panel
    assert 'class="stat warn" data-stat="obligations-soon"><span class="num">1<' in panel
    assert 'class="stat bad" data-stat="obligations-overdue"><span class="num">1<' in panel
    overdue = panel[panel.rindex("<li", 0, panel.index('data-obligation="overdue"')) :]
    overdue = overdue[: overdue.index("</li>")]
    assert 'class="notice bad"' in overdue and "期限超過" in overdue
    assert reverse("incidents:detail", args=[ours.pk]) + "#obligations" in overdue
    assert ours.number in overdue and "請求書なりすましメール" in overdue
    assert "個人情報保護委員会への報告（late）" in overdue  # the obligation, in the user's language
    assert timezone.localtime(now - 2 * HOUR).strftime("%Y-%m-%d %H:%M") in overdue
    assert panel.count('data-obligation="soon"') == 1 and "（later）" not in panel and "（gone）" not in panel
    assert foreign.number not in page and "他社の機密インシデント" not in page
    # The other organization's admin sees its own incident, not ours.
    theirs = _panel(client_for(world.outsider).get(reverse("dashboard")).content.decode())
    assert foreign.number in theirs and ours.number not in theirs


def test_supplier_contacts_do_not_get_the_panel(world, client_for):
    obligation(incident(world), due_at=timezone.now() - HOUR)
    page = client_for(world.supplier1).get(reverse("dashboard")).content.decode()
    assert 'id="dashboard-incidents"' not in page


def test_an_organization_without_incidents_sees_zeros(world, client_for):
    panel = _panel(client_for(world.auditor).get(reverse("dashboard")).content.decode())
    assert 'data-stat="obligations-overdue"><span class="num">0<' in panel
    assert 'class="stat bad"' not in panel


def test_the_panel_costs_one_query_or_two_when_something_is_due(world, django_assert_num_queries):
    # Pinned: the panel adds these to the dashboard (one aggregate; the rows only when needed),
    # whatever the number of incidents and obligations.
    with django_assert_num_queries(1):
        dashboard_panel(world.analyst)
    now = timezone.now()
    for n in range(3):
        ours = incident(world)
        obligation(ours, rule=f"late-{n}", due_at=now - HOUR)
        obligation(ours, rule=f"soon-{n}", due_at=now + HOUR)
    with django_assert_num_queries(2):
        panel = dashboard_panel(world.analyst)
    assert (panel["open"], panel["overdue"], panel["soon"], len(panel["rows"])) == (3, 3, 3, 6)
