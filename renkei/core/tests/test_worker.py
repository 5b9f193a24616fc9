"""The task worker and the periodic-job scheduler (renkei.core.scheduling)."""

import datetime
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from renkei.core import scheduling
from renkei.core.models import ScheduledRun
from renkei.core.tasks import purge_old_task_results

RENKEI = str(Path(sys.executable).with_name("renkei"))
UTC = datetime.UTC
on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (RENKEI_DATABASE_URL)"
)


@task()
def append_line(path: str, number: int) -> int:
    """Test task: appends NUMBER to a file; a line per run shows how often each task ran."""
    time.sleep(0.02)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{number}\n")
    return number


@pytest.fixture
def daily_job():
    return scheduling.jobs()["purge_old_task_results"]


@pytest.fixture(autouse=True)
def _only_the_purge_job(monkeypatch):
    """These tests count tasks: other apps' periodic jobs (campaign reminders) are left out."""
    job = scheduling.jobs()["purge_old_task_results"]
    monkeypatch.setattr(scheduling, "jobs", lambda: {job.name: job})


def test_purge_job_is_registered_daily(daily_job):
    assert daily_job.every == datetime.timedelta(days=1)
    assert daily_job.task is purge_old_task_results


def test_slots_are_aligned_to_the_period_and_offset():
    job = scheduling.PeriodicJob("x", None, datetime.timedelta(hours=1))
    now = datetime.datetime(2026, 4, 1, 10, 42, 7, tzinfo=UTC)
    assert job.slot_for(now) == datetime.datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    daily_at_3_jst = scheduling.PeriodicJob(
        "y", None, datetime.timedelta(days=1), datetime.timedelta(hours=18)
    )
    assert daily_at_3_jst.slot_for(now) == datetime.datetime(2026, 3, 31, 18, 0, tzinfo=UTC)


def test_periodic_registration_rejects_a_bad_period():
    with pytest.raises(ValueError):
        scheduling.periodic("bad", every=datetime.timedelta(0))


@pytest.mark.django_db
class TestScheduler:
    def test_due_job_is_enqueued_once_per_slot(self, daily_job):
        now = datetime.datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
        assert "purge_old_task_results" in scheduling.enqueue_due(now)
        assert scheduling.enqueue_due(now + datetime.timedelta(hours=2)) == []
        assert DBTaskResult.objects.count() == 1
        run = ScheduledRun.objects.get()
        assert run.slot == daily_job.slot_for(now)
        assert run.task_result_id == str(DBTaskResult.objects.get().id)
        # The next day is a new slot.
        assert scheduling.enqueue_due(now + datetime.timedelta(days=1)) == [
            "purge_old_task_results"
        ]
        assert DBTaskResult.objects.count() == 2

    def test_racing_ticks_enqueue_the_slot_once(self, daily_job):
        # Both ticks passed the cheap "already taken?" read; the unique row decides.
        slot = daily_job.slot_for(timezone.now())
        first = scheduling.claim_slot(daily_job, slot)
        second = scheduling.claim_slot(daily_job, slot)
        assert first is not None and second is None
        assert DBTaskResult.objects.count() == 1
        assert ScheduledRun.objects.count() == 1


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_on_postgres_enqueue_once(daily_job):
    slot = daily_job.slot_for(timezone.now())
    barrier = threading.Barrier(4)
    results = []

    def tick():
        try:
            barrier.wait()
            results.append(scheduling.claim_slot(daily_job, slot))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert len([r for r in results if r is not None]) == 1
    assert DBTaskResult.objects.count() == 1


# transaction=True: the worker closes connections between polls, as Django does per request, which
# would end the test's wrapping transaction.
@pytest.mark.django_db(transaction=True)
class TestWorkerCommand:
    def test_batch_runs_ready_tasks_and_due_jobs_then_exits(self, tmp_path):
        out = tmp_path / "runs.txt"
        for n in range(3):
            append_line.enqueue(str(out), n)
        call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
        assert sorted(out.read_text().split()) == ["0", "1", "2"]
        assert DBTaskResult.objects.successful().count() == 4  # three tasks and the purge job
        assert DBTaskResult.objects.get(task_path__endswith="purge_old_task_results")

    def test_max_tasks_stops_early(self, tmp_path):
        out = tmp_path / "runs.txt"
        for n in range(5):
            append_line.enqueue(str(out), n)
        call_command("worker", "--batch", "--no-startup-delay", "--max-tasks", "2", verbosity=0)
        assert DBTaskResult.objects.successful().count() == 2
        assert DBTaskResult.objects.ready().count() == 4  # 3 test tasks + the purge job left

    def test_failed_task_is_recorded_not_fatal(self):
        append_line.enqueue("/nonexistent-dir/x/runs.txt", 1)
        call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
        assert DBTaskResult.objects.failed().count() == 1


@pytest.mark.django_db
def test_purge_deletes_only_old_finished_results(tmp_path):
    old = timezone.now() - datetime.timedelta(days=31)
    recent = timezone.now() - datetime.timedelta(days=2)
    ids = {}
    for name, finished, status in [
        ("old_done", old, "SUCCESSFUL"),
        ("old_failed", old, "FAILED"),
        ("recent_done", recent, "SUCCESSFUL"),
        ("waiting", None, "READY"),
    ]:
        result = append_line.enqueue(str(tmp_path / "x"), 0)
        DBTaskResult.objects.filter(id=result.id).update(status=status, finished_at=finished)
        ids[name] = result.id
    ScheduledRun.objects.create(name="purge_old_task_results", slot=old)
    assert purge_old_task_results.call() == {"task_results": 2, "scheduled_runs": 1}
    left = {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)}
    assert left == {ids["recent_done"], ids["waiting"]}


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_run_each_task_exactly_once(tmp_path):
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    out = tmp_path / "runs.txt"
    count = 60
    for n in range(count):
        append_line.enqueue(str(out), n)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    env.update(RENKEI_HOME=str(tmp_path / "home"), RENKEI_DATABASE_URL=url)
    workers = [
        subprocess.Popen(
            [
                RENKEI,
                "worker",
                "--batch",
                "--no-startup-delay",
                "--worker-id",
                f"w{i}",
                "--interval",
                "0.1",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for proc in workers:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = out.read_text().split()
    assert sorted(int(n) for n in lines) == list(range(count))  # each ran exactly once
    results = DBTaskResult.objects.filter(task_path__endswith="append_line")
    assert results.successful().count() == count
    assert all(len(r.worker_ids) == 1 for r in results)
    # The periodic job was taken by exactly one of them.
    assert DBTaskResult.objects.filter(task_path__endswith="purge_old_task_results").count() == 1
