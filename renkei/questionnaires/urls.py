from django.urls import path

from renkei.questionnaires import views, views_assessments, views_portal, views_sheet_import

app_name = "questionnaires"

urlpatterns = [
    path("templates/", views.template_list, name="template-list"),
    path("templates/<int:pk>/", views.template_detail, name="template-detail"),
    path("templates/import-sheet/", views_sheet_import.upload, name="sheet-import"),
    path("templates/import-sheet/preview/", views_sheet_import.preview, name="sheet-import-preview"),
    path("assessments/new/", views_assessments.assessment_create, name="assessment-create"),
    path("assessments/<int:pk>/", views_assessments.assessment_detail, name="assessment-detail"),
    path("assessments/<int:pk>/submit/", views_assessments.assessment_submit, name="assessment-submit"),
    path("assessments/<int:pk>/return/", views_assessments.assessment_return, name="assessment-return"),
    path("assessments/<int:pk>/review/", views_assessments.assessment_review, name="assessment-review"),
    path("assessments/<int:pk>/approve/", views_assessments.assessment_approve,
         name="assessment-approve"),
    path("assessments/<int:pk>/sheet/", views_assessments.assessment_sheet, name="assessment-sheet"),
    path("assessments/<int:pk>/sheet/import/", views_assessments.assessment_sheet_import,
         name="assessment-sheet-import"),
    path("assessments/<int:pk>/autosave/", views_assessments.assessment_autosave,
         name="assessment-autosave"),
    path("assessments/<int:pk>/prefill/", views_assessments.assessment_prefill,
         name="assessment-prefill"),
    path("assessments/<int:pk>/links/new/", views_assessments.access_link_create,
         name="access-link-create"),
    path("assessments/<int:pk>/links/revoke/", views_assessments.access_link_revoke,
         name="access-link-revoke"),
    # The supplier portal through an answer link (no account).
    path("answer/<str:token>/", views_portal.portal_open, name="portal-open"),
    path("portal/", views_portal.portal, name="portal"),
    path("portal/autosave/", views_portal.portal_autosave, name="portal-autosave"),
    path("portal/prefill/", views_portal.portal_prefill, name="portal-prefill"),
    path("portal/submit/", views_portal.portal_submit, name="portal-submit"),
]
