"""Whose signature is on a delivered file (docs/deliveries.md, "Signatures").

renkei.pki.signatures.verify_detached says whether the signature is valid and chains to a
certificate the organization trusts (its own CA, or a certificate registered under
/pki/trusted/). A delivery asks one thing more: was it signed by *this* supplier? A valid
signature by anyone else is `wrong_signer`:

- a certificate Renkei issued: its holder must be a portal contact of the delivery's supplier;
- a registered external certificate (the pinned signer, or the CA it chains to): when the buyer
  tied it to a supplier, that supplier must be the delivery's; one tied to no supplier is accepted
  and the result says so.

The signature is verified as of the moment Renkei received the delivery (a certificate that
expires later does not spoil an old delivery; a revocation before receipt does).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.deliveries.models import SignatureStatus
from renkei.pki.models import Certificate, TrustedCertificate
from renkei.pki.signatures import verify_detached
from renkei.suppliers.models import Contact, Supplier


@dataclass
class SignatureCheck:
    status: str
    message: str
    signer: dict[str, Any] | None
    checked_at: datetime.datetime


def _owner(organization: Organization, verification: Any) -> tuple[str, int | None]:
    """(kind, supplier id or None) of the certificate that vouches for the signer: "renkei" for a
    certificate Renkei issued, "trusted" for a registered one (the signer, else the nearest CA of
    its chain), "unknown" otherwise."""
    signer = verification.signer or {}
    fingerprints = [signer.get("fingerprint_sha256")] + [
        c.get("fingerprint_sha256") for c in verification.chain
    ]
    if Certificate.objects.filter(
        organization=organization, fingerprint_sha256=signer.get("fingerprint_sha256")
    ).exists():
        return "renkei", None
    trusted = dict(
        TrustedCertificate.objects.filter(
            organization=organization, fingerprint_sha256__in=[f for f in fingerprints if f]
        ).values_list("fingerprint_sha256", "supplier_id")
    )
    for fp in fingerprints:  # the signer first, then up the chain
        if fp in trusted:
            return "trusted", trusted[fp]
    return "unknown", None


def check_signature(
    organization: Organization,
    supplier: Supplier,
    data: bytes | str | os.PathLike[str],
    signature: bytes,
    at: datetime.datetime,
) -> SignatureCheck:
    """The signature status of DATA for a delivery of SUPPLIER received at AT."""
    verification = verify_detached(organization, data, signature, at=at)
    signer = dict(verification.signer) if verification.signer else None
    if not verification.valid:
        return SignatureCheck(
            verification.reason or SignatureStatus.MALFORMED, verification.message, signer, at
        )
    kind, owner_id = _owner(organization, verification)
    signer = signer or {}
    signer["kind"] = kind
    if kind == "renkei":
        holders = set(
            Contact.objects.filter(
                user__certificates__fingerprint_sha256=signer.get("fingerprint_sha256"),
                supplier__organization=organization,
            ).values_list("supplier_id", flat=True)
        )
        signer["supplier_ids"] = sorted(holders)
        if supplier.pk not in holders:
            return SignatureCheck(
                SignatureStatus.WRONG_SIGNER,
                _(
                    "The signature is valid, but it was made with a certificate Renkei issued to someone who "
                    "is not a contact of %(supplier)s."
                )
                % {"supplier": supplier.name},
                signer,
                at,
            )
        return SignatureCheck(
            SignatureStatus.VALID,
            _("Valid: signed with a certificate Renkei issued to a contact of %(supplier)s.")
            % {"supplier": supplier.name},
            signer,
            at,
        )
    signer["supplier_ids"] = [owner_id] if owner_id else []
    if owner_id is not None and owner_id != supplier.pk:
        return SignatureCheck(
            SignatureStatus.WRONG_SIGNER,
            _(
                "The signature is valid, but the certificate is registered for another supplier, "
                "not %(supplier)s."
            )
            % {"supplier": supplier.name},
            signer,
            at,
        )
    if owner_id is None:
        return SignatureCheck(
            SignatureStatus.VALID,
            _("Valid: signed with a registered certificate that is not tied to a supplier."),
            signer,
            at,
        )
    return SignatureCheck(
        SignatureStatus.VALID,
        _("Valid: signed with the certificate registered for %(supplier)s.") % {"supplier": supplier.name},
        signer,
        at,
    )
