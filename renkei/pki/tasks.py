"""The daily PKI job from the worker: fresh CRLs and the expiry reminders."""

from __future__ import annotations

import datetime
from typing import Any

from django_tasks import task

from renkei.core.scheduling import periodic


# 00:30 UTC = 09:30 JST: reminders arrive at the start of the Japanese working day. The worker
# needs the PKI passphrase (RENKEI_PKI_PASSPHRASE or _FILE) to sign the CRLs.
@periodic("pki_daily", every=datetime.timedelta(days=1), offset=datetime.timedelta(minutes=30))
@task()
def pki_daily() -> dict[str, Any]:
    """Regenerate every CA's CRL; mail the 30- and 7-day expiry reminders; rewrite the published
    certificate policies (renkei.pki.mtls) in case the file was lost."""
    from renkei.pki.mtls import publish_policies
    from renkei.pki.reminders import run_daily

    result = run_daily()
    result["policies"] = len(publish_policies())
    return result
