"""The daily digest over real SMTP: new alerts, grouped, in the user's language, once a day."""

import datetime

import pytest

from renkei.monitoring.digest import set_digest
from renkei.monitoring.models import Digest
from renkei.monitoring.services import run_daily
from renkei.monitoring.tests.conftest import set_level
from renkei.suppliers.models import Certification, Contract

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 4, 1)


@pytest.fixture
def expiring(rated):
    set_level(rated.s1, "low")
    set_level(rated.s2, "low")
    Contract.objects.all().delete()  # no contract-clause alerts from renkei.oversight here
    Certification.objects.all().delete()
    Certification.objects.create(supplier=rated.s1, kind="isms", number="IS 1",
                                 expires_on=DAY + datetime.timedelta(days=20))
    Certification.objects.create(supplier=rated.s2, kind="pmark", number="P 1",
                                 expires_on=DAY + datetime.timedelta(days=80))
    return rated


def test_each_staff_member_gets_one_digest_in_their_language(expiring, smtp):
    expiring.analyst.language = "en"
    expiring.analyst.save()
    result = run_daily(DAY)
    assert result["digests"]["sent"] == 3  # admin, analyst, auditor of the buyer
    [ja] = smtp.to(expiring.admin.email)
    [en] = smtp.to(expiring.analyst.email)
    # Japanese: the organization's Japanese name (the texts come from the catalog); English: its
    # English name.
    assert "連携製作所" in ja.subject and "Renkei Works" not in ja.text
    assert "東海精密部品株式会社" in ja.text and "北陸物流株式会社" in ja.text
    assert en.subject.endswith("Renkei Works: 2 new alerts")
    assert "Certification expiring within 30 days" in en.text
    # The 30-day group comes before the 90-day one (attention order).
    assert en.text.index("within 30 days") < en.text.index("within 90 days")
    assert "https://renkei.example.jp/monitoring/?organization=" in en.text
    assert not smtp.to(expiring.supplier1.email)  # supplier contacts never get it
    # The job again the same day: no second digest.
    run_daily(DAY)
    assert len(smtp.to(expiring.admin.email)) == 1
    assert Digest.objects.filter(day=DAY, sent_at__isnull=False).count() == 3


def test_nothing_new_sends_nothing_and_the_next_digest_has_only_the_new(expiring, smtp):
    run_daily(DAY)
    run_daily(DAY + datetime.timedelta(days=1))
    assert len(smtp.to(expiring.admin.email)) == 1
    assert not Digest.objects.filter(day=DAY + datetime.timedelta(days=1)).exists()
    Certification.objects.create(supplier=expiring.s2, kind="isms", number="NEW",
                                 expires_on=DAY + datetime.timedelta(days=40))
    run_daily(DAY + datetime.timedelta(days=2))
    second = smtp.to(expiring.admin.email)[-1]
    assert "北陸物流株式会社" in second.text and "東海精密部品株式会社" not in second.text


def test_opted_out_user_gets_no_digest(expiring, smtp, client_for):
    response = client_for(expiring.auditor).post("/monitoring/digest/", {"enabled": "0"})
    assert response.status_code == 302
    result = run_daily(DAY)
    assert result["digests"]["opted_out"] == 1
    assert not smtp.to(expiring.auditor.email) and smtp.to(expiring.admin.email)
    set_digest(expiring.auditor, True)


def test_a_failed_mail_is_retried_by_the_next_run(expiring, settings):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    assert run_daily(DAY)["digests"]["failed"] == 3
    assert not Digest.objects.exists()  # released, so a later run sends it
