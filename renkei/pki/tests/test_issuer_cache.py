"""Issuing one certificate at a time: the issuing CA row is read once per process and confirmed
before every certificate, so a CA that another process retired or replaced is never used again;
one certificate costs a pinned number of queries, and the audit chain stays intact."""

from __future__ import annotations

import pytest
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.audit.services import verify
from renkei.pki import issuance
from renkei.pki.ca import chain_pem, init_ca
from renkei.pki.choices import CAStatus
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate, CertificateAuthority
from renkei.pki.tests.helpers import SYSTEM, csr_bytes, issue_for, openssl

pytestmark = pytest.mark.django_db


def retire_elsewhere(organization) -> None:
    """What another process (the CLI, another worker) would do: an UPDATE this process never sees."""
    CertificateAuthority.objects.filter(organization=organization).update(status=CAStatus.RETIRED)


def test_a_ca_retired_by_another_process_issues_nothing(ca, world):
    issue_for(world.supplier1, world.buyer)  # this process now holds the CA row
    retire_elsewhere(world.buyer)
    counts = Certificate.objects.count(), AuditEntry.objects.count()
    with translation.override("en"), pytest.raises(PkiError, match="has no CA yet"):
        issue_for(world.supplier1, world.buyer)
    assert (Certificate.objects.count(), AuditEntry.objects.count()) == counts


def test_a_replaced_ca_signs_the_next_certificate(ca, world, tmp_path):
    first = issue_for(world.supplier1, world.buyer)
    retire_elsewhere(world.buyer)
    _root, replacement = init_ca(SYSTEM, world.buyer)
    second = issue_for(world.supplier1, world.buyer)
    assert first.ca_id != replacement.pk and second.ca_id == replacement.pk
    (tmp_path / "chain.pem").write_text(chain_pem(world.buyer))
    (tmp_path / "leaf.pem").write_text(second.certificate_pem)
    verified = openssl("verify", "-CAfile", str(tmp_path / "chain.pem"), str(tmp_path / "leaf.pem"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_certificates_do_not_share_one_ca_instance(ca, world):
    first, second = issue_for(world.supplier1, world.buyer), issue_for(world.admin, world.buyer)
    assert first.ca == second.ca and first.ca is not second.ca


def test_one_certificate_costs_eight_queries_and_keeps_the_chain_intact(ca, world, django_assert_num_queries):
    issue_for(world.admin, world.buyer)  # the CA row is read, the chain head exists
    csr = csr_bytes()
    # The holder's membership; the CA still active (one primary-key lookup); savepoint, the row, the audit
    # entry (lock the chain head, insert, save the head), release.
    with django_assert_num_queries(8):
        request = issuance.prepare(SYSTEM, world.buyer, world.admin, "client")
        cert = issuance.issue_from_csr(SYSTEM, request, csr)
    entry = AuditEntry.objects.get(object_type="pki.certificate", object_id=str(cert.pk))
    assert entry.changes["serial"] == [None, cert.serial]
    checked, problems = verify([world.buyer.pk])
    assert checked == AuditEntry.objects.filter(organization=world.buyer).count() and problems == []
