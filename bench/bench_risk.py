"""Risk recompute for a whole organization, and the dashboard, at 50,000 suppliers.

    python bench/bench_risk.py [--suppliers 50000] [--answers 1000000] [--repeat 5]
                               [--database-url URL]

Generates (once; bulk, no audit trail, like bench/generate.py) the suppliers and one approved
built-in サプライチェーンリスク管理シート per supplier with ANSWERS answers in all (○ / △ / ×
drawn at random), scores those assessments with the questionnaires' own set-based
`recompute_scores` (timed, reported separately: it is the cost of scoring, paid when answers are
saved), then times `renkei.risk.services.recompute_organization` REPEAT times and the dashboard
and the risk overview page over 20 requests each (django.test.Client, in-process).
Targets: recompute < 10 s, dashboard < 200 ms. Recompute is timed cold (no stored ratings: every
row written) and warm (REPEAT runs over stored ratings: only changed rows rewritten).
"""

from __future__ import annotations

import datetime
import random
import statistics
import time

from common import bench_organization, parser, setup_django, summary_ms
from generate import ensure_suppliers

RECOMPUTE_TARGET_S = 10
DASHBOARD_TARGET_MS = 200
BATCH = 5000


def ensure_assessments(org, wanted_answers: int) -> tuple[int, float]:  # noqa: ANN001
    """One approved scrm-sheet per supplier with WANTED_ANSWERS answers overall; returns
    (answers created, seconds spent scoring)."""
    from django.db import transaction
    from django.utils import timezone

    from renkei.questionnaires.assessments_services import latest_template, recompute_scores
    from renkei.questionnaires.models import Answer, Assessment
    from renkei.suppliers.models import Supplier

    if Assessment.objects.filter(organization=org).exists():
        return 0, 0.0
    template = latest_template(org.pk, "scrm-sheet")
    assert template is not None, "the built-in scrm-sheet is not loaded"
    items = list(template.items.filter(answer_type="tri_state").order_by("order"))
    supplier_ids = list(Supplier.objects.filter(organization=org).values_list("pk", flat=True))
    per_supplier = max(1, min(len(items), wanted_answers // max(1, len(supplier_ids))))
    rng = random.Random(20261122)
    now = timezone.now()
    created = 0
    with transaction.atomic():
        for start in range(0, len(supplier_ids), BATCH):
            chunk = supplier_ids[start:start + BATCH]
            assessments = []
            for supplier_id in chunk:
                submitted = now - datetime.timedelta(days=rng.randint(1, 900))
                assessments.append(Assessment(
                    organization=org, supplier_id=supplier_id, template=template,
                    status="approved", submitted_at=submitted,
                    approved_at=submitted + datetime.timedelta(days=3)))
            Assessment.objects.bulk_create(assessments, batch_size=BATCH)
            answers = [
                Answer(assessment_id=a.pk, item_id=item.pk,
                       value=rng.choices(["done", "in_progress", "not_done"], [75, 15, 10])[0],
                       answered_at=a.submitted_at, review_state="accepted")
                for a in assessments for item in items[:per_supplier]
            ]
            Answer.objects.bulk_create(answers, batch_size=BATCH)
            created += len(answers)
    ids = list(Assessment.objects.filter(organization=org).values_list("pk", flat=True))
    started = time.perf_counter()
    recompute_scores(ids)
    return created, time.perf_counter() - started


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--suppliers", type=int, default=50_000)
    p.add_argument("--answers", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    db = setup_django(args.database_url)

    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from renkei.accounts.models import Membership, User
    from renkei.core.permissions import Role
    from renkei.questionnaires.models import Answer
    from renkei.risk.models import SupplierRisk
    from renkei.risk.services import recompute_organization

    org = bench_organization("bench-risk")
    started = time.perf_counter()
    added = ensure_suppliers(org, args.suppliers)
    if added:
        print(f"generated {added} suppliers in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    answers, scoring = ensure_assessments(org, args.answers)
    if answers:
        print(f"generated {answers} answers in {time.perf_counter() - started - scoring:.1f} s; "
              f"scored the assessments (questionnaires.recompute_scores) in {scoring:.1f} s")
    total_answers = Answer.objects.filter(assessment__organization=org).count()
    print(f"database: {db}; {args.suppliers} suppliers, {total_answers} answers")

    # Cold: no stored ratings, every row written. Then warm runs: every supplier recomputed, only
    # changed rows rewritten (the nightly case).
    SupplierRisk.objects.filter(organization=org).delete()
    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        count = recompute_organization(org)
        cold = time.perf_counter() - t0
    print(f"recompute {count} suppliers, cold (all rows written): {cold:.2f} s, {len(queries)} queries  "
          f"{'ok' if cold < RECOMPUTE_TARGET_S else 'SLOW'} (target < {RECOMPUTE_TARGET_S} s)")
    timings = []
    for _ in range(args.repeat):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            count = recompute_organization(org)
            timings.append(time.perf_counter() - t0)
    median = statistics.median(timings)
    print(f"recompute {count} suppliers, warm: median {median:.2f} s, best {min(timings):.2f} s, "
          f"{len(queries)} queries  {'ok' if median < RECOMPUTE_TARGET_S else 'SLOW'} "
          f"(target < {RECOMPUTE_TARGET_S} s)")
    levels = dict(SupplierRisk.objects.filter(organization=org).order_by().values_list("level")
                  .annotate(n=Count("pk")))
    print(f"levels: {levels}")

    if connection.vendor == "postgresql":
        # Every warm run stamps computed_at on all rows: dead tuples that autovacuum removes
        # within a minute in production, but not between back-to-back benchmark runs.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {SupplierRisk._meta.db_table}")
        print("VACUUM ANALYZE risk_supplierrisk (what autovacuum does after the nightly run)")
    user, _ = User.objects.get_or_create(username="bench-risk-admin")
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.ADMIN})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    for label, url, target in (("dashboard", "/", DASHBOARD_TARGET_MS),
                               ("risk overview", "/risk/", DASHBOARD_TARGET_MS)):
        for _ in range(2):
            client.get(url)
        samples = []
        for _ in range(20):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - t0)
        med, p95 = summary_ms(samples)
        print(f"{label:<14} {response.status_code} median {med:6.1f} ms  p95 {p95:6.1f} ms  "
              f"{len(queries)} queries  {'ok' if med < target else 'SLOW'} (target < {target} ms)")


if __name__ == "__main__":
    main()
