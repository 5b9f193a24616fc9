"""Client-certificate PKI: issuing 1,000 EC certificates, OCSP server time, a 100,000-entry CRL.

    python bench/bench_pki.py [--certs 1000] [--ocsp 200] [--revoked 100000] [--database-url URL]

Makes a fresh benchmark organization with its CA (`renkei pki init` through the service), then:
1. issues CERTS EC P-256 client certificates from CSRs through the issuing service (checks,
   signing, the row and its audit entry; the CSRs, made by the "devices", are prepared first and
   not timed): one by one (one transaction each, as the CLI and the pages do), then the same
   CSRs again as one batch (issue_many, for bulk enrollment and MDM). Target: 1,000 in < 10 s.
2. asks the OCSP responder (POST /pki/<org>/ocsp, in-process django.test.Client) about a good
   and a revoked certificate OCSP times each: median / p95. Target: < 10 ms.
3. bulk-inserts REVOKED revoked certificate rows and times one CRL generation (rows read, entries
   built, signed, stored), then checks the CRL with `openssl crl`. Target: < 5 s.

Uses RENKEI_PKI_PASSPHRASE when set, else a benchmark passphrase; keys go to RENKEI_PKI_DIR
(bench/out/home/pki by default).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import statistics
import subprocess
import tempfile
import time

from common import bench_organization, parser, setup_django, summary_ms


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--certs", type=int, default=1000)
    p.add_argument("--ocsp", type=int, default=200)
    p.add_argument("--revoked", type=int, default=100_000)
    args = p.parse_args()
    os.environ.setdefault("RENKEI_PKI_PASSPHRASE", "benchmark passphrase, not for production")
    db = setup_django(args.database_url)

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import ocsp
    from cryptography.x509.oid import NameOID
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from renkei.accounts.models import Membership, User
    from renkei.audit.services import Actor
    from renkei.core.permissions import Role
    from renkei.pki import issuance
    from renkei.pki.ca import init_ca
    from renkei.pki.crl import generate_crl
    from renkei.pki.models import Certificate
    from renkei.pki.services import revoke

    setup_test_environment()
    actor = Actor.system("bench")
    org = bench_organization(f"bench-pki-{int(time.time())}")
    user, _ = User.objects.get_or_create(
        username="bench-pki-holder", defaults={"email": "holder@bench.example.jp"}
    )
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.ANALYST})
    started = time.perf_counter()
    _root, issuing = init_ca(actor, org)
    print(f"database: {db}; organization {org.slug}; CA made in {time.perf_counter() - started:.2f} s")

    # 1. Issuing.
    started = time.perf_counter()
    csrs = []
    for n in range(args.certs):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"device {n}")])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        csrs.append(csr.public_bytes(serialization.Encoding.PEM))
    print(f"{args.certs} CSRs prepared (not timed) in {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    issued = []
    for data in csrs:
        request = issuance.prepare(actor, org, user, "client")
        issued.append(issuance.issue_from_csr(actor, request, data))
    elapsed = time.perf_counter() - started
    ok_issue = elapsed < 10 * args.certs / 1000
    print(
        f"issue {args.certs} EC client certificates one by one (a transaction each): {elapsed:.2f} s "
        f"({elapsed / args.certs * 1000:.1f} ms each; target < 10 s per 1,000) {'OK' if ok_issue else 'SLOW'}"
    )
    started = time.perf_counter()
    batch = issuance.issue_many(
        actor, [(issuance.prepare(actor, org, user, "client"), data) for data in csrs]
    )
    elapsed = time.perf_counter() - started
    ok_batch = elapsed < 10 * args.certs / 1000
    print(
        f"issue {len(batch)} EC client certificates as one batch (issue_many): {elapsed:.2f} s "
        f"({elapsed / args.certs * 1000:.1f} ms each) {'OK' if ok_batch else 'SLOW'}"
    )

    # 2. OCSP.
    revoke(actor, issued[1], "keyCompromise")
    issuer_cert = x509.load_pem_x509_certificate(issuing.certificate_pem.encode())
    client = Client()
    url = f"/pki/{org.slug}/ocsp"
    ok_ocsp = True
    for label, cert_row, expected in (
        ("good", issued[0], ocsp.OCSPCertStatus.GOOD),
        ("revoked", issued[1], ocsp.OCSPCertStatus.REVOKED),
    ):
        cert = x509.load_pem_x509_certificate(cert_row.certificate_pem.encode())
        body = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(cert, issuer_cert, hashes.SHA1())
            .add_extension(x509.OCSPNonce(os.urandom(16)), critical=False)
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        samples = []
        for n in range(args.ocsp + 5):
            t0 = time.perf_counter()
            response = client.post(url, body, content_type="application/ocsp-request")
            if n >= 5:  # the first answers load the CA key (KDF) and warm caches
                samples.append(time.perf_counter() - t0)
            assert response.status_code == 200
        answer = ocsp.load_der_ocsp_response(response.content)
        assert answer.certificate_status == expected, answer.certificate_status
        median, p95 = summary_ms(samples)
        ok_ocsp &= p95 < 10
        print(
            f"OCSP {label:7}: median {median:.1f} ms, p95 {p95:.1f} ms over {args.ocsp} requests "
            f"(target < 10 ms) {'OK' if p95 < 10 else 'SLOW'}"
        )

    # 3. A CRL with REVOKED entries.
    started = time.perf_counter()
    now = timezone.now()
    later = now + datetime.timedelta(days=365)
    rows = []
    for n in range(args.revoked):
        serial = format(x509.random_serial_number(), "X").rjust(40, "0")
        rows.append(
            Certificate(
                organization=org,
                ca=issuing,
                profile="client",
                method="csr",
                serial=serial,
                subject=f"CN=bulk {n}",
                common_name=f"bulk {n}",
                user=user,
                not_before=now,
                not_after=later,
                fingerprint_sha256=hashlib.sha256(serial.encode()).hexdigest(),
                key_type="ec-p256",
                public_key_sha256="0" * 64,
                certificate_pem="(benchmark row)",
                revoked_at=now,
                revocation_reason="keyCompromise" if n % 2 else "unspecified",
            )
        )
    Certificate.objects.bulk_create(rows, batch_size=5000)
    print(f"{args.revoked} revoked rows inserted (not timed) in {time.perf_counter() - started:.1f} s")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        crl_row = generate_crl(issuing)
        timings.append(time.perf_counter() - started)
    best, median = min(timings), statistics.median(timings)
    ok_crl = median < 5
    print(
        f"CRL with {crl_row.revoked_count} entries ({len(bytes(crl_row.der)) / 1e6:.1f} MB DER): "
        f"median {median:.2f} s, best {best:.2f} s of 3 (target < 5 s) {'OK' if ok_crl else 'SLOW'}"
    )
    with tempfile.NamedTemporaryFile(suffix=".der") as handle:
        handle.write(bytes(crl_row.der))
        handle.flush()
        check = subprocess.run(
            ["openssl", "crl", "-inform", "DER", "-in", handle.name, "-noout", "-crlnumber"],
            capture_output=True,
            text=True,
            check=False,
        )
    print(f"openssl crl: {check.stdout.strip() or check.stderr.strip()}")
    raise SystemExit(0 if ok_issue and ok_ocsp and ok_crl else 1)


if __name__ == "__main__":
    main()
