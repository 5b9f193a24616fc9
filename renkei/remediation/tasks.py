"""The nightly job of the risk register: accepted risks whose acceptance has expired are reopened
(renkei.risk.register.reopen_expired). It lives here with the other treatment jobs because the
worker only imports the `tasks.py` modules of apps."""

from __future__ import annotations

import datetime

from django_tasks import task

from renkei.core.scheduling import periodic


# 18:20 UTC = 03:20 JST, before the nightly risk recompute.
@periodic(
    "risk_acceptance_expiry",
    every=datetime.timedelta(days=1),
    offset=datetime.timedelta(hours=18, minutes=20),
)
@task()
def reopen_expired_acceptances() -> int:
    """Reopen every accepted risk whose acceptance ran out (a system job)."""
    from renkei.risk.register import reopen_expired

    return reopen_expired()
