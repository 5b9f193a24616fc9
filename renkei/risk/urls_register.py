"""/risk/register/: the risk register pages (renkei.risk.views_register)."""

from django.urls import path

from renkei.risk import views_register as views

app_name = "register"

urlpatterns = [
    path("", views.register_list, name="list"),
    path("new/", views.register_new, name="new"),
    path("<int:pk>/", views.register_detail, name="detail"),
    path("<int:pk>/confirm/", views.register_confirm, name="confirm"),
    path("<int:pk>/dismiss/", views.register_dismiss, name="dismiss"),
    path("<int:pk>/edit/", views.register_update, name="update"),
    path("<int:pk>/accept/", views.register_accept, name="accept"),
    path("<int:pk>/close/", views.register_close, name="close"),
    path("<int:pk>/reopen/", views.register_reopen, name="reopen"),
    path("<int:pk>/actions/new/", views.register_create_action, name="create-action"),
]
