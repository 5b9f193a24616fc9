"""The supplier portal through an answer link: /questionnaires/answer/<token>/ checks the link,
binds the session to its one assessment (no login) and sends the browser to /questionnaires/
portal/, which works only for that session. Everything else stays as for an anonymous visitor.

An unknown, expired, revoked or used-up link gets the same kind of page whoever owns it: what
happened and what to do (ask the buyer for a new link), nothing about the assessment.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from renkei.questionnaires.assessments_services import AssessmentError, submit
from renkei.questionnaires.portal import SESSION_KEY, link_actor, open_link, session_link
from renkei.questionnaires.views_assessments import answer_page, autosave_response, prefill_response


def invalid_link(request: HttpRequest, state: str = "unknown") -> HttpResponse:
    response = render(request, "questionnaires/portal_invalid.html", {"state": state},
                      status=404 if state == "unknown" else 410)
    # The path may hold a token: keep it out of django.request's "Not Found: ..." log lines.
    response._has_been_logged = True  # type: ignore[attr-defined]
    response["Cache-Control"] = "no-store"
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def portal_open(request: HttpRequest, token: str) -> HttpResponse:
    link, state = open_link(token)
    if link is None or state != "active":
        return invalid_link(request, state)
    request.session.cycle_key()
    request.session[SESSION_KEY] = link.pk
    response = redirect("questionnaires:portal")
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _urls() -> dict[str, str]:
    return {"answer": reverse("questionnaires:portal"),
            "submit": reverse("questionnaires:portal-submit"),
            "autosave": reverse("questionnaires:portal-autosave"),
            "prefill": reverse("questionnaires:portal-prefill"),
            "handover": reverse("questionnaires:portal-handover"),
            "handover_withdraw": reverse("questionnaires:portal-handover-withdraw")}


@require_http_methods(["GET", "POST"])
def portal(request: HttpRequest) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    access = {"is_staff": False, "can_answer": True, "can_review": False, "can_issue_links": False}
    return _no_store(answer_page(request, link.assessment, link_actor(request, link), access,
                                 _urls(), portal=True))


@require_POST
def portal_autosave(request: HttpRequest) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    return _no_store(autosave_response(request, link.assessment, link_actor(request, link)))


@require_POST
def portal_prefill(request: HttpRequest) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    return prefill_response(request, link.assessment, link_actor(request, link),
                            reverse("questionnaires:portal"))


@require_POST
def portal_submit(request: HttpRequest) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    try:
        submit(link_actor(request, link), link.assessment)
    except AssessmentError as exc:
        messages.error(request, exc.message)
        return redirect("questionnaires:portal")
    request.session.pop(SESSION_KEY, None)
    return _no_store(render(request, "questionnaires/portal_done.html",
                            {"assessment": link.assessment}))
