from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def load_builtin_after_migrate(sender: AppConfig, using: str = "default", verbosity: int = 1,
                               **kwargs: Any) -> None:
    """Load (or version) the built-in templates after every migrate; unchanged files do nothing."""
    from django.db import connections

    from renkei.questionnaires.models import Choice, Template
    from renkei.questionnaires.services import load_builtin_templates

    tables = connections[using].introspection.table_names()
    if Template._meta.db_table not in tables or Choice._meta.db_table not in tables:
        return  # migrated backwards past this app
    stdout = kwargs.get("stdout")
    for result in load_builtin_templates():
        if result.created and verbosity >= 1 and stdout is not None:
            stdout.write(f"  Loaded built-in questionnaire template {result.template}\n")


class QuestionnairesConfig(AppConfig):
    name = "renkei.questionnaires"
    label = "questionnaires"
    verbose_name = _("Questionnaires")

    def ready(self) -> None:
        post_migrate.connect(load_builtin_after_migrate, sender=self,
                             dispatch_uid="questionnaires-builtin-templates")
