"""Registering a delivery (renkei.deliveries.services): files checked before anything is written,
signatures by whom, components matched at once, the audit entry, the supplier's risk factor."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.files.base import ContentFile

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.deliveries import services
from renkei.deliveries.models import Artifact, Component, Delivery, Finding, Sbom
from renkei.deliveries.tests import factories
from renkei.deliveries.tests.factories import SYSTEM, cyclonedx, register, upload
from renkei.pki import issuance, trust
from renkei.pki.services import revoke
from renkei.pki.tests.helpers import openssl_csr
from renkei.pki.tests.test_signatures import cms_sign, make_external
from renkei.risk.models import SupplierRisk
from renkei.risk.services import recompute_suppliers

pytestmark = pytest.mark.django_db

LOG4J = ("log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
DJANGO = ("Django", "4.2.0", "pkg:pypi/django@4.2.0")


@pytest.fixture
def log4shell():
    return factories.log4shell()


def test_a_delivery_with_a_vulnerable_component_has_a_finding_at_once(world, log4shell):
    delivery = register(world, cyclonedx([LOG4J, DJANGO]))
    assert delivery.component_count == 2 and delivery.open_findings == 1
    assert delivery.worst_severity == "critical"
    finding = Finding.objects.get(delivery=delivery)
    assert finding.osv_id == "GHSA-jfh8-c2jp-5v3q" and finding.component.name == "log4j-core"
    assert finding.match == "affected"
    sbom = Sbom.objects.get(delivery=delivery)
    assert sbom.format == "cyclonedx" and sbom.component_count == 2 and sbom.completeness > 0
    keys = set(Component.objects.filter(delivery=delivery).values_list("ecosystem", "package"))
    assert keys == {("Maven", "org.apache.logging.log4j:log4j-core"), ("PyPI", "django")}
    entry = AuditEntry.objects.get(object_type="deliveries.delivery", object_id=str(delivery.pk))
    assert entry.action == AuditEntry.Action.CREATE


def test_the_fixed_version_is_not_a_finding(world, log4shell):
    delivery = register(
        world, cyclonedx([("log4j-core", "2.17.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1")])
    )
    assert delivery.open_findings == 0 and not Finding.objects.exists()


def test_an_unreadable_sbom_writes_nothing_and_says_where(world, log4shell):
    with pytest.raises(services.DeliveryError) as caught:
        register(world, b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 5}]}')
    assert "sbom" in caught.value.errors
    assert "components[0]" in caught.value.errors["sbom"]
    assert not Delivery.objects.exists() and not Component.objects.exists() and not Artifact.objects.exists()


def test_an_oversized_sbom_is_refused_by_its_size_before_reading(world, settings):
    settings.RENKEI_SBOM_MAX_BYTES = 1000
    with pytest.raises(services.DeliveryError) as caught:
        register(world, b" " * 5000)
    assert "sbom" in caught.value.errors and not Delivery.objects.exists()


def test_product_and_version_are_required(world):
    with pytest.raises(services.DeliveryError) as caught:
        register(world, cyclonedx([DJANGO]), product=" ", version="")
    assert set(caught.value.errors) == {"product", "version"}


def test_nothing_to_register_is_refused(world):
    with pytest.raises(services.DeliveryError) as caught:
        register(world, None)
    assert "__all__" in caught.value.errors


def test_who_may_register(world):
    data = cyclonedx([DJANGO])
    # The supplier's own contact may; the contact of another supplier and an auditor may not.
    assert register(world, data, actor=Actor(user=world.supplier1), source="portal").supplier == world.s1
    for user in (world.supplier2, world.auditor, world.outsider, world.xcontact):
        with pytest.raises(services.NotAllowed):
            register(world, data, actor=Actor(user=user), source="portal")
    with pytest.raises(services.NotAllowed):  # a supplier of another organization
        register(world, data, supplier=world.x1)


def test_artifacts_are_stored_with_their_sha256(world):
    payload = b"MZ" + bytes(range(256)) * 100
    delivery = register(world, None, artifacts=[services.ArtifactUpload(upload("setup.exe", payload))])
    artifact = delivery.artifacts.get()
    assert artifact.sha256 == hashlib.sha256(payload).hexdigest() and artifact.size == len(payload)
    assert artifact.file.read() == payload and artifact.signature_status == "none"
    assert delivery.signature_status == "none"


# --- Signatures ---------------------------------------------------------------------------------


def _signer_for(world, user, tmp_path, name):
    csr = openssl_csr(tmp_path, name)
    request = issuance.prepare(SYSTEM, world.buyer, user, "signing")
    row = issuance.issue_from_csr(SYSTEM, request, csr.read_bytes())
    cert = tmp_path / f"{name}.pem"
    cert.write_text(row.certificate_pem)
    return row, cert, tmp_path / f"{name}.key"


@pytest.fixture
def release(tmp_path):
    path = tmp_path / "release.zip"
    path.write_bytes(b"PK\x03\x04" + "納品物 v2.4.0".encode() + bytes(range(256)) * 50)
    return path


def _artifact(path, signature):
    return services.ArtifactUpload(upload(path.name, path.read_bytes()), upload("release.zip.p7s", signature))


def test_signed_by_the_suppliers_contact_is_valid_and_by_another_is_wrong_signer(
    ca, chain_file, world, tmp_path, release
):
    row, cert, key = _signer_for(world, world.supplier1, tmp_path, "s1signer")
    signature = cms_sign(release, cert, key, tmp_path / "r.p7s", chain=chain_file)
    good = register(world, None, artifacts=[_artifact(release, signature)])
    artifact = good.artifacts.get()
    assert artifact.signature_status == "valid", artifact.signature_message
    assert good.signature_status == "valid" and artifact.signer["kind"] == "renkei"
    assert artifact.signer["fingerprint_sha256"] == row.fingerprint_sha256
    # The same signature on a delivery of S2: valid CMS, but not S2's signer.
    other = register(world, None, supplier=world.s2, artifacts=[_artifact(release, signature)])
    assert other.artifacts.get().signature_status == "wrong_signer"
    assert other.signature_status == "wrong_signer"


def test_a_tampered_artifact_and_a_revoked_signer_are_told_apart(ca, chain_file, world, tmp_path, release):
    row, cert, key = _signer_for(world, world.supplier1, tmp_path, "s1signer")
    signature = cms_sign(release, cert, key, tmp_path / "r.p7s", chain=chain_file)
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(release.read_bytes() + b"\x00")
    bad = register(world, None, artifacts=[_artifact(tampered, signature)])
    assert bad.artifacts.get().signature_status == "digest_mismatch"
    revoke(SYSTEM, row, "keyCompromise")
    late = register(world, None, artifacts=[_artifact(release, signature)])
    assert late.artifacts.get().signature_status == "revoked"
    garbage = register(world, None, artifacts=[_artifact(release, b"not a signature")])
    assert garbage.artifacts.get().signature_status == "malformed"


def test_a_registered_external_certificate_counts_for_its_supplier_only(ca, world, tmp_path, release):
    _ca_key, _ca_cert, _leaf, files = make_external(tmp_path)
    signature = cms_sign(release, files["cert"], files["key"], tmp_path / "e.p7s")
    untrusted = register(world, None, artifacts=[_artifact(release, signature)])
    assert untrusted.artifacts.get().signature_status == "untrusted"
    trust.add_trusted(
        SYSTEM, world.buyer, files["ca"].read_bytes(), name="東海精密 署名CA", supplier=world.s1
    )
    assert (
        register(world, None, artifacts=[_artifact(release, signature)]).artifacts.get().signature_status
        == "valid"
    )
    wrong = register(world, None, supplier=world.s2, artifacts=[_artifact(release, signature)])
    assert wrong.artifacts.get().signature_status == "wrong_signer"


def test_an_expired_external_signer_is_expired(ca, world, tmp_path, release):
    now = datetime.datetime.now(datetime.UTC)
    _k, _c, _leaf, files = make_external(tmp_path, leaf_not_after=now - datetime.timedelta(days=1))
    trust.add_trusted(SYSTEM, world.buyer, files["ca"].read_bytes(), name="CA", supplier=world.s1)
    signature = cms_sign(release, files["cert"], files["key"], tmp_path / "x.p7s")
    assert (
        register(world, None, artifacts=[_artifact(release, signature)]).artifacts.get().signature_status
        == "expired"
    )


def test_a_signed_sbom_is_checked_over_the_sbom(ca, chain_file, world, tmp_path):
    _row, cert, key = _signer_for(world, world.supplier1, tmp_path, "s1signer")
    data = cyclonedx([DJANGO])
    path = tmp_path / "bom.json"
    path.write_bytes(data)
    signature = cms_sign(path, cert, key, tmp_path / "bom.p7s", chain=chain_file)
    delivery = register(world, data, sbom_signature=upload("bom.json.p7s", signature))
    assert delivery.sboms.get().signature_status == "valid" and delivery.signature_status == "valid"


# --- Risk ---------------------------------------------------------------------------------------


def test_a_vulnerable_delivery_raises_the_suppliers_likelihood(world, log4shell):
    recompute_suppliers([world.s1.pk])
    before = SupplierRisk.objects.get(supplier=world.s1)
    assert "vulnerable_deliveries" not in {f["name"] for f in before.factors}
    register(world, cyclonedx([LOG4J]))
    recompute_suppliers([world.s1.pk])
    after = SupplierRisk.objects.get(supplier=world.s1)
    factor = next(f for f in after.factors if f["name"] == "vulnerable_deliveries")
    assert factor["contribution"] == 0.75 and factor["params"]["high"] == 1
    assert after.likelihood >= before.likelihood
    # A newer delivery of the same product without the component replaces it.
    register(world, cyclonedx([DJANGO]), version="2.5.0")
    recompute_suppliers([world.s1.pk])
    latest = SupplierRisk.objects.get(supplier=world.s1)
    assert "vulnerable_deliveries" not in {f["name"] for f in latest.factors}


def test_registration_query_count_does_not_grow_with_components(world, log4shell):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = cyclonedx([LOG4J] + [(f"pkg{i}", "1.0.0", f"pkg:npm/pkg{i}@1.0.0") for i in range(5)])
    large = cyclonedx([LOG4J] + [(f"pkg{i}", "1.0.0", f"pkg:npm/pkg{i}@1.0.0") for i in range(500)])
    register(world, small)  # warm caches (content types, the audit chain head)

    def queries(data, version):
        with CaptureQueriesContext(connection) as run:
            register(world, data, version=version)
        # SQLite splits a bulk insert into batches of its variable limit; PostgreSQL sends one.
        return [
            q["sql"]
            for q in run.captured_queries
            if not q["sql"].startswith('INSERT INTO "deliveries_component"')
        ]

    assert len(queries(small, "2")) == len(queries(large, "3")) <= 20


def test_content_file_uploads_work_for_the_cli(world):
    delivery = register(world, None, artifacts=[services.ArtifactUpload(ContentFile(b"abc", name="a.bin"))])
    assert delivery.artifacts.get().name == "a.bin"
