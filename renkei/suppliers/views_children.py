"""Pages for the records under a supplier: contacts, contracts and certifications (with evidence).

Supplier contacts may add and change contacts and certifications of their own supplier and only
read contracts; auditors only read. Those rules live in the models' `supplier_actions` and the
roles, and reach these views through `for_user` and SupplierAccess.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from renkei.audit.services import Actor
from renkei.core.access import SupplierAccess, get_for_user_or_404
from renkei.core.downloads import attachment_response
from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW
from renkei.suppliers.forms import (
    CertificationForm,
    ChildForm,
    ContactForm,
    ContractForm,
    apply_validation_error,
)
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.services import delete_record, save_record


@dataclass(frozen=True)
class ChildKind:
    model: type[models.Model]
    form: type[ChildForm]
    title_new: str
    title_edit: str


KINDS = {
    "contacts": ChildKind(
        Contact, ContactForm, gettext_lazy("Add a contact"), gettext_lazy("Edit contact")
    ),
    "contracts": ChildKind(
        Contract, ContractForm, gettext_lazy("Add a contract"), gettext_lazy("Edit contract")
    ),
    "certifications": ChildKind(
        Certification, CertificationForm, gettext_lazy("Add a certification"),
        gettext_lazy("Edit certification"),
    ),
}


def _kind(kind: str) -> ChildKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise Http404 from None


def _tab_url(supplier: Supplier, kind: str) -> str:
    return f"{reverse('suppliers:detail', args=[supplier.pk])}?tab={kind}"


def _save(
    request: HttpRequest, form: ChildForm, supplier: Supplier, kind: str, message: str
) -> HttpResponse | None:
    if request.method != "POST" or not form.is_valid():
        return None
    record = form.save(commit=False)
    record.supplier = supplier
    try:
        save_record(Actor.from_request(request), record)
    except ValidationError as exc:
        apply_validation_error(form, exc)
        return None
    messages.success(request, message)
    return redirect(_tab_url(supplier, kind))


@login_required
@require_http_methods(["GET", "POST"])
def child_create(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    spec = _kind(kind)
    supplier = get_for_user_or_404(Supplier, request.user, VIEW, pk=pk)
    access = SupplierAccess.of(request.user, supplier)
    if not access.may(ADD, spec.model):
        raise PermissionDenied
    form = spec.form(
        request.POST or None, request.FILES or None, staff=access.is_staff,
        instance=spec.model(supplier=supplier),
    )
    done = _save(request, form, supplier, kind, _("The record was added."))
    if done is not None:
        return done
    context = {
        "form": form, "supplier": supplier, "kind": kind, "title": spec.title_new,
        "max_upload_mb": settings.RENKEI_MAX_UPLOAD_MB,
    }
    return render(request, "suppliers/child_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def child_edit(request: HttpRequest, pk: int, kind: str, child_pk: int) -> HttpResponse:
    spec = _kind(kind)
    supplier = get_for_user_or_404(Supplier, request.user, VIEW, pk=pk)
    record = get_for_user_or_404(spec.model, request.user, CHANGE, pk=child_pk, supplier=supplier)
    access = SupplierAccess.of(request.user, supplier)
    form = spec.form(
        request.POST or None, request.FILES or None, staff=access.is_staff, instance=record
    )
    done = _save(request, form, supplier, kind, _("The changes were saved."))
    if done is not None:
        return done
    context = {
        "form": form, "supplier": supplier, "kind": kind, "title": spec.title_edit,
        "record": record, "can_delete": access.may(DELETE, spec.model),
        "max_upload_mb": settings.RENKEI_MAX_UPLOAD_MB,
    }
    return render(request, "suppliers/child_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def child_delete(request: HttpRequest, pk: int, kind: str, child_pk: int) -> HttpResponse:
    spec = _kind(kind)
    supplier = get_for_user_or_404(Supplier, request.user, VIEW, pk=pk)
    record = get_for_user_or_404(spec.model, request.user, DELETE, pk=child_pk, supplier=supplier)
    if request.method == "POST":
        delete_record(Actor.from_request(request), record)
        messages.success(request, _("%(record)s was deleted.") % {"record": record})
        return redirect(_tab_url(supplier, kind))
    context = {
        "supplier": supplier, "record": record, "kind": kind,
        "cancel_url": _tab_url(supplier, kind),
    }
    return render(request, "suppliers/child_confirm_delete.html", context)


@login_required
@require_GET
def evidence_download(request: HttpRequest, pk: int, child_pk: int) -> FileResponse:
    supplier = get_for_user_or_404(Supplier, request.user, VIEW, pk=pk)
    cert = get_for_user_or_404(Certification, request.user, VIEW, pk=child_pk, supplier=supplier)
    return attachment_response(cert.evidence)
