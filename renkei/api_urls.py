"""/api/v1/: one router for every app's viewsets."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from renkei.accounts.api.views import MeView, OrganizationViewSet
from renkei.audit.api.views import AuditEntryViewSet
from renkei.campaigns.api.views import CampaignViewSet
from renkei.deliveries.api.views import DeliveryViewSet, SoftwareFindingViewSet
from renkei.graph.api.views import MapConcentrationViewSet, MapEdgeViewSet, MapNodeViewSet
from renkei.incidents.api.views import IncidentViewSet
from renkei.monitoring.api.views import AlertViewSet
from renkei.oversight.api.views import (
    AuditViewSet,
    ContractChecklistViewSet,
    FindingViewSet,
    IntakeViewSet,
)
from renkei.pki.api.enrollment import CertificateIssueView, EnrollmentLinkViewSet
from renkei.pki.api.views import CertificateViewSet
from renkei.questionnaires.api.assessments import AssessmentViewSet
from renkei.questionnaires.api.crosswalks import CrosswalkViewSet
from renkei.questionnaires.api.views import TemplateViewSet
from renkei.remediation.api import ActionViewSet, RemediationPlanViewSet
from renkei.risk.api.register import RiskViewSet
from renkei.risk.api.views import RiskSettingsViewSet, SupplierRiskViewSet
from renkei.suppliers.api.views import (
    CertificationViewSet,
    ContactViewSet,
    ContractViewSet,
    SupplierViewSet,
)

router = DefaultRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("contacts", ContactViewSet, basename="contact")
router.register("contracts", ContractViewSet, basename="contract")
router.register("certifications", CertificationViewSet, basename="certification")
router.register("audit-entries", AuditEntryViewSet, basename="auditentry")
router.register("templates", TemplateViewSet, basename="template")
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("crosswalks", CrosswalkViewSet, basename="crosswalk")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("supplier-risks", SupplierRiskViewSet, basename="supplierrisk")
router.register("risk-settings", RiskSettingsViewSet, basename="risksettings")
router.register("risks", RiskViewSet, basename="risk")
router.register("remediation-plans", RemediationPlanViewSet, basename="remediationplan")
router.register("actions", ActionViewSet, basename="action")
router.register("intakes", IntakeViewSet, basename="intake")
router.register("contract-checklist", ContractChecklistViewSet, basename="contractcheck")
router.register("audits", AuditViewSet, basename="audit")
router.register("audit-findings", FindingViewSet, basename="finding")
router.register("alerts", AlertViewSet, basename="alert")
router.register("certificates", CertificateViewSet, basename="certificate")
router.register("enrollment-links", EnrollmentLinkViewSet, basename="enrollmentlink")
router.register("map-nodes", MapNodeViewSet, basename="mapnode")
router.register("map-edges", MapEdgeViewSet, basename="mapedge")
router.register("map-concentration", MapConcentrationViewSet, basename="mapconcentration")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("software-findings", SoftwareFindingViewSet, basename="softwarefinding")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    # Before the router: it would read "issue" as a certificate id.
    path("certificates/issue/", CertificateIssueView.as_view(), name="certificate-issue"),
    *router.urls,
]
