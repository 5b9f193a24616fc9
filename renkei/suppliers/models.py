"""The supplier registry (取引先台帳): suppliers of every tier, contacts, contracts, certifications."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from renkei.core.fields import ChoiceListField
from renkei.core.models import OwnedModel, TimestampedModel
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.suppliers.choices import (
    AccessMethod,
    BusinessFunction,
    CertificationKind,
    ChainType,
    DataClass,
    Relationship,
    ReOutsourcing,
    SupplierStatus,
)
from renkei.suppliers.validators import (
    normalize_digits,
    validate_corporate_number,
    validate_pmark_number,
)

MAX_TIER = 9


class Tag(OwnedModel):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(_("name"), max_length=50)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tag_unique_name")
        ]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Supplier(OwnedModel, TimestampedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="suppliers",
        verbose_name=_("organization"),
    )
    code = models.CharField(_("supplier code"), max_length=50)
    corporate_number = models.CharField(
        _("corporate number"),
        max_length=13,
        blank=True,
        validators=[validate_corporate_number],
    )
    name = models.CharField(_("name"), max_length=200)
    name_kana = models.CharField(_("name (kana)"), max_length=200, blank=True)
    country = CountryField(_("country"), default="JP")
    relationship = models.CharField(
        _("relationship"),
        max_length=32,
        choices=Relationship.choices,
        default=Relationship.SUPPLIER,
    )
    chain_type = models.CharField(
        _("supply-chain type"), max_length=16, choices=ChainType.choices, default=ChainType.BUSINESS
    )
    tier = models.PositiveSmallIntegerField(
        _("tier"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_TIER)]
    )
    subcontracted_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subcontractors",
        verbose_name=_("subcontracted by"),
    )
    business_function = models.CharField(
        _("business function"),
        max_length=32,
        choices=BusinessFunction.choices,
        default=BusinessFunction.PROCUREMENT,
    )
    personal_info_records = models.PositiveIntegerField(
        _("personal information records"),
        default=0,
        help_text=_("Approximate number of people whose personal information the supplier holds."),
    )
    data_classes = ChoiceListField(_("confidential information handled"), choices=DataClass.choices)
    export_controlled = models.BooleanField(_("export-controlled technology"), default=False)
    access_methods = ChoiceListField(
        _("access to our systems"),
        choices=AccessMethod.choices,
        help_text=_("Leave empty when the supplier has no access."),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="suppliers", verbose_name=_("tags"))
    notes = models.TextField(_("notes"), blank=True)
    # Set by supplier selection (renkei.oversight.services), not by the registry forms.
    status = models.CharField(
        _("status"), max_length=16, choices=SupplierStatus.choices, default=SupplierStatus.ACTIVE
    )

    supplier_path: ClassVar[str | None] = "id"
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, CHANGE})
    # What a supplier contact may edit about its own company; the rest is the buyer's judgement.
    # Not the corporate number: it is the buyer's matching key for imports, and its uniqueness
    # check would tell a contact which other companies the buyer registers.
    SUPPLIER_EDITABLE_FIELDS: ClassVar[tuple[str, ...]] = ("name", "name_kana", "country")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="supplier_unique_code"),
            models.UniqueConstraint(
                fields=["organization", "corporate_number"],
                name="supplier_unique_corporate_number",
                condition=~models.Q(corporate_number=""),
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "name"], name="supplier_org_name"),
            models.Index(fields=["organization", "tier"], name="supplier_org_tier"),
            models.Index(fields=["organization", "updated_at"], name="supplier_org_updated"),
            models.Index(fields=["organization", "status"], name="supplier_org_status"),
        ]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def has_system_access(self) -> bool:
        return bool(self.access_methods)

    def clean(self) -> None:
        parent = self.subcontracted_by
        if parent is None:
            return
        if parent.organization_id != self.organization_id:
            raise ValidationError(
                {"subcontracted_by": _("The subcontracting supplier was not found.")}
            )
        # Walk up the chain: a supplier may not (indirectly) subcontract itself.
        seen = {self.pk} if self.pk else set()
        node: Supplier | None = parent
        while node is not None:
            if node.pk in seen:
                raise ValidationError(
                    {"subcontracted_by": _("This would make the subcontracting chain a loop.")}
                )
            seen.add(node.pk)
            node = node.subcontracted_by
        if self.tier != parent.tier + 1:
            raise ValidationError(
                {
                    "tier": _("A subcontractor of a tier-%(parent)d supplier is tier %(tier)d.")
                    % {"parent": parent.tier, "tier": parent.tier + 1}
                }
            )


class Contact(OwnedModel, TimestampedModel):
    """A person at a supplier. With a user and portal access, that person can log in."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=150)
    department = models.CharField(_("department"), max_length=150, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supplier_contacts",
        verbose_name=_("login user"),
    )
    portal_access = models.BooleanField(_("portal access"), default=False)
    notes = models.TextField(_("notes"), blank=True)

    organization_path: ClassVar[str] = "supplier__organization"
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, ADD, CHANGE})

    class Meta:
        ordering = ["-is_primary", "name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name


class Contract(OwnedModel, TimestampedModel):
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="contracts")
    title = models.CharField(_("title"), max_length=200)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    has_nda = models.BooleanField(_("NDA"), default=False)
    has_security_clause = models.BooleanField(_("security clauses"), default=False)
    re_outsourcing = models.CharField(
        _("re-outsourcing"),
        max_length=16,
        choices=ReOutsourcing.choices,
        default=ReOutsourcing.UNSPECIFIED,
    )
    has_audit_right = models.BooleanField(_("audit right"), default=False)
    has_incident_notification = models.BooleanField(
        _("incident-notification clause"), default=False
    )
    incident_notification_hours = models.PositiveSmallIntegerField(
        _("incident notification within (hours)"), null=True, blank=True,
        help_text=_("The time the contract gives the supplier to notify us of an incident."),
    )
    has_data_return = models.BooleanField(
        _("return and deletion of data at the end"), default=False
    )
    notes = models.TextField(_("notes"), blank=True)

    organization_path: ClassVar[str] = "supplier__organization"

    class Meta:
        ordering = ["-starts_on", "title"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")

    def __str__(self) -> str:
        return self.title


def evidence_path(instance: Certification, filename: str) -> str:
    return f"evidence/{instance.supplier.organization_id}/{instance.supplier_id}/{filename}"


class Certification(OwnedModel, TimestampedModel):
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="certifications")
    kind = models.CharField(_("kind"), max_length=32, choices=CertificationKind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True, help_text=_("For kind 'other'."))
    number = models.CharField(_("number"), max_length=100, blank=True)
    issuer = models.CharField(_("issuer"), max_length=200, blank=True)
    scope = models.TextField(_("scope"), blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    evidence = models.FileField(
        _("evidence file"), upload_to=evidence_path, blank=True, max_length=300
    )
    notes = models.TextField(_("notes"), blank=True)

    organization_path: ClassVar[str] = "supplier__organization"
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, ADD, CHANGE})

    EXPIRING_DAYS: ClassVar[int] = 60

    class Meta:
        ordering = ["kind", "-expires_on"]
        indexes = [models.Index(fields=["kind", "expires_on"], name="certification_kind_expiry")]
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")

    def __str__(self) -> str:
        return self.name or self.get_kind_display()

    def clean(self) -> None:
        if self.kind == CertificationKind.PMARK and self.number:
            self.number = normalize_digits(self.number)
            try:
                validate_pmark_number(self.number)
            except ValidationError as exc:
                raise ValidationError({"number": exc.messages}) from exc
        if self.kind == CertificationKind.OTHER and not self.name:
            raise ValidationError({"name": _("Name the certification when its kind is 'other'.")})
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            raise ValidationError({"expires_on": _("The expiry date is before the issue date.")})

    def status(self, today: datetime.date | None = None) -> str:
        """valid, expiring (within EXPIRING_DAYS), expired, or unknown (no expiry date)."""
        if self.expires_on is None:
            return "unknown"
        today = today or timezone.localdate()
        if self.expires_on < today:
            return "expired"
        if self.expires_on <= today + datetime.timedelta(days=self.EXPIRING_DAYS):
            return "expiring"
        return "valid"
