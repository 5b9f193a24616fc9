"""Campaign mails from the worker: the invitations of a new campaign, and the daily reminders."""

from __future__ import annotations

import datetime

from django_tasks import task

from renkei.core.scheduling import periodic


@task()
def send_campaign_invitations(campaign_id: int) -> dict[str, int]:
    from renkei.campaigns.services import send_invitations

    return send_invitations(campaign_id)


# 00:00 UTC = 09:00 JST: reminders arrive at the start of the Japanese working day.
@periodic("campaign_reminders", every=datetime.timedelta(days=1))
@task()
def send_campaign_reminders() -> dict[str, int]:
    """7 days before the due date, on it and 3 days after, for assessments not yet submitted."""
    from renkei.campaigns.services import send_reminders

    return send_reminders()
