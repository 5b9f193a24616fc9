"""Monitoring for the demo organization: run the daily job (no mails), so the attention list,
the alerts (the demo's expiring certifications among them) and today's trend point exist.
Idempotent: run again the same day, it changes nothing; on a later day it adds that day."""

from __future__ import annotations

import datetime
from typing import Any


def build_demo_monitoring(organization: Any, today: datetime.date | None = None) -> dict[str, Any]:
    from renkei.monitoring.services import run_daily

    return run_daily(today, organization=organization, mail=False)
