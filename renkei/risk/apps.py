from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "renkei.risk"
    label = "risk"
    verbose_name = _("Risk evaluation")

    def ready(self) -> None:
        from renkei.risk import signals

        signals.connect()
