"""`renkei worker`: run background tasks and enqueue periodic jobs, without cron.

Task claiming, execution and signal handling are django_tasks_db's Worker (claims with
SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so any number of workers can share a queue).
This command wraps it: before draining the queue, and again at most every `--interval`
seconds while draining, it enqueues the periodic jobs that are due (renkei.core.scheduling).
"""

from __future__ import annotations

import logging
import random
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.db.utils import OperationalError
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import (
    Worker,
    valid_interval,
    valid_max_tasks,
    validate_worker_id,
)
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import is_locked_database_exception

from renkei.core import scheduling

logger = logging.getLogger("renkei.worker")


class SchedulingWorker(Worker):
    """django_tasks_db's Worker plus the periodic-job scheduler.

    The parent's loop runs in batch mode (drain what is ready, then return); this loop around
    it ticks the scheduler, then sleeps or exits.
    """

    def __init__(self, *, batch: bool, startup_delay: bool, **kwargs: Any) -> None:
        super().__init__(batch=True, startup_delay=False, **kwargs)
        self.exit_when_idle = batch
        self.delay_start = startup_delay
        self.last_tick = 0.0

    def tick(self) -> None:
        self.last_tick = time.monotonic()
        try:
            names = scheduling.enqueue_due()
        except OperationalError as exc:
            # SQLite busy: another process holds the write lock; the next tick retries.
            if not is_locked_database_exception(exc):
                raise
            return
        for name in names:
            logger.info("periodic job %s enqueued", name)

    def run_task(self, db_task_result: DBTaskResult) -> None:
        # A long queue must not starve the schedule.
        if time.monotonic() - self.last_tick >= max(self.interval, 1.0):
            self.tick()
        super().run_task(db_task_result)

    def done(self) -> bool:
        return self.max_tasks is not None and self._run_tasks >= self.max_tasks

    def run(self) -> None:
        if self.delay_start and self.interval:
            time.sleep(random.random())  # avoid a thundering herd of workers starting together
        while self.running:
            close_old_connections()
            self.tick()
            super().run()
            if self.exit_when_idle or self.done() or not self.running:
                return
            time.sleep(self.interval)


class Command(BaseCommand):
    help = (
        "Run background tasks and enqueue periodic jobs. Start one or more per installation; "
        "on PostgreSQL any number of workers can run side by side."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue-name",
            default="default",
            help="Queues to process, comma-separated; '*' for all (default: %(default)s).",
        )
        parser.add_argument(
            "--interval",
            type=valid_interval,
            default=1.0,
            help="Seconds to wait when the queue is empty (default: %(default)s).",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Enqueue due periodic jobs, run every ready task, then exit.",
        )
        parser.add_argument(
            "--max-tasks",
            type=valid_max_tasks,
            default=None,
            help="Exit after running this many tasks.",
        )
        parser.add_argument(
            "--worker-id",
            type=validate_worker_id,
            default=None,
            help="Unique id of this worker (default: random).",
        )
        parser.add_argument(
            "--no-startup-delay",
            action="store_false",
            dest="startup_delay",
            help="Do not wait up to a second before the first poll.",
        )

    def configure_logging(self, verbosity: int) -> None:
        level = {0: logging.ERROR, 1: logging.INFO}.get(verbosity, logging.DEBUG)
        for name in ("renkei.worker", "renkei.scheduling", "django_tasks"):
            logging.getLogger(name).setLevel(level)
        # The wrapped worker logs "starting"/"no more tasks" on each drain: keep it quiet.
        logging.getLogger("django_tasks_db").setLevel(
            logging.DEBUG if verbosity > 1 else logging.WARNING
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        worker = SchedulingWorker(
            queue_names=options["queue_name"].split(","),
            interval=options["interval"],
            batch=options["batch"],
            backend_name="default",
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"] or get_random_string(32),
            excluded_queue_names=[],
        )
        names = ", ".join(sorted(scheduling.jobs())) or "-"
        logger.info("worker %s started; periodic jobs: %s", worker.worker_id, names)
        worker.configure_signals()
        try:
            worker.run()
        finally:
            worker.reset_signals()
        logger.info("worker %s stopped after %d task(s)", worker.worker_id, worker._run_tasks)
