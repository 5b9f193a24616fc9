"""Incidents across the supply chain (docs/incidents.md).

An Incident is reported by a supplier contact (portal or a single-use link) or recorded by staff.
Around it: what it reaches (AffectedItem, computed from the map and editable), what must be done
for whom and by when (Obligation, from the rules in rules/obligations.yaml), whom we told and who
acknowledged (Share, Recipient), and every event in order (Event, the timeline). Lessons and
actions come afterwards: remediation actions in the supplier's plan, linked to the incident.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.core.models import OwnedModel
from renkei.core.permissions import ADD, VIEW


class Status(models.TextChoices):
    REPORTED = "reported", pgettext_lazy("incident status", "Reported")
    INVESTIGATING = "investigating", pgettext_lazy("incident status", "Investigating")
    CONTAINED = "contained", pgettext_lazy("incident status", "Contained")
    RECOVERED = "recovered", pgettext_lazy("incident status", "Recovered")
    CLOSED = "closed", pgettext_lazy("incident status", "Closed")


OPEN_STATUSES = (Status.REPORTED, Status.INVESTIGATING, Status.CONTAINED, Status.RECOVERED)


class Severity(models.TextChoices):
    LOW = "low", pgettext_lazy("incident severity", "Low")
    MEDIUM = "medium", pgettext_lazy("incident severity", "Medium")
    HIGH = "high", pgettext_lazy("incident severity", "High")
    CRITICAL = "critical", pgettext_lazy("incident severity", "Critical")


class Category(models.TextChoices):
    RANSOMWARE = "ransomware", _("Ransomware")
    UNAUTHORIZED_ACCESS = "unauthorized_access", _("Unauthorized access")
    MALWARE = "malware", _("Malware (e.g. Emotet)")
    MAIL_TAKEOVER = "mail_takeover", _("Mail account or server takeover")
    PHISHING = "phishing", _("Phishing or spoofed mail")
    INSIDER = "insider", _("Insider wrongdoing")
    LOST_DEVICE = "lost_device", _("Lost or stolen device or media")
    TAMPERING = "tampering", _("Service or website tampering")
    DDOS = "ddos", _("Denial of service")
    MISDELIVERY = "misdelivery", _("Misdelivery or mistaken disclosure")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    PORTAL = "portal", _("Supplier portal")
    LINK = "link", _("Reporting link")
    STAFF = "staff", _("Recorded by staff")


class Incident(OwnedModel):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="incidents",
        verbose_name=_("organization"),
    )
    number = models.CharField(_("number"), max_length=20)
    title = models.CharField(pgettext_lazy("incident", "title"), max_length=200)
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("supplier"),
    )
    source = models.CharField(_("reported through"), max_length=10, choices=Source.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    reporter_name = models.CharField(_("reporter"), max_length=100, blank=True)
    reporter_email = models.EmailField(_("reporter e-mail"), blank=True)
    # What the reporter says (intake).
    description = models.TextField(_("what happened"))
    detected_at = models.DateTimeField(_("detected"))
    # When the organization became aware: every deadline counts from here.
    aware_at = models.DateTimeField(_("aware since"))
    systems_text = models.TextField(_("systems affected"), blank=True)
    data_text = models.TextField(_("data possibly affected"), blank=True)
    persons_affected = models.PositiveIntegerField(_("people possibly affected"), null=True, blank=True)
    current_state = models.TextField(_("current state"), blank=True)
    # Triage.
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.REPORTED)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, blank=True)
    category = models.CharField(_("category"), max_length=25, choices=Category.choices, blank=True)
    # The facts the obligation rules read (renkei.incidents.obligations.Facts).
    personal_data = models.BooleanField(_("personal data involved"), default=False)
    sensitive_personal_data = models.BooleanField(
        _("sensitive personal data (要配慮個人情報)"), default=False
    )
    financial_harm_possible = models.BooleanField(_("financial harm possible"), default=False)
    unauthorized_access = models.BooleanField(_("unauthorized access or wrongful purpose"), default=False)
    export_controlled_tech = models.BooleanField(
        _("sensitive or export-controlled technology"), default=False
    )
    we_are_contractor = models.BooleanField(_("we handle the data as a contractor (委託先)"), default=False)
    # Our business is supervised by a ministry that wants incidents reported (重要インフラ事業者 etc.).
    regulated_sector = models.BooleanField(_("reportable to our supervising ministry"), default=False)
    # The fields the 個人情報保護委員会 report asks for (filled during the response).
    cause = models.TextField(_("cause"), blank=True)
    secondary_harm = models.TextField(_("secondary harm"), blank=True)
    response_to_persons = models.TextField(_("response to the people affected"), blank=True)
    publication = models.TextField(_("publication"), blank=True)
    recurrence_prevention = models.TextField(_("prevention of recurrence"), blank=True)
    # Afterwards.
    lessons = models.TextField(_("lessons learned"), blank=True)
    # Actions taken afterwards: remediation actions (source "incident") in the supplier's plan.
    actions = models.ManyToManyField(
        "remediation.Action", blank=True, related_name="incidents", verbose_name=_("actions")
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Supplier contacts see their own supplier's incidents (and report new ones).
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, ADD})

    class Meta:
        ordering = ["-aware_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="incident_unique_number"),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="incident_org_status")]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ItemOrigin(models.TextChoices):
    MAP = "map", _("From the supply-chain map")
    MANUAL = "manual", _("Added by staff")


class AffectedItem(OwnedModel):
    """A supplier, system, data set, site, product or group company the incident reaches."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    node = models.ForeignKey("graph.Node", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    effect = models.CharField(_("effect"), max_length=20, blank=True)
    hops = models.PositiveSmallIntegerField(_("hops"), null=True, blank=True)
    origin = models.CharField(_("origin"), max_length=10, choices=ItemOrigin.choices)
    # Staff may set a computed item aside without losing that the map found it.
    excluded = models.BooleanField(_("excluded"), default=False)

    organization_path: ClassVar[str] = "incident__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["excluded", "hops", "kind", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class ObligationStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("obligation status", "To do")
    DONE = "done", pgettext_lazy("obligation status", "Done")
    NOT_NEEDED = "not_needed", pgettext_lazy("obligation status", "Decided not needed")


class Obligation(OwnedModel):
    """One of 共有 / 報告 / 公表 / 本人通知 that the rules found for the incident's facts."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="obligations")
    rule_id = models.CharField(_("rule"), max_length=50)
    rules_version = models.CharField(_("rules version"), max_length=20)
    authority = models.CharField(_("authority"), max_length=20)
    kind = models.CharField(_("kind"), max_length=10)
    title_ja = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200)
    basis = models.TextField(_("basis"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ObligationStatus.choices, default=ObligationStatus.OPEN
    )
    note = models.TextField(_("note"), blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # The facts no longer call for it (kept, with its history, instead of deleted).
    withdrawn = models.BooleanField(default=False)
    # The last warning sent before the deadline ("" / "3d" / "1d" / "overdue").
    warned = models.CharField(max_length=10, blank=True)

    organization_path: ClassVar[str] = "incident__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["withdrawn", models.F("due_at").asc(nulls_last=True), "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "rule_id"], name="incident_obligation_unique_rule"),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="incident_obligation_due")]

    def __str__(self) -> str:
        return f"{self.rule_id} ({self.incident_id})"


class EventKind(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACKNOWLEDGED = "ack", _("Receipt acknowledged to the reporter")
    TRIAGE = "triage", _("Triage")
    FACTS = "facts", _("Facts changed")
    OBLIGATION = "obligation", _("Obligation")
    DECISION = "decision", _("Decision")
    NOTE = "note", _("Note")
    MESSAGE = "message", _("Message")
    SHARED = "shared", _("Shared with partners")
    RECEIVED = "received", _("Partner acknowledged")
    ATTACHMENT = "attachment", _("Attachment")
    STATUS = "status", _("Status changed")
    LESSONS = "lessons", _("Lessons learned")
    ACTION = "action", _("Action")


class Event(OwnedModel):
    """One line of the timeline, in the order things happened."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("when"))
    kind = models.CharField(_("kind"), max_length=12, choices=EventKind.choices)
    text = models.TextField(_("text"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    attachment = models.FileField(_("attachment"), upload_to="incidents/%Y/%m/", blank=True, max_length=200)
    attachment_name = models.CharField(max_length=200, blank=True)
    # Shown to the reporting supplier's contacts in the portal (their own messages, our replies).
    supplier_visible = models.BooleanField(default=False)

    organization_path: ClassVar[str] = "incident__organization"
    supplier_path: ClassVar[str | None] = "incident__supplier"

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at.isoformat()}"


class Detail(models.TextChoices):
    NOTICE = "notice", _("Notice only: that it happened and what to watch for")
    SUMMARY = "summary", _("Summary: what happened, when, the current state")
    DETAILED = "detailed", _("Detailed: also the systems and data involved and the timeline")


class Share(OwnedModel):
    """One notification of partners about the incident, at a chosen level of detail."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="shares")
    detail = models.CharField(_("level of detail"), max_length=10, choices=Detail.choices)
    message = models.TextField(_("message"), blank=True)
    # What the recipients were shown, frozen at sending: who knew what.
    content = models.JSONField(default=dict)
    signed = models.BooleanField(_("signed (S/MIME)"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    organization_path: ClassVar[str] = "incident__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-created_at", "-pk"]


class Recipient(OwnedModel):
    """Who was told, and when they acknowledged (through the token link in their e-mail)."""

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="recipients")
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    send_error = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.CharField(_("acknowledged by"), max_length=100, blank=True)
    acknowledged_from = models.CharField(max_length=45, blank=True)

    organization_path: ClassVar[str] = "share__incident__organization"
    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class ReportLink(OwnedModel):
    """A single-use link that lets a supplier's person report an incident without an account.
    Only the SHA-256 of the token is stored; the token is in the e-mail."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey("suppliers.Supplier", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("sent to"))
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    # Withdrawn by staff before use (renkei.incidents.links.revoke_link).
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    incident = models.ForeignKey(Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-created_at", "-pk"]
