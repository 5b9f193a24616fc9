"""Time of a 10,000-row CSV import through the import service.

    python bench/bench_import.py [--rows 10000] [--database-url URL]

Builds the file the way users get one: generates ROWS suppliers in a source organization
(bench/generate.py) and exports them with renkei.suppliers.io.exporter (Japanese headers).
Then imports it with renkei.suppliers.io.importer.import_suppliers into a new, empty
organization: a dry run, the real import (all rows created, with audit entries), and the same
file again (all rows unchanged). Target: the real import < 20 s.
"""

from __future__ import annotations

import io
import time

from common import bench_organization, parser, setup_django
from generate import ensure_suppliers

TARGET_S = 20


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000)
    args = p.parse_args()
    db = setup_django(args.database_url)

    from renkei.accounts.models import Organization
    from renkei.audit.services import Actor
    from renkei.suppliers.io.exporter import export_suppliers
    from renkei.suppliers.io.importer import import_suppliers
    from renkei.suppliers.models import Supplier

    source = bench_organization(f"bench-import-source-{args.rows}")
    ensure_suppliers(source, args.rows)
    buffer = io.BytesIO()
    export_suppliers(Supplier.objects.filter(organization=source), buffer, "csv", lang="ja")
    data = buffer.getvalue()
    target = Organization.objects.create(
        slug=f"bench-import-{int(time.time())}", name="取込先株式会社", name_en="Import target"
    )
    actor = Actor.system("bench")
    print(f"database: {db}; CSV of {args.rows} rows, {len(data) / 1e6:.1f} MB")
    overall_ok = True
    for label, dry_run in (
        ("dry run", True),
        ("import (create)", False),
        ("same file again", False),
    ):
        started = time.perf_counter()
        result = import_suppliers(target, io.BytesIO(data), "suppliers.csv", actor, dry_run=dry_run)
        elapsed = time.perf_counter() - started
        summary = (
            f"created {result.created}, updated {result.updated}, "
            f"unchanged {result.unchanged}, errors {len(result.errors)}"
        )
        print(f"{label:<18} {elapsed:>7.2f} s   {summary}")
        if result.errors:
            overall_ok = False
            for error in result.errors[:5]:
                print(f"    {error}")
        if label == "import (create)" and elapsed >= TARGET_S:
            overall_ok = False
    created = Supplier.objects.filter(organization=target).count()
    print(f"suppliers in the target organization: {created}")
    print(f"{'within' if overall_ok else 'NOT within'} the {TARGET_S} s target")


if __name__ == "__main__":
    main()
