"""Vocabularies of the supply-chain map (stable values: they are the CSV/JSON contract)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class NodeKind(models.TextChoices):
    ORGANIZATION = "organization", pgettext_lazy("map node kind", "Organization")
    SUPPLIER = "supplier", pgettext_lazy("map node kind", "Supplier")
    SYSTEM = "system", pgettext_lazy("map node kind", "System")
    DATA = "data", pgettext_lazy("map node kind", "Data")
    SITE = "site", pgettext_lazy("map node kind", "Site")
    PRODUCT = "product", pgettext_lazy("map node kind", "Product or process")


class EdgeKind(models.TextChoices):
    SUPPLIES = "supplies", pgettext_lazy("map edge kind", "Supplies")
    SUBCONTRACTS = "subcontracts", pgettext_lazy("map edge kind", "Subcontracts to")
    ACCESSES = "accesses", pgettext_lazy("map edge kind", "Has access to")
    HOSTS_DATA = "hosts_data", pgettext_lazy("map edge kind", "Holds data")
    DEPENDS_ON = "depends_on", pgettext_lazy("map edge kind", "Depends on")
    NETWORK = "network", pgettext_lazy("map edge kind", "Shares a network with")


class AccessVia(models.TextChoices):
    """The `method` attribute of an `accesses` edge."""

    VPN = "vpn", _("VPN")
    RDP = "rdp", pgettext_lazy("access method", "Remote desktop")
    API = "api", _("API")
    SHARED = "shared", pgettext_lazy("access method", "Shared account or system")
    EMAIL = "email", pgettext_lazy("access method", "E-mail")


class Privilege(models.TextChoices):
    """The `privilege` attribute of an `accesses` edge."""

    ADMIN = "admin", pgettext_lazy("privilege", "Administrator")
    USER = "user", pgettext_lazy("privilege", "User")
    READ = "read", pgettext_lazy("privilege", "Read only")


class Origin(models.TextChoices):
    """Where a node or edge came from."""

    IMPORT = "import", pgettext_lazy("map origin", "Import")
    MANUAL = "manual", pgettext_lazy("map origin", "Entered by the buyer")
    PORTAL = "portal", pgettext_lazy("map origin", "Declared by the supplier")
    REGISTRY = "registry", pgettext_lazy("map origin", "Supplier registry")


class Via(models.TextChoices):
    """How an impact reaches a node (the `via` of `renkei graph impact`)."""

    COMPROMISE = "compromise", pgettext_lazy("impact via", "Compromise")
    OUTAGE = "outage", pgettext_lazy("impact via", "Outage")
