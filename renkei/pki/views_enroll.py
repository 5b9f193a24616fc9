"""Enrollment pages: administrators make links (one, or a batch from a CSV) and see them;
whoever holds a link fetches the certificate at /pki/enroll/<token>/ without logging in.

The redemption page delivers a PKCS#12 in one response: the POST that issues the certificate
answers with the page showing the one-time password and the bundle itself as a `data:` download
link. Nothing is stored in between (no file, no cache entry, no session value), so the key exists
only in that response; the response is `no-store` and a reload cannot show it again (the link is
used). See docs/pki.md, "Enrollment links, bulk and API".
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.accounts.models import Organization, User
from renkei.audit.services import Actor, client_address
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.errors import NotAllowed
from renkei.core.models import member_organization_ids
from renkei.core.permissions import MANAGE, VIEW
from renkei.pki import bulk, enrollment
from renkei.pki.ca import chain_pem
from renkei.pki.choices import Method
from renkei.pki.forms import BulkEnrollmentForm, CsrUploadForm, EnrollmentLinkForm, LinkFilterForm
from renkei.pki.keystore import PkiError
from renkei.pki.profiles import get_profile

PAGE_SIZE = 50
FORM_FIELDS = {"user", "profile", "method", "device", "key_type", "legacy", "days"}


def _managed(user: Any) -> Any:
    organizations = Organization.for_user(user, MANAGE).order_by("name")
    if not organizations.exists():
        raise PermissionDenied
    return organizations


def _find_user(text: str) -> User | None:
    text = text.strip()
    user = User.objects.filter(username=text).first()
    if user is None and "@" in text:
        matches = list(User.objects.filter(email__iexact=text)[:2])
        user = matches[0] if len(matches) == 1 else None
    return user


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # The path holds the token: keep it out of django.request's log lines.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


# --- Staff pages ------------------------------------------------------------------------------------


@login_required
def link_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user, VIEW)
    form = LinkFilterForm(request.GET)
    rows = (
        enrollment.visible_links(request.user, VIEW)
        .select_related("user", "organization", "certificate")
        .order_by("-created_at", "-pk")
    )
    query = ""
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            text = data["q"].strip()
            rows = rows.filter(
                Q(user__username__icontains=text)
                | Q(user__email__icontains=text)
                | Q(device_name__icontains=text)
            )
        if data["batch"]:
            rows = rows.filter(batch=data["batch"].strip())
        if data["state"]:
            rows = enrollment.in_state(rows, data["state"])
        query = urlencode({k: v for k, v in data.items() if v})
    else:
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    managed = set(member_organization_ids(request.user, MANAGE).values_list("organization_id", flat=True))
    for link in page.object_list:
        link.state = enrollment.link_state(link)
        link.can_revoke = link.state == enrollment.LinkState.ACTIVE and link.organization_id in managed
    context = {"form": form, "page": page, "query": query, "can_manage": bool(managed)}
    return render(request, "pki/link_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def link_new(request: HttpRequest) -> HttpResponse:
    organizations = _managed(request.user)
    form = EnrollmentLinkForm(
        request.POST or None, organizations=organizations, initial={"organization": organizations.first()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = _find_user(data["user"])
        actor = Actor.from_request(request)
        try:
            if user is None:
                raise PkiError(_("No user with that login ID or e-mail address."), errors={"user": ""})
            link, token = enrollment.create_link(
                actor,
                data["organization"],
                user,
                data["profile"],
                data["method"],
                device_name=data["device"],
                key_type=data["key_type"],
                legacy=data["legacy"],
                days=data["days"],
            )
            enrollment.deliver(actor, link, token)
        except NotAllowed as exc:
            raise PermissionDenied from exc
        except PkiError as exc:
            field = next(iter(exc.errors), None)
            form.add_error(field if field in FORM_FIELDS else None, exc.message)
        else:
            messages.success(
                request,
                _("The enrollment link was sent to %(email)s. It works once, until %(date)s.")
                % {
                    "email": link.sent_to,
                    "date": timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M"),
                },
            )
            return redirect("pki:links")
    status = 400 if request.method == "POST" else 200
    return render(request, "pki/link_new.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def link_bulk(request: HttpRequest) -> HttpResponse:
    organizations = _managed(request.user)
    form = BulkEnrollmentForm(
        request.POST or None,
        request.FILES or None,
        organizations=organizations,
        initial={"organization": organizations.first()},
    )
    context: dict[str, Any] = {"form": form, "max_rows": bulk.MAX_ROWS, "columns": list(bulk.COLUMNS)}
    if request.method != "POST":
        return render(request, "pki/link_bulk.html", context)
    if not form.is_valid():
        return render(request, "pki/link_bulk.html", context, status=400)
    data = form.cleaned_data
    upload = data.get("file")
    if upload is not None:
        if upload.size > bulk.MAX_BYTES:
            content = b"\x00" * (bulk.MAX_BYTES + 1)  # refused by the reader with its message
        else:
            content = upload.read()
    elif data["content"]:
        try:
            content = base64.b64decode(data["content"], validate=True)
        except ValueError:
            content = b""
    else:
        form.add_error("file", _("Choose the CSV file."))
        return render(request, "pki/link_bulk.html", context, status=400)
    organization = data["organization"]
    if "confirm" not in request.POST:
        checked = bulk.plan(organization, content)
        context.update({"plan": checked, "errors": checked.errors})
        if not checked.errors:
            context["confirm"] = {
                "organization": organization.pk,
                "batch": data["batch"],
                "days": data["days"],
                # Base64: a hidden input would not keep the file's line breaks in every browser.
                "content": base64.b64encode(checked.text.encode("utf-8")).decode("ascii"),
            }
        return render(request, "pki/link_bulk.html", context, status=400 if checked.errors else 200)
    try:
        result = bulk.create_batch(
            Actor.from_request(request), organization, content, batch=data["batch"], days=data["days"]
        )
    except NotAllowed as exc:
        raise PermissionDenied from exc
    except bulk.BulkError as exc:
        context["errors"] = exc.row_errors
        return render(request, "pki/link_bulk.html", context, status=400)
    except PkiError as exc:
        form.add_error(None, exc.message)
        return render(request, "pki/link_bulk.html", context, status=400)
    messages.success(
        request,
        _("%(count)d enrollment links were created in batch %(batch)s and %(mailed)d were sent.")
        % {
            "count": len(result.links),
            "batch": result.batch,
            "mailed": len(result.links) - len(result.failed),
        },
    )
    for row, link in result.failed:
        messages.error(
            request,
            _("Row %(row)d: the e-mail to %(user)s could not be sent; that link was withdrawn.")
            % {"row": row, "user": link.user.username},
        )
    return redirect(f"{reverse('pki:links')}?{urlencode({'batch': result.batch})}")


@login_required
@require_POST
def link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_for_user_or_404(enrollment.visible_links(request.user, VIEW), request.user, MANAGE, pk=pk)
    try:
        enrollment.revoke_link(Actor.from_request(request), link)
    except NotAllowed as exc:
        raise PermissionDenied from exc
    except PkiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The enrollment link was withdrawn; it no longer works."))
    return redirect("pki:links")


# --- The public redemption page ------------------------------------------------------------------


def _invalid(request: HttpRequest, error: enrollment.LinkError) -> HttpResponse:
    status = 404 if error.state == "unknown" else 410
    return _no_store(render(request, "pki/enroll_invalid.html", {"message": error.message}, status=status))


@require_http_methods(["GET", "POST"])
def enroll(request: HttpRequest, token: str) -> HttpResponse:
    link = enrollment.find_link(token)
    problem = enrollment.refusal(link)
    if problem is not None:
        return _invalid(request, problem)
    is_csr = link.method == Method.CSR
    form = CsrUploadForm(request.POST or None, request.FILES or None) if is_csr else None
    context: dict[str, Any] = {
        "link": link,
        "form": form,
        "profile": get_profile(link.profile),
        "is_csr": is_csr,
        "organization_name": link.organization.name,
    }
    if request.method == "POST":
        address = client_address(request)
        try:
            if is_csr:
                if not form.is_valid():
                    return _no_store(render(request, "pki/enroll.html", context, status=400))
                cert = enrollment.redeem_csr(token, form.cleaned_data["csr_bytes"], address=address)
                context.update(
                    {
                        "cert": cert,
                        "cert_b64": base64.b64encode(cert.certificate_pem.encode("ascii")).decode("ascii"),
                        "chain_b64": base64.b64encode(chain_pem(link.organization).encode("ascii")).decode(
                            "ascii"
                        ),
                    }
                )
                return _no_store(render(request, "pki/enroll_done_csr.html", context))
            bundle = enrollment.redeem_pkcs12(token, address=address, legacy="legacy" in request.POST)
        except enrollment.LinkError as exc:
            return _invalid(request, exc)
        except PkiError as exc:
            context["error"] = exc.message
            return _no_store(render(request, "pki/enroll.html", context, status=400))
        context.update(
            {
                "bundle": bundle,
                "cert": bundle.certificate,
                "bundle_b64": base64.b64encode(bundle.data).decode("ascii"),
            }
        )
        return _no_store(render(request, "pki/enroll_done_p12.html", context))
    return _no_store(render(request, "pki/enroll.html", context))
