"""Assessment pages: send a questionnaire (from the supplier's 質問票 tab), show it with scores,
answer it section by section (plain server-side forms), submit, return and approve.

Every object comes through `for_user` (404 when hidden, 403 when it may be seen but not
changed); every change goes through renkei.questionnaires.assessments_services.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404
from renkei.core.models import member_organization_ids
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.questionnaires.assessments_services import (
    AnswersInvalid,
    AssessmentError,
    NotAllowed,
    actor_scope,
    approve,
    create_assessment,
    missing_items,
    return_for_changes,
    review_answer,
    review_summary,
    save_answer,
    save_answers,
    submit,
    templates_for,
)
from renkei.questionnaires.choices import (
    NOT_APPLICABLE,
    OPEN_REVIEW_STATES,
    SCORED_TYPES,
    AnswerType,
    AssessmentStatus,
    ReviewState,
)
from renkei.questionnaires.diff import assessment_diff
from renkei.questionnaires.evidence_page import page_context, scoped_parts
from renkei.questionnaires.handover import progress_for
from renkei.questionnaires.models import AccessLink, Answer, Assessment, Template, template_parts
from renkei.questionnaires.portal import (
    create_access_link,
    prefill_candidates,
    prefill_section,
    revoke_access_link,
)
from renkei.questionnaires.prefill import annotate as annotate_prefill
from renkei.questionnaires.values import AnswerError, display_value
from renkei.questionnaires.views import condition_text
from renkei.suppliers.models import Supplier

STATUS_BADGES = {
    AssessmentStatus.NOT_STARTED: "neutral",
    AssessmentStatus.IN_PROGRESS: "expiring",
    AssessmentStatus.SUBMITTED: "submitted",
    AssessmentStatus.RETURNED: "expired",
    AssessmentStatus.APPROVED: "valid",
}


def sendable_templates(organization_id: int) -> list[Template]:
    """The latest version of each template the organization may send (its own first)."""
    templates = templates_for(organization_id).latest_versions().order_by("organization", "key")
    own = {t.key for t in templates if t.organization_id}
    return [t for t in templates if t.organization_id or t.key not in own]


def supplier_tab_context(user: Any, supplier: Supplier, can_send: bool) -> dict[str, Any]:
    """Rows of the supplier page's 質問票 tab (and the templates for the send form)."""
    rows = list(
        Assessment.objects.for_user(user, VIEW).filter(supplier=supplier)
        .select_related("template").order_by("-created_at", "-pk")
    )
    for row in rows:
        row.badge = STATUS_BADGES[row.status]  # type: ignore[attr-defined]
    return {
        "assessments": rows,
        "send_templates": sendable_templates(supplier.organization_id) if can_send else [],
    }


@login_required
@require_POST
def assessment_create(request: HttpRequest) -> HttpResponse:
    supplier = get_for_user_or_404(Supplier, request.user, ADD, pk=_int(request.POST.get("supplier")))
    template = templates_for(supplier.organization_id).filter(
        pk=_int(request.POST.get("template"))).first()
    back = reverse("suppliers:detail", args=[supplier.pk]) + "?tab=assessments"
    due_on = _date(request.POST.get("due_on"))
    if template is None:
        messages.error(request, _("Choose a questionnaire template."))
        return redirect(back)
    try:
        assessment = create_assessment(Actor.from_request(request), supplier, template, due_on=due_on)
    except AssessmentError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, _("The questionnaire was sent to %(supplier)s.")
                     % {"supplier": supplier.name})
    return redirect("questionnaires:assessment-detail", pk=assessment.pk)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _date(value: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _raw_from_post(item: Any, post: Any) -> Any:
    """What the form sent for ITEM, in the shape values.parse_answer accepts."""
    name = f"a-{item.item_id}"
    if item.answer_type == AnswerType.MULTIPLE_CHOICE:
        chosen = post.getlist(name)
        return NOT_APPLICABLE if NOT_APPLICABLE in chosen else chosen
    if item.answer_type == AnswerType.CERTIFICATE:
        if post.get(f"{name}-na"):
            return NOT_APPLICABLE
        fields = {key: post.get(f"{name}-{key}", "") for key in ("held", "kind", "number", "expires_on")}
        if not any(value.strip() for value in fields.values()):
            return None
        # Without 保有 but with a number or date: parse_answer says so (it used to clear the answer).
        return fields
    if item.answer_type == AnswerType.FILE:
        return NOT_APPLICABLE if post.get(name) == NOT_APPLICABLE else None
    return post.get(name, "")


def _access(user: Any, assessment: Assessment) -> dict[str, bool]:
    can_change = Assessment.objects.for_user(user, CHANGE).filter(pk=assessment.pk).exists()
    is_staff = member_organization_ids(user, VIEW).filter(
        organization_id=assessment.organization_id).exists()
    staff_change = is_staff and can_change and member_organization_ids(user, CHANGE).filter(
        organization_id=assessment.organization_id).exists()
    return {
        "is_staff": is_staff,
        "can_answer": can_change and assessment.is_answerable,
        "can_review": staff_change and assessment.status == AssessmentStatus.SUBMITTED,
        "can_issue_links": staff_change and assessment.is_answerable,
    }


@login_required
@require_http_methods(["GET", "POST"])
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    queryset = Assessment.objects.select_related("supplier", "template", "organization")
    action = CHANGE if request.method == "POST" else VIEW
    assessment = get_for_user_or_404(queryset, request.user, action, pk=pk)
    here = reverse("questionnaires:assessment-detail", args=[pk])
    urls = {
        "answer": here, "submit": reverse("questionnaires:assessment-submit", args=[pk]),
        "autosave": reverse("questionnaires:assessment-autosave", args=[pk]),
        "prefill": reverse("questionnaires:assessment-prefill", args=[pk]),
        "handover": reverse("questionnaires:assessment-handover", args=[pk]),
        "handover_withdraw": reverse("questionnaires:assessment-handover-withdraw", args=[pk]),
    }
    return answer_page(request, assessment, Actor.from_request(request),
                       _access(request.user, assessment), urls)


def answer_page(request: HttpRequest, assessment: Assessment, actor: Actor, access: dict[str, bool],
                urls: dict[str, str], *, portal: bool = False) -> HttpResponse:
    """The assessment page (also the supplier portal's): GET shows it, POST saves one section."""
    parts = template_parts(assessment.template)
    answers = {a.item_id: a for a in Answer.objects.filter(assessment=assessment)
               .select_related("reviewed_by")}
    all_items, all_answers = parts["items"], list(answers.values())
    scope = actor_scope(actor)
    if scope is not None:  # a colleague's link: the items handed to it and nothing else
        parts = scoped_parts(parts, scope)
        answers = {pk: a for pk, a in answers.items() if a.item_id in {i.pk for i in parts["items"]}}
    errors: dict[str, str] = {}
    posted: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        section_key = request.POST.get("section", "")
        section = next((s for s in parts["sections"] if s.key == section_key), None)
        if section is None:
            messages.error(request, _("Unknown section."))
            return redirect(urls["answer"])
        mapping = {item.item_id: _raw_from_post(item, request.POST) for item in section.item_list}
        comments = {item.item_id: request.POST.get(f"c-{item.item_id}", "")
                    for item in section.item_list}
        try:
            save_answers(actor, assessment, mapping, comments=comments)
        except AnswersInvalid as exc:
            errors, posted, status = exc.errors, mapping, 400
            messages.error(request, _("Some answers were not saved; correct the marked items."))
        except AssessmentError as exc:
            messages.error(request, exc.message)
            return redirect(urls["answer"])
        else:
            messages.success(request, _("Answers saved: %(section)s.") % {"section": section.title})
            return redirect(urls["answer"] + f"#section-{section.key}")
    failures = set(assessment.critical_failures or [])
    by_id = {item.item_id: item for item in parts["items"]}
    for item in parts["items"]:
        item.condition_text = condition_text(item, by_id)  # type: ignore[attr-defined]
        answer = answers.get(item.pk)
        item.answer = answer  # type: ignore[attr-defined]
        value = answer.score_value if answer else None
        if item.item_id in posted:
            value = posted[item.item_id]
        item.value = value  # type: ignore[attr-defined]
        item.na = value == NOT_APPLICABLE  # type: ignore[attr-defined]
        item.chosen = (value if isinstance(value, list) else [value])  # type: ignore[attr-defined]
        item.cert = value if isinstance(value, dict) else {}  # type: ignore[attr-defined]
        item.display = display_value(  # type: ignore[attr-defined]
            item.answer_type, answer.score_value if answer else None, item.choices.all())
        item.error = errors.get(item.item_id, "")  # type: ignore[attr-defined]
        item.critical_failure = item.item_id in failures  # type: ignore[attr-defined]
        item.scored = item.answer_type in SCORED_TYPES and item.weight > 0  # type: ignore[attr-defined]
    section_scores = assessment.section_scores or {}
    prefill = (prefill_candidates(assessment, parts["items"], user=actor.user)
               if access["can_answer"] else {})
    annotate_prefill(parts["sections"], prefill)
    for section in parts["sections"]:
        section.score = section_scores.get(section.key)  # type: ignore[attr-defined]
        section.answered = sum(  # type: ignore[attr-defined]
            1 for item in section.item_list if item.answer is not None)
        section.prefill = sum(  # type: ignore[attr-defined]
            1 for item in section.item_list if item.item_id in prefill)
    answer_list = [a for a in answers.values()]
    by_pk = {item.pk: item for item in parts["items"]}
    for answer in answer_list:
        answer.item = by_pk[answer.item_id]
    review_items = [item for item in parts["items"]
                    if item.answer is not None and item.answer.review_state in OPEN_REVIEW_STATES]
    # Staff always see the review; the supplier sees the items to fix once it is returned.
    show_review = access["is_staff"] or assessment.status == AssessmentStatus.RETURNED
    for item in parts["items"]:
        item.show_review = show_review and item.answer is not None and (  # type: ignore[attr-defined]
            access["is_staff"] or item.answer.review_state in OPEN_REVIEW_STATES)
    links = []
    if access["is_staff"] and not portal:
        links = list(assessment.access_links.select_related("created_by"))
        for link in links:
            link.assessment = assessment
            link.current_state = link.state()  # type: ignore[attr-defined]
    context = {
        "assessment": assessment,
        "portal": portal,
        "urls": urls,
        "access_links": links,
        "can_issue_links": access.get("can_issue_links", False),
        "progress": progress_for(actor, assessment, all_items, all_answers),
        "review_states": ReviewState,
        "review_summary": [(ReviewState(state).label, state, count)
                           for state, count in review_summary(answer_list).items()]
        if access["is_staff"] else [],
        "review_items": review_items if show_review else [],
        "diff": assessment_diff(assessment, parts["items"]) if access["is_staff"] else None,
        "badge": STATUS_BADGES[assessment.status],
        "sections": parts["sections"],
        "critical_items": [item for item in parts["items"] if item.critical_failure],
        "missing": missing_items(assessment, parts["items"], answer_list)
        if access["can_answer"] else [],
        "answered": len(answers),
        "item_count": len(parts["items"]),
        **page_context(request, assessment, actor=actor, access=access, parts=parts, answers=answers,
                       portal=portal),
        **access,
    }
    return render(request, "questionnaires/assessment_detail.html", context, status=status)


def _transition(request: HttpRequest, pk: int, run: Any, done: str) -> HttpResponse:
    assessment = get_for_user_or_404(Assessment, request.user, CHANGE, pk=pk)
    try:
        run(Actor.from_request(request), assessment)
    except AssessmentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("questionnaires:assessment-detail", pk=pk)


@login_required
@require_POST
def assessment_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, submit, _("Submitted. Thank you for your answers."))


@login_required
@require_POST
def assessment_return(request: HttpRequest, pk: int) -> HttpResponse:
    comment = request.POST.get("comment", "")
    return _transition(request, pk, lambda actor, a: return_for_changes(actor, a, comment),
                       _("Returned to the supplier."))


@login_required
@require_POST
def assessment_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff review one answer (one small form per item): accept, ask for clarification, reject."""
    assessment = get_for_user_or_404(Assessment, request.user, CHANGE, pk=pk)
    item_id = request.POST.get("item", "")
    try:
        review_answer(Actor.from_request(request), assessment, item_id, request.POST.get("state", ""),
                      request.POST.get("comment", ""))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AssessmentError as exc:
        messages.error(request, f"{item_id}: {exc.message}")
    else:
        messages.success(request, _("Review saved: %(item)s.") % {"item": item_id})
    anchor = f"#item-{item_id}" if item_id.replace("-", "").replace("_", "").isalnum() else ""
    return redirect(reverse("questionnaires:assessment-detail", args=[pk]) + anchor)


@login_required
@require_POST
def assessment_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, approve, _("Approved."))


# --- Excel round trip ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def assessment_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The assessment as an Excel answer sheet to fill offline (staff and the supplier contact)."""
    from renkei.questionnaires.sheets import CONTENT_TYPE, export_assessment, filename_for

    queryset = Assessment.objects.select_related("supplier", "template", "organization")
    assessment = get_for_user_or_404(queryset, request.user, VIEW, pk=pk)
    lang = request.GET.get("lang") or (request.LANGUAGE_CODE or "ja")[:2]
    response = HttpResponse(content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename_for(assessment))
    export_assessment(assessment, response, lang="en" if lang == "en" else "ja")
    return response


@login_required
@require_POST
def assessment_sheet_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a filled answer sheet: all answers or none; errors listed by cell."""
    from renkei.questionnaires.sheets import import_assessment_sheet
    from renkei.suppliers.io.readers import FileRefused

    queryset = Assessment.objects.select_related("supplier", "template", "organization")
    assessment = get_for_user_or_404(queryset, request.user, CHANGE, pk=pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose the Excel file to import."))
        return redirect("questionnaires:assessment-detail", pk=pk)
    try:
        result = import_assessment_sheet(upload, upload.name, Actor.from_request(request),
                                         expected_assessment=assessment)
    except FileRefused as exc:
        messages.error(request, exc.reason)
        return redirect("questionnaires:assessment-detail", pk=pk)
    if result.errors:
        return render(request, "questionnaires/assessment_sheet_errors.html",
                      {"assessment": assessment, "errors": result.errors, "filename": upload.name},
                      status=400)
    messages.success(request, _("Imported from Excel: %(changed)d answers changed, %(unchanged)d "
                                "unchanged.") % {"changed": result.changed,
                                                 "unchanged": result.unchanged})
    return redirect("questionnaires:assessment-detail", pk=pk)


# --- Autosave, "same as last time", answer links ------------------------------------------------


def autosave_response(request: HttpRequest, assessment: Assessment, actor: Actor) -> JsonResponse:
    """Save the one item named by POST["item"] (its a-/c- fields as the section form sends them);
    JSON with the progress, or the error message (400; 409 when no longer open for answers)."""
    item_id = request.POST.get("item", "")
    parts = template_parts(assessment.template)
    item = next((i for i in parts["items"] if i.item_id == item_id), None)
    if item is None:
        return JsonResponse({"ok": False, "item": item_id,
                             "error": _("No such item in this questionnaire.")}, status=400)
    comment_field = f"c-{item_id}"
    comment = request.POST.get(comment_field) if comment_field in request.POST else None
    try:
        save_answer(actor, assessment, item_id, _raw_from_post(item, request.POST), comment=comment)
    except AnswerError as exc:
        return JsonResponse({"ok": False, "item": item_id, "error": exc.message}, status=400)
    except AssessmentError as exc:
        return JsonResponse({"ok": False, "item": item_id, "error": exc.message}, status=409)
    assessment.refresh_from_db()
    answers = list(Answer.objects.filter(assessment=assessment))
    scoped = actor_scope(actor) is not None  # a colleague sees no score (it reflects other items)
    return JsonResponse({
        "ok": True, "item": item_id, "message": _("Saved"),
        "progress": progress_for(actor, assessment, parts["items"], answers),
        "score": None if assessment.score is None or scoped else float(assessment.score),
    })


@login_required
@require_POST
def assessment_autosave(request: HttpRequest, pk: int) -> HttpResponse:
    queryset = Assessment.objects.select_related("template")
    assessment = get_for_user_or_404(queryset, request.user, CHANGE, pk=pk)
    return autosave_response(request, assessment, Actor.from_request(request))


def prefill_response(request: HttpRequest, assessment: Assessment, actor: Actor,
                     back: str) -> HttpResponse:
    section = request.POST.get("section", "")
    try:
        copied = prefill_section(actor, assessment, section)
    except AssessmentError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if copied:
        messages.success(request, _("Copied %(count)d answers from the previous assessment.")
                         % {"count": copied})
    else:
        messages.info(request, _("No previous answer to copy in this section."))
    anchor = f"#section-{section}" if section.replace("-", "").replace("_", "").isalnum() else ""
    return redirect(back + anchor)


@login_required
@require_POST
def assessment_prefill(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_for_user_or_404(Assessment.objects.select_related("template"), request.user,
                                     CHANGE, pk=pk)
    return prefill_response(request, assessment, Actor.from_request(request),
                            reverse("questionnaires:assessment-detail", args=[pk]))


def _staff_assessment(request: HttpRequest, pk: int) -> Assessment:
    queryset = Assessment.objects.select_related("supplier", "template", "organization")
    assessment = get_for_user_or_404(queryset, request.user, CHANGE, pk=pk)
    if not _access(request.user, assessment)["is_staff"]:
        raise Http404
    return assessment


@login_required
@require_POST
def access_link_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue an answer link; the page shows its address once (it is not stored). The address
    starts with RENKEI_BASE_URL, never with the request's Host header."""
    assessment = _staff_assessment(request, pk)
    try:
        link, path = create_access_link(Actor.from_request(request), assessment)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AssessmentError as exc:
        messages.error(request, exc.message)
        return redirect("questionnaires:assessment-detail", pk=pk)
    return render(request, "questionnaires/access_link_created.html", {
        "assessment": assessment, "link": link, "url": settings.RENKEI_BASE_URL + path})


@login_required
@require_POST
def access_link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _staff_assessment(request, pk)
    link = AccessLink.objects.filter(assessment=assessment, pk=_int(request.POST.get("link"))).first()
    if link is None:
        raise Http404
    try:
        revoke_access_link(Actor.from_request(request), link)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("The answer link was revoked."))
    return redirect(reverse("questionnaires:assessment-detail", args=[pk]) + "#access-links")
