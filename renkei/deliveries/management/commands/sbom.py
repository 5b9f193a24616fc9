"""`renkei sbom <action>`: SBOM files from the command line (docs/deliveries.md).

    renkei sbom scan FILE [--json]

`scan` reads a CycloneDX or SPDX file and matches its components against the imported OSV data
(`renkei osv import`), without storing anything. --json prints
{"components": N, "findings": [{"purl", "name", "version", "id", "aliases", "severity", "fixed"}],
 "unparsed": [{"purl", "name", "version", "reason", "message", "advisories"}]}.
Errors go to stderr with exit status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from renkei.core.management.base import ActionsCommand, fail
from renkei.deliveries.matching import scan
from renkei.deliveries.sbom import SbomError, max_bytes, parse_sbom


class Command(ActionsCommand):
    help = "SBOM files: match an SBOM's components against the imported vulnerability data."

    ACTIONS: tuple[tuple[str, str], ...] = (
        ("scan", "Match the components of an SBOM file (CycloneDX or SPDX) against the imported advisories."),
    )

    def add_scan(self, parser: Any) -> None:
        parser.add_argument(
            "file", metavar="FILE", help="A CycloneDX (JSON, XML) or SPDX (JSON, tag-value) file."
        )

    def do_scan(self, **options: Any) -> dict[str, Any]:
        path = Path(options["file"])
        try:
            if path.stat().st_size > max_bytes():
                raise fail(
                    _("%(file)s is larger than the SBOM size limit (%(mb)d MB).")
                    % {"file": path, "mb": max_bytes() // (1024 * 1024)}
                )
            data = path.read_bytes()
        except OSError as exc:
            raise fail(
                _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror or exc}
            ) from None
        try:
            parsed = parse_sbom(data, path.name, validate=False)  # schema messages are not shown here
        except SbomError as exc:
            raise fail(_("%(file)s: %(message)s") % {"file": path, "message": exc}) from None
        return scan(parsed.components)

    @staticmethod
    def text_scan(data: dict[str, Any]) -> str:
        lines = [
            _("%(components)d components, %(findings)d vulnerabilities, %(unparsed)d not fully checked.")
            % {
                "components": data["components"],
                "findings": len(data["findings"]),
                "unparsed": len(data["unparsed"]),
            }
        ]
        for row in data["findings"]:
            aliases = f" ({', '.join(row['aliases'])})" if row["aliases"] else ""
            fixed = (
                _("fixed in %(versions)s") % {"versions": ", ".join(row["fixed"])}
                if row["fixed"]
                else _("no fix")
            )
            lines.append(
                f"  [{row['severity']}] {row['name']} {row['version']}: {row['id']}{aliases}, {fixed}"
            )
        for row in data["unparsed"]:
            lines.append(f"  ? {row['name'] or row['purl']} {row['version']}: {row['message']}")
        return "\n".join(lines)
