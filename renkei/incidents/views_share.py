"""Sharing pages: staff tell partners about an incident (/incidents/<pk>/share/), and each partner
confirms having read it through the link in its mail (/incidents/ack/<token>/, no login).

The acknowledgement page shows only the text frozen in the share at the level staff chose
(renkei.incidents.share_content), never the live incident. Its URL holds the token, so every
response is no-store, keeps the Referer same-origin and stays out of django.request's log lines;
every bad token gets the same 404 page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from renkei.audit.services import Actor, client_address
from renkei.core.access import get_for_user_or_404
from renkei.core.permissions import CHANGE
from renkei.incidents import share_content, sharing
from renkei.incidents.models import Detail, Incident
from renkei.incidents.services import IncidentError, NotAllowed

FORM_FIELDS = {"detail", "message", "suppliers", "extra", "language"}


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    # The path holds the token: keep it out of django.request's log lines.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


# --- Staff: the share form ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def share(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_for_user_or_404(
        Incident.objects.select_related("organization", "supplier"), request.user, CHANGE, pk=pk
    )
    errors: dict[str, str] = {}
    posted: dict[str, Any] = {}
    if request.method == "POST":
        posted = {
            "detail": request.POST.get("detail", ""),
            "message": request.POST.get("message", ""),
            "suppliers": request.POST.getlist("suppliers"),
            "extra": request.POST.get("extra", ""),
            "language": request.POST.get("language", settings.LANGUAGE_CODE),
        }
        try:
            row = sharing.share(
                Actor.from_request(request),
                incident,
                detail=posted["detail"],
                message=posted["message"],
                supplier_ids=posted["suppliers"],
                extra_recipients=posted["extra"],
                language=posted["language"],
            )
        except NotAllowed as exc:
            raise PermissionDenied from exc
        except IncidentError as exc:
            # "general": templates cannot read a key that starts with an underscore.
            errors = {(k if k in FORM_FIELDS else "general"): v for k, v in exc.errors.items()}
            if not errors:
                errors["general"] = exc.message
        else:
            count = row.recipients.count()
            messages.success(
                request,
                ngettext(
                    "The notice was sent to %(count)d recipient.",
                    "The notice was sent to %(count)d recipients.",
                    count,
                )
                % {"count": count},
            )
            return redirect(reverse("incidents:detail", args=[incident.pk]) + "#sharing")
    rows = sharing.candidates(incident)
    if posted:
        chosen = set(posted["suppliers"])
        for row in rows:
            row.checked = str(row.supplier.pk) in chosen
    else:
        for row in rows:
            row.checked = row.preselected
    context = {
        "incident": incident,
        "previews": share_content.previews(incident, settings.LANGUAGE_CODE),
        "detail": posted.get("detail") or Detail.SUMMARY,
        "message": posted.get("message", ""),
        "extra": posted.get("extra", ""),
        "language": posted.get("language") or settings.LANGUAGE_CODE,
        "languages": settings.LANGUAGES,
        "first": [r for r in rows if r.affected or r.group],
        "others": [r for r in rows if not (r.affected or r.group)],
        "others_checked": any(r.checked for r in rows if not (r.affected or r.group)),
        "errors": errors,
        "max_recipients": sharing.MAX_RECIPIENTS,
    }
    return render(request, "incidents/share.html", context, status=400 if errors else 200)


# --- The recipient's page ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    recipient = sharing.find_recipient(token)
    if recipient is None:
        return _private(render(request, "incidents/ack_invalid.html", status=404))
    context: dict[str, Any] = {
        "recipient": recipient,
        "share": recipient.share,
        "content": recipient.share.content,
    }
    status = 200
    if request.method == "POST":
        try:
            done = sharing.acknowledge(
                recipient, name=request.POST.get("name", ""), address=client_address(request)
            )
        except IncidentError as exc:
            context.update(
                {"error": exc.errors.get("name", exc.message), "name": request.POST.get("name", "")}
            )
            status = 400
        else:
            context["outcome"] = "done" if done else "already"
    else:
        sharing.mark_opened(recipient)
    return _private(render(request, "incidents/ack.html", context, status=status))
