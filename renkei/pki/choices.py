"""Fixed vocabularies of the client-certificate PKI (stable values: stored, and used by the CLI and API)."""

from __future__ import annotations

from cryptography import x509
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CARole(models.TextChoices):
    ROOT = "root", _("Root CA")
    ISSUING = "issuing", _("Issuing CA")


class CAStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("certificate authority", "Active")
    # An issuing CA whose key exists but whose certificate an external root has not signed yet.
    PENDING = "pending", pgettext_lazy("certificate authority", "Waiting for the root's signature")
    RETIRED = "retired", pgettext_lazy("certificate authority", "Retired")


class KeyType(models.TextChoices):
    EC_P256 = "ec-p256", "EC P-256"
    EC_P384 = "ec-p384", "EC P-384"
    RSA_2048 = "rsa2048", "RSA 2048"
    RSA_3072 = "rsa3072", "RSA 3072"
    RSA_4096 = "rsa4096", "RSA 4096"


class Method(models.TextChoices):
    """How the key pair came to be: the holder's own CSR, or a key Renkei made (PKCS#12)."""

    CSR = "csr", _("CSR (key made on the device)")
    PKCS12 = "pkcs12", _("PKCS#12 (key made by Renkei)")


class RevocationReason(models.TextChoices):
    """RFC 5280 CRLReason values (certificateHold and removeFromCRL are not offered: a revocation
    here is final)."""

    UNSPECIFIED = "unspecified", pgettext_lazy("revocation reason", "Unspecified")
    KEY_COMPROMISE = "keyCompromise", _("Key compromise")
    CA_COMPROMISE = "cACompromise", _("CA compromise")
    AFFILIATION_CHANGED = "affiliationChanged", _("Affiliation changed")
    SUPERSEDED = "superseded", pgettext_lazy("revocation reason", "Superseded")
    CESSATION_OF_OPERATION = "cessationOfOperation", _("Cessation of operation")
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn", _("Privilege withdrawn")
    AA_COMPROMISE = "aACompromise", _("AA compromise")


REASON_FLAGS: dict[str, x509.ReasonFlags] = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
    RevocationReason.AA_COMPROMISE: x509.ReasonFlags.aa_compromise,
}


def parse_reason(text: str) -> str | None:
    """A reason as typed on the command line: `keyCompromise`, `key-compromise`, `key_compromise`
    (any case) -> the stored value; None if it is not one."""
    wanted = text.replace("-", "").replace("_", "").lower()
    for value in RevocationReason.values:
        if value.lower() == wanted:
            return value
    return None


class ReminderKind(models.TextChoices):
    DAYS_30 = "30d", _("30 days before expiry")
    DAYS_7 = "7d", _("7 days before expiry")


class CertificateState(models.TextChoices):
    """Computed, for filters and display: never stored."""

    VALID = "valid", pgettext_lazy("certificate state", "Valid")
    EXPIRING = "expiring", pgettext_lazy("certificate state", "Expiring within 30 days")
    EXPIRED = "expired", pgettext_lazy("certificate state", "Expired")
    REVOKED = "revoked", pgettext_lazy("certificate state", "Revoked")
