from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GraphConfig(AppConfig):
    name = "renkei.graph"
    label = "graph"
    verbose_name = _("Supply-chain map")

    def ready(self) -> None:
        # The inherited-risk likelihood factor, and its recompute when the map changes.
        from renkei.graph import inherited

        inherited.connect()
