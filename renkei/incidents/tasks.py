"""The hourly deadline warnings of incident obligations (renkei.incidents.deadlines). Hourly, not
daily: the shortest deadlines run in hours (a 速報 within days, a contract's notice within 24 h),
and the 1-day warning must not arrive after the deadline."""

from __future__ import annotations

import datetime
from typing import Any

from django_tasks import task

from renkei.core.scheduling import periodic


# Five minutes past each hour, away from the nightly jobs' round minutes.
@periodic("incident_deadlines", every=datetime.timedelta(hours=1), offset=datetime.timedelta(minutes=5))
@task()
def warn_incident_deadlines() -> dict[str, Any]:
    """Warn the owners of obligations due within 3 days, within 1 day, and overdue (a system job)."""
    from renkei.incidents.deadlines import warn_deadlines

    return warn_deadlines()
