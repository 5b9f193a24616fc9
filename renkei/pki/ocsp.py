"""The OCSP responder (RFC 6960) of each organization, answering from the database: a revocation
is visible in the next answer, with no cache to wait for.

Answers are signed by the issuing CA itself (an OCSP response signed by the certificate's issuer
needs no delegation, RFC 6960 4.2.2.2), name the responder by key hash, echo the request's nonce,
and are valid for RESPONSE_MINUTES. A request about a certificate of another issuer is answered
`unauthorized`; a serial this CA never issued, `unknown`."""

from __future__ import annotations

import datetime
import functools
import threading
import time

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.utils import timezone

from renkei.accounts.models import Organization
from renkei.pki import keystore
from renkei.pki.ca import serial_hex
from renkei.pki.choices import REASON_FLAGS, CARole, CAStatus, RevocationReason
from renkei.pki.models import Certificate, CertificateAuthority

MAX_REQUEST_BYTES = 10 * 1024
RESPONSE_MINUTES = 60


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


@functools.lru_cache(maxsize=64)
def _issuer(pem: str, algorithm_name: str) -> tuple[x509.Certificate, bytes, bytes]:
    """(CA certificate, issuer name hash, issuer key hash) for the request's hash algorithm."""
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    algorithm = {
        "sha1": hashes.SHA1,
        "sha224": hashes.SHA224,
        "sha256": hashes.SHA256,
        "sha384": hashes.SHA384,
        "sha512": hashes.SHA512,
    }[algorithm_name]()
    digest = hashes.Hash(algorithm)
    digest.update(cert.subject.public_bytes())
    # The key hash (over the public key's BIT STRING) as cryptography computes it for a CertID;
    # the probe's own name hash is of its "certificate"'s issuer, so not used.
    probe = ocsp.OCSPRequestBuilder().add_certificate(cert, cert, algorithm).build()
    return cert, digest.finalize(), probe.issuer_key_hash


# Organization slug -> (loaded at, organization id, issuing CAs as (id, certificate PEM, key file)).
# The CAs of an organization change a few times in a decade; certificate status is always read
# live. A request matching no cached CA reloads the entry once, so a new CA answers at once.
_CA_SECONDS = 300
_cas: dict[str, tuple[float, int, list[tuple[int, str, str]]]] = {}
_cas_lock = threading.Lock()


def _load_issuers(slug: str) -> tuple[float, int, list[tuple[int, str, str]]] | None:
    organization_id = Organization.objects.filter(slug=slug).values_list("pk", flat=True).first()
    if organization_id is None:
        return None
    cas = list(
        CertificateAuthority.objects.filter(
            organization_id=organization_id,
            role=CARole.ISSUING,
            status__in=[CAStatus.ACTIVE, CAStatus.RETIRED],
        )
        .exclude(key_file="")
        .order_by("pk")
        .values_list("pk", "certificate_pem", "key_file")
    )
    entry = (time.monotonic(), organization_id, cas)
    with _cas_lock:
        _cas[slug] = entry
    return entry


def _issuers(slug: str, *, reload: bool = False) -> tuple[float, int, list[tuple[int, str, str]]] | None:
    entry = None if reload else _cas.get(slug)
    if entry is None or time.monotonic() - entry[0] > _CA_SECONDS:
        entry = _load_issuers(slug)
    return entry


def known(slug: str) -> bool:
    return _issuers(slug) is not None


def _match(slug: str, request: ocsp.OCSPRequest, algorithm: str) -> tuple[int, str, x509.Certificate] | None:
    """(CA id, key file, CA certificate) of the issuer named by REQUEST, among SLUG's CAs."""
    for reload in (False, True):
        entry = _issuers(slug, reload=reload)
        if entry is None:
            return None
        for ca_id, pem, key_file in entry[2]:
            cert, name_hash, key_hash = _issuer(pem, algorithm)
            if name_hash == request.issuer_name_hash and key_hash == request.issuer_key_hash:
                return ca_id, key_file, cert
    return None


def respond(slug: str, data: bytes, now: datetime.datetime | None = None) -> bytes:
    """The DER OCSP response of organization SLUG's responder to the DER request DATA."""
    if len(data) > MAX_REQUEST_BYTES:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        request = ocsp.load_der_ocsp_request(data)
        algorithm = request.hash_algorithm
        extensions = list(request.extensions)
    except (ValueError, UnsupportedAlgorithm):
        # Malformed, several certificates in one request, or a hash we do not support.
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    if algorithm.name not in ("sha1", "sha224", "sha256", "sha384", "sha512"):
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    match = _match(slug, request, algorithm.name)
    if match is None:
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    ca_id, key_file, ca_cert = match
    found = list(
        Certificate.objects.filter(ca_id=ca_id, serial=serial_hex(request.serial_number))
        .order_by()
        .values_list("revoked_at", "revocation_reason")[:1]
    )
    row = found[0] if found else None
    now = now or timezone.now()
    revoked_at = reason = None
    if row is None:
        status = ocsp.OCSPCertStatus.UNKNOWN
    elif row[0] is None:
        status = ocsp.OCSPCertStatus.GOOD
    else:
        status = ocsp.OCSPCertStatus.REVOKED
        revoked_at = row[0]
        if row[1] and row[1] != RevocationReason.UNSPECIFIED:
            reason = REASON_FLAGS[row[1]]
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number,
            algorithm=algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + datetime.timedelta(minutes=RESPONSE_MINUTES),
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca_cert)
    )
    for extension in extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            builder = builder.add_extension(extension.value, critical=False)
    key = keystore.load_key(key_file)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
