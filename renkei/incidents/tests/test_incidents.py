"""Incidents: recording, triage and the obligations that follow the facts, what the map says an
incident reaches, the timeline, actions afterwards, and who may see and do what on staff pages."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from renkei.audit.services import Actor
from renkei.graph.services import create_edge, create_node
from renkei.incidents import affected, services
from renkei.incidents.models import Event, EventKind, Incident, ObligationStatus, Source, Status
from renkei.remediation.models import ActionSource

pytestmark = pytest.mark.django_db


def _intake(**extra):
    data = {
        "title": "メールサーバーへの不正アクセス",
        "description": "当社のメールサーバーが乗っ取られ、取引先に偽の請求書メールが送られた。",
        "detected_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "systems_text": "メールサーバー",
        "data_text": "取引先の連絡先",
        "personal_data": "on",
        "persons_affected": "1000",
        "current_state": "サーバーを隔離済み",
    }
    data.update(extra)
    return data


def _triage(incident, **facts):
    data = {
        "status": Status.INVESTIGATING,
        "severity": "high",
        "category": "mail_takeover",
        "aware_at": timezone.localtime(incident.aware_at).strftime("%Y-%m-%dT%H:%M:%S"),
        "persons_affected": str(incident.persons_affected or 0),
    }
    if incident.personal_data:
        data["personal_data"] = "on"
    data.update({k: v for k, v in facts.items() if v is not None})
    return data


def _rules(incident):
    return {o.rule_id: o for o in incident.obligations.filter(withdrawn=False)}


def test_supplier_report_numbers_the_incident_and_starts_the_timeline(world, smtp):
    incident = services.report(Actor(user=world.supplier1, label="supplier1"), world.s1, _intake())
    assert incident.number == f"INC-{timezone.localtime().year}-0001"
    assert incident.source == Source.PORTAL and incident.supplier == world.s1
    assert incident.reporter_email == "supplier1@example.jp"
    second = services.report(Actor(user=world.supplier1), world.s1, _intake(title="二件目"))
    assert second.number.endswith("-0002")
    kinds = list(Event.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds[0] == EventKind.REPORTED


def test_report_refuses_bad_input_and_writes_nothing(world):
    future = (timezone.localtime() + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    with pytest.raises(services.IncidentError) as caught:
        services.report(
            Actor(user=world.supplier1),
            world.s1,
            _intake(title="", detected_at=future, persons_affected="-5"),
        )
    assert set(caught.value.errors) == {"title", "detected_at", "persons_affected"}
    assert Incident.objects.count() == 0 and Event.objects.count() == 0


def test_a_contact_cannot_report_for_another_supplier(world):
    with pytest.raises(services.NotAllowed):
        services.report(Actor(user=world.supplier1), world.s2, _intake())
    assert Incident.objects.count() == 0


def test_obligations_follow_the_facts_at_the_1000_person_boundary(world):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake(persons_affected="1000"))
    assert not any(rule.startswith("ppc") for rule in _rules(incident))
    admin = Actor(user=world.admin, label="admin")
    incident = services.triage(admin, incident, _triage(incident, persons_affected="1001"))
    found = _rules(incident)
    assert any(rule.startswith("ppc") for rule in found)
    final = next(
        o
        for rule, o in found.items()
        if rule.startswith("ppc") and o.due_at and (o.due_at - incident.aware_at).days >= 20
    )
    thirty = final.due_at
    # Unauthorized access makes the final report due in 60 days instead of 30.
    incident = services.triage(
        admin, incident, _triage(incident, persons_affected="1001", unauthorized_access="on")
    )
    assert (_rules(incident)[final.rule_id].due_at - thirty).days == 30
    # Back to 1,000 people without wrongdoing: the PPC obligations are withdrawn, not deleted.
    incident = services.triage(admin, incident, _triage(incident, persons_affected="1000"))
    withdrawn = incident.obligations.get(rule_id=final.rule_id)
    assert withdrawn.withdrawn
    texts = "\n".join(
        Event.objects.filter(incident=incident, kind=EventKind.OBLIGATION).values_list("text", flat=True)
    )
    assert "該当しなくなりました: 個人情報保護委員会への確報" in texts


def test_owner_and_status_of_an_obligation_survive_a_recompute(world):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake(persons_affected="5000"))
    admin = Actor(user=world.admin)
    row = incident.obligations.exclude(due_at=None).first()
    services.update_obligation(admin, row, status=ObligationStatus.DONE, owner=world.analyst, note="速報済み")
    services.triage(admin, incident, _triage(incident, persons_affected="6000"))
    row.refresh_from_db()
    assert (row.status, row.owner, row.note) == (ObligationStatus.DONE, world.analyst, "速報済み")
    assert row.done_at is not None
    with pytest.raises(services.IncidentError):
        services.update_obligation(admin, row, status=ObligationStatus.OPEN, owner=world.outsider)


def test_auditor_and_contact_cannot_triage(world):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake())
    for user in (world.auditor, world.supplier1, world.outsider):
        with pytest.raises(services.NotAllowed):
            services.triage(Actor(user=user), incident, _triage(incident))


def test_affected_items_come_from_the_map(world):
    admin = Actor(user=world.admin)
    org = world.buyer.pk
    create_node(admin, org, key="SYS-MES", kind="system", name="生産管理システム")
    create_node(admin, org, key="DATA-DRAW", kind="data", name="図面データ", attributes={"records": 500})
    create_edge(admin, org, source="S1", target="SYS-MES", kind="accesses")
    create_edge(admin, org, source="SYS-MES", target="DATA-DRAW", kind="hosts_data")
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake())
    items = {i.name: i for i in incident.affected.all()}
    assert set(items) >= {"生産管理システム", "図面データ"}
    assert items["図面データ"].hops == 2
    # Set aside survives a recompute; hand-added suppliers stay.
    affected.set_excluded(admin, items["図面データ"], True)
    affected.add_supplier(admin, incident, world.s2)
    assert affected.recompute(admin, incident) >= 2
    after = {i.name: i for i in incident.affected.all()}
    assert after["図面データ"].excluded and world.s2.name in after


def test_an_incident_without_a_map_node_has_no_computed_items(world):
    incident = services.record_incident(Actor(user=world.admin), world.buyer, _intake())
    assert incident.affected.count() == 0 and incident.source == Source.STAFF


def test_timeline_messages_and_what_the_supplier_sees(world):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake())
    admin = Actor(user=world.admin)
    services.add_event(admin, incident, kind=EventKind.DECISION, text="社内CSIRTで対応")
    services.add_event(
        admin, incident, kind=EventKind.MESSAGE, text="ログを保全してください", supplier_visible=True
    )
    services.add_event(Actor(user=world.supplier1), incident, kind=EventKind.DECISION, text="保全しました")
    supplier_view = [e.text for e in services.events_for(world.supplier1, incident)]
    assert "ログを保全してください" in supplier_view and "保全しました" in supplier_view
    assert "社内CSIRTで対応" not in supplier_view
    staff_view = [e.text for e in services.events_for(world.admin, incident)]
    assert "社内CSIRTで対応" in staff_view
    # The contact's message is a message, whatever kind was asked for.
    assert Event.objects.get(text="保全しました").kind == EventKind.MESSAGE
    with pytest.raises(services.NotAllowed):
        services.add_event(Actor(user=world.supplier2), incident, kind=EventKind.MESSAGE, text="x")


def test_lessons_actions_go_into_the_suppliers_plan(world):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake())
    action = services.add_action(
        Actor(user=world.admin), incident, title="メールサーバーの多要素認証", due_on="2027-01-31"
    )
    assert action.source == ActionSource.INCIDENT and action.plan.supplier == world.s1
    assert list(incident.actions.all()) == [action]


def test_staff_pages_in_japanese_and_access(world, client_for):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake(persons_affected="1500"))
    url = reverse("incidents:detail", args=[incident.pk])
    page = client_for(world.admin).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert incident.number in text and "個人情報保護委員会" in text
    assert client_for(world.auditor).get(url).status_code == 200
    assert client_for(world.outsider).get(url).status_code == 404
    assert client_for(world.supplier1).get(url).status_code == 404
    listing = client_for(world.admin).get(reverse("incidents:list")).content.decode()
    assert incident.number in listing
    assert incident.number not in client_for(world.outsider).get(reverse("incidents:list")).content.decode()
    triage_url = reverse("incidents:triage", args=[incident.pk])
    assert client_for(world.auditor).post(triage_url, _triage(incident)).status_code == 403
    assert client_for(world.outsider).post(triage_url, _triage(incident)).status_code == 404


def test_triage_page_shows_errors_in_japanese_and_changes_nothing(world, client_for):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake())
    response = client_for(world.admin).post(
        reverse("incidents:triage", args=[incident.pk]), _triage(incident, aware_at="昨日", status="nonsense")
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "日時を正しく入力してください。" in body and "nonsense は候補にありません。" in body
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED


def test_staff_records_an_incident_from_the_page(world, client_for):
    response = client_for(world.analyst).post(
        reverse("incidents:new"),
        {
            **_intake(),
            "supplier": world.s2.pk,
            "reporter_name": "電話: 鈴木",
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.supplier == world.s2 and incident.reporter_name == "電話: 鈴木"
    foreign = client_for(world.analyst).post(reverse("incidents:new"), {**_intake(), "supplier": world.x1.pk})
    assert foreign.status_code == 400 and Incident.objects.count() == 1


def test_detail_page_query_count_is_pinned(world, client_for, django_assert_max_num_queries):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake(persons_affected="5000"))
    for n in range(20):
        services.add_event(Actor(user=world.admin), incident, kind=EventKind.NOTE, text=f"メモ{n}")
    client = client_for(world.admin)
    client.get(reverse("incidents:detail", args=[incident.pk]))
    with django_assert_max_num_queries(30):
        assert client.get(reverse("incidents:detail", args=[incident.pk])).status_code == 200
