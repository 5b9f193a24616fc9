"""Pages of the pki app (/pki/...): certificates for logged-in users, and the public CRL, OCSP and
CA addresses written into certificates (/pki/<org>/...)."""

from django.urls import path

from renkei.pki import public, views

app_name = "pki"

urlpatterns = [
    path("", views.certificate_list, name="list"),
    path("certificates/<int:pk>/", views.certificate_detail, name="detail"),
    path("certificates/<int:pk>/download/", views.certificate_download, name="download"),
    path("certificates/<int:pk>/revoke/", views.certificate_revoke, name="revoke"),
    path("<slug:org>/crl.der", public.crl_der, name="crl-der"),
    path("<slug:org>/crl.pem", public.crl_pem, name="crl-pem"),
    path("<slug:org>/ca.der", public.ca_der, name="ca-der"),
    path("<slug:org>/chain.pem", public.chain, name="chain"),
    path("<slug:org>/ocsp", public.ocsp_post, name="ocsp"),
    path("<slug:org>/ocsp/<path:encoded>", public.ocsp_get, name="ocsp-get"),
]
