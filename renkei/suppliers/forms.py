"""Forms of the supplier registry pages. Validation comes from the models (clean, validators);
the forms only shape input and limit choices to what the user may see."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from renkei.accounts.models import Organization
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.services import normalize_tag_names

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def apply_validation_error(form: forms.BaseForm, exc: ValidationError) -> None:
    """Attach a model ValidationError to FORM; messages for fields not on the form go on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


class SupplierForm(forms.ModelForm):
    """The buyer's form: every registry field."""

    # The parent is named by its supplier code: a select of 50,000 suppliers would not load.
    subcontracted_by = forms.CharField(
        label=_("Subcontracted by (supplier code)"), required=False, max_length=50,
        help_text=_("For a subcontractor: the code of the supplier that subcontracts to it."),
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=500,
        help_text=_("Separate tags with commas."),
    )

    class Meta:
        model = Supplier
        fields = [
            "organization", "code", "name", "name_kana", "corporate_number", "country",
            "relationship", "chain_type", "business_function", "tier", "subcontracted_by",
            "personal_info_records", "data_classes", "export_controlled", "access_methods",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    field_order = [*Meta.fields[:-1], "tags", "notes"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        editing = self.instance.pk is not None
        field = self.fields["organization"]
        field.queryset = Organization.for_user(user, CHANGE if editing else ADD)
        field.empty_label = None
        if editing:
            # Moving a supplier to another buyer would silently move its whole history.
            field.disabled = True
            field.widget = forms.HiddenInput()
        else:
            organizations = list(field.queryset[:2])
            if len(organizations) == 1:
                field.initial = organizations[0].pk
                field.widget = forms.HiddenInput()
        if editing:
            self.initial["tags"] = ", ".join(self.instance.tags.values_list("name", flat=True))
            parent = self.instance.subcontracted_by
            self.initial["subcontracted_by"] = parent.code if parent else ""

    def clean_subcontracted_by(self) -> Supplier | None:
        code = (self.cleaned_data.get("subcontracted_by") or "").strip()
        if not code:
            return None
        organization = self.cleaned_data.get("organization")
        if organization is None:
            return None
        parent = (
            Supplier.objects.for_user(self.user, VIEW)
            .filter(organization=organization, code=code)
            .select_related("subcontracted_by")
            .first()
        )
        if parent is None:
            raise ValidationError(_("No supplier with this code was found."))
        return parent

    def clean_tags(self) -> list[str]:
        return normalize_tag_names((self.cleaned_data.get("tags") or "").split(","))


class SupplierContactEditForm(forms.ModelForm):
    """What a supplier contact may correct about its own company."""

    class Meta:
        model = Supplier
        fields = list(Supplier.SUPPLIER_EDITABLE_FIELDS)


class ChildForm(forms.ModelForm):
    """A record under a supplier. STAFF is False when a supplier contact fills it in."""

    def __init__(self, *args: Any, staff: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staff = staff


class ContactForm(ChildForm):
    class Meta:
        model = Contact
        fields = [
            "name", "department", "title", "email", "phone", "is_primary", "portal_access", "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, staff: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, staff=staff, **kwargs)
        if not staff:
            # Portal access lets someone log in: the buyer grants it, not the supplier.
            del self.fields["portal_access"]


class ContractForm(ChildForm):
    class Meta:
        model = Contract
        fields = [
            "title", "signed_on", "starts_on", "ends_on", "has_nda", "has_security_clause",
            "re_outsourcing", "has_audit_right", "has_incident_notification",
            "incident_notification_hours", "has_data_return", "notes",
        ]
        widgets = {
            "signed_on": DATE_INPUT, "starts_on": DATE_INPUT, "ends_on": DATE_INPUT,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class CertificationForm(ChildForm):
    class Meta:
        model = Certification
        fields = [
            "kind", "name", "number", "issuer", "scope", "issued_on", "expires_on", "evidence",
            "notes",
        ]
        widgets = {
            "issued_on": DATE_INPUT, "expires_on": DATE_INPUT,
            "scope": forms.Textarea(attrs={"rows": 2}), "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_evidence(self) -> Any:
        upload = self.cleaned_data.get("evidence")
        limit_mb = settings.RENKEI_MAX_UPLOAD_MB
        if upload and getattr(upload, "size", 0) > limit_mb * 1024 * 1024:
            raise ValidationError(
                _("The file is too large. Files up to %(mb)d MB can be uploaded."),
                params={"mb": limit_mb},
            )
        return upload
