from django.urls import path

from renkei.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("digest/", views.digest_preference, name="digest"),
]
