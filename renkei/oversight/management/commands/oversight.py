"""`renkei oversight contracts [--organization SLUG] [--missing-only] --json` (each current
contract's required, present and missing clauses) and `renkei oversight audits
[--supplier CODE] [--organization SLUG] --json` (audits with their findings)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from renkei.accounts.models import Organization
from renkei.core.management.base import RenkeiCommand, fail
from renkei.oversight.audit_services import audit_data
from renkei.oversight.checklist import annotate_rows, checklist_queryset, clause_label, contract_data
from renkei.oversight.models import Audit
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.models import Contract, Supplier


class Command(RenkeiCommand):
    help = "Supplier selection, contract checklist and audits."

    def add_actions(self, subparsers: Any) -> None:
        contracts = subparsers.add_parser("contracts", help="Missing clauses of every current contract.")
        contracts.add_argument("--organization", metavar="SLUG", help="Only this organization.")
        contracts.add_argument("--missing-only", action="store_true", help="Only contracts lacking a clause.")
        audits = subparsers.add_parser("audits", help="Audits and their findings.")
        audits.add_argument("--organization", metavar="SLUG", help="Only this organization.")
        audits.add_argument("--supplier", metavar="CODE", help="Only this supplier.")

    def _organizations(self, slug: str | None) -> list[Organization]:
        organizations = Organization.objects.order_by("slug")
        if slug:
            organizations = organizations.filter(slug=slug)
            if not organizations.exists():
                raise fail(f"No organization {slug!r}.")
        return list(organizations)

    def run(self, action: str, **options: Any) -> Any:
        organizations = self._organizations(options.get("organization"))
        if action == "contracts":
            return self.contracts(organizations, options.get("missing_only", False))
        return self.audits(organizations, options.get("supplier"))

    def contracts(self, organizations: list[Organization], missing_only: bool) -> dict[str, Any]:
        from renkei.risk.services import config_for

        result = []
        today = timezone.localdate()
        for org in organizations:
            rows = checklist_queryset(
                Contract.objects.filter(supplier__organization=org).exclude(
                    supplier__status=SupplierStatus.REJECTED
                ),
                today,
            ).order_by("supplier__code", "pk")
            for contract in annotate_rows(rows.iterator(chunk_size=2000), config_for(org.pk)["contracts"]):
                if missing_only and not contract.missing:
                    continue
                result.append({"organization": org.slug, **contract_data(contract)})
        return {"contracts": result}

    def audits(self, organizations: list[Organization], code: str | None) -> dict[str, Any]:
        audits = (
            Audit.objects.filter(organization__in=organizations)
            .select_related("supplier", "organization")
            .prefetch_related("findings")
            .order_by("organization__slug", "-planned_on")
        )
        if code:
            audits = audits.filter(supplier__code=code)
            if not Supplier.objects.filter(organization__in=organizations, code=code).exists():
                raise fail(f"No supplier {code!r}.")
        return {
            "audits": [
                {"organization": a.organization.slug, **audit_data(a, list(a.findings.all()))} for a in audits
            ]
        }

    def render_text(self, action: str, data: Any) -> str:
        if action == "contracts":
            lines = [
                f"{c['supplier']} {c['title']} (criticality {c['criticality'] or '-'}): "
                + (
                    "missing " + ", ".join(clause_label(m) for m in c["missing"])
                    if c["missing"]
                    else "complete"
                )
                for c in data["contracts"]
            ]
            return "\n".join(lines) or "No current contracts."
        lines = []
        for a in data["audits"]:
            lines.append(f"{a['planned_on']} {a['supplier']} {a['kind']} {a['status']}: {a['scope'][:60]}")
            lines += [
                f"  [{f['severity']}] {f['title']}" + (f" → action {f['action']}" if f["action"] else "")
                for f in a["findings"]
            ]
        return "\n".join(lines) or "No audits."
