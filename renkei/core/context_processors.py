from __future__ import annotations

from typing import Any

from renkei import __version__


def renkei(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = None
    if user is not None and user.is_authenticated:
        # Cached on the request: the layout asks on every page.
        if not hasattr(request, "_renkei_role"):
            request._renkei_role = user.primary_role()
        role = request._renkei_role
    return {"renkei_version": __version__, "renkei_role": role}
