"""CA private keys at rest: PKCS#8 files encrypted with the PKI passphrase, and key types.

The passphrase comes from RENKEI_PKI_PASSPHRASE or the file named by RENKEI_PKI_PASSPHRASE_FILE,
read when needed (never kept in settings, where a debug page or a settings dump could show it).
Files are written as PKCS#8 EncryptedPrivateKeyInfo with PBES2: PBKDF2-HMAC-SHA256 with
KDF_ITERATIONS rounds and AES-256-CBC — `openssl pkey -in FILE` opens them with the passphrase,
so an operator can move a key to an HSM or an offline machine. cryptography's own PKCS#8
encryption uses 2,048 PBKDF2 rounds, too few for a CA key, hence the small DER writer here.

Decrypted keys are cached per process (keyed by file and modification time): the OCSP responder
signs every answer with the issuing CA key and must not pay the KDF each time.
"""

from __future__ import annotations

import base64
import os
import secrets
import textwrap
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django.utils.translation import gettext as _

from renkei.core.errors import ServiceError
from renkei.env import ConfigError, envstr
from renkei.pki.choices import KeyType

KDF_ITERATIONS = 600_000
MIN_PASSPHRASE = 12

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class PkiError(ServiceError):
    """A refused PKI operation; str() is the user's message."""


# --- Key types ------------------------------------------------------------------------------------

_CURVES = {KeyType.EC_P256: ec.SECP256R1, KeyType.EC_P384: ec.SECP384R1}
_RSA_BITS = {KeyType.RSA_2048: 2048, KeyType.RSA_3072: 3072, KeyType.RSA_4096: 4096}


def generate_key(key_type: str) -> PrivateKey:
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[key_type])
    raise PkiError(_("Unknown key type %(type)s.") % {"type": key_type})


def key_type_of(public_key: Any) -> str:
    """The KeyType of PUBLIC_KEY; PkiError for weak or unsupported keys (RSA under 2048 bits,
    curves other than P-256 and P-384, Ed25519, DSA, ...)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        size = public_key.key_size
        if size < 2048:
            raise PkiError(
                _("The key is RSA %(bits)d bits: at least 2048 bits are required.") % {"bits": size}
            )
        for key_type, bits in _RSA_BITS.items():
            if bits == size:
                return key_type
        raise PkiError(
            _("RSA keys of %(bits)d bits are not supported (use 2048, 3072 or 4096).") % {"bits": size}
        )
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        for key_type, curve in _CURVES.items():
            if isinstance(public_key.curve, curve):
                return key_type
        raise PkiError(
            _("The curve %(curve)s is not supported (use P-256 or P-384).") % {"curve": public_key.curve.name}
        )
    raise PkiError(_("This kind of key is not supported (use EC P-256, EC P-384 or RSA)."))


def signature_hash(key: Any) -> hashes.HashAlgorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
        return hashes.SHA384()
    return hashes.SHA256()


# --- The passphrase -----------------------------------------------------------------------------


def passphrase() -> bytes:
    try:
        value = envstr("RENKEI_PKI_PASSPHRASE")
    except ConfigError as exc:
        raise PkiError(str(exc)) from exc
    if not value:
        raise PkiError(
            _(
                "The PKI passphrase is not set: set RENKEI_PKI_PASSPHRASE, or RENKEI_PKI_PASSPHRASE_FILE "
                "to a file holding it."
            )
        )
    if len(value) < MIN_PASSPHRASE:
        raise PkiError(
            _("The PKI passphrase is too short: use at least %(count)d characters.")
            % {"count": MIN_PASSPHRASE}
        )
    return value.encode("utf-8")


# --- Encrypted PKCS#8 -----------------------------------------------------------------------------


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(encoded)]) + encoded + content


def _seq(*parts: bytes) -> bytes:
    return _der(0x30, b"".join(parts))


def _oid(dotted: str) -> bytes:
    numbers = [int(part) for part in dotted.split(".")]
    body = bytes([40 * numbers[0] + numbers[1]])
    for number in numbers[2:]:
        rest = number
        chunk = [rest & 0x7F]
        rest >>= 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return _der(0x06, body)


def _int(number: int) -> bytes:
    return _der(0x02, number.to_bytes(number.bit_length() // 8 + 1, "big"))


PBES2 = "1.2.840.113549.1.5.13"
PBKDF2 = "1.2.840.113549.1.5.12"
HMAC_SHA256 = "1.2.840.113549.2.9"
AES256_CBC = "2.16.840.1.101.3.4.1.42"


def encrypt_pkcs8(key: PrivateKey, secret: bytes, iterations: int = KDF_ITERATIONS) -> bytes:
    """KEY as a PEM "ENCRYPTED PRIVATE KEY" (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)."""
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    derived = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(secret)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(derived), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    kdf = _seq(_oid(PBKDF2), _seq(_der(0x04, salt), _int(iterations), _seq(_oid(HMAC_SHA256), b"\x05\x00")))
    algorithm = _seq(_oid(PBES2), _seq(kdf, _seq(_oid(AES256_CBC), _der(0x04, iv))))
    body = base64.b64encode(_seq(algorithm, _der(0x04, ciphertext))).decode("ascii")
    lines = "\n".join(textwrap.wrap(body, 64))
    return f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{lines}\n-----END ENCRYPTED PRIVATE KEY-----\n".encode()


# --- Files ----------------------------------------------------------------------------------------


def pki_dir() -> Path:
    return Path(settings.RENKEI_PKI_DIR)


def write_key(key: PrivateKey, org_slug: str, name: str) -> str:
    """Encrypt KEY to RENKEI_PKI_DIR/ORG_SLUG/NAME-<random>.key (0600, directory 0700); returns
    the path relative to RENKEI_PKI_DIR for the CA row."""
    directory = pki_dir() / org_slug
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    relative = f"{org_slug}/{name}-{secrets.token_hex(4)}.key"
    data = encrypt_pkcs8(key, passphrase())
    fd = os.open(pki_dir() / relative, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return relative


_cache: dict[tuple[str, int], PrivateKey] = {}
_cache_lock = threading.Lock()


def load_key(relative: str) -> PrivateKey:
    """The decrypted key of RELATIVE (cached per process while the file is unchanged)."""
    path = pki_dir() / relative
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise PkiError(_("The CA key file %(path)s cannot be read.") % {"path": path}) from exc
    cache_key = (str(path), stamp)
    with _cache_lock:
        cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), passphrase())
    except ValueError as exc:
        raise PkiError(
            _("The PKI passphrase does not open the CA key file %(path)s.") % {"path": path}
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PkiError(_("The CA key file %(path)s holds an unsupported key.") % {"path": path})
    with _cache_lock:
        _cache[cache_key] = key
    return key


def forget_keys() -> None:
    """Drop the decrypted keys held by this process."""
    with _cache_lock:
        _cache.clear()
