"""The managed PKI of each organization (issue 7): its CAs, the certificates they issued, the
enrollment links that will deliver them, the CRL, and the expiry reminders sent.

Private keys are never stored here: a CA key is a PKCS#8 file encrypted with the PKI passphrase
under RENKEI_PKI_DIR (renkei.pki.keystore); an end-entity key is either the holder's own (CSR) or
made by Renkei, delivered once as PKCS#12 and not kept.

Who sees what (`for_user`):
- CAs, CRLs and reminders: the organization's staff only (suppliers never see them);
- certificates and enrollment links: the organization's staff as usual, and, for viewing, the
  user the row is bound to. Not the other contacts of that user's supplier: a certificate is
  one person's credential, so `supplier_path` (the whole supplier's contacts) would be too wide.
  The condition is `user = the viewer`, for VIEW only; changes (revocation) are staff's.

Changed only through renkei.pki.services (audited)."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.core.models import OwnedModel, OwnedQuerySet, member_organization_ids
from renkei.core.permissions import VIEW
from renkei.pki.choices import (
    CARole,
    CAStatus,
    CertificateState,
    KeyType,
    Method,
    ReminderKind,
    RevocationReason,
)

EXPIRING_DAYS = 30


class CertificateAuthority(OwnedModel):
    """A root or issuing CA of one organization. An external (offline) root has no key here."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="certificate_authorities",
        verbose_name=_("organization"),
    )
    role = models.CharField(_("role"), max_length=10, choices=CARole.choices)
    status = models.CharField(_("status"), max_length=10, choices=CAStatus.choices, default=CAStatus.ACTIVE)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("issued by"),
    )
    subject = models.CharField(_("subject"), max_length=500)
    serial = models.CharField(_("serial number"), max_length=42, blank=True)
    key_type = models.CharField(_("key type"), max_length=10, choices=KeyType.choices)
    certificate_pem = models.TextField(_("certificate"), blank=True)
    # The CSR sent to an external root while PENDING (renkei pki init --issuing-csr).
    csr_pem = models.TextField(_("certificate signing request"), blank=True)
    # Relative to RENKEI_PKI_DIR; empty when the key is held elsewhere (an offline root).
    key_file = models.CharField(_("key file"), max_length=300, blank=True)
    external = models.BooleanField(_("external"), default=False)
    not_before = models.DateTimeField(_("valid from"), null=True, blank=True)
    not_after = models.DateTimeField(_("valid until"), null=True, blank=True)
    fingerprint_sha256 = models.CharField(_("SHA-256 fingerprint"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["organization_id", "role", "-created_at"]
        constraints = [
            # One root and one issuing CA in use per organization (a retired one may remain).
            models.UniqueConstraint(
                fields=["organization", "role"], condition=~Q(status="retired"), name="pki_ca_one_in_use"
            ),
        ]
        verbose_name = _("certificate authority")
        verbose_name_plural = _("certificate authorities")

    def __str__(self) -> str:
        return self.subject


class CertificateQuerySet(OwnedQuerySet):
    def for_user(self, user: Any, action: str = VIEW) -> OwnedQuerySet:
        """Staff as usual; for viewing, also the rows bound to USER (see the module docstring)."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        condition = Q(organization__in=member_organization_ids(user, action))
        if action == VIEW:
            condition |= Q(user=user)
        return self.filter(condition)

    def live(self, now: datetime.datetime | None = None) -> CertificateQuerySet:
        """Neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, not_after__gt=now or timezone.now())

    def in_state(self, state: str, now: datetime.datetime | None = None) -> CertificateQuerySet:
        now = now or timezone.now()
        soon = now + datetime.timedelta(days=EXPIRING_DAYS)
        if state == CertificateState.REVOKED:
            return self.filter(revoked_at__isnull=False)
        if state == CertificateState.EXPIRED:
            return self.filter(revoked_at__isnull=True, not_after__lte=now)
        if state == CertificateState.EXPIRING:
            return self.live(now).filter(not_after__lte=soon)
        if state == CertificateState.VALID:
            return self.live(now)
        return self


class Certificate(OwnedModel):
    """An end-entity certificate, bound to a user and optionally a named device."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="certificates",
        verbose_name=_("organization"),
    )
    ca = models.ForeignKey(
        CertificateAuthority,
        on_delete=models.PROTECT,
        related_name="certificates",
        verbose_name=_("issuing CA"),
    )
    profile = models.CharField(_("profile"), max_length=20)
    method = models.CharField(_("enrollment"), max_length=10, choices=Method.choices)
    serial = models.CharField(_("serial number"), max_length=42, unique=True)
    subject = models.CharField(_("subject"), max_length=500)
    common_name = models.CharField(_("common name"), max_length=200)
    # The subject alternative names as written, e.g. ["email:sato@s1.example.jp"].
    subject_alt_names = models.JSONField(_("alternative names"), default=list, blank=True)
    # The holder; SET_NULL keeps the record (and its revocation) if the account is ever deleted,
    # and a certificate bound to nobody is accepted nowhere.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="certificates",
        verbose_name=_("user"),
    )
    device_name = models.CharField(_("device"), max_length=100, blank=True)
    not_before = models.DateTimeField(_("valid from"))
    not_after = models.DateTimeField(_("valid until"))
    fingerprint_sha256 = models.CharField(_("SHA-256 fingerprint"), max_length=64, unique=True)
    key_type = models.CharField(_("key type"), max_length=10, choices=KeyType.choices)
    # SHA-256 of the SubjectPublicKeyInfo (DER): finds a key used in several certificates.
    public_key_sha256 = models.CharField(_("public key SHA-256"), max_length=64, db_index=True)
    certificate_pem = models.TextField(_("certificate"))
    revoked_at = models.DateTimeField(pgettext_lazy("certificate", "revoked"), null=True, blank=True)
    revocation_reason = models.CharField(
        _("revocation reason"), max_length=24, choices=RevocationReason.choices, blank=True
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    renewed_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="renewals",
        verbose_name=_("renewal of"),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    # Mutual TLS: when and from where the certificate was last presented.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_from = models.CharField(_("last used from"), max_length=100, blank=True)
    # Set when the certificate was presented from two addresses at once (renkei.pki.mtls): the
    # first such moment and the other address. Cleared by staff after checking.
    concurrent_use_at = models.DateTimeField(_("used from two devices"), null=True, blank=True)
    concurrent_use_from = models.CharField(_("second address"), max_length=100, blank=True)
    # Only for the organization's notice-signing (S/MIME) certificate: its key, encrypted like a
    # CA key under RENKEI_PKI_DIR (renkei.pki.keystore). Empty for every other certificate.
    key_file = models.CharField(_("key file"), max_length=300, blank=True)
    signs_notices = models.BooleanField(_("signs notices"), default=False)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)

    supplier_path: ClassVar[str | None] = None

    objects = models.Manager.from_queryset(CertificateQuerySet)()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "not_after"], name="pki_cert_org_expiry"),
            models.Index(fields=["ca", "revoked_at"], name="pki_cert_ca_revoked"),
        ]
        constraints = [
            # At most one certificate per organization signs outgoing notices.
            models.UniqueConstraint(
                fields=["organization"], condition=Q(signs_notices=True), name="pki_one_notice_signer"
            ),
        ]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")

    def __str__(self) -> str:
        who = self.device_name or self.common_name
        return f"{who} ({self.serial[:12]}…)"

    def state(self, now: datetime.datetime | None = None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return CertificateState.REVOKED
        if self.not_after <= now:
            return CertificateState.EXPIRED
        if self.not_after <= now + datetime.timedelta(days=EXPIRING_DAYS):
            return CertificateState.EXPIRING
        return CertificateState.VALID

    def get_state_display(self) -> str:
        return str(CertificateState(self.state()).label)


class EnrollmentLink(OwnedModel):
    """A single-use, expiring link that lets USER fetch a certificate (a PKCS#12 made by Renkei,
    or a CSR upload). Only the SHA-256 of the token is stored; the token is in the e-mail."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="enrollment_links",
        verbose_name=_("organization"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enrollment_links",
        verbose_name=_("user"),
    )
    profile = models.CharField(_("profile"), max_length=20)
    method = models.CharField(_("enrollment"), max_length=10, choices=Method.choices)
    device_name = models.CharField(_("device"), max_length=100, blank=True)
    key_type = models.CharField(_("key type"), max_length=10, choices=KeyType.choices, blank=True)
    # PKCS#12 for older Windows and macOS importers (3DES and a SHA-1 MAC).
    legacy_pkcs12 = models.BooleanField(_("compatibility PKCS#12"), default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    # Links made together (bulk enrollment from a CSV) share a batch label.
    batch = models.CharField(_("batch"), max_length=50, blank=True)
    sent_to = models.EmailField(_("sent to"), blank=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    certificate = models.ForeignKey(
        Certificate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("certificate"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    supplier_path: ClassVar[str | None] = None

    objects = models.Manager.from_queryset(CertificateQuerySet)()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "batch"], name="pki_link_org_batch")]
        verbose_name = _("enrollment link")
        verbose_name_plural = _("enrollment links")

    def __str__(self) -> str:
        return f"enrollment link {self.pk} for user {self.user_id}"

    @property
    def profile_label(self) -> str:
        """The profile's name in the user's language (the stored name if it is no longer known)."""
        from renkei.pki.profiles import get_profile

        profile = get_profile(self.profile)
        return str(profile.label) if profile is not None else self.profile

    def usable(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and self.expires_at > now


class CertificateRevocationList(OwnedModel):
    """The current CRL of one CA, rewritten in place: NUMBER grows by one with every version."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organization"),
    )
    ca = models.OneToOneField(
        CertificateAuthority, on_delete=models.CASCADE, related_name="crl", verbose_name=_("CA")
    )
    number = models.PositiveBigIntegerField(_("CRL number"), default=0)
    this_update = models.DateTimeField(_("this update"))
    next_update = models.DateTimeField(_("next update"))
    revoked_count = models.PositiveIntegerField(_("revoked certificates"), default=0)
    der = models.BinaryField(_("CRL (DER)"))

    supplier_path: ClassVar[str | None] = None

    class Meta:
        verbose_name = _("certificate revocation list")
        verbose_name_plural = _("certificate revocation lists")

    def __str__(self) -> str:
        return f"CRL {self.number} of CA {self.ca_id}"


class CertificateReminder(OwnedModel):
    """One expiry reminder of one kind for one certificate: claimed (row inserted) before it is
    sent, so it is never sent twice."""

    certificate = models.ForeignKey(
        Certificate, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("certificate")
    )
    kind = models.CharField(_("kind"), max_length=4, choices=ReminderKind.choices)
    claimed_at = models.DateTimeField(_("claimed"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    organization_path: ClassVar[str] = "certificate__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["certificate", "claimed_at"]
        constraints = [
            models.UniqueConstraint(fields=["certificate", "kind"], name="pki_reminder_once"),
        ]
        verbose_name = _("certificate reminder")
        verbose_name_plural = _("certificate reminders")

    def __str__(self) -> str:
        return f"{self.certificate_id} {self.kind}"


class AccessPolicy(OwnedModel):
    """Where an organization requires a client certificate (mutual TLS, renkei.pki.mtls).

    One row per organization; no row means nothing is required. A certificate presented is
    always checked when one is required; where none is required, a presented certificate that
    fails the check is ignored (the password still applies)."""

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="access_policy",
        verbose_name=_("organization"),
    )
    # Staff roles (renkei.core.permissions.Role values) that must present a certificate.
    staff_roles = models.JSONField(_("staff roles that need a certificate"), default=list, blank=True)
    suppliers = models.BooleanField(_("supplier contacts need a certificate"), default=False)
    api = models.BooleanField(_("the API needs a certificate"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    supplier_path: ClassVar[str | None] = None

    class Meta:
        verbose_name = _("certificate policy")
        verbose_name_plural = _("certificate policies")

    def __str__(self) -> str:
        return f"certificate policy of organization {self.organization_id}"


class TrustedCertificate(OwnedModel):
    """An external certificate registered by the organization for signature verification
    (renkei.pki.signatures): a supplier's code-signing CA or signer certificate."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="trusted_certificates",
        verbose_name=_("organization"),
    )
    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=500)
    certificate_pem = models.TextField(_("certificate"))
    fingerprint_sha256 = models.CharField(_("SHA-256 fingerprint"), max_length=64)
    is_ca = models.BooleanField(_("CA certificate"), default=False)
    not_after = models.DateTimeField(_("valid until"))
    # Optional: the registry supplier this certificate belongs to.
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="trusted_certificates",
        verbose_name=_("supplier"),
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "fingerprint_sha256"], name="pki_trusted_once"
            ),
        ]
        verbose_name = _("trusted certificate")
        verbose_name_plural = _("trusted certificates")

    def __str__(self) -> str:
        return self.name
