"""Pages of the pki app (/pki/...): certificates for logged-in users, and the public CRL, OCSP and
CA addresses written into certificates (/pki/<org>/...)."""

from django.urls import path

from renkei.pki import public, views, views_enroll, views_policy, views_trust

app_name = "pki"

urlpatterns = [
    path("", views.certificate_list, name="list"),
    path("certificates/<int:pk>/", views.certificate_detail, name="detail"),
    path("certificates/<int:pk>/download/", views.certificate_download, name="download"),
    path("certificates/<int:pk>/revoke/", views.certificate_revoke, name="revoke"),
    # Enrollment links (views_enroll): staff pages, and the public page the link opens.
    path("links/", views_enroll.link_list, name="links"),
    path("links/new/", views_enroll.link_new, name="link-new"),
    path("links/bulk/", views_enroll.link_bulk, name="link-bulk"),
    path("links/<int:pk>/revoke/", views_enroll.link_revoke, name="link-revoke"),
    path("enroll/<str:token>/", views_enroll.enroll, name="enroll"),
    # Mutual TLS: the organization's policy, and clearing a certificate's concurrent-use flag.
    path("policy/", views_policy.policy, name="policy"),
    path(
        "certificates/<int:pk>/clear-concurrent/",
        views_policy.clear_concurrent_use,
        name="clear-concurrent",
    ),
    # Trusted external certificates for signature verification (views_trust).
    path("trusted/", views_trust.trusted_list, name="trusted"),
    path("trusted/<int:pk>/delete/", views_trust.trusted_delete, name="trusted-delete"),
    path("<slug:org>/crl.der", public.crl_der, name="crl-der"),
    path("<slug:org>/crl.pem", public.crl_pem, name="crl-pem"),
    path("<slug:org>/ca.der", public.ca_der, name="ca-der"),
    path("<slug:org>/root.der", public.root_der, name="root-der"),  # signed notices: the guide
    path("<slug:org>/chain.pem", public.chain, name="chain"),
    path("<slug:org>/ocsp", public.ocsp_post, name="ocsp"),
    path("<slug:org>/ocsp/<path:encoded>", public.ocsp_get, name="ocsp-get"),
]
