"""The continuous re-check (renkei.deliveries.recheck): after new vulnerability data only the touched
keys are re-matched, new findings are mailed once to the buyer and to the supplier, withdrawn
advisories resolve findings, triage survives."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from renkei.audit.services import Actor
from renkei.deliveries import recheck, services
from renkei.deliveries.models import Advisory, Finding
from renkei.deliveries.osv.ecosystems import Key
from renkei.deliveries.tests.factories import cyclonedx, log4shell, register
from renkei.monitoring.sources import SOURCES, Context

pytestmark = pytest.mark.django_db

LOG4J = ("log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
LODASH = ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20")
LOG4J_KEY = Key("Maven", "org.apache.logging.log4j:log4j-core", "")


def test_new_data_finds_stored_deliveries_and_mails_buyer_and_supplier_once(world, smtp):
    delivery = register(world, cyclonedx([LOG4J, LODASH]))
    other = register(world, cyclonedx([LODASH]), supplier=world.s2, product="別製品")
    assert delivery.open_findings == 0
    smtp.received.clear()
    log4shell()
    new = recheck.after_import(SimpleNamespace(touched={LOG4J_KEY}, import_id=None))
    assert new == 1
    delivery.refresh_from_db()
    assert delivery.open_findings == 1 and delivery.worst_severity == "critical"
    other.refresh_from_db()
    assert other.open_findings == 0
    recipients = sorted(r for m in smtp.messages for r in m.recipients)
    # The buyer's admin and analyst, and S1's portal contact; not S2's, not the auditor.
    assert recipients == sorted(["admin@example.jp", "analyst@example.jp", "supplier1@example.jp"])
    staff_mail = next(m for m in smtp.messages if "analyst@example.jp" in m.recipients)
    assert "GHSA-jfh8-c2jp-5v3q" in staff_mail.text and "CVE-2021-44228" in staff_mail.text
    assert "log4j-core 2.14.1" in staff_mail.text
    assert Finding.objects.get().notified_at is not None
    # The same data again: nothing new, no mail.
    smtp.received.clear()
    assert recheck.after_import(SimpleNamespace(touched={LOG4J_KEY}, import_id=None)) == 0
    assert smtp.messages == []


def test_a_withdrawn_advisory_resolves_the_finding_and_triage_survives_reappearance(world):
    row = log4shell()
    delivery = register(world, cyclonedx([LOG4J]))
    finding = Finding.objects.get(delivery=delivery)
    services.triage(Actor(user=world.analyst), finding, state="affected", detail="本番で使用中")
    Advisory.objects.filter(pk=row.pk).update(withdrawn=timezone.now())
    recheck.after_import(SimpleNamespace(touched={LOG4J_KEY}, import_id=None))
    finding.refresh_from_db()
    delivery.refresh_from_db()
    assert finding.resolved_at is not None and delivery.open_findings == 0
    Advisory.objects.filter(pk=row.pk).update(withdrawn=None)
    assert recheck.after_import(SimpleNamespace(touched={LOG4J_KEY}, import_id=None)) == 1
    finding.refresh_from_db()
    assert finding.resolved_at is None and finding.vex_state == "affected"


def test_only_touched_keys_are_rematched(world, django_assert_max_num_queries):
    for i in range(20):
        register(world, cyclonedx([LODASH, (f"pkg{i}", "1.0.0", f"pkg:npm/pkg{i}@1.0.0")]), version=str(i))
    log4shell()
    # Nothing stored has log4j: the re-check reads no component rows beyond one query.
    with django_assert_max_num_queries(6):
        assert recheck.after_import(SimpleNamespace(touched={LOG4J_KEY}, import_id=None)) == 0


def test_triage_not_affected_needs_a_reason_and_closes_the_finding(world):
    log4shell()
    delivery = register(world, cyclonedx([LOG4J]))
    finding = Finding.objects.get(delivery=delivery)
    with pytest.raises(services.DeliveryError) as caught:
        services.triage(Actor(user=world.analyst), finding, state="not_affected")
    assert "justification" in caught.value.errors
    services.triage(
        Actor(user=world.supplier1),
        finding,
        state="not_affected",
        justification="code_not_reachable",
        detail="JNDI lookup を無効化",
    )
    delivery.refresh_from_db()
    assert delivery.open_findings == 0
    for user in (world.auditor, world.supplier2, world.outsider):
        with pytest.raises(services.NotAllowed):
            services.triage(Actor(user=user), finding, state="affected")


def test_attention_list_shows_critical_deliveries(world):
    log4shell()
    delivery = register(world, cyclonedx([LOG4J]))
    ctx = Context(organization_id=world.buyer.pk, today=timezone.localdate(), now=timezone.now())
    conditions = list(SOURCES["vulnerable_delivery"].compute(ctx))
    assert [c.key for c in conditions] == [f"vulnerable_delivery:{delivery.pk}"]
    assert conditions[0].params["worst"] == "critical" and conditions[0].supplier_id == world.s1.pk


def test_an_import_rechecks_only_the_advisories_it_changed(world, tmp_path, smtp):
    """Through the real importer: a new advisory finds the stored delivery; the next snapshot
    withdraws it and the finding resolves; a finding of an untouched advisory stays as it was."""
    import json

    from renkei.deliveries.osv.importer import import_osv

    log4shell()  # another source's advisory: its finding must survive the imports below
    delivery = register(world, cyclonedx([LOG4J, LODASH]))
    record = {
        "id": "GHSA-35jh-r3h4-6jhm",
        "modified": "2026-01-01T00:00:00Z",
        "aliases": ["CVE-2021-23337"],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
            }
        ],
    }
    feed = tmp_path / "npm"
    feed.mkdir()
    (feed / "lodash.json").write_text(json.dumps(record))
    result = import_osv(feed, "npm", on_done=recheck.after_import)
    assert result.advisory_ids and result.new_findings == 1
    assert set(Finding.objects.filter(resolved_at__isnull=True).values_list("osv_id", flat=True)) == {
        "GHSA-jfh8-c2jp-5v3q",
        "GHSA-35jh-r3h4-6jhm",
    }
    (feed / "lodash.json").write_text(
        json.dumps({**record, "modified": "2026-02-01T00:00:00Z", "withdrawn": "2026-02-01T00:00:00Z"})
    )
    import_osv(feed, "npm", on_done=recheck.after_import)
    open_ids = set(Finding.objects.filter(resolved_at__isnull=True).values_list("osv_id", flat=True))
    assert open_ids == {"GHSA-jfh8-c2jp-5v3q"}
    delivery.refresh_from_db()
    assert delivery.open_findings == 1
