"""Node ids in page URLs (/map/nodes/<key>/).

A node id is any text without control characters ("S-1001", "東海精密部品-VPN", "a/b"), so the
path segment escapes what a path cannot carry: "/" (servers decode %2F before routing), "~" (the
escape character itself) and the whole ids "." and ".." (browsers resolve them as dot segments).
Everything else is left to Django's IRI quoting, so ordinary and Japanese ids stay readable.
"""

from __future__ import annotations

import re

_UNESCAPE = {"~7E": "~", "~2F": "/", "~2E": "."}
_ESCAPED = re.compile(r"~(?:7E|2F|2E)")


def escape(key: str) -> str:
    if key in (".", ".."):
        return key.replace(".", "~2E")
    return key.replace("~", "~7E").replace("/", "~2F")


def unescape(segment: str) -> str:
    return _ESCAPED.sub(lambda match: _UNESCAPE[match.group(0)], segment)


class NodeKeyConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unescape(value)

    def to_url(self, value: str) -> str:
        return escape(str(value))
