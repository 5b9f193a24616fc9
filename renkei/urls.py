from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from renkei.core import views as core_views

urlpatterns = [
    path("", include("renkei.core.urls")),
    path("accounts/", include("renkei.accounts.urls")),
    path("suppliers/", include("renkei.suppliers.urls")),
    path("audit/", include("renkei.audit.urls")),
    path("questionnaires/", include("renkei.questionnaires.urls")),
    path("campaigns/", include("renkei.campaigns.urls")),
    path("risk/register/", include("renkei.risk.urls_register")),
    path("risk/", include("renkei.risk.urls")),
    path("monitoring/", include("renkei.monitoring.urls")),
    path("oversight/", include("renkei.oversight.urls")),
    path("remediation/", include("renkei.remediation.urls")),
    path("map/", include("renkei.graph.urls")),
    path("pki/", include("renkei.pki.urls")),
    path("incidents/", include("renkei.incidents.urls")),
    path("deliveries/", include("renkei.deliveries.urls")),
    # Our switch remembers the choice on the user; it shadows Django's view of the same name.
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("api/v1/", include("renkei.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
