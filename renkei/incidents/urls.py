"""Incident pages, mounted at /incidents/ (docs/incidents.md)."""

from django.urls import path

from renkei.incidents import views, views_export, views_link, views_portal, views_share

app_name = "incidents"

# Staff: the register and one incident's page with its forms (renkei.incidents.views).
urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    path("<int:pk>/", views.incident_detail, name="detail"),
    path("<int:pk>/triage/", views.triage, name="triage"),
    path("<int:pk>/fields/", views.fields, name="fields"),
    path("<int:pk>/events/", views.event_add, name="event-add"),
    path("<int:pk>/events/<int:event>/file/", views.event_file, name="event-file"),
    path("<int:pk>/obligations/<int:obligation>/", views.obligation_update, name="obligation"),
    path("<int:pk>/affected/recompute/", views.affected_recompute, name="affected-recompute"),
    path("<int:pk>/affected/add/", views.affected_add, name="affected-add"),
    path("<int:pk>/affected/<int:item>/", views.affected_toggle, name="affected-toggle"),
    path("<int:pk>/actions/", views.action_add, name="action-add"),
]

# Exports for the 個人情報保護委員会 report and the file (renkei.incidents.views_export).
urlpatterns += [
    path("<int:pk>/export.xlsx", views_export.export_xlsx, name="export-xlsx"),
    path("<int:pk>/export.pdf", views_export.export_pdf, name="export-pdf"),
]

# Sharing with partners, and their acknowledgement through the link in the mail
# (renkei.incidents.views_share; the ack page needs no login, only the token).
urlpatterns += [
    path("<int:pk>/share/", views_share.share, name="share"),
    path("ack/<str:token>/", views_share.acknowledge, name="ack"),
]

# Supplier side: the portal (login) and single-use reporting links (no login)
# (renkei.incidents.views_portal, renkei.incidents.views_link).
urlpatterns += [
    path("portal/suppliers/<int:supplier>/", views_portal.portal_list, name="portal_list"),
    path("portal/suppliers/<int:supplier>/report/", views_portal.portal_report, name="portal_report"),
    path("portal/<int:pk>/", views_portal.portal_detail, name="portal_detail"),
    path("links/", views_link.link_list, name="links"),
    path("links/<int:pk>/revoke/", views_link.link_revoke, name="link-revoke"),
    path("report/<str:token>/", views_link.report, name="report"),
]
