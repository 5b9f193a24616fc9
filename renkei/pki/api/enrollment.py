"""Enrollment for MDM-style automation (docs/pki.md, "Enrollment links, bulk and API").

    GET  /api/v1/enrollment-links/              the links of the caller's organizations (staff)
    GET  /api/v1/enrollment-links/{id}/
    POST /api/v1/enrollment-links/              create one; the answer holds its URL, once
    POST /api/v1/enrollment-links/{id}/revoke/  withdraw it
    POST /api/v1/certificates/issue/            issue from a CSR at once (the key stays on the device)

Reading needs a staff role (auditors included); everything that creates or withdraws needs the
administrator role of the organization (403 otherwise). A foreign organization or link is a 404.
Everything goes through renkei.pki.enrollment and renkei.pki.issuance (checked, audited).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from renkei.accounts.models import Organization, User
from renkei.audit.services import Actor
from renkei.core.api.errors import api_error
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.errors import ServiceError
from renkei.core.models import member_organization_ids
from renkei.core.permissions import MANAGE, VIEW
from renkei.pki import enrollment, issuance, services
from renkei.pki.choices import KeyType, Method
from renkei.pki.csr import MAX_CSR_BYTES
from renkei.pki.enrollment import LinkState
from renkei.pki.models import EnrollmentLink
from renkei.pki.profiles import PROFILES


def _organization(user: Any, wanted: int | None, action: str) -> Organization:
    """WANTED, or the only organization USER is staff of. Staff of none: 403; a foreign or
    missing organization: 404; several and none chosen: 400; a role without ACTION: 403."""
    organizations = set(member_organization_ids(user, VIEW).values_list("organization_id", flat=True))
    if not organizations:
        raise PermissionDenied()
    if wanted is None:
        if len(organizations) > 1:
            raise ValidationError(
                {"organization": [_("You are staff of several organizations: choose one.")]}
            )
        wanted = next(iter(organizations))
    if wanted not in organizations:
        raise Http404
    if not member_organization_ids(user, action).filter(organization_id=wanted).exists():
        raise PermissionDenied(_("Only administrators of the organization may do this."))
    return Organization.objects.get(pk=wanted)


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"user": [_("No user %(user)s.") % {"user": username}]})
    return user


def _call(call: Any) -> Any:
    try:
        return call()
    except ServiceError as exc:
        raise api_error(exc) from exc


class EnrollmentLinkSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    state = serializers.SerializerMethodField()
    certificate = serializers.SlugRelatedField(slug_field="serial", read_only=True)

    class Meta:
        model = EnrollmentLink
        fields = [
            "id",
            "organization",
            "user",
            "username",
            "profile",
            "method",
            "device_name",
            "key_type",
            "legacy_pkcs12",
            "batch",
            "sent_to",
            "state",
            "expires_at",
            "used_at",
            "revoked_at",
            "certificate",
            "created_at",
        ]
        read_only_fields = fields

    def get_state(self, link: EnrollmentLink) -> str:
        return enrollment.link_state(link)


class EnrollmentLinkCreatedSerializer(EnrollmentLinkSerializer):
    url = serializers.CharField(read_only=True, help_text="The link with its token: returned this once only.")
    mailed = serializers.BooleanField(read_only=True)

    class Meta(EnrollmentLinkSerializer.Meta):
        fields = [*EnrollmentLinkSerializer.Meta.fields, "url", "mailed"]
        read_only_fields = fields


class EnrollmentLinkCreateSerializer(serializers.Serializer):
    organization = serializers.IntegerField(required=False, help_text="Needed when you are staff of several.")
    user = serializers.CharField(max_length=150, help_text="The holder's login ID.")
    profile = serializers.ChoiceField(choices=list(PROFILES))
    method = serializers.ChoiceField(choices=Method.choices, default=Method.PKCS12)
    device = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    key_type = serializers.ChoiceField(choices=KeyType.choices, required=False, allow_blank=True, default="")
    legacy = serializers.BooleanField(default=False, help_text="PKCS#12 for older Windows/macOS importers.")
    days = serializers.IntegerField(
        default=enrollment.LINK_DAYS, min_value=1, max_value=enrollment.MAX_LINK_DAYS
    )
    batch = serializers.CharField(
        max_length=enrollment.MAX_BATCH_LABEL, required=False, allow_blank=True, default=""
    )
    send_email = serializers.BooleanField(
        default=False, help_text="Also e-mail the link to the user (default: the caller delivers the URL)."
    )


class CertificateIssueSerializer(serializers.Serializer):
    organization = serializers.IntegerField(required=False, help_text="Needed when you are staff of several.")
    user = serializers.CharField(max_length=150, help_text="The holder's login ID.")
    profile = serializers.ChoiceField(choices=list(PROFILES))
    device = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    csr = serializers.CharField(max_length=MAX_CSR_BYTES, help_text="The CSR in PEM.", trim_whitespace=True)


IssuedSerializer = inline_serializer(
    "IssuedCertificate",
    {
        "serial": serializers.CharField(),
        "not_after": serializers.DateTimeField(),
        "fingerprint_sha256": serializers.CharField(),
        "certificate_pem": serializers.CharField(),
    },
)


class EnrollmentLinkFilterSet(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id")
    batch = django_filters.CharFilter(field_name="batch")
    user = django_filters.CharFilter(field_name="user__username", help_text="The holder's login ID.")
    state = django_filters.ChoiceFilter(choices=LinkState.choices, method="filter_state")

    class Meta:
        model = EnrollmentLink
        fields = ["organization", "batch", "user", "state"]

    def filter_state(self, queryset: Any, name: str, value: str) -> Any:
        return enrollment.in_state(queryset, value)


class EnrollmentLinkViewSet(
    OwnedQueryMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Enrollment links of your organizations, newest first (never their tokens). Filters:
    organization, batch, user (login ID), state (active, used, expired, revoked)."""

    model = EnrollmentLink
    serializer_class = EnrollmentLinkSerializer
    filterset_class = EnrollmentLinkFilterSet
    list_select_related = ("user", "certificate")

    def get_queryset(self) -> Any:
        return (
            enrollment.visible_links(self.request.user, VIEW)
            .select_related(*self.list_select_related)
            .order_by("-created_at", "-pk")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not member_organization_ids(request.user, VIEW).exists():
            raise PermissionDenied()  # the lists are staff's
        return super().list(request, *args, **kwargs)

    @extend_schema(request=EnrollmentLinkCreateSerializer, responses={201: EnrollmentLinkCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a link (administrators). The answer's `url` holds the token and is not shown again;
        with `send_email` the link is also mailed to the user (and withdrawn if that fails)."""
        body = EnrollmentLinkCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        organization = _organization(request.user, data.get("organization"), MANAGE)
        user = _user(data["user"])
        actor = Actor.from_request(request)
        link, token = _call(
            lambda: enrollment.create_link(
                actor,
                organization,
                user,
                data["profile"],
                data["method"],
                device_name=data["device"],
                key_type=data["key_type"],
                legacy=data["legacy"],
                days=data["days"],
                batch=data["batch"],
                mailed=data["send_email"],
            )
        )
        if data["send_email"]:
            _call(lambda: enrollment.deliver(actor, link, token))
        link.url = enrollment.enroll_url(token)
        link.mailed = data["send_email"]
        return Response(EnrollmentLinkCreatedSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: EnrollmentLinkSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Withdraw a link that was not used yet (administrators); withdrawing twice changes nothing."""
        link = self.get_object()
        _call(lambda: enrollment.revoke_link(Actor.from_request(request), link))
        link.refresh_from_db()
        return Response(EnrollmentLinkSerializer(link).data)


class CertificateIssueView(APIView):
    """Issue a certificate from a CSR at once (administrators): for MDM, which makes the key on the
    device. The CSR is checked against the profile like any other (weak keys, foreign names and
    extensions refused; nothing issued). Answers the certificate with its serial, expiry and
    SHA-256 fingerprint."""

    @extend_schema(
        request=CertificateIssueSerializer,
        responses={201: IssuedSerializer},
        operation_id="certificates_issue",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = CertificateIssueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        organization = _organization(request.user, data.get("organization"), MANAGE)
        user = _user(data["user"])
        actor = Actor.from_request(request)

        def issue() -> Any:
            prepared = issuance.prepare(actor, organization, user, data["profile"], data["device"])
            return issuance.issue_from_csr(actor, prepared, data["csr"].encode("utf-8"))

        cert = _call(issue)
        return Response(
            {**services.issued_data(cert), "certificate_pem": cert.certificate_pem},
            status=status.HTTP_201_CREATED,
        )
