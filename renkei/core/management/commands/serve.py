"""`renkei serve`: the production WSGI server (cheroot) for renkei.wsgi.application.

cheroot is a pure-Python, thread-pooled HTTP/1.1 server; it was chosen because it can later
terminate TLS itself and hand verified client certificates to the application (mutual TLS
for supplier access). Static files are served by WhiteNoise inside the application.
"""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from collections.abc import Callable
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


def display_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - display only
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def serve_forever(
    host: str,
    port: int,
    threads: int,
    out: TextIO,
    banner: Callable[[str], str] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then finish in-flight requests and return.

    BANNER, given the URL actually bound (port 0 picks a free port), returns text to print
    before the server's own line.
    """
    from cheroot import wsgi
    from django.conf import settings

    # WhiteNoise warns on every start when STATIC_ROOT is missing (before any collectstatic).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    from renkei.wsgi import application

    server = wsgi.Server(
        (host, port), application, numthreads=threads, server_name="renkei", shutdown_timeout=10
    )
    server.prepare()  # binds now, so port 0 resolves to the real port before we print it
    bound_host, bound_port = server.bind_addr[:2]
    url = display_url(bound_host, bound_port)
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
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="Address to listen on (default: %(default)s)."
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="Port (default: %(default)s)."
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help="Worker threads, i.e. requests served at once (default: %(default)s).",
    )


class Command(BaseCommand):
    help = "Serve Renkei over HTTP with cheroot (production WSGI server)."
    requires_migrations_checks = False  # we refuse to start instead of warning

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_server_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["threads"] < 1:
            raise CommandError(_("--threads must be at least 1."))
        require_migrated()
        serve_forever(options["host"], options["port"], options["threads"], self.stdout)
