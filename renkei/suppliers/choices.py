"""Fixed vocabularies of the supplier registry. Values are stable identifiers used by the API and imports."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Relationship(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier")
    CONTRACTOR = "contractor", _("Contractor")
    SUBCONTRACTOR = "subcontractor", _("Subcontractor")
    GROUP = "group", _("Group company")
    OVERSEAS_SUBSIDIARY = "overseas_subsidiary", _("Overseas subsidiary")


class SupplierStatus(models.TextChoices):
    """Where a supplier is in its lifecycle: a candidate goes through intake (renkei.oversight)
    before it becomes active; a rejected candidate stays on record but is not treated as a
    supplier (campaigns skip it)."""

    CANDIDATE = "candidate", _("Candidate (in selection)")
    ACTIVE = "active", pgettext_lazy("supplier status", "Active")
    REJECTED = "rejected", _("Rejected candidate")


class ChainType(models.TextChoices):
    BUSINESS = "business", _("Business supply chain")
    SOFTWARE = "software", _("Software supply chain")
    SERVICE = "service", _("Service supply chain")


class BusinessFunction(models.TextChoices):
    PROCUREMENT = "procurement", _("Procurement")
    PRODUCTION = "production", _("Production")
    LOGISTICS = "logistics", _("Logistics")
    SALES = "sales", _("Sales")
    IT_OPERATIONS = "it_operations", _("IT operations")
    DEVELOPMENT = "development", _("Software development")
    CLOUD = "cloud", _("Cloud / SaaS")
    MAINTENANCE = "maintenance", _("Equipment maintenance")
    PROFESSIONAL = "professional", _("Professional services")
    OTHER = "other", _("Other")


class DataClass(models.TextChoices):
    TECHNICAL = "technical", _("Technical information")
    CUSTOMER = "customer", _("Customer information")
    PERSONNEL = "personnel", _("Personnel information")
    FINANCIAL = "financial", _("Financial information")
    SALES_INFO = "sales_info", _("Sales information")
    PRODUCTION_PLAN = "production_plan", _("Production plans")


class AccessMethod(models.TextChoices):
    SHARED_SYSTEM = "shared_system", _("Shared system")
    VPN = "vpn", _("VPN")
    REMOTE_DESKTOP = "remote_desktop", _("Remote desktop")
    API = "api", _("API")
    ONSITE = "onsite", _("On-site")


class ReOutsourcing(models.TextChoices):
    UNSPECIFIED = "unspecified", _("Not specified")
    PROHIBITED = "prohibited", _("Prohibited")
    WITH_APPROVAL = "with_approval", _("Allowed with prior approval")
    ALLOWED = "allowed", _("Allowed")


class CertificationKind(models.TextChoices):
    PMARK = "pmark", _("Privacy Mark")
    ISMS = "isms", _("ISMS (ISO/IEC 27001)")
    SOC2 = "soc2", _("SOC 2")
    ISMAP = "ismap", _("ISMAP")
    SECURITY_ACTION_1 = "security_action_1", _("SECURITY ACTION ★1")
    SECURITY_ACTION_2 = "security_action_2", _("SECURITY ACTION ★2")
    CS_MARK = "cs_mark", _("CS Mark")
    OTHER = "other", _("Other")
