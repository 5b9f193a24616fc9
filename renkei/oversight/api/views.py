"""/api/v1/intakes/, /api/v1/contract-checklist/, /api/v1/audits/, /api/v1/audit-findings/.

Rows come from for_user (a foreign id is 404); writes go through renkei.oversight's services
(403 when the role does not allow them). Intakes and the checklist are staff only; a supplier
contact lists its own supplier's audits and, once released, their findings."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.errors import api_error
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.downloads import attachment_response
from renkei.core.permissions import ADD, VIEW
from renkei.oversight import audit_services, services
from renkei.oversight.api import serializers as s
from renkei.oversight.checklist import annotate_rows, checklist_queryset, contract_data, missing_q
from renkei.oversight.models import Audit, Finding, Intake
from renkei.risk.config import CONTRACT_CLAUSES
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.models import Contract, Supplier


def _call(call: Any) -> Any:
    try:
        return call()
    except services.OversightError as exc:
        raise api_error(exc) from exc


class IntakeViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Supplier selection: a candidate's steps (profile, questionnaire, decision) and the decision
    with its reasons and conditions. Staff only."""

    model = Intake
    serializer_class = s.IntakeSerializer
    list_select_related = ("supplier", "assessment", "decided_by")
    list_prefetch_related = ("conditions",)

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if self.request.query_params.get("open") in ("1", "true"):
            queryset = queryset.filter(decision="")
        return queryset

    def _reply(self, intake: Intake, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=intake.pk)
        return Response(s.IntakeSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=s.IntakeStartSerializer, responses={201: s.IntakeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.IntakeStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        supplier = get_object_or_404(
            Supplier.objects.for_user(request.user, VIEW), pk=body.validated_data["supplier"]
        )
        intake = _call(lambda: services.start_intake(Actor.from_request(request), supplier))
        return self._reply(intake, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.IntakeSerializer)
    @action(detail=True, methods=["post"], url_path="confirm-profile")
    def confirm_profile(self, request: Request, pk: Any = None, **kwargs: Any) -> Response:
        intake = self.get_object()
        return self._reply(_call(lambda: services.confirm_profile(Actor.from_request(request), intake)))

    @extend_schema(request=s.SendSerializer, responses=s.IntakeSerializer)
    @action(detail=True, methods=["post"], url_path="send-questionnaire")
    def send_questionnaire(self, request: Request, pk: Any = None, **kwargs: Any) -> Response:
        intake = self.get_object()
        body = s.SendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._reply(
            _call(
                lambda: services.send_questionnaire(
                    Actor.from_request(request), intake, due_on=body.validated_data.get("due_on")
                )
            )
        )

    @extend_schema(request=s.DecisionSerializer, responses=s.IntakeSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: Any = None, **kwargs: Any) -> Response:
        intake = self.get_object()
        body = s.DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return self._reply(
            _call(
                lambda: services.decide(
                    Actor.from_request(request),
                    intake,
                    decision=data["decision"],
                    reasons=data["reasons"],
                    conditions=data.get("conditions", []),
                )
            )
        )


class ContractChecklistViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Every current contract (id = contract id) with the clauses its supplier's criticality
    requires, those present and those missing. Filters: `organization`, `supplier`,
    `criticality`, `missing` (a clause, or `any`). Staff only (the requirements reveal the
    buyer's criticality of the supplier)."""

    model = Contract
    serializer_class = s.ContractChecklistSerializer

    def get_queryset(self) -> Any:
        from renkei.core.models import member_organization_ids

        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Contract.objects.none()
        user = self.request.user
        # Staff rows only: a contact reads its contracts through /contracts/.
        queryset = checklist_queryset(
            Contract.objects.for_user(user, VIEW)
            .filter(supplier__organization__in=member_organization_ids(user, VIEW))
            .exclude(supplier__status=SupplierStatus.REJECTED),
            timezone.localdate(),
        )
        params = self.request.query_params
        for name, field in (
            ("organization", "supplier__organization_id"),
            ("supplier", "supplier_id"),
            ("criticality", "criticality"),
        ):
            if params.get(name):
                if not params[name].isdigit():
                    raise ValidationError({name: ["Enter a whole number."]})
                queryset = queryset.filter(**{field: int(params[name])})
        missing = params.get("missing")
        if missing:
            if missing != "any" and missing not in CONTRACT_CLAUSES:
                raise ValidationError({"missing": [f"One of: any, {', '.join(CONTRACT_CLAUSES)}."]})
            queryset = self._filter_missing(queryset, None if missing == "any" else missing)
        return queryset.order_by("supplier__organization_id", "supplier__code", "pk")

    def _filter_missing(self, queryset: Any, clause: str | None) -> Any:
        from renkei.accounts.models import Organization
        from renkei.risk.services import config_for

        condition = None
        for org_id in Organization.for_user(self.request.user, VIEW).values_list("pk", flat=True):
            part = missing_q(config_for(org_id)["contracts"], clause) & Q(supplier__organization_id=org_id)
            condition = part if condition is None else condition | part
        return queryset.filter(condition) if condition is not None else queryset.none()

    def _data(self, contracts: list[Contract]) -> list[dict[str, Any]]:
        from renkei.risk.services import config_for

        configs: dict[int, Any] = {}
        for contract in contracts:
            org = contract.supplier.organization_id
            if org not in configs:
                configs[org] = config_for(org)["contracts"]
            annotate_rows([contract], configs[org])
        return [contract_data(c) for c in contracts]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            s.ContractChecklistSerializer(self._data(list(page)), many=True).data
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.ContractChecklistSerializer(self._data([self.get_object()])[0]).data)


class AuditViewSet(
    OwnedQueryMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Audits of suppliers with the findings the reader may see (a supplier contact: its own
    supplier's audits; their findings once the report is released). Filter: `supplier` (id)."""

    model = Audit
    serializer_class = s.AuditSerializer
    list_select_related = ("supplier",)

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        supplier = self.request.query_params.get("supplier")
        if supplier and supplier.isdigit():
            queryset = queryset.filter(supplier_id=int(supplier))
        return queryset

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "visible_findings": getattr(self, "_findings", {})}

    def _load_findings(self, audits: list[Audit]) -> None:
        self._findings: dict[int, list[Finding]] = {}
        for finding in (
            Finding.objects.for_user(self.request.user, VIEW)
            .filter(audit__in=[a.pk for a in audits])
            .select_related("audit")
        ):
            self._findings.setdefault(finding.audit_id, []).append(finding)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = list(self.paginate_queryset(self.get_queryset()))
        self._load_findings(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        audit = self.get_object()
        self._load_findings([audit])
        return Response(self.get_serializer(audit).data)

    def _reply(self, audit: Audit, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=audit.pk)
        self._load_findings([fresh])
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=s.AuditWriteSerializer, responses={201: s.AuditSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.AuditWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "supplier" not in data:
            raise ValidationError({"supplier": ["This field is required."]})
        supplier = get_object_or_404(Supplier.objects.for_user(request.user, VIEW), pk=data["supplier"])
        audit = _call(
            lambda: audit_services.plan_audit(
                Actor.from_request(request),
                supplier,
                planned_on=data.get("planned_on"),
                scope=data.get("scope", ""),
                kind=data.get("kind", "onsite"),
                auditors=data.get("auditors", ""),
            )
        )
        return self._reply(audit, status.HTTP_201_CREATED)

    @extend_schema(request=s.AuditWriteSerializer, responses=s.AuditSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        audit = self.get_object()
        body = s.AuditWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = {k: v for k, v in body.validated_data.items() if k != "supplier"}
        return self._reply(
            _call(lambda: audit_services.update_audit(Actor.from_request(request), audit, data))
        )

    @extend_schema(request=s.AuditStatusSerializer, responses=s.AuditSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: Any = None, **kwargs: Any) -> Response:
        audit = self.get_object()
        body = s.AuditStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return self._reply(
            _call(
                lambda: audit_services.set_status(
                    Actor.from_request(request),
                    audit,
                    data["status"],
                    done_on=data.get("done_on"),
                    summary=data.get("summary"),
                )
            )
        )

    @extend_schema(request=None, responses=s.AuditSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: Any = None, **kwargs: Any) -> Response:
        audit = self.get_object()
        return self._reply(_call(lambda: audit_services.release_report(Actor.from_request(request), audit)))


class FindingViewSet(OwnedQueryMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Audit findings the reader may see. Staff record them (JSON or multipart with an `evidence`
    file) and turn them into a remediation action or a register risk. Filter: `audit` (id)."""

    model = Finding
    serializer_class = s.FindingSerializer
    list_select_related = ("audit",)
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        audit = self.request.query_params.get("audit")
        if audit and audit.isdigit():
            queryset = queryset.filter(audit_id=int(audit))
        return queryset

    def _reply(self, finding: Finding, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=finding.pk)).data, status=code)

    @extend_schema(
        request={
            "application/json": s.FindingCreateSerializer,
            "multipart/form-data": s.FindingCreateSerializer,
        },
        responses={201: s.FindingSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.FindingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        audit = get_object_or_404(Audit.objects.for_user(request.user, VIEW), pk=data["audit"])
        finding = _call(
            lambda: audit_services.add_finding(
                Actor.from_request(request),
                audit,
                title=data["title"],
                severity=data["severity"],
                description=data.get("description", ""),
                evidence=data.get("evidence"),
            )
        )
        return self._reply(finding, status.HTTP_201_CREATED)

    def _own(self) -> Finding:
        finding = self.get_object()
        if not services.may(self.request.user, finding.audit.organization_id, ADD):
            raise PermissionDenied()
        return finding

    @extend_schema(request=s.FindingActionSerializer, responses=s.FindingSerializer)
    @action(detail=True, methods=["post"], url_path="action")
    def to_action(self, request: Request, pk: Any = None, **kwargs: Any) -> Response:
        finding = self._own()
        body = s.FindingActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return self._reply(
            _call(
                lambda: audit_services.finding_to_action(
                    Actor.from_request(request),
                    finding,
                    due_on=data.get("due_on"),
                    owner_side=data["owner_side"],
                )
            )
        )

    @extend_schema(request=None, responses=s.FindingSerializer)
    @action(detail=True, methods=["post"], url_path="risk")
    def to_risk(self, request: Request, pk: Any = None, **kwargs: Any) -> Response:
        finding = self._own()
        return self._reply(
            _call(lambda: audit_services.finding_to_risk(Actor.from_request(request), finding))
        )

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def evidence(self, request: Request, pk: Any = None, **kwargs: Any) -> Any:
        finding = self.get_object()
        if not finding.evidence:
            from django.http import Http404

            raise Http404
        return attachment_response(finding.evidence)
