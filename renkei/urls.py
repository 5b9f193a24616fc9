from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

urlpatterns = [
    path("", include("renkei.core.urls")),
    path("accounts/", include("renkei.accounts.urls")),
    path("suppliers/", include("renkei.suppliers.urls")),
    path("audit/", include("renkei.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("renkei.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
