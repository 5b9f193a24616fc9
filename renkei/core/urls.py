from django.urls import path

from renkei.core import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
