"""Questionnaire templates (the library): Template → Section → Item → Choice.

A template is built in (organization NULL, shared with the staff of every organization, view
only) or owned by one buyer. Rows are only ever created by the loader (renkei.questionnaires
.services): a changed file becomes a new version, so a version an assessment was sent with never
changes. The file format is docs/questionnaire-format.md.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from renkei.core.models import OwnedModel, OwnedQuerySet
from renkei.core.permissions import CHANGE, VIEW
from renkei.questionnaires.choices import (
    ANSWERABLE_STATUSES,
    NOT_APPLICABLE,
    OPEN_STATUSES,
    SCORED_TYPES,
    AnswerType,
    AssessmentStatus,
    LinkKind,
    ReviewState,
)


def localized(ja: str, en: str) -> str:
    """EN in English when it is given, otherwise the Japanese text."""
    if en and (translation.get_language() or "ja").startswith("en"):
        return en
    return ja


class TemplateQuerySet(OwnedQuerySet):
    def latest_versions(self) -> TemplateQuerySet:
        """Only the newest version of each (owner, key)."""
        newer_same_owner = Template.objects.filter(
            organization=OuterRef("organization"), key=OuterRef("key"), version__gt=OuterRef("version")
        )
        newer_builtin = Template.objects.filter(
            organization__isnull=True, key=OuterRef("key"), version__gt=OuterRef("version")
        )
        return self.filter(
            Q(organization__isnull=False) & ~Q(Exists(newer_same_owner))
            | Q(organization__isnull=True) & ~Q(Exists(newer_builtin))
        )

    def with_counts(self) -> TemplateQuerySet:
        """Annotate item_count, critical_count and version_count (correlated subqueries)."""

        def count(queryset: models.QuerySet) -> Coalesce:
            counted = queryset.order_by().values("template_id").annotate(n=Count("pk")).values("n")
            return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

        def versions(queryset: models.QuerySet) -> Coalesce:
            counted = queryset.order_by().values("key").annotate(n=Count("pk")).values("n")
            return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

        return self.annotate(
            item_count=count(Item.objects.filter(template=OuterRef("pk"))),
            critical_count=count(Item.objects.filter(template=OuterRef("pk"), critical=True)),
            own_versions=versions(
                Template.objects.filter(organization=OuterRef("organization"), key=OuterRef("key"))
            ),
            builtin_versions=versions(
                Template.objects.filter(organization__isnull=True, key=OuterRef("key"))
            ),
        )


TemplateManager = models.Manager.from_queryset(TemplateQuerySet)


class Template(OwnedModel):
    """One version of a questionnaire. Immutable once stored; `locked_at` marks it as sent."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="questionnaire_templates",
        verbose_name=_("organization"),
        help_text=_("Empty for the built-in templates shared by every organization."),
    )
    key = models.CharField(_("key"), max_length=50)
    version = models.PositiveIntegerField(_("version"), validators=[MinValueValidator(1)])
    name_ja = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_ja = models.TextField(_("description (Japanese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    source_ja = models.TextField(_("source (Japanese)"), blank=True)
    source_en = models.TextField(_("source (English)"), blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Set when an assessment is first sent with this version (the assessments app does it).
    locked_at = models.DateTimeField(_("sent"), null=True, blank=True)

    supplier_path: ClassVar[str | None] = None  # later: through the supplier's assessments
    shared_when_unowned: ClassVar[bool] = True

    objects = TemplateManager()

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "version"], name="template_unique_version"
            ),
            # NULLs are distinct in unique indexes: built-in versions need their own constraint.
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=Q(organization__isnull=True),
                name="template_unique_builtin_version",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="template_version_positive"),
        ]
        verbose_name = _("questionnaire template")
        verbose_name_plural = _("questionnaire templates")

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    @property
    def name(self) -> str:
        return localized(self.name_ja, self.name_en)

    @property
    def description(self) -> str:
        return localized(self.description_ja, self.description_en)

    @property
    def source(self) -> str:
        return localized(self.source_ja, self.source_en)

    @property
    def is_builtin(self) -> bool:
        return self.organization_id is None

    @property
    def is_locked(self) -> bool:
        """Sent with an assessment: never changed again (a changed file makes a new version)."""
        return self.locked_at is not None

    @property
    def version_count(self) -> int | None:
        """From `with_counts()`; None when not annotated."""
        if self.is_builtin:
            return getattr(self, "builtin_versions", None)
        return getattr(self, "own_versions", None)


class TemplatePart(OwnedModel):
    """Rows inside a template: visible exactly when their template is."""

    organization_path: ClassVar[str] = "template__organization"
    supplier_path: ClassVar[str | None] = None
    shared_when_unowned: ClassVar[bool] = True

    class Meta:
        abstract = True


class Section(TemplatePart):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="sections")
    key = models.CharField(_("key"), max_length=50)
    order = models.PositiveIntegerField(_("order"))
    title_ja = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)

    class Meta:
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="section_unique_key"),
        ]
        verbose_name = _("section")
        verbose_name_plural = _("sections")

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return localized(self.title_ja, self.title_en)


class Item(TemplatePart):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="items")
    # The stable id (P-01), kept across versions so answers can be compared and carried forward.
    item_id = models.CharField(_("item id"), max_length=32)
    order = models.PositiveIntegerField(_("order"))
    text_ja = models.TextField(_("question (Japanese)"))
    text_en = models.TextField(_("question (English)"), blank=True)
    help_ja = models.TextField(_("help (Japanese)"), blank=True)
    help_en = models.TextField(_("help (English)"), blank=True)
    answer_type = models.CharField(_("answer type"), max_length=20, choices=AnswerType.choices)
    allow_na = models.BooleanField(_("not applicable allowed"), default=False)
    required = models.BooleanField(_("required"), default=True)
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=2, default=1,
        validators=[MinValueValidator(0), MaxValueValidator(1000)],
    )
    critical = models.BooleanField(_("critical"), default=False)
    # {"item": "P-01", "in": ["done"]}: shown (and required) only when that earlier item's answer
    # is one of the values. NULL: always shown.
    condition = models.JSONField(_("condition"), null=True, blank=True)

    class Meta:
        ordering = ["template", "order"]
        constraints = [
            # Its index also serves lookups by (template, item_id).
            models.UniqueConstraint(fields=["template", "item_id"], name="item_unique_id"),
        ]
        verbose_name = _("item")
        verbose_name_plural = _("items")

    def __str__(self) -> str:
        return f"{self.item_id} {self.text_ja[:40]}"

    @property
    def text(self) -> str:
        return localized(self.text_ja, self.text_en)

    @property
    def help(self) -> str:
        return localized(self.help_ja, self.help_en)

    @property
    def is_scored(self) -> bool:
        return self.answer_type in SCORED_TYPES and self.weight > 0


class Choice(TemplatePart):
    organization_path: ClassVar[str] = "item__template__organization"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="choices")
    value = models.CharField(_("value"), max_length=50)
    label_ja = models.CharField(_("label (Japanese)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200, blank=True)
    points = models.PositiveSmallIntegerField(
        _("points"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    order = models.PositiveIntegerField(_("order"))

    class Meta:
        ordering = ["item", "order"]
        constraints = [
            models.UniqueConstraint(fields=["item", "value"], name="choice_unique_value"),
            models.CheckConstraint(condition=Q(points__lte=100), name="choice_points_max_100"),
        ]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localized(self.label_ja, self.label_en)


def template_parts(template: Template) -> dict[str, Any]:
    """Sections with their items and choices in two queries (for pages and exports)."""
    sections = list(template.sections.all())
    items = list(
        template.items.order_by("order").prefetch_related(
            models.Prefetch("choices", queryset=Choice.objects.order_by("order"))
        )
    )
    by_section: dict[int, list[Item]] = {s.pk: [] for s in sections}
    for item in items:
        by_section[item.section_id].append(item)
    for section in sections:
        section.item_list = by_section[section.pk]  # type: ignore[attr-defined]
    return {"sections": sections, "items": items}


# --- Assessments: one template version sent to one supplier ---------------------------------


def answer_evidence_path(instance: Answer, filename: str) -> str:
    assessment = instance.assessment
    return (f"evidence/{assessment.organization_id}/{assessment.supplier_id}/"
            f"assessments/{assessment.pk}/{filename}")


class Assessment(OwnedModel):
    """One questionnaire (a fixed template version) sent to one supplier, with cached scores.

    Changed only through renkei.questionnaires.assessments_services. Supplier contacts view and
    answer their own supplier's assessments; buyer staff act through their role.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="assessments",
        verbose_name=_("organization"),
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="assessments",
        verbose_name=_("supplier"),
    )
    template = models.ForeignKey(
        Template, on_delete=models.PROTECT, related_name="assessments",
        verbose_name=_("questionnaire template"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=AssessmentStatus.choices,
        default=AssessmentStatus.NOT_STARTED,
    )
    due_on = models.DateField(_("due date"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("sent by"),
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    # Cached by recompute_scores: 0–100, higher is better; NULL when nothing scored is answered.
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=1, null=True, blank=True)
    section_scores = models.JSONField(_("section scores"), default=dict, blank=True)
    critical_failures = models.JSONField(_("critical failures"), default=list, blank=True)
    scored_at = models.DateTimeField(_("scored"), null=True, blank=True)
    # Why the buyer returned it (shown to the supplier until it is submitted again).
    return_comment = models.TextField(_("reason for return"), blank=True)

    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, CHANGE})

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "status"], name="assessment_org_status"),
            models.Index(fields=["supplier"], name="assessment_supplier"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100),
                name="assessment_score_0_100",
            ),
        ]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")

    def __str__(self) -> str:
        return f"#{self.pk} {self.template.key} v{self.template.version}"

    @property
    def is_answerable(self) -> bool:
        return self.status in ANSWERABLE_STATUSES

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Answer(OwnedModel):
    """The answer to one item of one assessment (value as in docs/questionnaire-format.md)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="answers")
    # tri_state/yes_no/single_choice: the choice value; multiple_choice: a list; certificate:
    # {held, kind, number, expires_on}; number: a decimal string; date: ISO; n/a: "n/a".
    value = models.JSONField(_("answer"), null=True, blank=True)
    not_applicable = models.BooleanField(_("not applicable"), default=False)
    comment = models.TextField(_("comment"), blank=True)
    evidence = models.FileField(
        _("evidence file"), upload_to=answer_evidence_path, blank=True, max_length=300
    )
    answered_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    # The buyer's review (assessments_services.review_answer); a changed answer is pending again.
    review_state = models.CharField(
        _("review"), max_length=20, choices=ReviewState.choices, default=ReviewState.PENDING
    )
    review_comment = models.TextField(_("review comment"), blank=True)
    reviewed_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    organization_path: ClassVar[str] = "assessment__organization"
    supplier_path: ClassVar[str | None] = "assessment__supplier"
    supplier_actions: ClassVar[frozenset[str]] = frozenset({VIEW, CHANGE})

    class Meta:
        ordering = ["assessment", "item__order"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "item"], name="answer_unique_item"),
        ]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")

    def __str__(self) -> str:
        return f"#{self.assessment_id} {self.item.item_id}"

    @property
    def supplier_id(self) -> int:
        """For the audit trail: entries about answers are filed under the supplier."""
        return self.assessment.supplier_id

    @property
    def score_value(self) -> Any:
        """The value as scoring.score expects it: "n/a" when not applicable."""
        return NOT_APPLICABLE if self.not_applicable else self.value


class AccessLink(OwnedModel):
    """A link that lets someone without an account answer one assessment (the supplier portal).

    Only the SHA-256 of the token is stored; the token itself is shown once to the staff member
    who issued it. A link opens its one assessment and nothing else, and stops working when it
    expires, is revoked, or once the assessment has been submitted (see `state`). Created and
    revoked only through renkei.questionnaires.portal.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+",
        verbose_name=_("organization"),
    )
    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="access_links",
        verbose_name=_("assessment"),
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    use_count = models.PositiveIntegerField(_("times opened"), default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=LinkKind.choices, default=LinkKind.STAFF)
    # Item ids this link may answer; empty: the whole assessment (a colleague's link names items).
    items = models.JSONField(_("items"), default=list, blank=True)
    # Who the link was mailed to (campaign mails, a colleague); empty when shown to staff only.
    sent_to = models.EmailField(_("sent to"), blank=True)
    sent_to_name = models.CharField(_("recipient name"), max_length=100, blank=True)
    message = models.TextField(_("message"), blank=True)
    # The portal user who handed items over (an account's name or "link:<assessment>").
    issued_by_label = models.CharField(_("handed over by"), max_length=150, blank=True)

    supplier_path: ClassVar[str | None] = None

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("answer link")
        verbose_name_plural = _("answer links")

    def __str__(self) -> str:
        return f"link #{self.pk} → assessment #{self.assessment_id}"

    def state(self, now: Any = None) -> str:
        """active, revoked, expired or used (the assessment was submitted after it was issued,
        or is no longer open for answers)."""
        from django.utils import timezone

        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        assessment = self.assessment
        submitted = assessment.submitted_at
        if (submitted is not None and submitted >= self.created_at) or not assessment.is_answerable:
            return "used"
        if self.expires_at <= now:
            return "expired"
        return "active"


class Crosswalk(OwnedModel):
    """A mapping from the items of one template (by key) to the items of another, so that an
    answer given once pre-fills the other. Keyed by template key and item id, not by rows: it holds
    for every version. Built in (organization NULL, shared) or owned by one buyer. Loaded from YAML
    by renkei.questionnaires.crosswalks (docs/crosswalks.md)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True,
        related_name="crosswalks", verbose_name=_("organization"),
    )
    key = models.CharField(_("key"), max_length=50)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    source_key = models.CharField(_("from template"), max_length=50)
    target_key = models.CharField(_("to template"), max_length=50)
    content_hash = models.CharField(_("content hash"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    supplier_path: ClassVar[str | None] = None
    shared_when_unowned: ClassVar[bool] = True

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="crosswalk_unique_key"),
            models.UniqueConstraint(fields=["key"], condition=Q(organization__isnull=True),
                                    name="crosswalk_unique_builtin_key"),
        ]
        verbose_name = _("crosswalk")
        verbose_name_plural = _("crosswalks")

    def __str__(self) -> str:
        return f"{self.key} ({self.source_key} → {self.target_key})"

    @property
    def name(self) -> str:
        return localized(self.name_ja, self.name_en)

    @property
    def is_builtin(self) -> bool:
        return self.organization_id is None


class CrosswalkEntry(OwnedModel):
    """One item of the source template mapped to one item of the target template. `values` maps
    source answer values to target values (choice values); empty: the same values."""

    crosswalk = models.ForeignKey(Crosswalk, on_delete=models.CASCADE, related_name="entries")
    source_item = models.CharField(_("from item"), max_length=32)
    target_item = models.CharField(_("to item"), max_length=32)
    values = models.JSONField(_("value map"), default=dict, blank=True)

    organization_path: ClassVar[str] = "crosswalk__organization"
    supplier_path: ClassVar[str | None] = None
    shared_when_unowned: ClassVar[bool] = True

    class Meta:
        ordering = ["crosswalk", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["crosswalk", "source_item", "target_item"],
                                    name="crosswalk_entry_unique"),
        ]
        verbose_name = _("crosswalk entry")
        verbose_name_plural = _("crosswalk entries")

    def __str__(self) -> str:
        return f"{self.source_item} → {self.target_item}"
