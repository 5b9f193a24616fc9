"""Evidence files and hand-overs on the assessment page and in the supplier portal.

Each view finds the assessment (for_user for an account, the session's answer link in the
portal), then calls renkei.questionnaires.evidence or renkei.questionnaires.handover. A plain
form post is answered with a redirect back to the item (works without JavaScript); a request
with X-Requested-With (renkei.js) gets JSON. Downloads go through attachment_response only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404
from renkei.core.downloads import attachment_response
from renkei.core.permissions import CHANGE, VIEW
from renkei.questionnaires import evidence, handover
from renkei.questionnaires.assessments_services import AssessmentError, NotAllowed
from renkei.questionnaires.models import Assessment
from renkei.questionnaires.portal import link_actor, session_link
from renkei.questionnaires.views_portal import invalid_link


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _anchor(item_id: str) -> str:
    return f"#item-{item_id}" if item_id.replace("-", "").replace("_", "").replace(".", "").isalnum() else ""


def _done(request: HttpRequest, back: str, item_id: str, message: str, *, error: bool = False,
          status: int = 200, assessment: Assessment | None = None,
          actor: Actor | None = None) -> HttpResponse:
    if _wants_json(request):
        payload: dict[str, Any] = {"ok": not error, "item": item_id,
                                   ("error" if error else "message"): message}
        if not error and assessment is not None and actor is not None:
            payload["progress"] = handover.progress_for(actor, assessment)
        return JsonResponse(payload, status=status if error else 200)
    (messages.error if error else messages.success)(request, message)
    return redirect(back + _anchor(item_id))


def _upload(request: HttpRequest, assessment: Assessment, actor: Actor, item_id: str,
            back: str) -> HttpResponse:
    try:
        evidence.attach_evidence(actor, assessment, item_id, request.FILES.get("file"))
    except NotAllowed as exc:
        if _wants_json(request):
            return _done(request, back, item_id, exc.message, error=True, status=403)
        raise PermissionDenied(exc.message) from exc
    except evidence.EvidenceRefused as exc:
        return _done(request, back, item_id, f"{item_id}: {exc.message}", error=True, status=400)
    except AssessmentError as exc:
        return _done(request, back, item_id, f"{item_id}: {exc.message}", error=True, status=409)
    return _done(request, back, item_id, _("File uploaded: %(item)s.") % {"item": item_id},
                 assessment=assessment, actor=actor)


def _remove(request: HttpRequest, assessment: Assessment, actor: Actor, item_id: str,
            back: str) -> HttpResponse:
    try:
        evidence.remove_evidence(actor, assessment, item_id)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AssessmentError as exc:
        return _done(request, back, item_id, f"{item_id}: {exc.message}", error=True, status=409)
    return _done(request, back, item_id, _("File removed: %(item)s.") % {"item": item_id},
                 assessment=assessment, actor=actor)


def _hand_over(request: HttpRequest, assessment: Assessment, actor: Actor, back: str) -> HttpResponse:
    post = request.POST
    try:
        link = handover.hand_over(actor, assessment, items=post.getlist("items"),
                                  name=post.get("name", ""), email=post.get("email", ""),
                                  message=post.get("message", ""),
                                  language=post.get("language", request.LANGUAGE_CODE or "ja"))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AssessmentError as exc:
        messages.error(request, exc.message)
        return redirect(back + "#handover")
    messages.success(request, _("Sent to %(name)s: %(items)s.")
                     % {"name": link.sent_to_name, "items": ", ".join(link.items)})
    return redirect(back + "#handover")


def _withdraw(request: HttpRequest, assessment: Assessment, actor: Actor, back: str) -> HttpResponse:
    try:
        link = handover.withdraw(actor, assessment, request.POST.get("link"))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AssessmentError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, _("The hand-over to %(name)s was withdrawn.") % {"name": link.sent_to_name})
    return redirect(back + "#handover")


# --- With an account (supplier contact or staff) ------------------------------------------------


def _detail_url(pk: int) -> str:
    return reverse("questionnaires:assessment-detail", args=[pk])


@login_required
@require_http_methods(["GET", "POST"])
def assessment_evidence(request: HttpRequest, pk: int, item: str) -> HttpResponse:
    """GET: download ITEM's evidence (whoever may see the assessment). POST `file`: upload it."""
    queryset = Assessment.objects.select_related("template")
    assessment = get_for_user_or_404(queryset, request.user, VIEW if request.method == "GET" else CHANGE,
                                     pk=pk)
    if request.method == "GET":
        return attachment_response(evidence.evidence_answer(assessment, item).evidence)
    return _upload(request, assessment, Actor.from_request(request), item, _detail_url(pk))


@login_required
@require_POST
def assessment_evidence_remove(request: HttpRequest, pk: int, item: str) -> HttpResponse:
    assessment = get_for_user_or_404(Assessment, request.user, CHANGE, pk=pk)
    return _remove(request, assessment, Actor.from_request(request), item, _detail_url(pk))


@login_required
@require_POST
def assessment_handover(request: HttpRequest, pk: int) -> HttpResponse:
    queryset = Assessment.objects.select_related("template", "supplier", "organization")
    assessment = get_for_user_or_404(queryset, request.user, CHANGE, pk=pk)
    return _hand_over(request, assessment, Actor.from_request(request), _detail_url(pk))


@login_required
@require_POST
def assessment_handover_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_for_user_or_404(Assessment, request.user, CHANGE, pk=pk)
    return _withdraw(request, assessment, Actor.from_request(request), _detail_url(pk))


# --- Through an answer link (the portal) --------------------------------------------------------


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def portal_evidence(request: HttpRequest, item: str) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    actor = link_actor(request, link)
    if request.method == "GET":
        answer = evidence.evidence_answer(link.assessment, item, actor)
        return _no_store(attachment_response(answer.evidence))
    return _no_store(_upload(request, link.assessment, actor, item, reverse("questionnaires:portal")))


@require_POST
def portal_evidence_remove(request: HttpRequest, item: str) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    return _remove(request, link.assessment, link_actor(request, link), item,
                   reverse("questionnaires:portal"))


@require_POST
def portal_handover(request: HttpRequest) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    return _hand_over(request, link.assessment, link_actor(request, link),
                      reverse("questionnaires:portal"))


@require_POST
def portal_handover_withdraw(request: HttpRequest) -> HttpResponse:
    link = session_link(request)
    if link is None:
        return invalid_link(request)
    return _withdraw(request, link.assessment, link_actor(request, link),
                     reverse("questionnaires:portal"))
