"""`renkei deliveries <action>`: delivered software from the command line (docs/deliveries.md).

    renkei deliveries list [--organization SLUG] [--supplier CODE] [--vulnerable] [--json]
    renkei deliveries register --supplier CODE --product NAME --version V
                               [--sbom FILE [--sbom-signature FILE]] [--artifact FILE[:SIGNATURE]]...
                               [--description TEXT] [--organization SLUG] [--json]
    renkei deliveries findings [QUERY] [--organization SLUG] [--all] [--json]
    renkei deliveries vex-export ID FILE.json
    renkei deliveries vex-import ID FILE.json [--json]

`findings QUERY` answers "which deliveries contain log4j-core 2.14?" (a component name and a version
prefix, a purl prefix, or an advisory id or alias such as CVE-2021-44228). Errors go to stderr with
exit status 1, stdout stays empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.services import Actor
from renkei.core.management.base import ActionsCommand, fail, organization_by_slug
from renkei.deliveries import services, vex
from renkei.deliveries.findings import open_findings
from renkei.deliveries.models import Delivery, Finding, Source


def _delivery_json(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.pk,
        "supplier": row.supplier.code,
        "product": row.product,
        "version": row.version,
        "received_at": timezone.localtime(row.received_at).isoformat(),
        "components": row.component_count,
        "open_findings": row.open_findings,
        "worst_severity": row.worst_severity or None,
        "signature": row.signature_status,
    }


def _finding_json(row: Finding) -> dict[str, Any]:
    return {
        "delivery": row.delivery_id,
        "supplier": row.delivery.supplier.code,
        "product": row.delivery.product,
        "delivery_version": row.delivery.version,
        "component": row.component.name,
        "version": row.component.version,
        "purl": row.component.purl or None,
        "id": row.osv_id,
        "aliases": row.advisory.aliases,
        "severity": row.severity,
        "match": row.match,
        "triage": row.vex_state or None,
        "resolved": row.resolved_at is not None,
    }


class Command(ActionsCommand):
    help = "Delivered software: deliveries, their findings and VEX."

    ACTIONS: tuple[tuple[str, str], ...] = (
        ("list", "List deliveries with their components, open vulnerabilities and signature status."),
        ("register", "Register a delivery with its files (checked, signatures verified, matched)."),
        ("findings", "Search components and findings across the portfolio."),
        ("vex-export", "Write a delivery's findings and triage as CycloneDX VEX (JSON)."),
        ("vex-import", "Apply a CycloneDX VEX (JSON) to a delivery's findings."),
    )

    @staticmethod
    def add_organization(parser: Any) -> None:
        parser.add_argument(
            "--organization", metavar="SLUG", help="The organization (needed only when there are several)."
        )

    def _delivery(self, options: dict[str, Any]) -> Delivery:
        organization = organization_by_slug(options.get("organization"))
        row = (
            Delivery.objects.filter(organization=organization, pk=options["id"])
            .select_related("supplier")
            .first()
        )
        if row is None:
            raise fail(_("No delivery %(id)s.") % {"id": options["id"]})
        return row

    # -- list ---------------------------------------------------------------------------------------

    def add_list(self, parser: Any) -> None:
        self.add_organization(parser)
        parser.add_argument("--supplier", metavar="CODE", help="Only this supplier's deliveries.")
        parser.add_argument(
            "--vulnerable", action="store_true", help="Only deliveries with open vulnerabilities."
        )

    def do_list(self, **options: Any) -> dict[str, Any]:
        organization = organization_by_slug(options.get("organization"))
        rows = Delivery.objects.filter(organization=organization).select_related("supplier")
        if options.get("supplier"):
            rows = rows.filter(supplier__code=options["supplier"])
        if options.get("vulnerable"):
            rows = rows.filter(open_findings__gt=0)
        return {"deliveries": [_delivery_json(row) for row in rows.order_by("-received_at", "-pk")]}

    def text_list(self, data: dict[str, Any]) -> str:
        lines = [
            f"{d['id']:>5}  {d['supplier']:<10} {d['product']} {d['version']}  "
            + _("components %(n)s, open vulnerabilities %(v)s, signature %(s)s")
            % {"n": d["components"], "v": d["open_findings"], "s": d["signature"]}
            for d in data["deliveries"]
        ]
        return "\n".join(lines) or _("No deliveries.")

    # -- register -----------------------------------------------------------------------------------

    def add_register(self, parser: Any) -> None:
        self.add_organization(parser)
        parser.add_argument("--supplier", metavar="CODE", required=True)
        parser.add_argument("--product", required=True)
        parser.add_argument("--version", dest="product_version", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument("--sbom", metavar="FILE")
        parser.add_argument("--sbom-signature", metavar="FILE")
        parser.add_argument(
            "--artifact",
            metavar="FILE[:SIGNATURE]",
            action="append",
            default=[],
            help="A delivered file and, after a colon, its detached CMS signature (repeatable).",
        )

    @staticmethod
    def _open(path: str, opened: list[Any]) -> File:
        try:
            handle = Path(path).open("rb")  # noqa: SIM115 - closed by do_register
        except OSError as exc:
            raise fail(
                _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror or exc}
            ) from None
        opened.append(handle)
        return File(handle, name=Path(path).name)

    def do_register(self, **options: Any) -> dict[str, Any]:
        from renkei.suppliers.models import Supplier

        organization = organization_by_slug(options.get("organization"))
        supplier = Supplier.objects.filter(organization=organization, code=options["supplier"]).first()
        if supplier is None:
            raise fail(_("No supplier %(code)s.") % {"code": options["supplier"]})
        opened: list[Any] = []
        try:
            artifacts = []
            for spec in options["artifact"]:
                path, _sep, signature = spec.partition(":")
                artifacts.append(
                    services.ArtifactUpload(
                        self._open(path, opened), self._open(signature, opened) if signature else None
                    )
                )
            sbom = self._open(options["sbom"], opened) if options.get("sbom") else None
            sbom_signature = (
                self._open(options["sbom_signature"], opened) if options.get("sbom_signature") else None
            )
            try:
                row = services.register_delivery(
                    Actor.cli(),
                    organization,
                    supplier,
                    product=options["product"],
                    version=options["product_version"],
                    description=options["description"],
                    source=Source.STAFF,
                    artifacts=artifacts,
                    sbom=sbom,
                    sbom_signature=sbom_signature,
                )
            except services.DeliveryError as exc:
                details = "; ".join(f"{field}: {text}" for field, text in exc.errors.items())
                raise fail(f"{exc.message} {details}".strip()) from None
        finally:
            for handle in opened:
                handle.close()
        row.refresh_from_db()
        return {
            "delivery": _delivery_json(row),
            "artifacts": [
                {
                    "name": a.name,
                    "sha256": a.sha256,
                    "signature": a.signature_status,
                    "message": a.signature_message,
                }
                for a in row.artifacts.all()
            ],
            "sboms": [
                {
                    "name": s.name,
                    "format": s.format,
                    "spec_version": s.spec_version,
                    "components": s.component_count,
                    "completeness": s.completeness,
                    "signature": s.signature_status,
                }
                for s in row.sboms.all()
            ],
        }

    # -- findings -----------------------------------------------------------------------------------

    def add_findings(self, parser: Any) -> None:
        self.add_organization(parser)
        parser.add_argument(
            "query",
            nargs="?",
            default="",
            help='A component ("log4j-core 2.14"), a purl prefix or an advisory id / alias.',
        )
        parser.add_argument("--all", action="store_true", help="Also resolved and closed findings.")

    def do_findings(self, **options: Any) -> dict[str, Any]:
        organization = organization_by_slug(options.get("organization"))
        query = " ".join((options.get("query") or "").split())
        findings = Finding.objects.filter(delivery__organization=organization)
        if not options.get("all"):
            findings = open_findings(findings)
        components: list[dict[str, Any]] = []
        if query:
            from renkei.deliveries.models import Component

            matched = services.search_components(
                Component.objects.filter(delivery__organization=organization), query
            )
            components = [
                {
                    "delivery": c.delivery_id,
                    "supplier": c.delivery.supplier.code,
                    "product": c.delivery.product,
                    "delivery_version": c.delivery.version,
                    "component": c.name,
                    "version": c.version,
                    "purl": c.purl or None,
                }
                for c in matched.select_related("delivery__supplier").order_by("delivery_id", "pk")[:1000]
            ]
            findings = findings.filter(
                Q(osv_id__iexact=query)
                | Q(advisory__aliases__icontains=query)
                | Q(component__in=matched.values("pk"))
            )
        rows = findings.select_related("delivery__supplier", "component", "advisory").order_by(
            "delivery_id", "pk"
        )
        return {"components": components, "findings": [_finding_json(row) for row in rows[:5000]]}

    # -- VEX ----------------------------------------------------------------------------------------

    def add_vex_export(self, parser: Any) -> None:
        self.add_organization(parser)
        parser.add_argument("id", type=int)
        parser.add_argument("file")

    def do_vex_export(self, **options: Any) -> dict[str, Any]:
        row = self._delivery(options)
        data = vex.export_vex(row)
        try:
            Path(options["file"]).write_bytes(data)
        except OSError as exc:
            raise fail(
                _("Cannot write %(path)s: %(reason)s")
                % {"path": options["file"], "reason": exc.strerror or exc}
            ) from None
        return {"delivery": row.pk, "file": options["file"], "bytes": len(data)}

    def add_vex_import(self, parser: Any) -> None:
        self.add_organization(parser)
        parser.add_argument("id", type=int)
        parser.add_argument("file")

    def do_vex_import(self, **options: Any) -> dict[str, Any]:
        row = self._delivery(options)
        try:
            data = Path(options["file"]).read_bytes()
        except OSError as exc:
            raise fail(
                _("Cannot read %(path)s: %(reason)s")
                % {"path": options["file"], "reason": exc.strerror or exc}
            ) from None
        try:
            result = vex.import_vex(Actor.cli(), row, data)
        except services.DeliveryError as exc:
            raise fail(exc.message) from None
        return {"delivery": row.pk, **result.as_dict()}
