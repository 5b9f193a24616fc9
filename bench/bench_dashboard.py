"""The dashboard with the attention list, /monitoring/, and the daily monitoring job at 50,000
suppliers.

    python bench/bench_dashboard.py [--suppliers 50000] [--answers 1000000] [--database-url URL]

Reuses bench_risk.py's data (the suppliers and one approved サプライチェーンリスク管理シート each,
1,000,000 answers; generated once) and its organization, adds certifications expiring within
90 days for one supplier in ten (the alerts), rates every supplier, then times the daily job
(`renkei.monitoring.services.run_daily` without mail: cadence, alerts, snapshots) cold and warm,
and the dashboard and /monitoring/ over 20 requests each (median / p95 server time,
django.test.Client in-process). Targets: dashboard < 200 ms, the job in seconds.
"""

from __future__ import annotations

import datetime
import random
import time

from bench_risk import ensure_assessments
from common import bench_organization, parser, setup_django, summary_ms
from generate import ensure_suppliers

DASHBOARD_TARGET_MS = 200
JOB_TARGET_S = 30


def ensure_expiring_certifications(org) -> int:  # noqa: ANN001
    from django.utils import timezone

    from renkei.suppliers.models import Certification, Supplier

    marker = "BENCH-EXPIRING"
    if Certification.objects.filter(supplier__organization=org, number=marker).exists():
        return 0
    today = timezone.localdate()
    rng = random.Random(4)
    ids = list(Supplier.objects.filter(organization=org).values_list("pk", flat=True)[::10])
    Certification.objects.bulk_create(
        [Certification(supplier_id=pk, kind="isms", number=marker,
                       expires_on=today + datetime.timedelta(days=rng.randint(1, 90))) for pk in ids],
        batch_size=5000)
    return len(ids)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--suppliers", type=int, default=50_000)
    p.add_argument("--answers", type=int, default=1_000_000)
    p.add_argument("--cold", action="store_true", help="First remove the monitoring's alerts, "
                   "reassessments and snapshots, so the job starts from nothing.")
    args = p.parse_args()
    db = setup_django(args.database_url)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from renkei.accounts.models import Membership, User
    from renkei.core.permissions import Role
    from renkei.monitoring.models import Alert
    from renkei.monitoring.services import run_daily
    from renkei.risk.models import SupplierRisk
    from renkei.risk.services import recompute_organization

    org = bench_organization("bench-risk")
    added = ensure_suppliers(org, args.suppliers)
    if added:
        print(f"generated {added} suppliers")
    answers, _scoring = ensure_assessments(org, args.answers)
    if answers:
        print(f"generated {answers} answers")
    expiring = ensure_expiring_certifications(org)
    if expiring or not SupplierRisk.objects.filter(organization=org).exists():
        recompute_organization(org)
    print(f"database: {db}; {args.suppliers} suppliers; {expiring} new expiring certifications")

    today = timezone.localdate()
    if args.cold:
        from renkei.monitoring.models import PortfolioDay
        from renkei.questionnaires.models import Assessment
        from renkei.risk.models import RiskSnapshot

        Alert.objects.filter(organization=org).delete()
        Assessment.objects.filter(organization=org, reassessment__isnull=False).delete()
        RiskSnapshot.objects.filter(organization=org).delete()
        PortfolioDay.objects.filter(organization=org).delete()
    for label in ("cold" if not Alert.objects.filter(organization=org).exists() else "again", "warm"):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            result = run_daily(today, organization=org, mail=False)
            took = time.perf_counter() - t0
        counts = result["organizations"][org.slug]
        print(f"daily job ({label}): {took:.2f} s, {len(queries)} queries; reassessments "
              f"{counts['reassessments']}, alerts {counts['alerts']}, snapshots {counts['snapshots']}  "
              f"{'ok' if took < JOB_TARGET_S else 'SLOW'} (target < {JOB_TARGET_S} s)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("monitoring_alert", "risk_risksnapshot", "risk_supplierrisk"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        print("VACUUM ANALYZE (what autovacuum does after the nightly run)")

    user, _ = User.objects.get_or_create(username="bench-risk-admin")
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.ADMIN})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    for label, url in (("dashboard", "/"), ("monitoring", "/monitoring/"),
                       ("monitoring, certifications filter", "/monitoring/?kind=certification_expiring_30"),
                       ("monitoring, page 20", "/monitoring/?page=20")):
        for _ in range(2):
            client.get(url)
        samples = []
        for _ in range(20):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - t0)
        med, p95 = summary_ms(samples)
        print(f"{label:<34} {response.status_code} median {med:6.1f} ms  p95 {p95:6.1f} ms  "
              f"{len(queries)} queries  {'ok' if med < DASHBOARD_TARGET_MS else 'SLOW'} "
              f"(target < {DASHBOARD_TARGET_MS} ms)")


if __name__ == "__main__":
    main()
