"""A real SMTP server for the mail tests: aiosmtpd in a thread on a free 127.0.0.1 port."""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes  # exactly as received (signature checks need the bytes, not a re-serialisation)

    @property
    def subject(self) -> str:
        # Decoded from its RFC 2047 encoded words; Django folds a long subject onto the next
        # line, which leaves the unfolded value with a leading space.
        return str(self.message["Subject"]).strip()

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        body = self.message.get_body(preferencelist=("html",))
        return body.get_content() if body is not None else ""


@dataclass
class Mailbox:
    """What the server received, in order."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, envelope.original_content)
            )
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    @property
    def raw(self) -> list[bytes]:
        return [m.raw for m in self.messages]

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A running SMTP server; Django's SMTP backend is pointed at it for the test."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "renkei@buyer.example.jp"
    settings.RENKEI_BASE_URL = "https://renkei.example.jp"
    try:
        yield mailbox
    finally:
        controller.stop()
