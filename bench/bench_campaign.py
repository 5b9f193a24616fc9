"""Time of creating a campaign to 5,000 suppliers through renkei.campaigns.services.

    python bench/bench_campaign.py [--suppliers 5000] [--database-url URL]

Generates SUPPLIERS suppliers (bench/generate.py) in their own organization, then sends the
built-in scrm-sheet to all of them in one campaign: assessments, targets and audit entries in
bulk. Prints the seconds and the number of queries. Target: < 10 s.
"""

from __future__ import annotations

import datetime
import time

from common import bench_organization, parser, setup_django
from generate import ensure_suppliers

TARGET_S = 10


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--suppliers", type=int, default=5_000)
    args = p.parse_args()
    db = setup_django(args.database_url)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from renkei.audit.services import Actor
    from renkei.campaigns.services import create_campaign
    from renkei.questionnaires.models import Assessment, Template

    org = bench_organization(f"bench-campaign-{args.suppliers}")
    ensure_suppliers(org, args.suppliers)
    # A fresh run each time: earlier runs' assessments would make every supplier skipped.
    Assessment.objects.filter(organization=org).delete()
    template = Template.objects.get(key="scrm-sheet", organization__isnull=True)
    print(f"database: {db}; {args.suppliers} suppliers")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = create_campaign(Actor.system("bench"), org, name=f"bench {time.time():.0f}",
                                 template=template, due_on=datetime.date.today()
                                 + datetime.timedelta(days=30), selection={})
    elapsed = time.perf_counter() - started
    print(f"campaign created  {elapsed:>7.2f} s   {len(queries)} queries   "
          f"{result.created} assessments, {len(result.skipped)} skipped")
    print(f"{'within' if elapsed < TARGET_S else 'NOT within'} the {TARGET_S} s target")


if __name__ == "__main__":
    main()
