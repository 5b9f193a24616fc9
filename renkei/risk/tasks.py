"""The nightly recompute: ages of assessments and certificate expiry move with the calendar."""

from __future__ import annotations

import datetime

from django_tasks import task

from renkei.core.scheduling import periodic


# 18:30 UTC = 03:30 JST, after the platform's own housekeeping.
@periodic("risk_recompute", every=datetime.timedelta(days=1),
          offset=datetime.timedelta(hours=18, minutes=30))
@task()
def recompute_all_risks() -> dict[str, int]:
    """Recompute the risk of every supplier of every organization (a system job)."""
    from renkei.risk.services import recompute_all

    return recompute_all()
