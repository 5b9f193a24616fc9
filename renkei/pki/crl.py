"""The CRL of each issuing CA: regenerated on every revocation and by the daily job, stored as one
row per CA (the DER served at /pki/<org>/crl.der) whose CRL number grows by one each time.

Entries are the CA's revoked certificates that have not expired yet (RFC 5280 lets an entry go
once the certificate has expired; the expiry check refuses those anyway)."""

from __future__ import annotations

import datetime
import logging

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction
from django.utils import timezone

from renkei.pki import keystore
from renkei.pki.ca import authority_key_id
from renkei.pki.choices import REASON_FLAGS, RevocationReason
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate, CertificateAuthority, CertificateRevocationList

logger = logging.getLogger("renkei.pki")

CRL_DAYS = 7  # nextUpdate: the daily job renews it long before


def _entries(ca: CertificateAuthority, now: datetime.datetime) -> list[x509.RevokedCertificate]:
    rows = (
        Certificate.objects.filter(ca=ca, revoked_at__isnull=False, not_after__gt=now)
        .order_by("revoked_at", "pk")
        .values_list("serial", "revoked_at", "revocation_reason")
    )
    entries = []
    for serial, revoked_at, reason in rows.iterator(chunk_size=5000):
        builder = x509.RevokedCertificateBuilder().serial_number(int(serial, 16)).revocation_date(revoked_at)
        # RFC 5280 5.3.1: the reason code unspecified SHOULD be absent.
        if reason and reason != RevocationReason.UNSPECIFIED:
            builder = builder.add_extension(x509.CRLReason(REASON_FLAGS[reason]), critical=False)
        entries.append(builder.build())
    return entries


def generate_crl(ca: CertificateAuthority, now: datetime.datetime | None = None) -> CertificateRevocationList:
    """Sign a new CRL for CA with the next CRL number (the row is locked while it is made)."""
    now = now or timezone.now()
    key = keystore.load_key(ca.key_file)
    ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode("ascii"))
    with transaction.atomic():
        CertificateRevocationList.objects.get_or_create(
            ca=ca,
            defaults={
                "organization_id": ca.organization_id,
                "this_update": now,
                "next_update": now,
                "der": b"",
            },
        )
        row = CertificateRevocationList.objects.select_for_update().get(ca=ca)
        entries = _entries(ca, now)
        number = row.number + 1
        # Built in one go: add_revoked_certificate copies the list each time (quadratic at 100,000).
        builder = x509.CertificateRevocationListBuilder(
            issuer_name=ca_cert.subject,
            last_update=now,
            next_update=now + datetime.timedelta(days=CRL_DAYS),
            revoked_certificates=entries,
        )
        builder = builder.add_extension(x509.CRLNumber(number), critical=False)
        builder = builder.add_extension(authority_key_id(ca_cert), critical=False)
        crl = builder.sign(key, keystore.signature_hash(key))
        row.number = number
        row.this_update = now
        row.next_update = now + datetime.timedelta(days=CRL_DAYS)
        row.revoked_count = len(entries)
        row.der = crl.public_bytes(serialization.Encoding.DER)
        row.save()
    return row


def current_crl(ca: CertificateAuthority) -> CertificateRevocationList:
    """The CA's CRL, regenerated first if it has passed its nextUpdate (no worker ran)."""
    row = CertificateRevocationList.objects.filter(ca=ca).first()
    if row is None or row.next_update <= timezone.now():
        row = generate_crl(ca)
    return row


def refresh_all() -> int:
    """Regenerate the CRL of every issuing CA whose key is here (the daily job)."""
    count = 0
    for ca in (
        CertificateAuthority.objects.filter(role="issuing").exclude(status="pending").exclude(key_file="")
    ):
        try:
            generate_crl(ca)
        except PkiError as exc:  # e.g. the worker lacks the passphrase: the other work goes on
            logger.warning("CRL of CA %s not regenerated: %s", ca.pk, exc.message)
            continue
        count += 1
    return count


def pem(der: bytes) -> bytes:
    return x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)
