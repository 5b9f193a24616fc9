"""Forms of the certificate pages. They only read input; renkei.pki.services decides and saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.pki.choices import KeyType, Method, RevocationReason


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=RevocationReason.choices)


# --- Enrollment links (renkei.pki.enrollment, renkei.pki.bulk) -----------------------------------


def _profile_choices() -> list[tuple[str, str]]:
    from renkei.pki.profiles import PROFILES

    return [(p.name, f"{p.label} ({p.name})") for p in PROFILES.values()]


class EnrollmentLinkForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("Organization"), empty_label=None)
    user = forms.CharField(
        label=_("User"), max_length=254, help_text=_("The login ID or the e-mail address of the account.")
    )
    profile = forms.ChoiceField(
        label=pgettext_lazy("certificate profile", "Profile"), choices=_profile_choices
    )
    method = forms.ChoiceField(
        label=_("How the key is made"),
        choices=Method.choices,
        initial=Method.PKCS12,
        widget=forms.RadioSelect,
    )
    device = forms.CharField(
        label=_("Device name"),
        max_length=100,
        required=False,
        help_text=_("Required for the device profile, e.g. PC-SATO-01."),
    )
    key_type = forms.ChoiceField(
        label=_("Key type"),
        required=False,
        choices=[("", _("The profile's default (EC P-256)")), *KeyType.choices],
    )
    legacy = forms.BooleanField(
        label=_("Compatibility PKCS#12 for older Windows and macOS (3DES, SHA-1)"), required=False
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=30, initial=7)

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class BulkEnrollmentForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("Organization"), empty_label=None)
    file = forms.FileField(
        label=_("CSV file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    batch = forms.CharField(
        label=_("Batch label"),
        max_length=50,
        required=False,
        help_text=_("Groups the links in the list; left empty, the date and time are used."),
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=30, initial=7)
    # The checked file, sent back by the preview's confirm button (checked again in full).
    content = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class LinkFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    batch = forms.CharField(label=_("Batch label"), max_length=50, required=False)
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", "—")])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from renkei.pki.enrollment import LinkState

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", "—"), *LinkState.choices]


class CsrUploadForm(forms.Form):
    csr = forms.CharField(
        label=_("Certificate signing request (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
    )
    csr_file = forms.FileField(label=_("…or the CSR file"), required=False)

    def clean(self) -> dict[str, Any]:
        from renkei.pki.csr import MAX_CSR_BYTES

        data = super().clean()
        upload = data.get("csr_file")
        if upload is not None:
            if upload.size > MAX_CSR_BYTES:
                raise forms.ValidationError(
                    _("The CSR is %(size)d bytes long; at most %(max)d bytes are accepted.")
                    % {"size": upload.size, "max": MAX_CSR_BYTES}
                )
            data["csr_bytes"] = upload.read()
        elif (data.get("csr") or "").strip():
            data["csr_bytes"] = data["csr"].strip().encode("utf-8", "replace")
        else:
            raise forms.ValidationError(_("Paste the CSR or choose its file."))
        return data
