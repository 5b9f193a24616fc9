"""The daily monitoring job from the worker."""

from __future__ import annotations

import datetime
from typing import Any

from django_tasks import task

from renkei.core.scheduling import periodic


# 19:00 UTC = 04:00 JST: after the nightly risk recompute (03:30 JST), so levels and likelihood
# are today's; the digest is in the mailbox before the working day starts.
@periodic("monitoring_daily", every=datetime.timedelta(days=1), offset=datetime.timedelta(hours=19))
@task()
def monitoring_daily() -> dict[str, Any]:
    """Reassessments on the cadence, alerts, trend snapshots, invitations and digests."""
    from renkei.monitoring.services import run_daily

    return run_daily()
