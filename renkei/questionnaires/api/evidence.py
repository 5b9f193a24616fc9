"""Evidence files and colleague hand-overs in the API, as actions of /api/v1/assessments/:

- GET / POST / DELETE `…/{id}/answers/{item}/evidence/`: download, upload (multipart `file`),
  remove one answer's evidence file;
- GET / POST `…/{id}/handovers/`, DELETE `…/{id}/handovers/{handover}/`: list, create and
  withdraw hand-overs of items to a colleague (a supplier contact with an account).

The rules are the pages' (renkei.questionnaires.evidence and .handover): the assessment comes
through for_user (404 when hidden, 403 when it may be seen but not changed), uploads are checked
before anything is written, tokens never appear in a response.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.downloads import attachment_response
from renkei.core.permissions import CHANGE
from renkei.questionnaires import evidence as evidence_service
from renkei.questionnaires import handover as handover_service
from renkei.questionnaires.assessments_services import AssessmentError, NotAllowed
from renkei.questionnaires.choices import LinkKind
from renkei.questionnaires.models import AccessLink, Answer, Assessment

ITEM = OpenApiParameter("item", OpenApiTypes.STR, OpenApiParameter.PATH,
                        description="Item id, e.g. P-01.")
HANDOVER = OpenApiParameter("handover", OpenApiTypes.INT, OpenApiParameter.PATH,
                            description="Hand-over id.")


class EvidenceSerializer(serializers.Serializer):
    item = serializers.CharField()
    evidence = serializers.BooleanField()
    evidence_name = serializers.CharField(allow_null=True)
    evidence_size = serializers.IntegerField(allow_null=True)
    review_state = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)


def evidence_data(item_id: str, answer: Answer | None) -> dict[str, Any]:
    has = bool(answer is not None and answer.evidence)
    size = None
    if has:
        try:
            size = answer.evidence.size  # type: ignore[union-attr]
        except OSError:
            size = None
    return {"item": item_id, "evidence": has,
            "evidence_name": evidence_service.display_name(answer) if has else None,  # type: ignore[arg-type]
            "evidence_size": size,
            "review_state": answer.review_state if answer is not None else "pending",
            "answered_at": answer.answered_at if answer is not None else None}


class HandoverSerializer(serializers.ModelSerializer):
    """A colleague's link, without its token (only the hash is stored, and not shown)."""

    name = serializers.CharField(source="sent_to_name")
    email = serializers.EmailField(source="sent_to")
    state = serializers.SerializerMethodField()

    class Meta:
        model = AccessLink
        fields = ["id", "items", "name", "email", "message", "state", "issued_by_label",
                  "created_at", "expires_at", "revoked_at", "last_used_at", "use_count"]
        read_only_fields = fields

    def get_state(self, link: AccessLink) -> str:
        return link.state()


class HandoverInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.CharField(max_length=32), min_length=1,
                                  max_length=500, help_text="Item ids to hand over.")
    name = serializers.CharField(max_length=100, help_text="The colleague's name.")
    email = serializers.EmailField(max_length=254, help_text="Where the link is mailed.")
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=["ja", "en"], required=False, default="ja",
                                       help_text="Language of the e-mail.")


def _error(exc: AssessmentError) -> Exception:
    if isinstance(exc, NotAllowed):
        return PermissionDenied(exc.message)
    errors = getattr(exc, "errors", None)
    if errors:
        return ValidationError(errors)
    return ValidationError({"detail": exc.message})


class EvidenceActionsMixin:
    """Mixed into AssessmentViewSet (its get_object: for_user, 404 when hidden)."""

    request: Request

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A download answers whatever the client accepts; errors are still JSON.
        force = force or (getattr(self, "action", None) == "evidence" and request.method == "GET")
        return super().perform_content_negotiation(request, force=force)  # type: ignore[misc]

    def _changeable(self) -> Assessment:
        assessment: Assessment = self.get_object()  # type: ignore[attr-defined]
        if not Assessment.objects.for_user(self.request.user, CHANGE).filter(pk=assessment.pk).exists():
            raise PermissionDenied(_("You may view this assessment but not change it."))
        return assessment

    @extend_schema(
        methods=["GET"], parameters=[ITEM], request=None, filters=False,
        responses={(200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY, description=_("The evidence file")),
            404: OpenApiResponse(description=_("No such assessment or item, or it has no file"))},
    )
    @extend_schema(
        methods=["POST"], parameters=[ITEM], filters=False,
        request={"multipart/form-data": inline_serializer("EvidenceUpload", {
            "file": serializers.FileField()})},
        responses={200: EvidenceSerializer},
    )
    @extend_schema(methods=["DELETE"], parameters=[ITEM], request=None, filters=False,
                   responses={200: EvidenceSerializer})
    @action(detail=True, methods=["get", "post", "delete"], filter_backends=[],
            url_path=r"answers/(?P<item>[^/]+)/evidence", url_name="evidence",
            parser_classes=[MultiPartParser, FormParser])
    def evidence(self, request: Request, pk: str | None = None, item: str = "",
                 **kwargs: Any) -> Any:
        """GET downloads the evidence file of ITEM's answer (always as an attachment); POST
        uploads one as `file` (multipart; replaces an earlier file; for a `file` item it is the
        answer); DELETE removes it. Allowed types: pdf, png, jpg, xlsx, docx, pptx, csv, txt,
        zip, up to RENKEI_MAX_UPLOAD_MB; the content must match the extension."""
        if request.method == "GET":
            assessment = self.get_object()  # type: ignore[attr-defined]
            found = evidence_service.evidence_answer(assessment, item)
            response: FileResponse = attachment_response(found.evidence)
            return response
        assessment = self._changeable()
        actor = Actor.from_request(request)
        try:
            if request.method == "POST":
                answer = evidence_service.attach_evidence(actor, assessment, item, request.FILES.get("file"))
            else:
                answer = evidence_service.remove_evidence(actor, assessment, item)
        except evidence_service.EvidenceRefused as exc:
            raise ValidationError({"file": [exc.message]}) from exc
        except AssessmentError as exc:
            raise _error(exc) from exc
        return Response(evidence_data(item, answer))

    @extend_schema(methods=["GET"], request=None, filters=False,
                   responses={200: HandoverSerializer(many=True)})
    @extend_schema(methods=["POST"], filters=False, request=HandoverInputSerializer,
                   responses={201: HandoverSerializer})
    @action(detail=True, methods=["get", "post"], filter_backends=[],
            parser_classes=[JSONParser, FormParser, MultiPartParser])
    def handovers(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """GET lists the hand-overs of items to colleagues (all states, newest first; never a
        token). POST `{"items", "name", "email", "message", "language"}` hands items to a
        colleague: the supplier's contact only; the colleague gets an e-mail with a link that
        opens only those items. 400 when the mail could not be sent (nothing is handed over)."""
        if request.method == "GET":
            assessment = self.get_object()  # type: ignore[attr-defined]
            links = list(AccessLink.objects.filter(assessment=assessment, kind=LinkKind.COLLEAGUE)
                         .order_by("-created_at", "-pk"))
            for link in links:
                link.assessment = assessment
            return Response(HandoverSerializer(links, many=True).data)
        assessment = self._changeable()
        payload = HandoverInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            link = handover_service.hand_over(Actor.from_request(request), assessment, items=data["items"],
                                      name=data["name"], email=data["email"],
                                      message=data.get("message", ""),
                                      language=data.get("language", "ja"))
        except AssessmentError as exc:
            raise _error(exc) from exc
        link.assessment = assessment
        return Response(HandoverSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[HANDOVER], request=None, filters=False,
                   responses={200: HandoverSerializer})
    @action(detail=True, methods=["delete"], filter_backends=[],
            url_path=r"handovers/(?P<handover>[0-9]+)", url_name="handover")
    def withdraw_handover(self, request: Request, pk: str | None = None, handover: str = "",
                          **kwargs: Any) -> Response:
        """Withdraw a hand-over: its link stops working at once (the supplier's contact, or
        staff who may change the assessment)."""
        assessment = self._changeable()
        if not AccessLink.objects.filter(assessment=assessment, kind=LinkKind.COLLEAGUE,
                                         pk=handover).exists():
            raise NotFound()
        try:
            link = handover_service.withdraw(Actor.from_request(request), assessment, handover)
        except AssessmentError as exc:
            raise _error(exc) from exc
        link.assessment = assessment
        return Response(HandoverSerializer(link).data)
