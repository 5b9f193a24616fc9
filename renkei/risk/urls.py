from django.urls import path

from renkei.risk import views

app_name = "risk"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("recompute/", views.recompute, name="recompute"),
    path("settings/", views.settings_page, name="settings"),
]
