from django.urls import path

from renkei.suppliers import views, views_io

app_name = "suppliers"

urlpatterns = [
    path("", views.supplier_list, name="list"),
    path("new/", views.supplier_create, name="create"),
    path("import/", views_io.import_upload, name="import"),
    path("export.<str:fmt>", views_io.export, name="export"),
    path("<int:pk>/", views.supplier_detail, name="detail"),
    path("<int:pk>/edit/", views.supplier_edit, name="edit"),
    path("<int:pk>/delete/", views.supplier_delete, name="delete"),
    path("<int:pk>/<str:kind>/new/", views.child_create, name="child-create"),
    path("<int:pk>/<str:kind>/<int:child_pk>/edit/", views.child_edit, name="child-edit"),
    path("<int:pk>/<str:kind>/<int:child_pk>/delete/", views.child_delete, name="child-delete"),
    path(
        "<int:pk>/certifications/<int:child_pk>/evidence/", views.evidence_download, name="evidence"
    ),
]
