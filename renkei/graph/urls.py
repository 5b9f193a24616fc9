"""Pages of the supply-chain map, mounted at /map/. Node ids go through NodeKeyConverter, so any id
(with "/", "~", Japanese text) has one URL; "new-node"/"new-edge" stay outside /nodes/ so no id can
shadow them."""

from django.urls import path, register_converter

from renkei.graph import views, views_edit, views_pages, views_portal
from renkei.graph.converters import NodeKeyConverter

register_converter(NodeKeyConverter, "nodekey")

app_name = "graph"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("data.json", views.map_data, name="data"),
    path("impact.json", views.impact_data, name="impact-json"),
    path("search.json", views.search_data, name="search"),
    path("concentration/", views_pages.concentration_page, name="concentration"),
    path("new-node/", views_edit.node_new, name="node-new"),
    path("new-edge/", views_edit.edge_new, name="edge-new"),
    path("nodes/<nodekey:key>/", views_pages.node_page, name="node"),
    path("nodes/<nodekey:key>/impact/", views_pages.impact_page, name="impact"),
    path("nodes/<nodekey:key>/edit/", views_edit.node_edit, name="node-edit"),
    path("nodes/<nodekey:key>/delete/", views_edit.node_delete, name="node-delete"),
    path("edges/<int:pk>/edit/", views_edit.edge_edit, name="edge-edit"),
    path("edges/<int:pk>/delete/", views_edit.edge_delete, name="edge-delete"),
]

# --- Declared subcontractors (再委託先の申告): the supplier portal and the buyer's corrections ---
# (renkei.graph.views_portal; pk: a registry supplier for the list and the add form, the declared
# node for the others).
urlpatterns += [
    path("portal/suppliers/<int:pk>/subcontractors/", views_portal.subcontractors,
         name="portal-subcontractors"),
    path("portal/suppliers/<int:pk>/subcontractors/add/", views_portal.add, name="portal-subcontractor-add"),
    path("portal/subcontractors/<int:pk>/edit/", views_portal.edit, name="portal-subcontractor-edit"),
    path("portal/subcontractors/<int:pk>/delete/", views_portal.delete, name="portal-subcontractor-delete"),
    path("portal/subcontractors/<int:pk>/link/", views_portal.link, name="portal-subcontractor-link"),
]
