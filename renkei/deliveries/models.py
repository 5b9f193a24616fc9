"""Delivered software (docs/deliveries.md): what suppliers deliver, what is inside, whether it is
what the supplier signed, and which known vulnerabilities reach it.

A Delivery (supplier, product, version) carries Artifacts (files with their SHA-256) and SBOMs
(CycloneDX or SPDX, with their NTIA completeness); an SBOM's Components are stored with the
ecosystem and normalised package name they are matched by. Either file may come with a detached
CMS signature, checked by renkei.pki.signatures and recorded on the row.

Advisories are OSV records imported from files (`renkei osv import`): global data, not owned by an
organization. Their affected packages (AdvisoryPackage) are indexed by (ecosystem, package), the
same key as Component, so a feed update re-matches only the touched keys. A Finding is one
component × one advisory, with its VEX triage.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.core.models import OwnedModel
from renkei.core.permissions import ADD, CHANGE, VIEW


class Source(models.TextChoices):
    PORTAL = "portal", _("Supplier portal")
    API = "api", _("API")
    STAFF = "staff", _("Registered by staff")


class SignatureStatus(models.TextChoices):
    """renkei.pki.signatures reasons, plus `none` (no signature) and `wrong_signer` (a valid
    signature by someone who is not this delivery's supplier)."""

    NONE = "none", pgettext_lazy("signature", "Not signed")
    VALID = "valid", pgettext_lazy("signature", "Valid")
    DIGEST_MISMATCH = "digest_mismatch", pgettext_lazy("signature", "Tampered (content differs)")
    BAD_SIGNATURE = "bad_signature", pgettext_lazy("signature", "Signature broken")
    WRONG_SIGNER = "wrong_signer", pgettext_lazy("signature", "Signed by someone else")
    UNTRUSTED = "untrusted", pgettext_lazy("signature", "Signer not trusted")
    REVOKED = "revoked", pgettext_lazy("signature", "Certificate revoked")
    EXPIRED = "expired", pgettext_lazy("signature", "Certificate expired")
    MALFORMED = "malformed", pgettext_lazy("signature", "Unreadable signature")


class Severity(models.TextChoices):
    CRITICAL = "critical", pgettext_lazy("vulnerability severity", "Critical")
    HIGH = "high", pgettext_lazy("vulnerability severity", "High")
    MEDIUM = "medium", pgettext_lazy("vulnerability severity", "Medium")
    LOW = "low", pgettext_lazy("vulnerability severity", "Low")
    NONE = "none", pgettext_lazy("vulnerability severity", "None")
    UNKNOWN = "unknown", pgettext_lazy("vulnerability severity", "Unknown")


SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "none": 4, "unknown": 5, "": 6}


class Match(models.TextChoices):
    AFFECTED = "affected", pgettext_lazy("finding match", "Affected version")
    UNKNOWN = "unknown", pgettext_lazy("finding match", "Version could not be compared")


class VexState(models.TextChoices):
    """The triage of a finding; the CycloneDX analysis state each maps to is in renkei.deliveries.vex."""

    UNTRIAGED = "", pgettext_lazy("vex", "Not triaged")
    IN_TRIAGE = "in_triage", pgettext_lazy("vex", "Under investigation")
    AFFECTED = "affected", pgettext_lazy("vex", "Affected")
    NOT_AFFECTED = "not_affected", pgettext_lazy("vex", "Not affected")
    FIXED = "fixed", pgettext_lazy("vex", "Fixed")


# States after which a finding no longer counts as open work.
CLOSED_VEX_STATES = (VexState.NOT_AFFECTED, VexState.FIXED)


class Justification(models.TextChoices):
    """CycloneDX 1.4+ impact analysis justifications (for `not affected`)."""

    NONE = "", "—"
    CODE_NOT_PRESENT = "code_not_present", _("The vulnerable code is not present")
    CODE_NOT_REACHABLE = "code_not_reachable", _("The vulnerable code is not reachable")
    REQUIRES_CONFIGURATION = "requires_configuration", _("Exploitation requires a configuration not used")
    REQUIRES_DEPENDENCY = "requires_dependency", _("Exploitation requires a dependency not present")
    REQUIRES_ENVIRONMENT = "requires_environment", _("Exploitation requires an environment not used")
    PROTECTED_BY_COMPILER = "protected_by_compiler", _("Protected by the compiler")
    PROTECTED_AT_RUNTIME = "protected_at_runtime", _("Protected at run time")
    PROTECTED_AT_PERIMETER = "protected_at_perimeter", _("Protected at the perimeter")
    PROTECTED_BY_MITIGATING_CONTROL = (
        "protected_by_mitigating_control",
        _("Protected by a mitigating control"),
    )


class Delivery(OwnedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("supplier"),
    )
    product = models.CharField(_("product"), max_length=200)
    version = models.CharField(_("version"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("registered through"), max_length=10, choices=Source.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    # When Renkei received the delivery: signatures are verified as of this moment.
    received_at = models.DateTimeField(_("received"))
    # Kept current by renkei.deliveries.services.refresh_summary (lists read these, not the findings).
    component_count = models.PositiveIntegerField(_("components"), default=0)
    open_findings = models.PositiveIntegerField(_("open vulnerabilities"), default=0)
    worst_severity = models.CharField(_("worst severity"), max_length=10, blank=True)
    signature_status = models.CharField(
        _("signature"), max_length=20, choices=SignatureStatus.choices, default=SignatureStatus.NONE
    )

    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, ADD})

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "supplier", "received_at"], name="delivery_org_supplier"),
            models.Index(fields=["organization", "received_at"], name="delivery_org_received"),
        ]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.product} {self.version}"


class SignedFile(models.Model):
    """A stored file with its SHA-256 and, optionally, a detached signature and its check."""

    name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size"))
    sha256 = models.CharField("SHA-256", max_length=64)
    signature = models.FileField(_("signature"), upload_to="deliveries/%Y/%m/", blank=True, max_length=200)
    signature_name = models.CharField(max_length=255, blank=True)
    signature_status = models.CharField(
        _("signature"), max_length=20, choices=SignatureStatus.choices, default=SignatureStatus.NONE
    )
    signature_message = models.TextField(blank=True)
    # Who signed (subject, issuer, serial, fingerprint, and `kind`: renkei or trusted).
    signer = models.JSONField(null=True, blank=True)
    signature_checked_at = models.DateTimeField(null=True, blank=True)

    organization_path: ClassVar[str] = "delivery__organization"
    supplier_path: ClassVar[str | None] = "delivery__supplier"

    class Meta:
        abstract = True


class Artifact(SignedFile, OwnedModel):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="artifacts", verbose_name=_("delivery")
    )
    file = models.FileField(_("file"), upload_to="deliveries/%Y/%m/", max_length=200)

    class Meta:
        ordering = ["delivery_id", "pk"]
        verbose_name = _("artifact")
        verbose_name_plural = _("artifacts")

    def __str__(self) -> str:
        return self.name


class Sbom(SignedFile, OwnedModel):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="sboms", verbose_name=_("delivery")
    )
    file = models.FileField(_("file"), upload_to="deliveries/%Y/%m/", max_length=200)
    format = models.CharField(_("format"), max_length=20)  # cyclonedx | spdx
    encoding = models.CharField(_("encoding"), max_length=20)  # json | xml | tag-value
    spec_version = models.CharField(_("specification version"), max_length=10)
    authors = models.JSONField(_("authors"), default=list, blank=True)
    created = models.CharField(_("SBOM timestamp"), max_length=40, blank=True)
    tools = models.JSONField(_("tools"), default=list, blank=True)
    component_count = models.PositiveIntegerField(_("components"), default=0)
    # NTIA minimum elements: 0–100, and the details (renkei.deliveries.sbom.quality).
    completeness = models.PositiveSmallIntegerField(_("completeness"), default=0)
    quality = models.JSONField(_("quality"), default=dict, blank=True)
    # Schema validation runs only on small files (the validators are quadratic).
    schema_checked = models.BooleanField(default=False)
    schema_messages = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["delivery_id", "pk"]
        verbose_name = _("SBOM")
        verbose_name_plural = _("SBOMs")

    def __str__(self) -> str:
        return self.name


class Component(OwnedModel):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="components", verbose_name=_("delivery")
    )
    sbom = models.ForeignKey(
        Sbom, on_delete=models.CASCADE, related_name="components", verbose_name=_("SBOM")
    )
    ref = models.CharField(max_length=500, blank=True)
    name = models.CharField(_("name"), max_length=500)
    version = models.CharField(_("version"), max_length=200, blank=True)
    purl = models.CharField("purl", max_length=1000, blank=True)
    # The matching key (renkei.deliveries.osv.ecosystems): OSV ecosystem, normalised name and the
    # distribution release for Debian/Alpine ("" when any). Empty ecosystem: not matchable.
    ecosystem = models.CharField(_("ecosystem"), max_length=40, blank=True)
    package = models.CharField(_("package"), max_length=500, blank=True)
    release = models.CharField(max_length=60, blank=True)
    # Why the component cannot be matched ("" when it can): see renkei.deliveries.matching.
    unmatched_reason = models.CharField(max_length=40, blank=True)
    supplier_name = models.CharField(_("component supplier"), max_length=300, blank=True)
    licenses = models.CharField(_("licence"), max_length=500, blank=True)
    # NTIA elements this component lacks; `problem`: duplicate or conflict (with another entry).
    missing = models.JSONField(default=list, blank=True)
    problem = models.CharField(max_length=20, blank=True)

    organization_path: ClassVar[str] = "delivery__organization"
    supplier_path: ClassVar[str | None] = "delivery__supplier"

    class Meta:
        ordering = ["sbom_id", "pk"]
        indexes = [
            models.Index(fields=["ecosystem", "package"], name="component_key"),
            models.Index(fields=["package", "version"], name="component_package_version"),
        ]
        verbose_name = _("component")
        verbose_name_plural = _("components")

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


class Advisory(models.Model):
    """One OSV record of one source (an import's name: "PyPI", "npm", "ghsa", ...)."""

    source = models.CharField(_("source"), max_length=100)
    osv_id = models.CharField("ID", max_length=100)
    modified = models.DateTimeField(_("modified"))
    published = models.DateTimeField(_("published"), null=True, blank=True)
    # Withdrawn by its publisher, or missing from the source's latest snapshot (`gone`).
    withdrawn = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    gone = models.BooleanField(default=False)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    details = models.TextField(_("details"), blank=True)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.UNKNOWN
    )
    cvss_vector = models.CharField(max_length=200, blank=True)
    cvss_score = models.FloatField(null=True, blank=True)
    fixed = models.JSONField(_("fixed versions"), default=list, blank=True)
    references = models.JSONField(default=list, blank=True)
    imported_at = models.DateTimeField(_("imported"))

    class Meta:
        ordering = ["osv_id"]
        constraints = [models.UniqueConstraint(fields=["source", "osv_id"], name="advisory_once_per_source")]
        indexes = [models.Index(fields=["osv_id"], name="advisory_id")]
        verbose_name = _("advisory")
        verbose_name_plural = _("advisories")

    def __str__(self) -> str:
        return self.osv_id

    @property
    def active(self) -> bool:
        return self.withdrawn is None and not self.gone


class AdvisoryPackage(models.Model):
    """One `affected[]` entry of an advisory, under the key components are matched by."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="packages")
    ecosystem = models.CharField(max_length=40)
    package = models.CharField(max_length=500)
    release = models.CharField(max_length=60, blank=True)
    # The OSV ranges (type, events sorted as given) and the explicit `versions` list.
    ranges = models.JSONField(default=list, blank=True)
    versions = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ecosystem", "package"], name="advisory_package_key")]

    def __str__(self) -> str:
        return f"{self.ecosystem}/{self.package}"


class OsvImport(models.Model):
    """One run of `renkei osv import`: what it read and what changed."""

    source = models.CharField(_("source"), max_length=100)
    path = models.CharField(_("path"), max_length=1000)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    # The first rejected records, with why (file and message).
    rejected = models.JSONField(default=list, blank=True)
    keys_touched = models.PositiveIntegerField(default=0)
    new_findings = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.source} @ {self.started_at.isoformat()}"


class Finding(OwnedModel):
    """A component of a delivery × an advisory that reaches its version (or may: `unknown`)."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="findings", verbose_name=_("delivery")
    )
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="findings", verbose_name=_("component")
    )
    advisory = models.ForeignKey(
        Advisory, on_delete=models.CASCADE, related_name="findings", verbose_name=_("advisory")
    )
    osv_id = models.CharField("ID", max_length=100)
    match = models.CharField(_("match"), max_length=10, choices=Match.choices, default=Match.AFFECTED)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.UNKNOWN
    )
    first_seen = models.DateTimeField(_("found"))
    # Set when the advisory was withdrawn or no longer reaches the version.
    resolved_at = models.DateTimeField(_("no longer applies"), null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    vex_state = models.CharField(_("triage"), max_length=20, choices=VexState.choices, blank=True)
    vex_justification = models.CharField(
        _("justification"), max_length=40, choices=Justification.choices, blank=True
    )
    vex_detail = models.TextField(_("details"), blank=True)
    vex_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("triaged by"),
    )
    vex_at = models.DateTimeField(_("triaged"), null=True, blank=True)

    organization_path: ClassVar[str] = "delivery__organization"
    supplier_path: ClassVar[str | None] = "delivery__supplier"
    # The supplier knows its product: its contacts may triage (VEX) their own deliveries' findings.
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, CHANGE})

    class Meta:
        ordering = ["delivery_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["component", "advisory"], name="finding_once"),
        ]
        indexes = [
            models.Index(fields=["delivery", "resolved_at"], name="finding_delivery_open"),
            models.Index(fields=["osv_id"], name="finding_osv_id"),
            models.Index(fields=["advisory"], name="finding_advisory", condition=Q(resolved_at__isnull=True)),
        ]
        verbose_name = _("vulnerability finding")
        verbose_name_plural = _("vulnerability findings")

    def __str__(self) -> str:
        return f"{self.osv_id} in {self.component}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None and self.vex_state not in CLOSED_VEX_STATES


class ForbiddenLicence(OwnedModel):
    """The buyer's licence policy: SPDX identifiers its deliveries must not depend on."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="forbidden_licences",
        verbose_name=_("organization"),
    )
    identifier = models.CharField(_("SPDX licence identifier"), max_length=100)
    note = models.CharField(_("note"), max_length=300, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["identifier"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "identifier"], name="forbidden_licence_once"),
        ]
        verbose_name = _("forbidden licence")
        verbose_name_plural = _("forbidden licences")

    def __str__(self) -> str:
        return self.identifier
