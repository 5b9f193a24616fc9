"""Delivered-software pages, mounted at /deliveries/ (docs/deliveries.md)."""

from django.urls import path

from renkei.deliveries import views, views_policy, views_portal, views_search

app_name = "deliveries"

# Staff: the list, registering, a delivery's page, its files, triage and VEX (renkei.deliveries.views;
# the delivery page, its files, triage and VEX also answer the supplier's contacts).
urlpatterns = [
    path("", views.delivery_list, name="list"),
    path("new/", views.delivery_new, name="new"),
    path("<int:pk>/", views.delivery_detail, name="detail"),
    path("<int:pk>/artifacts/<int:item>/", views.artifact_file, name="artifact-file"),
    path("<int:pk>/sboms/<int:item>/", views.sbom_file, name="sbom-file"),
    path("<int:pk>/vex/", views.vex_export, name="vex-export"),
    path("<int:pk>/vex/import/", views.vex_import, name="vex-import"),
    path("findings/<int:pk>/triage/", views.finding_triage, name="triage"),
]

# Across the portfolio: search, the vulnerability data and one advisory (renkei.deliveries.views_search).
urlpatterns += [
    path("findings/", views_search.finding_search, name="findings"),
    path("advisories/", views_search.advisory_status, name="advisories"),
    # OSV ids hold no slash, but a record breaking that rule must not break every page linking it.
    path("advisories/<path:osv_id>/", views_search.advisory_detail, name="advisory"),
]

# The licence policy (renkei.deliveries.views_policy).
urlpatterns += [
    path("licences/", views_policy.licence_policy, name="licences"),
    path("licences/<int:pk>/remove/", views_policy.licence_remove, name="licence-remove"),
]

# Supplier portal (renkei.deliveries.views_portal).
urlpatterns += [
    path("portal/", views_portal.portal_list, name="portal_list"),
    path("portal/new/", views_portal.portal_new, name="portal_new"),
    path("portal/<int:pk>/", views_portal.portal_detail, name="portal_detail"),
]
