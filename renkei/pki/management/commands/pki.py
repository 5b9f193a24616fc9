"""`renkei pki ...`: the organization's CA and its client certificates (docs/pki.md).

    renkei pki init [--organization SLUG] [--key-type ec-p256|ec-p384|rsa3072|rsa4096] [--issuing-csr OUT]
    renkei pki import-issuing CERT --root ROOT_CERT [--organization SLUG]
    renkei pki ca-cert [--organization SLUG] [--out FILE]
    renkei pki issue --user USERNAME --profile NAME (--csr FILE | --p12 OUT --password-file FILE)
                     [--device NAME] [--legacy] [--key-type TYPE] [--out FILE] [--organization SLUG] [--json]
    renkei pki renew SERIAL (--csr FILE | --p12 OUT --password-file FILE) [--legacy] [--out FILE] [--json]
    renkei pki list [--organization SLUG] [--user USERNAME] [--profile NAME] [--state STATE]
                    [--expiring-days N] [--json]
    renkei pki revoke SERIAL --reason REASON [--json]
    renkei pki crl [--organization SLUG] [--out FILE] [--format der|pem] [--json]
    renkei pki enroll --user USERNAME --profile NAME [--device NAME] [--method pkcs12|csr] [--legacy]
                      [--key-type TYPE] [--days N] [--batch LABEL] [--no-mail] [--organization SLUG] [--json]
    renkei pki enroll-bulk FILE.csv [--batch LABEL] [--days N] [--check] [--organization SLUG] [--json]
    renkei pki policy [--organization SLUG] [--staff-roles admin,analyst] [--suppliers on|off]
                      [--api on|off] [--json]
    renkei pki notice-signer --email ADDR [--name NAME] [--key-type TYPE] [--organization SLUG] [--json]
    renkei pki verify FILE --signature SIG [--crl FILE]... [--at ISO-TIME] [--organization SLUG] [--json]
    renkei pki trust add FILE --name NAME [--supplier CODE] [--organization SLUG] [--json]
    renkei pki trust list|remove FINGERPRINT [--organization SLUG] [--json]

The CLI acts as the operator: it may issue and revoke for any organization. It needs the PKI
passphrase (RENKEI_PKI_PASSPHRASE or RENKEI_PKI_PASSPHRASE_FILE) to use a CA key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.db import transaction

from renkei.accounts.models import Organization, User
from renkei.audit.services import Actor
from renkei.core.errors import ServiceError
from renkei.core.management.base import RenkeiCommand, fail
from renkei.pki import bulk, ca, crl, enrollment, issuance, services
from renkei.pki.choices import CertificateState, KeyType, Method, RevocationReason, parse_reason
from renkei.pki.csr import MAX_CSR_BYTES
from renkei.pki.enrollment import LINK_DAYS
from renkei.pki.models import Certificate, CertificateAuthority
from renkei.pki.profiles import PROFILES


class Command(RenkeiCommand):
    help = "The organization's certificate authority and client certificates."

    def add_actions(self, subparsers: Any) -> None:
        init = subparsers.add_parser("init", help="Create the root and issuing CA.")
        init.add_argument("--organization", metavar="SLUG")
        init.add_argument("--key-type", default=KeyType.EC_P256, choices=ca.CA_KEY_TYPES)
        init.add_argument(
            "--issuing-csr",
            metavar="OUT",
            help="Use an external root: write the issuing CA's CSR to OUT instead.",
        )
        imp = subparsers.add_parser(
            "import-issuing", help="Activate the issuing CA signed by an external root."
        )
        imp.add_argument("cert", metavar="CERT")
        imp.add_argument("--root", metavar="ROOT_CERT", required=True)
        imp.add_argument("--organization", metavar="SLUG")
        chain = subparsers.add_parser("ca-cert", help="Write the CA chain (issuing, then root; PEM).")
        chain.add_argument("--organization", metavar="SLUG")
        chain.add_argument("--out", metavar="FILE", help="Default: standard output.")
        issue = subparsers.add_parser("issue", help="Issue a certificate to a user.")
        issue.add_argument("--user", metavar="USERNAME", required=True)
        issue.add_argument("--profile", required=True, choices=list(PROFILES))
        issue.add_argument("--device", metavar="NAME", default="")
        issue.add_argument("--organization", metavar="SLUG")
        issue.add_argument("--key-type", choices=KeyType.values, help="For --p12 (default: the profile's).")
        self._delivery(issue)
        renew = subparsers.add_parser("renew", help="Issue the replacement of a certificate.")
        renew.add_argument("serial", metavar="SERIAL")
        self._delivery(renew)
        listing = subparsers.add_parser("list", help="List certificates.")
        listing.add_argument("--organization", metavar="SLUG")
        listing.add_argument("--user", metavar="USERNAME")
        listing.add_argument("--profile", choices=list(PROFILES))
        listing.add_argument("--state", choices=CertificateState.values)
        listing.add_argument(
            "--expiring-days", type=int, metavar="N", help="Only live certificates expiring within N days."
        )
        revoke = subparsers.add_parser("revoke", help="Revoke a certificate (effective at once).")
        revoke.add_argument("serial", metavar="SERIAL")
        revoke.add_argument("--reason", required=True, help="RFC 5280: " + ", ".join(RevocationReason.values))
        crl_parser = subparsers.add_parser("crl", help="Regenerate the CRL and write it.")
        crl_parser.add_argument("--organization", metavar="SLUG")
        crl_parser.add_argument("--out", metavar="FILE")
        crl_parser.add_argument("--format", choices=["der", "pem"], default="der")
        self._enrollment_actions(subparsers)
        self._signature_actions(subparsers)
        # Mutual TLS (renkei.pki.mtls): where the organization requires a client certificate.
        policy = subparsers.add_parser(
            "policy", help="Show or set where a client certificate is required (mutual TLS)."
        )
        policy.add_argument("--organization", metavar="SLUG")
        policy.add_argument(
            "--staff-roles",
            metavar="ROLES",
            help="Staff roles, comma-separated (admin,analyst,auditor); '' for none.",
        )
        policy.add_argument("--suppliers", choices=["on", "off"], help="Supplier contacts need one.")
        policy.add_argument("--api", choices=["on", "off"], help="The API needs a certificate.")

    @staticmethod
    def _enrollment_actions(subparsers: Any) -> None:
        """Enrollment links (renkei.pki.enrollment, renkei.pki.bulk)."""
        enroll = subparsers.add_parser("enroll", help="Make an enrollment link for a user and e-mail it.")
        enroll.add_argument("--user", metavar="USERNAME", required=True)
        enroll.add_argument("--profile", required=True, choices=list(PROFILES))
        enroll.add_argument("--device", metavar="NAME", default="")
        enroll.add_argument("--method", choices=Method.values, default=Method.PKCS12)
        enroll.add_argument(
            "--legacy", action="store_true", help="PKCS#12 for older Windows/macOS importers."
        )
        enroll.add_argument("--key-type", choices=KeyType.values, default="", help="For pkcs12 links.")
        enroll.add_argument(
            "--days", type=int, default=LINK_DAYS, metavar="N", help="Valid for N days (1-30)."
        )
        enroll.add_argument("--batch", metavar="LABEL", default="")
        enroll.add_argument(
            "--no-mail", action="store_true", help="Do not e-mail the link; print its URL (shown once)."
        )
        enroll.add_argument("--organization", metavar="SLUG")
        bulk_parser = subparsers.add_parser(
            "enroll-bulk", help="Make and e-mail enrollment links for every row of a CSV file."
        )
        bulk_parser.add_argument("file", metavar="FILE.csv")
        bulk_parser.add_argument("--batch", metavar="LABEL", default="", help="Default: bulk-DATE-TIME.")
        bulk_parser.add_argument("--days", type=int, default=LINK_DAYS, metavar="N")
        bulk_parser.add_argument("--check", action="store_true", help="Only check the file; make nothing.")
        bulk_parser.add_argument("--organization", metavar="SLUG")

    @staticmethod
    def _signature_actions(subparsers: Any) -> None:
        """Signed notices and signature verification (renkei.pki.smime, signatures, trust)."""
        signer = subparsers.add_parser(
            "notice-signer", help="Issue the certificate that signs the organization's notices (S/MIME)."
        )
        signer.add_argument("--email", metavar="ADDR", required=True, help="The From address of notices.")
        signer.add_argument("--name", metavar="NAME", default="", help="Default: the organization's name.")
        signer.add_argument("--key-type", choices=KeyType.values, default="", help="Default: rsa3072.")
        signer.add_argument("--organization", metavar="SLUG")
        verify = subparsers.add_parser(
            "verify", help="Verify a detached CMS/PKCS#7 signature of a file (exit 1 when not valid)."
        )
        verify.add_argument("file", metavar="FILE")
        verify.add_argument("--signature", metavar="SIG", required=True, help="DER or PEM.")
        verify.add_argument(
            "--crl", metavar="FILE", action="append", default=[], help="A CRL for external signers."
        )
        verify.add_argument("--at", metavar="ISO-TIME", help="Judge validity at this moment (default now).")
        verify.add_argument("--organization", metavar="SLUG")
        trust = subparsers.add_parser(
            "trust", help="Register, list or remove external certificates trusted for signatures."
        )
        trust.add_argument("verb", choices=["add", "list", "remove"])
        trust.add_argument("target", nargs="?", metavar="FILE|FINGERPRINT")
        trust.add_argument("--name", metavar="NAME", default="")
        trust.add_argument("--supplier", metavar="CODE", help="The supplier the certificate belongs to.")
        trust.add_argument("--organization", metavar="SLUG")

    @staticmethod
    def _delivery(parser: Any) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--csr", metavar="FILE", help="A CSR (PEM or DER): the key stays on the device.")
        source.add_argument("--p12", metavar="OUT", help="Make the key here; write a PKCS#12 bundle to OUT.")
        parser.add_argument("--password-file", metavar="FILE", help="The PKCS#12 password (first line).")
        parser.add_argument(
            "--legacy",
            action="store_true",
            help="PKCS#12 for older Windows/macOS importers (3DES, SHA-1 MAC).",
        )
        parser.add_argument("--out", metavar="FILE", help="Also write the certificate (PEM) to FILE.")

    # --- helpers ------------------------------------------------------------------------------

    def _organization(self, slug: str | None, *, with_ca: bool = True) -> Organization:
        if slug:
            org = Organization.objects.filter(slug=slug).first()
            if org is None:
                raise fail(f"No organization {slug!r}.")
            return org
        candidates = Organization.objects.order_by("slug")
        if with_ca:
            candidates = candidates.filter(
                pk__in=CertificateAuthority.objects.exclude(status="retired").values("organization_id")
            )
        orgs = list(candidates[:2])
        if len(orgs) == 1:
            return orgs[0]
        if not orgs:
            raise fail(
                "No organization has a CA yet: run `renkei pki init --organization SLUG`."
                if with_ca
                else "No organization exists yet."
            )
        raise fail("Several organizations: name one with --organization SLUG.")

    @staticmethod
    def _read(path: str, what: str, limit: int | None = None) -> bytes:
        file = Path(path)
        try:
            size = file.stat().st_size
            if limit is not None and size > limit:
                raise fail(f"{path}: the {what} is {size} bytes long; at most {limit} bytes are accepted.")
            return file.read_bytes()
        except OSError as exc:
            raise fail(f"{path}: {exc.strerror}") from exc

    @staticmethod
    def _write(path: str, data: bytes, *, private: bool = False) -> None:
        try:
            if private:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            else:
                Path(path).write_bytes(data)
        except FileExistsError as exc:
            raise fail(f"{path} already exists; a key bundle is never overwritten.") from exc
        except OSError as exc:
            raise fail(f"{path}: {exc.strerror}") from exc

    def _password(self, options: dict[str, Any]) -> str:
        if not options.get("password_file"):
            raise fail("--p12 needs --password-file FILE.")
        text = self._read(options["password_file"], "password file", 4096).decode("utf-8", "replace")
        lines = text.splitlines()
        return lines[0] if lines else ""

    def run(self, action: str, **options: Any) -> Any:
        handler = getattr(self, "do_" + action.replace("-", "_"))
        try:
            return handler(options)
        except ServiceError as exc:
            raise fail(exc.message) from exc

    # --- actions --------------------------------------------------------------------------------

    def do_init(self, options: dict[str, Any]) -> dict[str, Any]:
        org = self._organization(options.get("organization"), with_ca=False)
        if options.get("issuing_csr"):
            out = options["issuing_csr"]
            if Path(out).exists():
                raise fail(f"{out} already exists.")
            csr_pem = ca.init_issuing_csr(Actor.cli(), org, options["key_type"])
            self._write(out, csr_pem)
            return {"organization": org.slug, "status": "pending", "csr": out}
        root, issuing = ca.init_ca(Actor.cli(), org, options["key_type"])
        return {
            "organization": org.slug,
            "status": "active",
            "root": {"subject": root.subject, "serial": root.serial, "not_after": root.not_after.isoformat()},
            "issuing": {
                "subject": issuing.subject,
                "serial": issuing.serial,
                "not_after": issuing.not_after.isoformat(),
            },
            **ca.endpoints(org),
        }

    def do_import_issuing(self, options: dict[str, Any]) -> dict[str, Any]:
        org = self._organization(options.get("organization"))
        cert = self._read(options["cert"], "certificate", 64 * 1024)
        root = self._read(options["root"], "certificate", 64 * 1024)
        issuing = ca.import_issuing(Actor.cli(), org, cert, root)
        return {
            "organization": org.slug,
            "status": issuing.status,
            "serial": issuing.serial,
            "not_after": issuing.not_after.isoformat(),
        }

    def do_ca_cert(self, options: dict[str, Any]) -> dict[str, Any]:
        org = self._organization(options.get("organization"))
        text = ca.chain_pem(org)
        if options.get("out"):
            self._write(options["out"], text.encode("ascii"))
            return {"organization": org.slug, "out": options["out"]}
        if self.json_output:
            return {"organization": org.slug, "chain": text}
        self.stdout.write(text, ending="")
        return None

    def _deliver(self, options: dict[str, Any], issue_csr: Any, issue_p12: Any) -> Certificate:
        if options.get("csr"):
            csr = self._read(options["csr"], "CSR", MAX_CSR_BYTES)
            cert = issue_csr(csr)
        else:
            password = self._password(options)
            out = options["p12"]
            if Path(out).exists():
                raise fail(f"{out} already exists; a key bundle is never overwritten.")
            with transaction.atomic():  # a bundle that cannot be written issues nothing
                cert, bundle = issue_p12(password, options.get("legacy", False))
                self._write(out, bundle, private=True)
        if options.get("out"):
            self._write(options["out"], cert.certificate_pem.encode("ascii"))
        return cert

    def do_issue(self, options: dict[str, Any]) -> dict[str, str]:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise fail(f"No user {options['user']!r}.")
        org = self._organization(options.get("organization"))
        actor = Actor.cli()
        request = issuance.prepare(actor, org, user, options["profile"], options.get("device") or "")
        cert = self._deliver(
            options,
            lambda csr: issuance.issue_from_csr(actor, request, csr),
            lambda password, legacy: issuance.issue_pkcs12(
                actor, request, password, legacy=legacy, key_type=options.get("key_type")
            ),
        )
        return services.issued_data(cert)

    def do_renew(self, options: dict[str, Any]) -> dict[str, str]:
        old = services.find_by_serial(options["serial"])
        actor = Actor.cli()
        cert = self._deliver(
            options,
            lambda csr: services.renew_from_csr(actor, old, csr),
            lambda password, legacy: services.renew_pkcs12(actor, old, password, legacy=legacy),
        )
        return services.issued_data(cert)

    def do_list(self, options: dict[str, Any]) -> dict[str, Any]:
        rows = Certificate.objects.select_related("organization", "user", "renewed_from").order_by(
            "organization__slug", "not_after", "pk"
        )
        if options.get("organization"):
            rows = rows.filter(organization=self._organization(options["organization"], with_ca=False))
        if options.get("user"):
            if not User.objects.filter(username=options["user"]).exists():
                raise fail(f"No user {options['user']!r}.")
            rows = rows.filter(user__username=options["user"])
        if options.get("profile"):
            rows = rows.filter(profile=options["profile"])
        if options.get("state"):
            rows = rows.in_state(options["state"])
        if options.get("expiring_days") is not None:
            if options["expiring_days"] < 0:
                raise fail("--expiring-days must be 0 or more.")
            rows = services.expiring(rows, options["expiring_days"])
        return {"certificates": [services.certificate_data(c) for c in rows.iterator(chunk_size=2000)]}

    def do_revoke(self, options: dict[str, Any]) -> dict[str, Any]:
        reason = parse_reason(options["reason"])
        if reason is None:
            raise fail(f"Unknown reason {options['reason']!r}; one of: {', '.join(RevocationReason.values)}.")
        cert = services.revoke(Actor.cli(), services.find_by_serial(options["serial"]), reason)
        return {"serial": cert.serial, "revoked_at": cert.revoked_at.isoformat(), "reason": reason}

    def do_crl(self, options: dict[str, Any]) -> dict[str, Any]:
        org = self._organization(options.get("organization"))
        row = crl.generate_crl(ca.issuing_ca(org))
        data = bytes(row.der) if options["format"] == "der" else crl.pem(bytes(row.der))
        result = {
            "organization": org.slug,
            "number": row.number,
            "revoked": row.revoked_count,
            "next_update": row.next_update.isoformat(),
        }
        if options.get("out"):
            self._write(options["out"], data)
            result["out"] = options["out"]
        elif options["format"] == "pem" and not self.json_output:
            self.stdout.write(data.decode("ascii"), ending="")
            return None
        return result

    def do_policy(self, options: dict[str, Any]) -> dict[str, Any]:
        from renkei.pki import mtls

        org = self._organization(options.get("organization"), with_ca=False)
        current = mtls.policy_of(org)
        changing = any(options.get(name) is not None for name in ("staff_roles", "suppliers", "api"))
        if changing:
            roles = current["staff_roles"]
            if options.get("staff_roles") is not None:
                roles = [r.strip() for r in options["staff_roles"].split(",") if r.strip()]
            flags = {
                name: current[name] if options.get(name) is None else options[name] == "on"
                for name in ("suppliers", "api")
            }
            # The operator at the console is the way back in: no lockout check (see docs/pki.md).
            mtls.set_policy(Actor.cli(), org, staff_roles=roles, **flags)
            current = mtls.policy_of(org)
        required, without = mtls.affected_users(org, current)
        return {
            "organization": org.slug,
            **current,
            "changed": changing,
            "users_required": required,
            "users_without_certificate": without,
        }

    def do_enroll(self, options: dict[str, Any]) -> dict[str, Any]:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise fail(f"No user {options['user']!r}.")
        org = self._organization(options.get("organization"))
        actor = Actor.cli()
        mailed = not options.get("no_mail")
        link, token = enrollment.create_link(
            actor,
            org,
            user,
            options["profile"],
            options["method"],
            device_name=options.get("device") or "",
            key_type=options.get("key_type") or "",
            legacy=options.get("legacy", False),
            days=options["days"],
            batch=options.get("batch") or "",
            mailed=mailed,
        )
        if mailed:
            enrollment.deliver(actor, link, token)
        data = {**enrollment.link_data(link), "mailed": mailed, "sent_to": link.sent_to if mailed else ""}
        if not mailed:
            data["url"] = enrollment.enroll_url(token)
        return data

    def do_enroll_bulk(self, options: dict[str, Any]) -> dict[str, Any]:
        org = self._organization(options.get("organization"))
        content = self._read(options["file"], "CSV file", bulk.MAX_BYTES)
        if options.get("check"):
            checked = bulk.plan(org, content)
            if checked.errors:
                raise fail("\n".join(str(e) for e in checked.errors))
            return {"organization": org.slug, "checked": len(checked.rows), "created": 0}
        try:
            result = bulk.create_batch(
                Actor.cli(), org, content, batch=options.get("batch") or "", days=options["days"]
            )
        except bulk.BulkError as exc:
            if self.json_output:
                self.write_json({"errors": [e.as_dict() for e in exc.row_errors]})
            raise fail(exc.message) from exc
        return {"organization": org.slug, **result.as_dict()}

    # --- signed notices, signature verification (renkei.pki.smime, signatures, trust) -------------

    def do_notice_signer(self, options: dict[str, Any]) -> dict[str, Any]:
        from renkei.pki import smime

        org = self._organization(options.get("organization"))
        before = list(
            Certificate.objects.filter(organization=org, signs_notices=True).values_list("serial", flat=True)
        )
        cert = smime.make_notice_signer(
            Actor.cli(),
            org,
            options["email"],
            options.get("name") or "",
            key_type=options.get("key_type") or smime.DEFAULT_KEY_TYPE,
        )
        return {
            "organization": org.slug,
            **services.issued_data(cert),
            "email": options["email"].strip(),
            "retired": before,
            # Mail clients warn when the certificate's address differs from the From address.
            "matches_from_address": options["email"].strip().lower() == smime.from_address().lower(),
        }

    def do_verify(self, options: dict[str, Any]) -> dict[str, Any]:
        import datetime

        from renkei.pki import signatures

        org = self._organization(options.get("organization"))
        path = Path(options["file"])
        if not path.is_file():
            raise fail(f"{path}: no such file.")
        signature = self._read(options["signature"], "signature", signatures.MAX_SIGNATURE_BYTES)
        crls = [self._read(name, "CRL", 64 * 1024 * 1024) for name in options.get("crl") or []]
        at = None
        if options.get("at"):
            try:
                at = datetime.datetime.fromisoformat(options["at"])
            except ValueError as exc:
                raise fail(f"--at {options['at']!r}: not an ISO 8601 time.") from exc
            if at.tzinfo is None:
                raise fail("--at needs a time zone, e.g. 2026-04-01T09:00:00+09:00.")
        result = signatures.verify_detached(org, path, signature, at=at, crls=crls)
        data = result.as_dict()
        if not result.valid:
            if self.json_output:
                self.write_json(data)
            raise fail(f"{result.reason}: {result.message}")
        return data

    def do_trust(self, options: dict[str, Any]) -> dict[str, Any]:
        from renkei.pki import trust
        from renkei.pki.models import TrustedCertificate
        from renkei.suppliers.models import Supplier

        org = self._organization(options.get("organization"), with_ca=False)
        verb, target = options["verb"], options.get("target")
        if verb == "list":
            rows = TrustedCertificate.objects.filter(organization=org).order_by("name", "pk")
            return {"organization": org.slug, "trusted": [trust.row_data(row) for row in rows]}
        if not target:
            raise fail(f"trust {verb} needs a {'FILE' if verb == 'add' else 'FINGERPRINT'}.")
        if verb == "add":
            supplier = None
            if options.get("supplier"):
                supplier = Supplier.objects.filter(organization=org, code=options["supplier"]).first()
                if supplier is None:
                    raise fail(f"No supplier {options['supplier']!r} in {org.slug}.")
            data = self._read(target, "certificate", trust.MAX_PEM_BYTES)
            row = trust.add_trusted(Actor.cli(), org, data, options.get("name") or "", supplier=supplier)
            return {"organization": org.slug, **trust.row_data(row)}
        wanted = target.replace(":", "").strip().lower()
        row = TrustedCertificate.objects.filter(organization=org, fingerprint_sha256=wanted).first()
        if row is None:
            raise fail(f"No trusted certificate with the SHA-256 fingerprint {target} in {org.slug}.")
        trust.remove_trusted(Actor.cli(), row)
        return {"organization": org.slug, "removed": trust.row_data(row)}

    def render_text(self, action: str, data: Any) -> str:
        if action == "policy":
            roles = ",".join(data["staff_roles"]) or "-"
            switch = {True: "on", False: "off"}
            text = (
                f"{data['organization']}: staff roles {roles}, suppliers {switch[data['suppliers']]}, "
                f"api {switch[data['api']]}; {data['users_required']} user(s) need a certificate"
            )
            if data["users_without_certificate"]:
                missing = data["users_without_certificate"]
                text += f", {missing} of them hold no live client certificate (they are refused)"
            return text
        if data is None:
            return ""
        if action in ("issue", "renew"):
            return f"{data['serial']} valid until {data['not_after']} sha256 {data['fingerprint_sha256']}"
        if action == "list":
            return (
                "\n".join(
                    f"{c['serial']} {c['state']:8} {c['profile']:8} {c['not_after'][:10]} {c['user'] or '-'}"
                    + (f" [{c['device']}]" if c["device"] else "")
                    for c in data["certificates"]
                )
                or "No certificates."
            )
        if action == "revoke":
            return f"{data['serial']} revoked ({data['reason']}) at {data['revoked_at']}"
        if action == "notice-signer":
            text = f"notices of {data['organization']} are signed by {data['serial']} ({data['email']})"
            if not data["matches_from_address"]:
                text += "\nwarning: the address differs from DEFAULT_FROM_EMAIL; mail clients will warn"
            return text
        if action == "verify":
            return f"valid: signed by {data['signer']['subject']} (serial {data['signer']['serial']})"
        if action == "trust" and "trusted" in data:
            rows = data["trusted"]
            lines = [f"{r['fingerprint_sha256']} {r['name']}" for r in rows]
            return "\n".join(lines) or "No trusted certificates."
        if action == "enroll":
            where = f"sent to {data['sent_to']}" if data["mailed"] else data["url"]
            what = f"{data['user']} ({data['profile']}, {data['method']})"
            return f"enrollment link {data['id']} for {what} {where}"
        if action == "enroll-bulk":
            if "checked" in data:
                return f"{data['checked']} rows checked: no problems."
            lines = [f"batch {data['batch']}: {data['created']} links, {data['mailed']} mailed"]
            lines += [f"row {f['row']}: mail to {f['user']} failed; link withdrawn" for f in data["failed"]]
            return "\n".join(lines)
        return super().render_text(action, data)
