"""Brute-force protection around django-axes: the client address it counts failures by, and the
page shown to a locked-out username+address (settings: AXES_*, RENKEI_LOGIN_*)."""

from __future__ import annotations

import ipaddress
import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The address failures are counted by.

    Behind the reverse proxy (RENKEI_BEHIND_PROXY=1) every request comes from the proxy, so the
    client is the X-Real-IP header the proxy sets itself (operations.md); otherwise, or when the
    header is missing or not an address, REMOTE_ADDR.
    """
    if settings.RENKEI_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_REAL_IP", "").strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """429 with the lockout page. It reads the same whether the username exists or not."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    return render(
        request,
        "registration/lockout.html",
        {"minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
