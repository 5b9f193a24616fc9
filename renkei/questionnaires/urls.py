from django.urls import path

from renkei.questionnaires import views, views_sheet_import

app_name = "questionnaires"

urlpatterns = [
    path("templates/", views.template_list, name="template-list"),
    path("templates/<int:pk>/", views.template_detail, name="template-detail"),
    path("templates/import-sheet/", views_sheet_import.upload, name="sheet-import"),
    path("templates/import-sheet/preview/", views_sheet_import.preview, name="sheet-import-preview"),
]
