"""`renkei serve`: the production WSGI server (cheroot) for renkei.wsgi.application.

cheroot is a pure-Python, thread-pooled HTTP/1.1 server; it was chosen because it can later
terminate TLS itself and hand verified client certificates to the application (mutual TLS
for supplier access). Static files are served by WhiteNoise inside the application.
"""

from __future__ import annotations

import signal
import ssl
import threading
from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 16


def unapplied_migrations(database: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Migrations the database still lacks ("app.name"), like `migrate --check`."""
    connection = connections[database]
    connection.prepare_database()
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    return [f"{m.app_label}.{m.name}" for m, _backwards in executor.migration_plan(targets)]


def require_migrated() -> None:
    missing = unapplied_migrations()
    if missing:
        raise CommandError(
            _(
                "The database is not up to date: %(count)d migration(s) not applied (%(first)s…). "
                "Run `renkei migrate` first."
            )
            % {"count": len(missing), "first": missing[0]}
        )


def display_url(host: str, port: int, scheme: str = "http") -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - display only
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"{scheme}://{shown}:{port}/"


# --- HTTPS with optional client certificates (mutual TLS, renkei.pki.mtls) -------------------------

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (not exported by Python's ssl): the TLS layer does not refuse
# an expired client certificate, so the application can say "your certificate expired" instead of
# the browser showing a bare handshake error. Safe because the application accepts only
# certificates found in its own records and checks their validity there (renkei.pki.mtls).
NO_CHECK_TIME = 0x200000


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    # The CAs whose client certificates the TLS layer accepts; None: no client certificates asked.
    client_ca: Path | None


def tls_dir() -> Path:
    from django.conf import settings

    return Path(settings.RENKEI_HOME) / "tls"


def write_client_ca_file() -> Path | None:
    """The chains of every organization's issuing CA, written to RENKEI_HOME/tls/client-ca.pem;
    None (and no file) when no organization has a CA yet."""
    from renkei.pki.choices import CARole, CAStatus
    from renkei.pki.models import CertificateAuthority

    issuing = (
        CertificateAuthority.objects.filter(role=CARole.ISSUING, status=CAStatus.ACTIVE)
        .select_related("parent")
        .order_by("organization_id")
    )
    pems: list[str] = []
    for ca in issuing:
        for pem in (ca.certificate_pem, ca.parent.certificate_pem if ca.parent else ""):
            if pem and pem not in pems:
                pems.append(pem)
    if not pems:
        return None
    path = tls_dir() / "client-ca.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(pems), encoding="ascii")
    return path


def ssl_adapter(files: TlsFiles) -> Any:
    """cheroot's TLS adapter: TLS 1.2 or later; with CLIENT_CA, a client certificate is asked for
    but optional (CERT_OPTIONAL), so pages that need none (enrollment) still open. A certificate
    from another CA fails the handshake; cheroot hands a verified one to the application as
    SSL_CLIENT_CERT (PEM)."""
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    adapter = BuiltinSSLAdapter(
        str(files.cert), str(files.key), str(files.client_ca) if files.client_ca else None
    )
    context = adapter.context
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if files.client_ca is not None:
        context.verify_mode = ssl.CERT_OPTIONAL
        context.verify_flags |= NO_CHECK_TIME
    return adapter


def build_server(host: str, port: int, threads: int, tls: TlsFiles | None = None) -> Any:
    """The cheroot server for renkei.wsgi.application, bound (port 0 resolves to a free port)."""
    from cheroot import wsgi
    from django.conf import settings

    # WhiteNoise warns on every start when STATIC_ROOT is missing (before any collectstatic).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    from renkei.wsgi import application

    server = wsgi.Server(
        (host, port), application, numthreads=threads, server_name="renkei", shutdown_timeout=10
    )
    if tls is not None:
        server.ssl_adapter = ssl_adapter(tls)
    server.prepare()  # binds now, so port 0 resolves to the real port before we print it
    return server


def serve_forever(
    host: str,
    port: int,
    threads: int,
    out: TextIO,
    banner: Callable[[str], str] | None = None,
    *,
    tls: TlsFiles | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then finish in-flight requests and return.

    BANNER, given the URL actually bound (port 0 picks a free port), returns text to print
    before the server's own line. TLS: serve HTTPS (see ssl_adapter).
    """
    server = build_server(host, port, threads, tls)
    bound_host, bound_port = server.bind_addr[:2]
    url = display_url(bound_host, bound_port, "https" if tls else "http")
    if banner is not None:
        out.write(banner(url))
    out.write(_("Renkei is running at %(url)s (press Ctrl+C to stop)") % {"url": url})
    out.flush()

    stoppers: list[threading.Thread] = []

    def request_stop(signum: int, frame: Any) -> None:
        # stop() waits for worker threads; run it beside the serve loop, not inside the handler.
        if not stoppers:
            stopper = threading.Thread(target=server.stop, name="renkei-stop")
            stoppers.append(stopper)
            stopper.start()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve()
    finally:
        for stopper in stoppers:
            stopper.join()
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.write(_("Renkei stopped."))
    out.flush()


def add_server_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="Address to listen on (default: %(default)s).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Port (default: %(default)s).")
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help="Worker threads, i.e. requests served at once (default: %(default)s).",
    )


class Command(BaseCommand):
    help = "Serve Renkei over HTTP, or HTTPS with --tls, with cheroot (production WSGI server)."
    requires_migrations_checks = False  # we refuse to start instead of warning

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_server_arguments(parser)
        parser.add_argument(
            "--tls",
            action="store_true",
            help="Serve HTTPS and ask for client certificates (optional at the TLS layer; mutual TLS).",
        )
        parser.add_argument(
            "--cert",
            metavar="FILE",
            help="With --tls: the server certificate chain, PEM (default: $RENKEI_HOME/tls/server.pem).",
        )
        parser.add_argument(
            "--key",
            metavar="FILE",
            help="With --tls: its private key, PEM, unencrypted (default: $RENKEI_HOME/tls/server.key).",
        )
        parser.add_argument(
            "--client-ca",
            metavar="FILE",
            help="With --tls: the CAs whose client certificates are "
            "accepted (default: every organization's issuing CA and root, written at start to "
            "$RENKEI_HOME/tls/client-ca.pem).",
        )

    def tls_files(self, options: dict[str, Any]) -> TlsFiles | None:
        if not options.get("tls"):
            if options.get("cert") or options.get("key") or options.get("client_ca"):
                raise CommandError(_("--cert, --key and --client-ca need --tls."))
            return None
        cert = Path(options.get("cert") or tls_dir() / "server.pem")
        key = Path(options.get("key") or tls_dir() / "server.key")
        for path in (cert, key, *([Path(options["client_ca"])] if options.get("client_ca") else [])):
            if not path.is_file():
                raise CommandError(_("%(path)s: no such file.") % {"path": path})
        client_ca = Path(options["client_ca"]) if options.get("client_ca") else write_client_ca_file()
        if client_ca is None:
            self.stderr.write(
                _("No organization has a CA yet (`renkei pki init`): client certificates are not asked for.")
            )
        try:
            ssl_adapter(TlsFiles(cert, key, client_ca))  # a bad file stops here, not at the first request
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise CommandError(_("The TLS files cannot be used: %(error)s") % {"error": exc}) from exc
        return TlsFiles(cert, key, client_ca)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["threads"] < 1:
            raise CommandError(_("--threads must be at least 1."))
        require_migrated()
        tls = self.tls_files(options)
        # Mutual TLS: the policies mirrored for cheap per-request checks, refreshed from the
        # database at every start (e.g. after a restore).
        from renkei.pki.mtls import publish_policies

        publish_policies()
        serve_forever(options["host"], options["port"], options["threads"], self.stdout, tls=tls)
