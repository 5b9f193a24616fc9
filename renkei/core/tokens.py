"""Single-use link tokens (certificate enrollment, incident reporting links, partner
acknowledgements): one way to make them, store them and find their row.

The token is 32 random bytes (URL-safe base64) and exists only in the link given to its holder
(the e-mail); the database keeps its SHA-256, so a database dump opens no link. A lookup finds
the row by the hash and compares in constant time; input longer than any token is not looked up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.db import models

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
