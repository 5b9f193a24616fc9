"""Single-use link tokens (certificate enrollment, incident reporting links, partner
acknowledgements): one way to make them, store them and find their row.

The token is 32 random bytes (URL-safe base64) and exists only in the link given to its holder
(the e-mail); the database keeps its SHA-256, so a database dump opens no link. A lookup finds
the row by the hash and compares in constant time; input longer than any token is not looked up.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import pgettext_lazy

TOKEN_BYTES = 32
# Longer than any token we make (43 characters); longer input is not looked up at all.
TOKEN_MAX = 200


def new_token() -> tuple[str, str]:
    """(token for the link, hash for the row)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_by_token(queryset: models.QuerySet, token: str) -> Any:
    """The row of QUERYSET whose `token_hash` is TOKEN's, or None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    digest = token_hash(token)
    row = queryset.filter(token_hash=digest).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


class LinkState(models.TextChoices):
    """Where a single-use link stands, computed from its row: never stored."""

    ACTIVE = "active", pgettext_lazy("single-use link", "Waiting to be used")
    USED = "used", pgettext_lazy("single-use link", "Used")
    EXPIRED = "expired", pgettext_lazy("single-use link", "Expired")
    REVOKED = "revoked", pgettext_lazy("single-use link", "Withdrawn")


def link_state(link: Any, now: datetime.datetime | None = None) -> str:
    """LINK's state from its used_at, revoked_at and expires_at (a used link stays used)."""
    if link.used_at is not None:
        return LinkState.USED
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.expires_at <= (now or timezone.now()):
        return LinkState.EXPIRED
    return LinkState.ACTIVE
