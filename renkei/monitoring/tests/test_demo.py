"""The demo shows alerts (its expiring certifications among them), and building it again the
same day changes nothing of the monitoring."""

import pytest

from renkei.core.demo import ORG_SLUG, build_demo
from renkei.monitoring.models import Alert, PortfolioDay
from renkei.risk.models import RiskSnapshot

pytestmark = pytest.mark.django_db


def test_demo_has_alerts_and_is_idempotent(client_for):
    build_demo()
    kinds = set(Alert.objects.filter(organization__slug=ORG_SLUG).values_list("kind", flat=True))
    assert {"certification_expiring_30", "certification_expiring_90"} <= kinds
    before = (list(Alert.objects.order_by("pk").values_list("pk", "resolved_at")),
              RiskSnapshot.objects.count(), PortfolioDay.objects.count())
    build_demo()
    after = (list(Alert.objects.order_by("pk").values_list("pk", "resolved_at")),
             RiskSnapshot.objects.count(), PortfolioDay.objects.count())
    assert after == before
    from renkei.accounts.models import User

    page = client_for(User.objects.get(username="admin")).get("/").content.decode()
    assert 'id="attention"' in page and "data-kind=" in page
