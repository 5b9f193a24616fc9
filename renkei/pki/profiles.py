"""Certificate profiles: what each kind of certificate says and for how long (data, not code).

A profile decides everything the certificate states: the subject (CN from the user or the
device, O from the organization), the alternative names, key usage and extended key usage,
the lifetime and the key types accepted. A CSR only brings the public key: its subject is
replaced, and a CSR that asks for a name or an extension the profile would not write is refused
(renkei.pki.csr), so nobody obtains a certificate saying more than the profile allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from renkei.pki.choices import KeyType

ALL_KEY_TYPES = frozenset(KeyType.values)


@dataclass(frozen=True)
class Profile:
    name: str
    label: Promise
    description: Promise
    lifetime_days: int
    extended_key_usage: tuple[ObjectIdentifier, ...]
    # Key usage bits (cryptography's KeyUsage argument names). RSA keys used for S/MIME also
    # get key_encipherment (see key_usage_for).
    key_usage: frozenset[str] = frozenset({"digital_signature"})
    # CN: "user" (the person's name) or "device" (the device name, then required).
    subject_from: str = "user"
    # Alternative names: "email" puts the user's e-mail address in the certificate.
    san: frozenset[str] = frozenset()
    email_required: bool = False
    device_required: bool = False
    key_types: frozenset[str] = field(default=ALL_KEY_TYPES)
    default_key_type: str = KeyType.EC_P256


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            name="client",
            label=_("Client authentication"),
            description=_("A person logging in to Renkei (mutual TLS) from their own device."),
            lifetime_days=365,
            extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
            san=frozenset({"email"}),
        ),
        Profile(
            name="device",
            label=_("Device"),
            description=_("A company PC or a managed device; the device name is the subject."),
            lifetime_days=730,
            extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
            subject_from="device",
            device_required=True,
        ),
        Profile(
            name="smime",
            label=_("S/MIME (e-mail protection)"),
            description=_("Signing and encrypting e-mail; the user's e-mail address is in the certificate."),
            lifetime_days=365,
            extended_key_usage=(ExtendedKeyUsageOID.EMAIL_PROTECTION,),
            key_usage=frozenset({"digital_signature", "content_commitment"}),
            san=frozenset({"email"}),
            email_required=True,
        ),
        Profile(
            name="signing",
            label=_("Code signing"),
            description=_("Signing software and files delivered to the buyer."),
            lifetime_days=365,
            extended_key_usage=(ExtendedKeyUsageOID.CODE_SIGNING,),
        ),
        Profile(
            name="test",
            label=_("Test (90 days)"),
            description=_("A short-lived client certificate for trying things out."),
            lifetime_days=90,
            extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
            san=frozenset({"email"}),
        ),
    )
}


def get_profile(name: str) -> Profile | None:
    return PROFILES.get(name)


def key_usage_for(profile: Profile, key_type: str) -> frozenset[str]:
    """The key usage bits for a key of KEY_TYPE: RSA S/MIME keys may also decrypt mail keys."""
    bits = set(profile.key_usage)
    if key_type.startswith("rsa") and ExtendedKeyUsageOID.EMAIL_PROTECTION in profile.extended_key_usage:
        bits.add("key_encipherment")
    return frozenset(bits)
