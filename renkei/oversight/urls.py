from django.urls import path

from renkei.oversight import views, views_audits

app_name = "oversight"

urlpatterns = [
    path("intakes/", views.intake_list, name="intakes"),
    path("intakes/new/", views.intake_new, name="intake-new"),
    path("intakes/<int:pk>/", views.intake_detail, name="intake-detail"),
    path("intakes/<int:pk>/profile/", views.intake_profile, name="intake-profile"),
    path("intakes/<int:pk>/questionnaire/", views.intake_send, name="intake-send"),
    path("intakes/<int:pk>/decide/", views.intake_decide, name="intake-decide"),
    path("contracts/", views.contract_checklist, name="contracts"),
    path("audits/", views_audits.audit_list, name="audits"),
    path("audits/new/", views_audits.audit_new, name="audit-new"),
    path("audits/<int:pk>/", views_audits.audit_detail, name="audit-detail"),
    path("audits/<int:pk>/edit/", views_audits.audit_edit, name="audit-edit"),
    path("audits/<int:pk>/status/", views_audits.audit_status, name="audit-status"),
    path("audits/<int:pk>/release/", views_audits.audit_release, name="audit-release"),
    path("audits/<int:pk>/findings/new/", views_audits.finding_new, name="finding-new"),
    path("findings/<int:pk>/action/", views_audits.finding_action, name="finding-action"),
    path("findings/<int:pk>/risk/", views_audits.finding_risk, name="finding-risk"),
    path("findings/<int:pk>/evidence/", views_audits.finding_evidence, name="finding-evidence"),
]
