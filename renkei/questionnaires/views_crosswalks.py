"""Crosswalk pages (staff only): the list, one crosswalk side by side with the question texts of
both templates, and uploading a YAML file (admins: the "manage" permission of an organization).

Every row comes through `for_user`: built-in crosswalks are shared view-only with every
organization's staff, an organization's own only with its staff; anything else is 404.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.permissions import MANAGE, VIEW
from renkei.questionnaires.crosswalks import CrosswalkError, load_crosswalk_file, side_by_side
from renkei.questionnaires.models import Crosswalk, Template
from renkei.suppliers.io.readers import max_upload_bytes


class CrosswalkUploadForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label=gettext_lazy("Organization"), empty_label=None,
    )
    file = forms.FileField(
        label=gettext_lazy("Crosswalk file (.yaml)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml"}),
    )

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


def template_names(user: Any, crosswalks: list[Crosswalk]) -> None:
    """Set .source_template / .target_template (newest versions, None when missing) on each
    crosswalk, in one query: the owner's own template first, then the built-in one."""
    keys = {k for c in crosswalks for k in (c.source_key, c.target_key)}
    found = {(t.organization_id, t.key): t for t in
             Template.objects.for_user(user, VIEW).latest_versions().filter(key__in=keys)}
    for crosswalk in crosswalks:
        for side, key in (("source_template", crosswalk.source_key),
                          ("target_template", crosswalk.target_key)):
            template = found.get((crosswalk.organization_id, key)) if crosswalk.organization_id \
                else None
            setattr(crosswalk, side, template or found.get((None, key)))


@login_required
def crosswalk_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    crosswalks = list(
        Crosswalk.objects.for_user(request.user, VIEW)
        .select_related("organization")
        .annotate(entry_count=Count("entries"))
        .order_by(F("organization").asc(nulls_first=True), "key")
    )
    template_names(request.user, crosswalks)
    return render(request, "questionnaires/crosswalk_list.html", {
        "crosswalks": crosswalks,
        "can_upload": Organization.for_user(request.user, MANAGE).exists(),
    })


@login_required
def crosswalk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # No staff check first: for anyone who may not see it, a crosswalk is 404 like a missing one.
    crosswalk = get_for_user_or_404(Crosswalk.objects.select_related("organization"), request.user,
                                    VIEW, pk=pk)
    return render(request, "questionnaires/crosswalk_detail.html", {
        "crosswalk": crosswalk,
        **side_by_side(crosswalk),
    })


@login_required
@require_http_methods(["GET", "POST"])
def crosswalk_upload(request: HttpRequest) -> HttpResponse:
    organizations = Organization.for_user(request.user, MANAGE).order_by("name")
    if not organizations.exists():
        raise PermissionDenied
    single = organizations.first() if organizations.count() == 1 else None
    form = CrosswalkUploadForm(organizations=organizations,
                               initial={"organization": organizations.first()})
    problems: list[Any] = []
    if request.method == "POST":
        data = request.POST.copy()
        if single is not None:
            data["organization"] = str(single.pk)
        form = CrosswalkUploadForm(data, request.FILES, organizations=organizations)
        if form.is_valid():
            try:
                result = load_crosswalk_file(form.cleaned_data["file"],
                                             organization=form.cleaned_data["organization"],
                                             actor=Actor.from_request(request))
            except CrosswalkError as exc:
                problems = exc.problems
            else:
                name = result.crosswalk.name
                if result.unchanged:
                    messages.info(request, _("“%(name)s” is unchanged.") % {"name": name})
                elif result.created:
                    messages.success(request, _("The crosswalk “%(name)s” was created (%(count)d "
                                                "entries).") % {"name": name, "count": result.entries})
                else:
                    messages.success(request, _("The crosswalk “%(name)s” was replaced (%(count)d "
                                                "entries).") % {"name": name, "count": result.entries})
                return redirect("questionnaires:crosswalk-detail", pk=result.crosswalk.pk)
    return render(request, "questionnaires/crosswalk_upload.html", {
        "form": form,
        "problems": problems,
        "single_organization": single,
        "max_upload_mb": max_upload_bytes() // 1024 // 1024,
    }, status=400 if problems or form.errors else 200)
