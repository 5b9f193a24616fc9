"""Shared set-up of the benchmarks: database choice, Django, the benchmark organization.

Every benchmark takes --database-url (or honours RENKEI_DATABASE_URL). Without either it uses
SQLite under bench/out/home, so benchmark data never lands in ~/.renkei.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--database-url",
        default=os.environ.get("RENKEI_DATABASE_URL", ""),
        help="postgres://... or sqlite:///...; default: RENKEI_DATABASE_URL, else SQLite "
        "under bench/out/home",
    )
    return p


def setup_django(database_url: str) -> str:
    """Configure and start Django; returns a short name of the database in use."""
    os.environ.setdefault("RENKEI_HOME", str(BENCH_DIR / "out" / "home"))
    if database_url:
        os.environ["RENKEI_DATABASE_URL"] = database_url
    else:
        os.environ.pop("RENKEI_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renkei.settings")
    import django

    django.setup()
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # quiets WhiteNoise
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def bench_organization(slug: str = "bench"):  # noqa: ANN201 - Organization, imported late
    from renkei.accounts.models import Organization

    org, _created = Organization.objects.get_or_create(
        slug=slug, defaults={"name": "ベンチマーク工業株式会社", "name_en": "Benchmark Industries"}
    )
    return org


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds of samples in seconds."""
    return statistics.median(samples) * 1000, percentile(samples, 95) * 1000
