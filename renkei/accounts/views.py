"""Sign-in pages and "my account", where a user manages the token for the REST API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Rotating replaces the key at once: a leaked token stops working with this click.
        with transaction.atomic():
            existed = Token.objects.filter(user=request.user).delete()[0] > 0
            Token.objects.create(user=request.user)
        if existed:
            messages.success(request, _("A new API token was issued. The old one no longer works."))
        else:
            messages.success(request, _("An API token was issued."))
        return redirect("account")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "registration/account.html", {"token": token})
