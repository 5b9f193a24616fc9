from django.urls import path

from renkei.questionnaires import views, views_assessments, views_sheet_import

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
]
