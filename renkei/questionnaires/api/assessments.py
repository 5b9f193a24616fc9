"""/api/v1/assessments/: questionnaires sent to suppliers, their answers, submission and review.

Rows come from `Assessment.objects.for_user`; every change goes through
renkei.questionnaires.assessments_services (validated by values.parse_answer, audited).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Prefetch
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.models import member_organization_ids
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.questionnaires.api.evidence import EvidenceActionsMixin
from renkei.questionnaires.assessment_data import assessment_document
from renkei.questionnaires.assessments_services import (
    AnswersInvalid,
    AssessmentError,
    Incomplete,
    NotAllowed,
    ReviewOpen,
    approve,
    create_assessment,
    latest_template,
    return_for_changes,
    review_answer,
    save_answers,
    submit,
    templates_for,
)
from renkei.questionnaires.choices import AssessmentStatus, ReviewState
from renkei.questionnaires.models import Answer, Assessment
from renkei.suppliers.models import Supplier


class AnswerSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.item_id", read_only=True)
    value = serializers.JSONField(source="score_value", read_only=True,
                                  help_text='As in docs/questionnaire-format.md; "n/a": 該当なし.')
    evidence = serializers.SerializerMethodField()
    reviewed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Answer
        fields = ["item", "value", "comment", "evidence", "answered_at", "review_state",
                  "review_comment", "reviewed_at", "reviewed_by_name"]

    def get_reviewed_by_name(self, answer: Answer) -> str | None:
        """The reviewer's display name (shown to the supplier with the review)."""
        return str(answer.reviewed_by) if answer.reviewed_by_id else None

    def get_evidence(self, answer: Answer) -> bool:
        return bool(answer.evidence)


class AssessmentSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    template_key = serializers.CharField(source="template.key", read_only=True)
    version = serializers.IntegerField(source="template.version", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    score = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Assessment
        fields = ["id", "supplier", "supplier_code", "template", "template_key", "version",
                  "status", "status_display", "due_on", "score", "section_scores",
                  "critical_failures", "return_comment", "created_at", "submitted_at",
                  "approved_at", "scored_at"]
        read_only_fields = fields


class AssessmentDetailSerializer(AssessmentSerializer):
    answers = AnswerSerializer(many=True, read_only=True)

    class Meta(AssessmentSerializer.Meta):
        fields = [*AssessmentSerializer.Meta.fields, "answers"]
        read_only_fields = fields

    def to_representation(self, instance: Assessment) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not getattr(instance, "viewer_is_staff", True) and instance.status != AssessmentStatus.RETURNED:
            # The supplier sees the buyer's review once the assessment is returned to it.
            for answer in data["answers"]:
                for key in ("review_state", "review_comment", "reviewed_at", "reviewed_by_name"):
                    answer.pop(key, None)
        return data


class AssessmentCreateSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(help_text="Supplier id.")
    template = serializers.IntegerField(required=False, help_text="Template id (one version).")
    template_key = serializers.CharField(required=False,
                                         help_text="Or a key: its latest version (yours first).")
    due_on = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["request"].user
        # Any supplier the user may not send to answers the same "not found".
        supplier = Supplier.objects.for_user(user, ADD).filter(pk=attrs["supplier"]).first()
        if supplier is None:
            raise ValidationError({"supplier": [_("No such supplier.")]})
        if attrs.get("template") is not None:
            template = templates_for(supplier.organization_id).filter(pk=attrs["template"]).first()
        elif attrs.get("template_key"):
            template = latest_template(supplier.organization_id, attrs["template_key"])
        else:
            raise ValidationError({"template": [_("Give a template id or a template key.")]})
        if template is None:
            raise ValidationError({"template": [_("No such template.")]})
        attrs["supplier_obj"], attrs["template_obj"] = supplier, template
        return attrs


class AnswerInputSerializer(serializers.Serializer):
    item = serializers.CharField(required=False, help_text="Item id, e.g. P-01.")
    value = serializers.JSONField(required=False, allow_null=True,
                                  help_text="○ △ ×, はい, a choice value or label, 該当なし, ...")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    answers = serializers.DictField(
        child=serializers.JSONField(allow_null=True), required=False,
        help_text="Several at once, item id -> value: all saved or none.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("item") and not attrs.get("answers"):
            raise ValidationError({"item": [_("This field is required.")]})
        return attrs


class ReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(
        max_length=2000, required=False, allow_blank=True,
        help_text="Why it goes back to the supplier; optional when answers are in clarify/rejected.")


class ReviewSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=32, help_text="Item id, e.g. P-01.")
    state = serializers.ChoiceField(choices=ReviewState.choices,
                                    help_text="accepted 承認 / clarify 確認依頼 / evidence "
                                              "証跡の提出を依頼 / rejected 差戻し.")
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                    help_text="Required for clarify, evidence and rejected.")


class AssessmentFilterSet(django_filters.FilterSet):
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier"))
    status = django_filters.ChoiceFilter(choices=AssessmentStatus.choices, label=_("Status"))
    template_key = django_filters.CharFilter(field_name="template__key", label=_("Template key"))

    class Meta:
        model = Assessment
        fields: list[str] = []


WRITE_ACTIONS = {"answers", "submit", "return_", "approve", "review"}


def _service_error(exc: AssessmentError) -> Exception:
    if isinstance(exc, NotAllowed):
        return PermissionDenied(exc.message)
    if isinstance(exc, AnswersInvalid):
        return ValidationError({"answers": exc.errors})
    if isinstance(exc, ReviewOpen):
        return ValidationError({"open_reviews": exc.items, "detail": exc.message})
    if isinstance(exc, Incomplete):
        return ValidationError({"missing": exc.missing, "detail": exc.message})
    return ValidationError({"detail": exc.message})


class AssessmentViewSet(EvidenceActionsMixin, OwnedQueryMixin, mixins.ListModelMixin,
                        mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Questionnaires sent to suppliers. Supplier contacts see and answer their own supplier's;
    staff send them (POST), return (差戻し) and approve (承認)."""

    model = Assessment
    serializer_class = AssessmentSerializer
    list_select_related = ("supplier", "template")
    filter_backends = [DjangoFilterBackend]
    filterset_class = AssessmentFilterSet

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().order_by("-created_at", "-pk")
        if self.action != "list":
            queryset = queryset.prefetch_related(
                Prefetch("answers", queryset=Answer.objects.select_related("item", "reviewed_by")
                         .order_by("item__order"))
            )
            if not getattr(self, "swagger_fake_view", False):
                # Whether the viewer is buyer staff (sees the review before a return), same query.
                queryset = queryset.annotate(viewer_is_staff=Exists(
                    member_organization_ids(self.request.user, VIEW).filter(
                        organization_id=OuterRef("organization_id"))))
        return queryset

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action == "create":
            return AssessmentCreateSerializer
        if self.action == "list":
            return AssessmentSerializer
        return AssessmentDetailSerializer

    def get_object(self) -> Assessment:
        obj = viewsets.GenericViewSet.get_object(self)  # among the rows the user may see: else 404
        if self.action in WRITE_ACTIONS and not Assessment.objects.for_user(
            self.request.user, CHANGE
        ).filter(pk=obj.pk).exists():
            raise PermissionDenied(_("You may view this assessment but not change it."))
        return obj

    def _detail(self, assessment: Assessment, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=assessment.pk)
        return Response(AssessmentDetailSerializer(fresh, context=self.get_serializer_context()).data,
                        status=code)

    @extend_schema(request=AssessmentCreateSerializer, responses={201: AssessmentDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = AssessmentCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            assessment = create_assessment(Actor.from_request(request), data["supplier_obj"],
                                           data["template_obj"], due_on=data.get("due_on"))
        except AssessmentError as exc:
            raise _service_error(exc) from exc
        return self._detail(assessment, status.HTTP_201_CREATED)

    @extend_schema(request=AnswerInputSerializer, responses={200: AssessmentDetailSerializer})
    @action(detail=True, methods=["post"])
    def answers(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Save one answer ({"item", "value", "comment"}) or several ({"answers": {id: value}},
        all or none). Refused values answer 400 with the allowed values named."""
        assessment = self.get_object()
        payload = AnswerInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        single = bool(data.get("item"))
        mapping = {data["item"]: data.get("value")} if single else dict(data["answers"])
        comments = {data["item"]: data["comment"]} if single and "comment" in data else None
        try:
            save_answers(Actor.from_request(request), assessment, mapping, comments=comments)
        except AnswersInvalid as exc:
            if single:
                raise ValidationError({"value": [exc.errors[data["item"]]]}) from exc
            raise _service_error(exc) from exc
        except AssessmentError as exc:
            raise _service_error(exc) from exc
        return self._detail(assessment)

    @extend_schema(request=None, responses={200: AssessmentDetailSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Submit; 400 with `missing` item ids when required items are unanswered."""
        assessment = self.get_object()
        try:
            submit(Actor.from_request(request), assessment)
        except AssessmentError as exc:
            raise _service_error(exc) from exc
        return self._detail(assessment)

    @extend_schema(request=ReturnSerializer, responses={200: AssessmentDetailSerializer})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Staff: send a submitted assessment back to the supplier (差戻し) with the reason."""
        assessment = self.get_object()
        payload = ReturnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            return_for_changes(Actor.from_request(request), assessment,
                               payload.validated_data.get("comment", ""))
        except AssessmentError as exc:
            raise _service_error(exc) from exc
        return self._detail(assessment)

    @extend_schema(request=ReviewSerializer, responses={200: AssessmentDetailSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Staff: review one answer of a submitted assessment ({"item", "state", "comment"}):
        accepted (承認), clarify (確認依頼; also how evidence is asked for), rejected (差戻し) or
        pending. A changed answer goes back to pending."""
        assessment = self.get_object()
        payload = ReviewSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            review_answer(Actor.from_request(request), assessment, data["item"], data["state"],
                          data.get("comment", ""))
        except AssessmentError as exc:
            raise _service_error(exc) from exc
        return self._detail(assessment)

    @extend_schema(responses={200: inline_serializer("AssessmentDiff", {
        "previous": serializers.JSONField(allow_null=True),
        "changes": serializers.JSONField()})}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def diff(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """前回との差分: the answers that changed since the supplier's previous approved or
        submitted assessment of the same template key (`previous` null when there is none);
        `new` marks items not in the previous version, `removed` items of the previous version
        that this one no longer has (`before` is their old answer)."""
        from renkei.questionnaires.diff import assessment_diff

        assessment = Assessment.objects.select_related("template").get(pk=self.get_object().pk)
        result = assessment_diff(assessment)
        previous = result["previous"]
        return Response({
            "previous": None if previous is None else {
                "id": previous.pk, "version": previous.template.version, "status": previous.status,
                "submitted_at": previous.submitted_at},
            "changes": [{k: row[k] for k in ("item", "before", "after", "new", "removed")}
                        for row in result["rows"]],
        })

    @extend_schema(request=None, responses={200: AssessmentDetailSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Staff: approve (承認) a submitted assessment."""
        assessment = self.get_object()
        try:
            approve(Actor.from_request(request), assessment)
        except AssessmentError as exc:
            raise _service_error(exc) from exc
        return self._detail(assessment)

    @extend_schema(responses={200: inline_serializer("AssessmentExport", {
        "document": serializers.JSONField()})}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def export(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """The assessment as one JSON document: template key and version, supplier code, status,
        scores and every item with its text and answer."""
        queryset = Assessment.objects.for_user(request.user, VIEW).select_related(
            "supplier", "template", "organization")
        assessment = queryset.filter(pk=self.get_object().pk).get()
        return Response(assessment_document(assessment, full=True))


    @extend_schema(
        methods=["GET"], request=None, filters=False,
        responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
                   bytes},
    )
    @extend_schema(
        methods=["POST"], filters=False,
        request={"multipart/form-data": inline_serializer("AssessmentSheetUpload", {
            "file": serializers.FileField()})},
        responses={200: inline_serializer("AssessmentSheetImport", {
            "assessment": serializers.IntegerField(), "changed": serializers.IntegerField(),
            "unchanged": serializers.IntegerField(), "errors": serializers.JSONField()})},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[],
            parser_classes=[MultiPartParser, FormParser])
    def sheet(self, request: Request, pk: str | None = None, **kwargs: Any) -> Any:
        """GET: the assessment as an Excel answer sheet (?lang=en for English). POST a filled
        sheet as `file` (multipart): 200 with the counts, or 400 with the errors by cell (nothing
        imported) or a `detail` saying why the file was refused."""
        from django.http import HttpResponse

        from renkei.questionnaires.sheets import (
            CONTENT_TYPE,
            export_assessment,
            filename_for,
            import_assessment_sheet,
        )
        from renkei.suppliers.io.readers import FileRefused

        assessment = self.get_object()
        if request.method == "GET":
            response = HttpResponse(content_type=CONTENT_TYPE)
            response["Content-Disposition"] = content_disposition_header(True, filename_for(assessment))
            lang = "en" if request.query_params.get("lang") == "en" else "ja"
            export_assessment(assessment, response, lang=lang)
            return response
        if not Assessment.objects.for_user(request.user, CHANGE).filter(pk=assessment.pk).exists():
            raise PermissionDenied(_("You may view this assessment but not change it."))
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Choose the Excel file to import.")]})
        try:
            result = import_assessment_sheet(upload, upload.name, Actor.from_request(request),
                                             expected_assessment=assessment)
        except FileRefused as exc:
            raise ValidationError({"detail": exc.reason}) from exc
        data = result.as_dict()
        return Response(data, status=status.HTTP_400_BAD_REQUEST if result.errors else status.HTTP_200_OK)
