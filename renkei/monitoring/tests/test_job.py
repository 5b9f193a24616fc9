"""The daily job: registered with the worker, idempotent on one day, once per slot across
workers, and the commands."""

import datetime
import json
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from renkei.audit.models import AuditEntry
from renkei.core import scheduling
from renkei.monitoring.models import Alert, Digest, PortfolioDay, Reassessment
from renkei.monitoring.services import run_daily
from renkei.monitoring.tasks import monitoring_daily
from renkei.monitoring.tests.conftest import set_level
from renkei.questionnaires.models import Assessment
from renkei.risk.models import RiskSnapshot
from renkei.suppliers.models import Certification

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
DAY = datetime.date(2026, 4, 1)


def state() -> tuple:
    return (Assessment.objects.count(), Reassessment.objects.count(),
            list(Alert.objects.order_by("pk").values_list("pk", "resolved_at", "priority")),
            RiskSnapshot.objects.count(), PortfolioDay.objects.count(), AuditEntry.objects.count(),
            Digest.objects.count())


@pytest.fixture
def busy(rated):
    # The certification first: its signal recomputes S2 on commit, which would undo set_level.
    Certification.objects.create(supplier=rated.s2, kind="isms", number="N",
                                 expires_on=DAY + datetime.timedelta(days=5))
    set_level(rated.s1, "critical")  # due for reassessment (6 months from 2025-01-10)
    set_level(rated.s2, "high")  # 12 months: due too
    return rated


@pytest.mark.django_db
def test_the_job_run_twice_on_one_day_changes_nothing(busy, smtp):
    first = run_daily(DAY)
    assert first["organizations"]["buyer"]["reassessments"]["created"] == 2
    assert first["digests"]["sent"] == 3 and first["invitations"]["sent"] == 2
    mails = len(smtp.messages)
    before = state()
    second = run_daily(DAY)
    assert state() == before
    assert second["organizations"]["buyer"]["alerts"] == {**first["organizations"]["buyer"]["alerts"],
                                                          "raised": 0}
    assert len(smtp.messages) == mails
    assert RiskSnapshot.objects.filter(day=DAY).count() == 2


def test_the_daily_job_is_registered_once_a_day_after_the_risk_recompute():
    job = scheduling.jobs()["monitoring_daily"]
    assert job.task is monitoring_daily and job.every == datetime.timedelta(days=1)
    assert job.offset > scheduling.jobs()["risk_recompute"].offset


@pytest.mark.django_db
def test_racing_workers_enqueue_the_slot_once():
    job = scheduling.jobs()["monitoring_daily"]
    slot = job.slot_for(datetime.datetime(2026, 4, 1, 20, tzinfo=datetime.UTC))
    assert scheduling.claim_slot(job, slot) is not None
    assert scheduling.claim_slot(job, slot) is None
    assert DBTaskResult.objects.filter(task_path__endswith="monitoring_daily").count() == 1


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_job_at_once_create_each_reassessment_once(busy):
    barrier = threading.Barrier(2)
    errors, results = [], []

    def work():
        try:
            barrier.wait()
            results.append(run_daily(DAY, mail=False)["organizations"]["buyer"]["reassessments"])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r["created"] for r in results) == [0, 2], results
    assert Reassessment.objects.count() == 2 and Assessment.objects.count() == 2
    assert Alert.objects.filter(kind="certification_expiring_30").count() == 1


@pytest.mark.django_db
def test_commands_print_counts_and_alerts(busy):
    out = StringIO()
    call_command("monitoring", "run", "--date", DAY.isoformat(), "--no-mail", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["date"] == "2026-04-01" and data["organizations"]["buyer"]["reassessments"]["created"] == 2
    out = StringIO()
    call_command("monitoring", "alerts", "--organization", "buyer", "--json", stdout=out)
    alerts = json.loads(out.getvalue())["alerts"]
    assert alerts and all(a["organization"] == "buyer" for a in alerts)
    assert {"kind", "label", "supplier", "reason", "raised_at"} <= set(alerts[0])
    text = StringIO()
    call_command("monitoring", "run", "--date", DAY.isoformat(), "--no-mail", stdout=text)
    assert "created 0" in text.getvalue()
