"""Background housekeeping of the platform itself."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from renkei.core.scheduling import periodic

TASK_RESULT_RETENTION = datetime.timedelta(days=30)


# 18:00 UTC = 03:00 JST, a quiet hour for Japanese users.
@periodic(
    "purge_old_task_results", every=datetime.timedelta(days=1), offset=datetime.timedelta(hours=18)
)
@task()
def purge_old_task_results() -> dict[str, int]:
    """Delete finished task results and schedule records older than 30 days."""
    from renkei.core.models import ScheduledRun

    cutoff = timezone.now() - TASK_RESULT_RETENTION
    results, _detail = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    runs, _detail = ScheduledRun.objects.filter(slot__lt=cutoff).delete()
    return {"task_results": results, "scheduled_runs": runs}
