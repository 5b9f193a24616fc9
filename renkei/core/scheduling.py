"""Periodic jobs without cron.

A periodic job is a django-tasks task registered with `@periodic(name, every=...)`:

    @periodic("purge_old_task_results", every=timedelta(days=1))
    @task()
    def purge_old_task_results() -> int: ...

Time is cut into slots of length `every` counted from the Unix epoch (UTC), optionally shifted
by `offset` (a daily job at 03:00 JST: every=1 day, offset=18 hours). Each `renkei worker` calls
`enqueue_due()` on every loop; for each job whose current slot has no ScheduledRun row yet, it
inserts the row and enqueues the task in one transaction. The unique (name, slot) constraint
decides the race between workers: the loser gets an IntegrityError and moves on. A slot missed
while no worker ran is not made up later; the next slot runs as usual.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger("renkei.scheduling")

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass
class PeriodicJob:
    name: str
    task: Any  # a django_tasks Task
    every: datetime.timedelta
    offset: datetime.timedelta = field(default_factory=datetime.timedelta)

    def slot_for(self, now: datetime.datetime) -> datetime.datetime:
        """Start of the slot containing NOW."""
        elapsed = now - EPOCH - self.offset
        periods = elapsed // self.every
        return EPOCH + self.offset + periods * self.every


_registry: dict[str, PeriodicJob] = {}


def periodic(
    name: str, *, every: datetime.timedelta, offset: datetime.timedelta | None = None
) -> Callable[[Any], Any]:
    """Register a django-tasks task to be enqueued once per slot of length EVERY."""
    if every <= datetime.timedelta(0):
        raise ValueError("every must be positive")

    def register(task: Any) -> Any:
        existing = _registry.get(name)
        if existing is not None and existing.task.module_path != task.module_path:
            raise ValueError(f"periodic job {name!r} is already registered")
        _registry[name] = PeriodicJob(name, task, every, offset or datetime.timedelta(0))
        return task

    return register


_discovered = False


def jobs() -> dict[str, PeriodicJob]:
    """All registered periodic jobs, after importing every installed app's tasks module."""
    global _discovered  # noqa: PLW0603 - import once per process
    if not _discovered:
        autodiscover_modules("tasks")
        _discovered = True
    return dict(_registry)


def claim_slot(job: PeriodicJob, slot: datetime.datetime) -> str | None:
    """Insert the ScheduledRun row for SLOT and enqueue the job; None if another worker did.

    Row and task are written in one transaction: if enqueueing fails, the slot stays free.
    """
    from renkei.core.models import ScheduledRun

    try:
        with transaction.atomic():
            run = ScheduledRun.objects.create(name=job.name, slot=slot)
            result = job.task.enqueue()
            run.task_result_id = str(result.id)
            run.save(update_fields=["task_result_id"])
    except IntegrityError:
        return None
    logger.info("enqueued periodic job %s for slot %s", job.name, slot.isoformat())
    return str(result.id)


def enqueue_due(now: datetime.datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose current slot has not been taken. Returns the job names."""
    from renkei.core.models import ScheduledRun

    now = now or timezone.now()
    enqueued = []
    for job in jobs().values():
        slot = job.slot_for(now)
        # Cheap read first so idle workers do not hit the constraint every second.
        if ScheduledRun.objects.filter(name=job.name, slot=slot).exists():
            continue
        if claim_slot(job, slot) is not None:
            enqueued.append(job.name)
    return enqueued
