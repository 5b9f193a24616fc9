import datetime

import pytest
from django.utils import timezone

from renkei.accounts.tests.conftest import smtp  # noqa: F401 - the real aiosmtpd server fixture
from renkei.risk.choices import LEVEL_RANK
from renkei.risk.models import SupplierRisk
from renkei.risk.services import recompute_organization

TZ = datetime.timezone(datetime.timedelta(hours=9))


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def set_level(supplier, level: str, criticality: int = 2, factors=None) -> None:
    """Pin a supplier's stored rating (what the nightly recompute would have written)."""
    changes = {"level": level, "level_rank": LEVEL_RANK[level], "criticality": criticality}
    if factors is not None:
        changes["factors"] = factors
    SupplierRisk.objects.filter(supplier=supplier).update(**changes)


@pytest.fixture
def rated(world):
    """The world with stored ratings of the buyer's S1 and S2, registered on 2025-01-10 (the other
    organization's X1 is not rated, so the cadence leaves it alone)."""
    from renkei.suppliers.models import Supplier

    Supplier.objects.update(created_at=at(datetime.date(2025, 1, 10)))
    recompute_organization(world.buyer)
    return world


@pytest.fixture
def today():
    return timezone.localdate()
