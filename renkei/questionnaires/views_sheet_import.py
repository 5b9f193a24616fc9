"""Importing a buyer's own Excel check sheet as a template (docs/sheet-import.md).

Upload → preview (the detection, correctable: 再判定) → confirm, which is the only step that
writes, through the same loader as `renkei templates load`. Needs the "add" permission in an
organization. Between the steps the file stays on the server (MEDIA_ROOT/sheet-imports/<user>/,
removed after confirmation or a day); the session holds only its random id, so a client can
neither swap the file nor reach another user's.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.permissions import ADD
from renkei.questionnaires.loader import TEMPLATE_KEY, TemplateError
from renkei.questionnaires.models import Template
from renkei.questionnaires.services import load_template_data
from renkei.questionnaires.sheet_import import (
    NONE,
    ROLES,
    SheetAnalysis,
    analyse,
    suggested_key,
    to_template_data,
)
from renkei.suppliers.io.readers import FileRefused, max_upload_bytes, size_refusal

SESSION_KEY = "sheet_import"
STORE = "sheet-imports"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
KEEP_SECONDS = 24 * 3600
MULTIPART_SLACK = 64 * 1024  # framing around the file (as in the registry import)

ROLE_LABELS = {
    "number": gettext_lazy("Item number column"),
    "section": gettext_lazy("Section column"),
    "question": gettext_lazy("Question column"),
    "answer": gettext_lazy("Answer column"),
    "help": gettext_lazy("Help / notes column"),
}


# --- The uploaded file between the steps ----------------------------------------------------------


def _store_root() -> Path:
    return Path(settings.MEDIA_ROOT) / STORE


def _user_dir(user: Any) -> Path:
    return _store_root() / str(int(user.pk))


def purge_expired(now: float | None = None) -> None:
    """Remove files older than a day, whoever uploaded them (abandoned previews)."""
    now = now or time.time()
    root = _store_root()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                if now - path.stat().st_mtime > KEEP_SECONDS:
                    path.unlink()
            except FileNotFoundError:
                pass  # removed by a concurrent request
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            pass


def _save(user: Any, upload: Any) -> str:
    folder = _user_dir(user)
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    with (folder / f"{token}.xlsx").open("xb") as out:
        upload.seek(0)
        shutil.copyfileobj(upload, out)
    return token


def _stored(user: Any, token: Any) -> Path | None:
    if not isinstance(token, str) or not TOKEN.match(token):
        return None
    path = _user_dir(user) / f"{token}.xlsx"
    try:
        fresh = time.time() - path.stat().st_mtime <= KEEP_SECONDS
    except FileNotFoundError:
        return None
    return path if fresh else None


def _discard(request: HttpRequest) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    path = _stored(request.user, (pending or {}).get("id"))
    if path is not None:
        path.unlink(missing_ok=True)


# --- Forms ----------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label=gettext_lazy("Organization"), empty_label=None,
    )
    file = forms.FileField(
        label=gettext_lazy("Check sheet (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class PreviewForm(forms.Form):
    # Not marked required: a missing header row or question column is reported by the analysis.
    sheet = forms.ChoiceField(label=pgettext_lazy("sheet import", "Sheet"), required=False)
    header_row = forms.TypedChoiceField(label=pgettext_lazy("sheet import", "Header row"), coerce=int,
                                        required=False)
    number = forms.TypedChoiceField(coerce=int, required=False)
    section = forms.TypedChoiceField(coerce=int, required=False)
    question = forms.TypedChoiceField(coerce=int, required=False)
    answer = forms.TypedChoiceField(coerce=int, required=False)
    help = forms.TypedChoiceField(coerce=int, required=False)
    key = forms.RegexField(
        regex=TEMPLATE_KEY, max_length=50, label=gettext_lazy("Template key"),
        help_text=gettext_lazy("Lowercase letters, digits and “-”. Importing again with the same key "
                               "creates a new version."),
        error_messages={"invalid": gettext_lazy("Use lowercase letters, digits and “-” (at most 50 "
                                                "characters), starting with a letter or digit.")},
    )
    name = forms.CharField(max_length=200, label=gettext_lazy("Template name"))

    def __init__(self, *args: Any, analysis: SheetAnalysis, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = [
            (s.name, s.name + (_(" (hidden)") if s.hidden else "")) for s in analysis.sheets
        ]
        rows = [(n, f"{n}: {' / '.join(c for c in cells if c)[:60]}")
                for n, cells in analysis.head_rows()]
        current = analysis.mapping.header_row
        if current and current not in dict(rows):
            rows.append((current, str(current)))
        self.fields["header_row"].choices = ([] if current else [("", _("Choose the header row"))]) + rows
        columns = analysis.columns()
        for role in ROLES:
            field = self.fields[role]
            field.label = ROLE_LABELS[role]
            none = _("Choose the column") if role == "question" else _("(none)")
            field.choices = [(NONE, none), *columns]


def _initial(analysis: SheetAnalysis, data: Any, filename: str) -> dict[str, Any]:
    initial: dict[str, Any] = {"sheet": analysis.sheet, "header_row": analysis.mapping.header_row}
    for role in ROLES:
        initial[role] = getattr(analysis.mapping, role) or NONE
    initial["key"] = (data.get("key") if data else None) or suggested_key(filename)
    initial["name"] = (data.get("name") if data else None) or analysis.suggested_name
    return initial


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _shown(data: Any) -> dict[str, Any]:
    """What the preview the user saw was based on (the hidden fingerprint)."""
    parts = str(data.get("shown") or "").rsplit("|", 1 + len(ROLES))
    if len(parts) != 2 + len(ROLES):
        return {}
    return {"sheet": parts[0], "header_row": _int(parts[1]),
            **{role: _int(value) for role, value in zip(ROLES, parts[2:], strict=True)}}


def _overrides(data: Any) -> dict[str, Any]:
    """The corrections in the preview form. Another sheet is detected afresh; another header row
    too, except for the columns the user changed at the same time."""
    overrides: dict[str, Any] = {}
    shown = _shown(data)
    sheet = data.get("sheet") or None
    if sheet is None:
        return overrides
    overrides["sheet"] = sheet
    if sheet != shown.get("sheet"):
        return overrides
    header = _int(data.get("header_row"))
    if header is None or header < 1:
        return overrides
    overrides["header_row"] = header
    header_changed = header != shown.get("header_row")
    for role in ROLES:
        value = _int(data.get(role))
        if value is None or value < 0:
            continue
        if header_changed and value == (shown.get(role) or NONE):
            continue  # left as it was: let the new header row decide
        overrides[role] = value
    return overrides


def _fingerprint(analysis: SheetAnalysis) -> str:
    return "|".join([analysis.sheet, *(str(v or 0) for v in analysis.mapping.as_dict().values())])


# --- Views ----------------------------------------------------------------------------------------


def _organizations(request: HttpRequest) -> Any:
    organizations = Organization.for_user(request.user, ADD).order_by("name")
    if not organizations.exists():
        raise PermissionDenied
    return organizations


def _too_large(request: HttpRequest) -> str | None:
    length = _int(request.META.get("CONTENT_LENGTH")) or 0
    refusal = size_refusal(max(length - MULTIPART_SLACK, 0))
    return refusal.reason if refusal else None


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    organizations = _organizations(request)
    single = organizations.first() if organizations.count() == 1 else None
    form = UploadForm(organizations=organizations, initial={"organization": organizations.first()})
    refusal: str | None = None
    if request.method == "POST":
        refusal = _too_large(request)
        if refusal is None:
            data = request.POST.copy()
            if single is not None:
                data["organization"] = str(single.pk)
            form = UploadForm(data, request.FILES, organizations=organizations)
            if form.is_valid():
                file = form.cleaned_data["file"]
                try:
                    analyse(file, file.name)
                except FileRefused as exc:
                    refusal = exc.reason
                else:
                    purge_expired()
                    _discard(request)  # a previous, unconfirmed upload of this user
                    request.session[SESSION_KEY] = {
                        "id": _save(request.user, file),
                        "filename": Path(file.name).name[:200],
                        "organization": form.cleaned_data["organization"].pk,
                    }
                    return redirect("questionnaires:sheet-import-preview")
    return render(request, "questionnaires/sheet_import.html", {
        "form": form,
        "refusal": refusal,
        "single_organization": single,
        "max_upload_mb": max_upload_bytes() // 1024 // 1024,
    }, status=400 if refusal or form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest) -> HttpResponse:
    organizations = _organizations(request)
    pending = request.session.get(SESSION_KEY) or {}
    organization = organizations.filter(pk=_int(pending.get("organization")) or 0).first()
    path = _stored(request.user, pending.get("id"))
    if organization is None or path is None:
        messages.error(request, _("The uploaded check sheet is no longer available (files are kept for "
                                  "one day). Upload it again."))
        return redirect("questionnaires:sheet-import")
    filename = pending.get("filename") or "sheet.xlsx"
    data = request.POST if request.method == "POST" else None
    try:
        with path.open("rb") as handle:
            analysis = analyse(handle, filename, _overrides(data) if data else None)
    except FileRefused as exc:
        _discard(request)
        messages.error(request, exc.reason)
        return redirect("questionnaires:sheet-import")
    form = PreviewForm(initial=_initial(analysis, data, filename), analysis=analysis)
    load_problems: list[tuple[int | None, str]] = []
    status = 200
    if data is not None and data.get("action") == "confirm":
        if data.get("shown") != _fingerprint(analysis):
            messages.warning(request, _("The settings were changed: check the new preview below, then "
                                        "press “Create the template” again."))
        else:
            form = PreviewForm(data, initial=_initial(analysis, data, filename), analysis=analysis)
            if form.is_valid() and not analysis.problems:
                template_data = to_template_data(
                    analysis, {}, form.cleaned_data["key"], form.cleaned_data["name"]
                )
                try:
                    result = load_template_data(
                        template_data, organization=organization, actor=Actor.from_request(request)
                    )
                except TemplateError as exc:
                    load_problems = [(analysis.row_of(p.path), p.message) for p in exc.problems]
                else:
                    _discard(request)
                    _success_message(request, result)
                    return redirect("questionnaires:template-detail", pk=result.template.pk)
            status = 400
    existing = (
        Template.objects.filter(organization=organization, key=form["key"].value())
        .order_by("-version").first()
    )
    return render(request, "questionnaires/sheet_import_preview.html", {
        "analysis": analysis,
        "form": form,
        "organization": organization,
        "filename": filename,
        "shown": _fingerprint(analysis),
        "load_problems": load_problems,
        "existing": existing,
        "role_fields": [form[role] for role in ROLES],
    }, status=status)


def _success_message(request: HttpRequest, result: Any) -> None:
    name = result.template.name_ja
    if result.unchanged:
        messages.info(request, _("“%(name)s” already exists with the same content (version %(version)d); "
                                 "nothing was changed.") % {"name": name, "version": result.version})
    elif result.version > 1:
        messages.success(request, _("Version %(version)d of “%(name)s” was created from the check sheet.")
                         % {"name": name, "version": result.version})
    else:
        messages.success(request, _("The template “%(name)s” was created from the check sheet.")
                         % {"name": name})
