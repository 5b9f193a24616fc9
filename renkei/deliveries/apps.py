from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveriesConfig(AppConfig):
    name = "renkei.deliveries"
    label = "deliveries"
    verbose_name = _("Delivered software")

    def ready(self) -> None:
        # Registers the risk factor and the attention source of vulnerable deliveries.
        from renkei.deliveries import attention, risk  # noqa: F401
