"""/remediation/: remediation plans (是正計画) and their actions."""

from django.urls import path

from renkei.remediation import views

app_name = "remediation"

urlpatterns = [
    path("", views.plan_list, name="list"),
    path("new/", views.plan_create, name="create"),
    path("<int:pk>/", views.plan_detail, name="detail"),
    path("<int:pk>/edit/", views.plan_update, name="update"),
    path("<int:pk>/agree/", views.plan_agree, name="agree"),
    path("<int:pk>/cancel/", views.plan_cancel, name="cancel"),
    path("<int:pk>/actions/new/", views.action_create, name="action-create"),
    path("actions/<int:pk>/edit/", views.action_update, name="action-update"),
    path("actions/<int:pk>/progress/", views.action_progress, name="action-progress"),
    path("actions/<int:pk>/verify/", views.action_verify, name="action-verify"),
    path("actions/<int:pk>/send-back/", views.action_send_back, name="action-send-back"),
    path("actions/<int:pk>/cancel/", views.action_cancel, name="action-cancel"),
    path("actions/<int:pk>/evidence/", views.action_evidence, name="action-evidence"),
]
