"""Forms of the delivery pages: registering a delivery (staff and portal), triaging a finding,
importing VEX and the licence policy. The services validate again; these forms only shape what
the pages send and show the errors next to the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files import File
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkei.deliveries.models import Justification, VexState

# Artifact rows on the page; more files: zip them, or use the API (any number).
ARTIFACT_SLOTS = 5
TEXT_MAX = 5000


class DeliveryForm(forms.Form):
    """Supplier (when there is a choice), product, version, files. Errors keyed as the service's."""

    supplier = forms.ModelChoiceField(label=gettext_lazy("Supplier"), queryset=None)
    product = forms.CharField(
        label=gettext_lazy("Product"),
        max_length=200,
        help_text=gettext_lazy("The name of the delivered system or software, e.g. 「生産管理システム」."),
    )
    version = forms.CharField(label=gettext_lazy("Version"), max_length=100)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": TEXT_MAX}),
    )
    sbom = forms.FileField(
        label=gettext_lazy("SBOM"),
        required=False,
        help_text=gettext_lazy("CycloneDX 1.4–1.6 (JSON or XML) or SPDX 2.2/2.3 (JSON or tag-value)."),
    )
    sbom_signature = forms.FileField(
        label=gettext_lazy("Signature of the SBOM"),
        required=False,
        help_text=gettext_lazy("A detached CMS/PKCS#7 signature (.p7s), if the supplier signed the SBOM."),
    )

    def __init__(self, *args: Any, suppliers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers
        for index in range(ARTIFACT_SLOTS):
            self.fields[f"artifact_{index}"] = forms.FileField(
                label=gettext_lazy("Delivered file %(n)d") % {"n": index + 1},
                required=False,
            )
            self.fields[f"signature_{index}"] = forms.FileField(
                label=gettext_lazy("Its signature (optional)"),
                required=False,
            )

    def drop_supplier(self) -> None:
        """A contact of one supplier registers for that supplier: nothing to choose (a posted
        `supplier` is ignored)."""
        del self.fields["supplier"]

    def artifact_rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"artifact_{i}"], self[f"signature_{i}"]) for i in range(ARTIFACT_SLOTS)]

    def other_fields(self) -> list[Any]:
        names = {f"artifact_{i}" for i in range(ARTIFACT_SLOTS)} | {
            f"signature_{i}" for i in range(ARTIFACT_SLOTS)
        }
        return [field for field in self if field.name not in names]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for index in range(ARTIFACT_SLOTS):
            if data.get(f"signature_{index}") and not data.get(f"artifact_{index}"):
                self.add_error(
                    f"signature_{index}", _("A signature needs the file it signs, in the same row.")
                )
        return data

    def uploads(self) -> list[tuple[File, File | None]]:
        """(file, signature) per filled row, in order."""
        data = self.cleaned_data
        return [
            (data[f"artifact_{i}"], data.get(f"signature_{i}"))
            for i in range(ARTIFACT_SLOTS)
            if data.get(f"artifact_{i}")
        ]

    def apply(self, errors: dict[str, str], message: str) -> None:
        """The service's refusal, each message next to its field."""
        if not errors:
            self.add_error(None, message)
        for name, text in errors.items():
            target = {"artifacts": "artifact_0", "__all__": None}.get(name, name)
            self.add_error(target if target in self.fields else None, text)


class TriageForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("Triage"), choices=VexState.choices, required=False)
    justification = forms.ChoiceField(
        label=gettext_lazy("Justification"),
        choices=Justification.choices,
        required=False,
        help_text=gettext_lazy("Why the delivery is not affected (for “Not affected”)."),
    )
    detail = forms.CharField(
        label=gettext_lazy("Details"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": TEXT_MAX}),
        help_text=gettext_lazy(
            "What you checked, the fix planned, or where the vulnerable code is not used."
        ),
    )

    def apply(self, errors: dict[str, str], message: str) -> None:
        if not errors:
            self.add_error(None, message)
        for name, text in errors.items():
            self.add_error(name if name in self.fields else None, text)


class VexImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CycloneDX VEX file"),
        help_text=gettext_lazy("JSON, as exported here or by the supplier's tools."),
    )


class ForbiddenLicenceForm(forms.Form):
    identifier = forms.CharField(
        label=gettext_lazy("SPDX licence identifier"),
        max_length=100,
        help_text=gettext_lazy("For example AGPL-3.0-only or GPL-3.0-or-later."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=300)

    def apply(self, errors: dict[str, str], message: str) -> None:
        if not errors:
            self.add_error(None, message)
        for name, text in errors.items():
            self.add_error(name if name in self.fields else None, text)
