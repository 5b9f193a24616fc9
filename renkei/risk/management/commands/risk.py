"""`renkei risk recompute [--organization SLUG] [--json]` and `renkei risk show CODE --json`."""

from __future__ import annotations

import time
from typing import Any

from renkei.accounts.models import Organization
from renkei.core.management.base import RenkeiCommand, fail
from renkei.risk.models import SupplierRisk
from renkei.risk.services import recompute_organization, risk_data
from renkei.suppliers.models import Supplier


class Command(RenkeiCommand):
    help = "Supplier risk: recompute ratings, show one supplier's explained rating."

    def add_actions(self, subparsers: Any) -> None:
        recompute = subparsers.add_parser("recompute", help="Recompute the risk of every supplier.")
        recompute.add_argument("--organization", metavar="SLUG", help="Only this organization.")
        show = subparsers.add_parser("show", help="Impact, likelihood, level and factors of a supplier.")
        show.add_argument("code", metavar="SUPPLIER_CODE")
        show.add_argument("--organization", metavar="SLUG",
                          help="Needed when several organizations use the code.")
        listing = subparsers.add_parser("register", help="The risk register (docs/risk.md).")
        listing.add_argument("--organization", metavar="SLUG", help="Only this organization.")
        listing.add_argument("--status", metavar="STATUS",
                             help="candidate, open, treated, accepted, closed, or active (not closed).")

    def run(self, action: str, **options: Any) -> Any:
        if action == "recompute":
            return self.recompute(options.get("organization"))
        if action == "register":
            from renkei.risk.register import register_document

            try:
                return register_document(self._organizations(options.get("organization")),
                                         options.get("status"))
            except ValueError as exc:
                raise fail(str(exc)) from exc
        return self.show(options["code"], options.get("organization"))

    def _organizations(self, slug: str | None) -> list[Organization]:
        organizations = Organization.objects.order_by("slug")
        if slug:
            organizations = organizations.filter(slug=slug)
            if not organizations.exists():
                raise fail(f"No organization {slug!r}.")
        return list(organizations)

    def recompute(self, slug: str | None) -> dict[str, Any]:
        results = []
        for org in self._organizations(slug):
            started = time.perf_counter()
            count = recompute_organization(org)
            results.append({"organization": org.slug, "suppliers": count,
                            "seconds": round(time.perf_counter() - started, 3)})
        return {"organizations": results}

    def show(self, code: str, slug: str | None) -> dict[str, Any]:
        suppliers = Supplier.objects.filter(code=code).select_related("organization")
        if slug:
            suppliers = suppliers.filter(organization__slug=slug)
        found = list(suppliers[:2])
        if not found:
            raise fail(f"No supplier {code!r}" + (f" in {slug!r}." if slug else "."))
        if len(found) > 1:
            raise fail(f"Several organizations have a supplier {code!r}; name one with --organization.")
        supplier = found[0]
        risk = SupplierRisk.objects.filter(supplier=supplier).select_related("supplier").first()
        if risk is None:
            recompute_organization(supplier.organization_id)
            risk = SupplierRisk.objects.select_related("supplier").get(supplier=supplier)
        return risk_data(risk)

    def render_text(self, action: str, data: Any) -> str:
        if action == "register":
            return "\n".join(f"{r['id']:>6} {r['level']:<8} {r['status']:<9} {r['supplier']:<10} {r['title']}"
                             for r in data["risks"]) or "No risks."
        if action == "recompute":
            return "\n".join(f"{r['organization']}: {r['suppliers']} suppliers in {r['seconds']} s"
                             for r in data["organizations"]) or "No organizations."
        lines = [f"{data['supplier']}: impact {data['impact']} × likelihood {data['likelihood']} "
                 f"→ {data['level_label']} (criticality {data['criticality']})"]
        lines += [f"  impact {r['level']}: {r['reason']}" for r in data["impact_factors"]]
        lines += [f"  +{f['contribution']:.2f} {f['name']}: {f['reason']}" for f in data["factors"]]
        return "\n".join(lines)
