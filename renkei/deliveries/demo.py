"""The demo's delivered software: two deliveries, offline vulnerability data, a licence policy.

- 東海精密 (S-1001) delivered 生産管理システム 3.2.0: a release archive signed by the supplier's
  code-signing certificate (an external CA the buyer registered for S-1001) and a CycloneDX SBOM
  with log4j-core 2.14.1 (Log4Shell, critical), spring-beans 5.3.17 (Spring4Shell) and lodash
  4.17.20; the supplier has triaged lodash as not affected.
- 日本システムサービス (S-5001) delivered 配送管理アプリ 1.8.0 with an SPDX SBOM that lacks
  suppliers and dependencies (a low completeness score) and one AGPL component the buyer's policy
  forbids.
- The vulnerability data: a handful of OSV records shipped with Renkei (demo_data/osv), imported as
  the source "demo-osv" — illustrative, not a current feed: `renkei osv import` loads real ones.
Idempotent: nothing is made when the deliveries exist.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.files.base import ContentFile
from django.utils import timezone

from renkei.audit.services import Actor
from renkei.deliveries import services
from renkei.deliveries.models import Delivery, Finding, ForbiddenLicence

DATA = Path(__file__).parent / "demo_data"
SOURCE = "demo-osv"
TOKAI = "S-1001"
NSS = "S-5001"
PRODUCT = "生産管理システム"
FORBIDDEN = ("AGPL-3.0-only", "AGPL-3.0-or-later", "SSPL-1.0")

# (name, version, purl, licence) of the 東海精密 delivery.
TOKAI_COMPONENTS = [
    ("log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Apache-2.0"),
    ("log4j-api", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1", "Apache-2.0"),
    ("spring-beans", "5.3.17", "pkg:maven/org.springframework/spring-beans@5.3.17", "Apache-2.0"),
    ("spring-core", "5.3.17", "pkg:maven/org.springframework/spring-core@5.3.17", "Apache-2.0"),
    ("spring-webmvc", "5.3.17", "pkg:maven/org.springframework/spring-webmvc@5.3.17", "Apache-2.0"),
    (
        "jackson-databind",
        "2.13.2",
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.13.2",
        "Apache-2.0",
    ),
    ("postgresql", "42.3.3", "pkg:maven/org.postgresql/postgresql@42.3.3", "BSD-2-Clause"),
    ("commons-lang3", "3.12.0", "pkg:maven/org.apache.commons/commons-lang3@3.12.0", "Apache-2.0"),
    ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20", "MIT"),
    ("react", "17.0.2", "pkg:npm/react@17.0.2", "MIT"),
    ("react-dom", "17.0.2", "pkg:npm/react-dom@17.0.2", "MIT"),
    ("axios", "1.6.8", "pkg:npm/axios@1.6.8", "MIT"),
    ("chart.js", "4.4.1", "pkg:npm/chart.js@4.4.1", "MIT"),
]

# (name, version, purl, licence) of the 日本システムサービス delivery (SPDX, no suppliers).
NSS_COMPONENTS = [
    ("Django", "4.2.1", "pkg:pypi/django@4.2.1", "BSD-3-Clause"),
    ("urllib3", "1.26.15", "pkg:pypi/urllib3@1.26.15", "MIT"),
    ("requests", "2.31.0", "pkg:pypi/requests@2.31.0", "Apache-2.0"),
    ("celery", "5.3.1", "pkg:pypi/celery@5.3.1", "BSD-3-Clause"),
    ("ghostscript-wrapper", "0.9.1", "pkg:pypi/ghostscript-wrapper@0.9.1", "AGPL-3.0-only"),
    (
        "openssl",
        "1.1.1n-0+deb11u4",
        "pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u4?distro=debian-11",
        "Apache-2.0",
    ),
]


def cyclonedx_document(
    components: list[tuple[str, str, str, str]], product: str, version: str, supplier: str
) -> bytes:
    items = [
        {
            "type": "library",
            "bom-ref": purl,
            "name": name,
            "version": ver,
            "purl": purl,
            "supplier": {"name": purl.split("/")[1] if purl.startswith("pkg:maven") else name},
            "licenses": [{"expression": licence}],
        }
        for name, ver, purl, licence in components
    ]
    refs = [item["bom-ref"] for item in items]
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "serialNumber": "urn:uuid:6f0c1e2a-7b2d-4c5e-9a31-0d2f4e8b9c11",
            "metadata": {
                "timestamp": "2026-11-25T10:00:00+09:00",
                "authors": [{"name": f"{supplier} 品質保証部"}],
                "tools": {
                    "components": [
                        {"type": "application", "name": "cyclonedx-maven-plugin", "version": "2.9.1"}
                    ]
                },
                "component": {
                    "type": "application",
                    "bom-ref": "product",
                    "name": product,
                    "version": version,
                },
            },
            "components": items,
            "dependencies": [{"ref": "product", "dependsOn": refs}] + [{"ref": ref} for ref in refs],
        },
        ensure_ascii=False,
        indent=1,
    ).encode()


def spdx_document(components: list[tuple[str, str, str, str]], product: str, version: str) -> bytes:
    packages = [
        {
            "SPDXID": f"SPDXRef-Package-{index}",
            "name": name,
            "versionInfo": ver,
            "downloadLocation": "NOASSERTION",
            "licenseConcluded": licence,
            "licenseDeclared": licence,
            "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
            ],
        }
        for index, (name, ver, purl, licence) in enumerate(components, start=1)
    ]
    return json.dumps(
        {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": f"{product} {version}",
            "documentNamespace": "https://example.jp/spdx/haiso-1.8.0",
            "creationInfo": {"created": "2026-11-28T02:00:00Z", "creators": ["Tool: syft-1.18.0"]},
            "packages": packages,
            "relationships": [],
        },
        ensure_ascii=False,
        indent=1,
    ).encode()


def _signing_material(supplier_name: str) -> tuple[bytes, x509.Certificate, Any]:
    """The supplier's code-signing CA (what the buyer registers) and a signer under it."""
    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, supplier_name),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Code Signing CA"))
        .issuer_name(name("Code Signing CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("Release Signing"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now + datetime.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ca.public_bytes(serialization.Encoding.PEM), leaf, key


def sign(data: bytes, cert: x509.Certificate, key: Any) -> bytes:
    """A detached CMS signature (DER), as `openssl cms -sign -binary` makes."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(data)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )


def import_demo_osv() -> Any:
    from renkei.deliveries.osv.importer import import_osv

    return import_osv(DATA / "osv", source=SOURCE)


def build_demo_deliveries(organization: Any) -> list[Delivery]:
    from renkei.accounts.models import User
    from renkei.pki import trust
    from renkei.suppliers.models import Supplier

    if Delivery.objects.filter(organization=organization).exists():
        return list(Delivery.objects.filter(organization=organization))
    suppliers = {s.code: s for s in Supplier.objects.filter(organization=organization, code__in=[TOKAI, NSS])}
    if len(suppliers) < 2:
        return []
    actor = Actor.system("demo")
    import_demo_osv()
    for identifier in FORBIDDEN:
        ForbiddenLicence.objects.get_or_create(
            organization=organization,
            identifier=identifier,
            defaults={"note": "社内ポリシー: 配布物に含めない"},
        )
    tokai = suppliers[TOKAI]
    ca_pem, leaf, key = _signing_material(tokai.name)
    from renkei.pki.models import TrustedCertificate

    if not TrustedCertificate.objects.filter(organization=organization, supplier=tokai).exists():
        trust.add_trusted(actor, organization, ca_pem, f"{tokai.name} コード署名CA", supplier=tokai)
    archive = b"PK\x03\x04" + "生産管理システム 3.2.0 リリース".encode() + bytes(range(256)) * 256
    contact_user = User.objects.filter(username="tokai").first()
    # The supplier's contact registers and triages, as the graph demo's declarations do.
    contact = (
        Actor(user=contact_user, address=actor.address, label=contact_user.username)
        if contact_user
        else actor
    )
    delivered = services.register_delivery(
        contact,
        organization,
        tokai,
        product=PRODUCT,
        version="3.2.0",
        source="portal" if contact_user else "staff",
        description="2026年12月定期リリース。帳票出力の改善とセキュリティ修正を含みます。",
        artifacts=[
            services.ArtifactUpload(
                ContentFile(archive, name="seisan-kanri-3.2.0.zip"),
                ContentFile(sign(archive, leaf, key), name="seisan-kanri-3.2.0.zip.p7s"),
            )
        ],
        sbom=ContentFile(
            cyclonedx_document(TOKAI_COMPONENTS, PRODUCT, "3.2.0", tokai.name), name="bom.cdx.json"
        ),
        received_at=timezone.now() - datetime.timedelta(days=5),
    )
    lodash = Finding.objects.filter(delivery=delivered, component__name="lodash").first()
    if lodash is not None:
        services.triage(
            contact,
            lodash,
            state="not_affected",
            justification="code_not_reachable",
            detail="template 関数は使用しておらず、利用者入力が渡る経路はありません。",
        )
    nss = suppliers[NSS]
    haiso = services.register_delivery(
        actor,
        organization,
        nss,
        product="配送管理アプリ",
        version="1.8.0",
        source="staff",
        sbom=ContentFile(
            spdx_document(NSS_COMPONENTS, "配送管理アプリ", "1.8.0"), name="haiso-1.8.0.spdx.json"
        ),
        received_at=timezone.now() - datetime.timedelta(days=2),
    )
    return [delivered, haiso]
