"""Trusted external certificates other viewers must never see (for renkei.core.tests.test_security)."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def external_ca_pem(name: str) -> bytes:
    """A self-signed CA certificate (PEM) named NAME, as a supplier's signing CA would be."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def foreign_trusted(world: Any, viewer: Any) -> dict[str, list[Any]]:
    """Trusted certificates of organizations VIEWER is not staff of (the buyer's for everyone but
    its staff, the other organization's for everyone but its staff)."""
    from renkei.accounts.models import Membership
    from renkei.pki.tests.helpers import SYSTEM
    from renkei.pki.trust import add_trusted

    rows = []
    for org in (world.buyer, world.other):
        if not Membership.objects.filter(user=viewer, organization=org).exists():
            pem = external_ca_pem(f"LEAK-TRUSTED-{org.slug}")
            rows.append(add_trusted(SYSTEM, org, pem, f"LEAK-TRUSTED-NAME-{org.slug}"))
    return {"trustedcertificate": rows}
