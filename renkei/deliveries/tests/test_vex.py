"""CycloneDX VEX export and import (renkei.deliveries.vex)."""

from __future__ import annotations

import json

import pytest

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.deliveries import services, vex
from renkei.deliveries.models import Finding
from renkei.deliveries.tests.factories import advisory, cyclonedx, log4shell, register

pytestmark = pytest.mark.django_db

LOG4J = ("log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
LODASH = ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20")


@pytest.fixture
def delivery(world):
    log4shell()
    advisory(
        "GHSA-35jh-r3h4-6jhm",
        "npm",
        "lodash",
        [{"introduced": "0"}, {"fixed": "4.17.21"}],
        severity="high",
        aliases=["CVE-2021-23337"],
    )
    return register(world, cyclonedx([LOG4J, LODASH]))


def test_export_is_a_cyclonedx_vex_with_our_triage(world, delivery):
    finding = Finding.objects.get(delivery=delivery, osv_id="GHSA-jfh8-c2jp-5v3q")
    services.triage(
        Actor(user=world.analyst),
        finding,
        state="not_affected",
        justification="code_not_reachable",
        detail="JndiLookup クラスを削除済み",
    )
    document = json.loads(vex.export_vex(delivery))
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    by_id = {v["id"]: v for v in document["vulnerabilities"]}
    assert set(by_id) == {"GHSA-jfh8-c2jp-5v3q", "GHSA-35jh-r3h4-6jhm"}
    log4j = by_id["GHSA-jfh8-c2jp-5v3q"]
    assert log4j["analysis"] == {
        "state": "not_affected",
        "justification": "code_not_reachable",
        "detail": "JndiLookup クラスを削除済み",
    }
    refs = {c["bom-ref"]: c for c in document["components"]}
    assert refs[log4j["affects"][0]["ref"]]["name"] == "log4j-core"
    assert "analysis" not in by_id["GHSA-35jh-r3h4-6jhm"]


def test_exported_vex_validates_against_the_cyclonedx_schema(world, delivery):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(vex.export_vex(delivery).decode())
    assert errors is None, errors


def test_import_round_trip_onto_another_delivery_of_the_same_sbom(world, delivery):
    finding = Finding.objects.get(delivery=delivery, osv_id="GHSA-35jh-r3h4-6jhm")
    services.triage(Actor(user=world.supplier1), finding, state="fixed", detail="4.17.21 へ更新済み")
    exported = vex.export_vex(delivery)
    again = register(world, cyclonedx([LOG4J, LODASH]), version="2.4.1")
    result = vex.import_vex(Actor(user=world.analyst), again, exported)
    assert result.updated == 1 and result.unknown == []
    imported = Finding.objects.get(delivery=again, osv_id="GHSA-35jh-r3h4-6jhm")
    assert imported.vex_state == "fixed" and imported.vex_detail == "4.17.21 へ更新済み"
    assert imported.vex_by == world.analyst
    assert AuditEntry.objects.filter(object_type="deliveries.finding", object_id=str(imported.pk)).exists()
    again.refresh_from_db()
    assert again.open_findings == 1
    # Importing the same again changes nothing.
    assert vex.import_vex(Actor(user=world.analyst), again, exported).updated == 0


def test_import_matches_by_alias_and_reports_unknown_statements(world, delivery):
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "vulnerabilities": [
            {
                "id": "CVE-2021-44228",
                "analysis": {"state": "exploitable"},
                "affects": [
                    {
                        "ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#"
                        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
                    }
                ],
            },
            {
                "id": "CVE-1999-0001",
                "analysis": {"state": "not_affected", "justification": "code_not_present"},
            },
        ],
    }
    result = vex.import_vex(Actor(user=world.analyst), delivery, json.dumps(document).encode())
    assert result.updated == 1 and len(result.unknown) == 1 and "CVE-1999-0001" in result.unknown[0]
    assert Finding.objects.get(delivery=delivery, osv_id="GHSA-jfh8-c2jp-5v3q").vex_state == "affected"


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"\xff\xfe not json", "UTF-8"),
        (b'{"bomFormat": "SPDX"}', "CycloneDX"),
        (b'{"bomFormat": "CycloneDX", "vulnerabilities": {}}', "vulnerabilities"),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "X", "analysis": {"state": "maybe"}}]}',
            "vulnerabilities[0].analysis.state",
        ),
        (
            b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "X", "analysis": '
            b'{"state": "not_affected", "justification": "because"}}]}',
            "vulnerabilities[0].analysis.justification",
        ),
        (b"[" * 100000, "JSON"),
    ],
)
def test_a_bad_vex_changes_nothing_and_says_where(world, delivery, data, where):
    from django.utils import translation

    with translation.override("en"), pytest.raises(services.DeliveryError) as caught:
        vex.import_vex(Actor(user=world.analyst), delivery, data)
    assert where in str(caught.value)
    assert not Finding.objects.exclude(vex_state="").exists()


def test_import_is_refused_to_those_who_may_not_triage(world, delivery):
    with pytest.raises(services.NotAllowed):
        vex.import_vex(Actor(user=world.auditor), delivery, vex.export_vex(delivery))
