"""Server time of the supplier list page and the API list at 50,000 suppliers.

    python bench/bench_list.py [--suppliers 50000] [--repeat 20] [--database-url URL]

Generates the suppliers (bench/generate.py, bulk) when the benchmark organization has fewer,
then times requests in-process through django.test.Client: the whole Django stack
(middleware, view, queries, template or serializer) without network or a browser. Prints the
median and 95th percentile in ms and the SQL queries per request. Target: < 150 ms.
"""

from __future__ import annotations

import time

from common import bench_organization, parser, setup_django, summary_ms
from generate import ensure_suppliers

TARGET_MS = 150

URLS = [
    ("list page", "/suppliers/"),
    ("list page, search", "/suppliers/?q=精密"),
    ("list page, filters", "/suppliers/?business_function=logistics&tier=2&tag=個人情報"),
    ("list page, page 100", "/suppliers/?page=100"),
    ("API list", "/api/v1/suppliers/"),
    ("API list, filters", "/api/v1/suppliers/?business_function=logistics&tier=2"),
    ("API list, search", "/api/v1/suppliers/?q=精密"),
]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--suppliers", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    db = setup_django(args.database_url)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from renkei.accounts.models import Membership, User
    from renkei.core.permissions import Role

    org = bench_organization()
    started = time.perf_counter()
    added = ensure_suppliers(org, args.suppliers)
    if added:
        print(f"generated {added} suppliers in {time.perf_counter() - started:.1f} s")
    user, _ = User.objects.get_or_create(username="bench-admin")
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.ADMIN})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    print(f"database: {db}; {args.suppliers} suppliers; {args.repeat} requests each")
    print(f"{'request':<24} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'queries':>8}  url")
    slow = []
    for label, url in URLS:
        for _warm_up in range(2):
            client.get(url)
        samples = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - t0)
        median, p95 = summary_ms(samples)
        print(
            f"{label:<24} {response.status_code:>6} {median:>10.1f} {p95:>8.1f} "
            f"{len(queries):>8}  {url}"
        )
        if median >= TARGET_MS or response.status_code != 200:
            slow.append(label)
    if slow:
        print(f"over the {TARGET_MS} ms target or failing: {', '.join(slow)}")
    else:
        print(f"all under the {TARGET_MS} ms target")


if __name__ == "__main__":
    main()
