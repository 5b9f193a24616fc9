"""Shared helpers of the PKI tests (also used by renkei.core.tests.test_security)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from renkei.audit.services import Actor

PASSPHRASE = "correct horse battery staple"
SYSTEM = Actor.system("test")


def openssl(*args: str, input: bytes | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run the real openssl CLI; stdout and stderr as text."""
    result = subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=60, check=False)
    out = subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {out.stdout}{out.stderr}")
    return out


def openssl_csr(
    directory: Path,
    name: str = "req",
    *,
    key: str = "ec:P-256",
    subject: str = "/CN=ignored",
    extensions: list[str] | None = None,
) -> Path:
    """A CSR made by `openssl req` (key "ec:CURVE" or "rsa:BITS"); returns the CSR path."""
    kind, param = key.split(":")
    key_args = (
        ["-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{param}"]
        if kind == "ec"
        else ["-newkey", f"rsa:{param}"]
    )
    args = [
        "req",
        "-new",
        *key_args,
        "-nodes",
        "-keyout",
        str(directory / f"{name}.key"),
        "-out",
        str(directory / f"{name}.csr"),
        "-subj",
        subject,
    ]
    for extension in extensions or []:
        args += ["-addext", extension]
    openssl(*args, check=True)
    return directory / f"{name}.csr"


def csr_bytes(
    key: Any = None,
    *,
    names: list[x509.GeneralName] | None = None,
    extensions: list[tuple[x509.ExtensionType, bool]] | None = None,
    subject: str = "device",
) -> bytes:
    """A PEM CSR made with cryptography (for keys openssl would refuse to make quickly)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    for value, critical in extensions or []:
        builder = builder.add_extension(value, critical=critical)
    algorithm = hashes.SHA256() if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) else None
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)


@contextlib.contextmanager
def pki_environment(directory: Path | None = None) -> Iterator[Path]:
    """The passphrase in the environment and keys under DIRECTORY (a temporary one by default),
    restored afterwards: for callers without pytest's monkeypatch and settings fixtures."""
    from django.test import override_settings

    previous = os.environ.get("RENKEI_PKI_PASSPHRASE")
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        stack.enter_context(override_settings(RENKEI_PKI_DIR=directory))
        os.environ["RENKEI_PKI_PASSPHRASE"] = PASSPHRASE
        try:
            yield directory
        finally:
            if previous is None:
                os.environ.pop("RENKEI_PKI_PASSPHRASE", None)
            else:
                os.environ["RENKEI_PKI_PASSPHRASE"] = previous


def issue_for(user: Any, organization: Any, profile: str = "client", device: str = "") -> Any:
    """A certificate for USER from a fresh EC key (through the service)."""
    from renkei.pki import issuance

    request = issuance.prepare(SYSTEM, organization, user, profile, device)
    return issuance.issue_from_csr(SYSTEM, request, csr_bytes())


def foreign_objects(world: Any, viewer: Any) -> dict[str, list[Any]]:
    """Certificates VIEWER must never see, for the security sweep: the buyer's admin's and the
    other supplier's contact's (for a supplier contact), and another organization's."""
    from renkei.pki.ca import init_ca, issuing_ca
    from renkei.pki.keystore import PkiError

    found = []
    with pki_environment():
        for org in (world.buyer, world.other):
            try:
                issuing_ca(org)
            except PkiError:
                init_ca(SYSTEM, org)
        holders = [
            (world.admin, world.buyer),
            (world.supplier2, world.buyer),
            (world.outsider, world.other),
            (world.xcontact, world.other),
        ]
        for user, org in holders:
            if user != viewer and not (viewer == world.outsider and org == world.other):
                found.append(issue_for(user, org, "device", f"LEAK-DEVICE-{user.username}"))
    return {"certificate": found}
