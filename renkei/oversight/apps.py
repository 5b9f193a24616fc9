from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "renkei.oversight"
    label = "oversight"
    verbose_name = _("Supplier selection, contracts and audits")

    def ready(self) -> None:
        from django.apps import apps

        from renkei.oversight import signals

        signals.connect()
        if apps.is_installed("renkei.monitoring"):
            from renkei.oversight.attention import register

            register()
