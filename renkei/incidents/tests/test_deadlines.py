"""Deadline warnings (renkei.incidents.deadlines): each stage once at the right time, one mail per
person listing all their obligations, failed sends retried, closed obligations silent. Mail goes
through a real SMTP server (aiosmtpd); time is passed explicitly."""

from __future__ import annotations

import datetime
import logging
import socket

import pytest
from django.utils import timezone

from renkei.accounts.tests.conftest import smtp  # noqa: F401 - the real aiosmtpd server fixture
from renkei.incidents.deadlines import warn_deadlines
from renkei.incidents.models import Incident, Obligation, ObligationStatus

pytestmark = pytest.mark.django_db

DUE = datetime.datetime(2026, 12, 10, 23, 59, 59, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
_numbers = iter(range(1, 1000))


def incident(world, organization=None, title="メールサーバーの乗っ取り", supplier=None) -> Incident:
    organization = organization or world.buyer
    aware = DUE - 5 * DAY
    return Incident.objects.create(
        organization=organization,
        number=f"INC-2026-{next(_numbers):04d}",
        title=title,
        supplier=supplier
        if supplier is not None
        else (world.s1 if organization == world.buyer else world.x1),
        source="staff",
        description="なりすましメールが取引先に送られた",
        detected_at=aware,
        aware_at=aware,
    )


def obligation(of: Incident, *, due_at=DUE, owner=None, rule="ppc-preliminary", **extra) -> Obligation:
    return Obligation.objects.create(
        incident=of,
        rule_id=rule,
        rules_version="2026-12-01",
        authority="ppc",
        kind="report",
        title_ja=f"個人情報保護委員会への報告（{rule}）",
        title_en=f"Report to the PPC ({rule})",
        basis="個人情報保護法第26条",
        due_at=due_at,
        owner=owner,
        **extra,
    )


def warned(row: Obligation) -> str:
    row.refresh_from_db()
    return row.warned


def test_each_stage_is_sent_once_at_its_time(world, smtp):  # noqa: F811
    row = obligation(incident(world), owner=world.analyst)
    assert warn_deadlines(DUE - 3 * DAY - HOUR)["warned"] == 0  # more than 3 days left
    assert smtp.messages == [] and warned(row) == ""
    first = warn_deadlines(DUE - 3 * DAY + HOUR)
    assert first["stages"] == {"3d": 1, "1d": 0, "overdue": 0} and first["mails"] == 1
    assert warned(row) == "3d"
    assert warn_deadlines(DUE - 2 * DAY)["warned"] == 0  # the same stage is not sent twice
    assert warn_deadlines(DUE - DAY + HOUR)["stages"]["1d"] == 1 and warned(row) == "1d"
    assert warn_deadlines(DUE - HOUR)["warned"] == 0
    assert warn_deadlines(DUE + HOUR)["stages"]["overdue"] == 1 and warned(row) == "overdue"
    assert warn_deadlines(DUE + 5 * DAY)["warned"] == 0  # overdue is said once
    stages = [m.message.get_body(("html",)).get_content() for m in smtp.messages]
    assert [m.recipients for m in smtp.messages] == [["analyst@example.jp"]] * 3
    assert [
        'data-stage="3d"' in stages[0],
        'data-stage="1d"' in stages[1],
        'data-stage="overdue"' in stages[2],
    ] == [True, True, True]


def test_an_obligation_found_late_jumps_to_its_stage(world, smtp):  # noqa: F811
    soon = obligation(incident(world), owner=world.analyst, rule="a")
    late = obligation(incident(world), owner=world.analyst, rule="b", due_at=DUE - 2 * DAY)
    result = warn_deadlines(DUE - 12 * HOUR)
    assert (warned(soon), warned(late)) == ("1d", "overdue")
    assert result["stages"] == {"3d": 0, "1d": 1, "overdue": 1}
    assert len(smtp.messages) == 1  # both in one mail, no 3-day mail first


def test_one_mail_per_person_lists_all_their_obligations(world, smtp):  # noqa: F811
    world.admin.language = "en"
    world.admin.save(update_fields=["language"])
    first, second = incident(world), incident(world, title="VPN機器の脆弱性")
    obligation(first, owner=world.analyst, rule="one")
    obligation(second, owner=world.analyst, rule="two", due_at=DUE - DAY)
    obligation(second, rule="unowned", due_at=DUE + DAY)  # nobody owns it: admins and analysts
    obligation(incident(world, world.other), owner=world.outsider, rule="foreign")
    result = warn_deadlines(DUE - HOUR)
    assert result["warned"] == 4 and result["mails"] == 3 and result["failed"] == 0
    to_analyst = smtp.to("analyst@example.jp")
    assert len(to_analyst) == 1
    text = to_analyst[0].text
    for expected in (
        "（one）",
        "（two）",
        "（unowned）",
        first.number,
        second.number,
        "VPN機器の脆弱性",
        f"/incidents/{first.pk}/#obligations",
    ):
        assert expected in text, expected
    assert "foreign" not in text
    # The admin hears only of the unowned one, in English (its language); the auditor of nothing.
    to_admin = smtp.to("admin@example.jp")
    assert len(to_admin) == 1 and "Report to the PPC (unowned)" in to_admin[0].text
    assert "(one)" not in to_admin[0].text and "（unowned）" not in to_admin[0].text
    assert not smtp.to("auditor@example.jp")
    # The other organization's owner got its own mail, with nothing of ours.
    foreign = smtp.to("outsider@example.jp")
    assert len(foreign) == 1 and first.number not in foreign[0].text
    assert "Incident deadlines: 1 obligation due soon" in to_admin[0].subject


def test_an_owner_who_left_the_organization_is_not_told(world, smtp):  # noqa: F811
    row = obligation(incident(world), owner=world.outsider)  # a member of another organization only
    warn_deadlines(DUE - HOUR)
    assert not smtp.to("outsider@example.jp")
    assert smtp.to("admin@example.jp") and smtp.to("analyst@example.jp") and warned(row) == "1d"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_send_keeps_the_stage_and_is_retried(world, smtp, settings, caplog):  # noqa: F811
    row = obligation(incident(world), owner=world.analyst)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = _closed_port(), 2
    with caplog.at_level(logging.WARNING):
        result = warn_deadlines(DUE - DAY - HOUR)
    assert result["failed"] == 1 and result["warned"] == 0 and result["retry"] == 1
    assert warned(row) == ""
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "could not be sent" in logged and "@" not in logged
    settings.EMAIL_PORT = port
    again = warn_deadlines(DUE - DAY - HOUR + 2 * HOUR)  # the next run, now in the 1-day stage
    assert again["mails"] == 1 and warned(row) == "1d"
    assert len(smtp.messages) == 1


def test_done_not_needed_and_withdrawn_obligations_are_silent(world, smtp):  # noqa: F811
    of = incident(world)
    rows = [
        obligation(of, owner=world.analyst, rule="done", status=ObligationStatus.DONE, done_at=DUE - DAY),
        obligation(of, owner=world.analyst, rule="not-needed", status=ObligationStatus.NOT_NEEDED),
        obligation(of, owner=world.analyst, rule="withdrawn", withdrawn=True),
        obligation(of, owner=world.analyst, rule="promptly", due_at=None),
    ]
    for now in (DUE - 2 * DAY, DUE - HOUR, DUE + DAY):
        assert warn_deadlines(now) == {
            "warned": 0,
            "stages": {"3d": 0, "1d": 0, "overdue": 0},
            "mails": 0,
            "failed": 0,
            "retry": 0,
        }
    assert smtp.messages == [] and [warned(r) for r in rows] == ["", "", "", ""]


def test_a_moved_deadline_warns_again(world, smtp):  # noqa: F811
    row = obligation(incident(world), owner=world.analyst)
    warn_deadlines(DUE - HOUR)
    assert warned(row) == "1d"
    # services.sync_obligations moves the deadline and clears the stage when the facts change.
    Obligation.objects.filter(pk=row.pk).update(due_at=DUE + 10 * DAY, warned="")
    assert warn_deadlines(DUE)["warned"] == 0
    assert warn_deadlines(DUE + 8 * DAY)["stages"]["3d"] == 1 and warned(row) == "3d"


def test_the_hourly_job_is_registered(world, smtp):  # noqa: F811
    from renkei.core.scheduling import jobs
    from renkei.incidents.tasks import warn_incident_deadlines

    job = jobs()["incident_deadlines"]
    assert job.every == datetime.timedelta(hours=1)
    obligation(incident(world), owner=world.analyst, due_at=timezone.now() + 2 * HOUR)
    result = warn_incident_deadlines.call()
    assert result["stages"]["1d"] == 1 and len(smtp.messages) == 1
