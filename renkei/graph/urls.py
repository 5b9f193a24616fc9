"""Pages of the graph app."""

from django.urls import path  # noqa: F401

app_name = "graph"

urlpatterns: list = []
