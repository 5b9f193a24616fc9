"""The incident forms: the one validation of what people enter, used by the pages, the portal, the
reporting link and the API (which passes its JSON through the same forms)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renkei.incidents.models import Detail, EventKind, Incident, ObligationStatus

# A clock a few minutes ahead of ours is not an error; a date next week is.
FUTURE_TOLERANCE = datetime.timedelta(minutes=10)
TEXT_MAX = 10_000
PERSONS_MAX = 200_000_000  # more people than live in Japan is a typo


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


DATETIME_FORMATS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
]


def _not_future(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is not None and value > timezone.now() + FUTURE_TOLERANCE:
        raise forms.ValidationError(_("This time is in the future."))
    return value


class _Texts(forms.ModelForm):
    """Limits every free-text field so a pasted log cannot fill the database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and isinstance(field.widget, forms.Textarea):
                field.max_length = TEXT_MAX
                field.validators.append(MaxLengthValidator(TEXT_MAX))
                field.widget.attrs.update({"rows": 4, "maxlength": TEXT_MAX})


class IntakeForm(_Texts):
    """What a supplier contact (portal or link) tells us."""

    detected_at = forms.DateTimeField(
        label=gettext_lazy("Detected"),
        input_formats=DATETIME_FORMATS,
        widget=DateTimeInput(),
        help_text=gettext_lazy("When you noticed it (Japan time)."),
    )
    persons_affected = forms.IntegerField(
        label=gettext_lazy("People possibly affected"),
        required=False,
        min_value=0,
        max_value=PERSONS_MAX,
        help_text=gettext_lazy("If personal data may be involved: how many people, as far as you know."),
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "description",
            "detected_at",
            "systems_text",
            "data_text",
            "personal_data",
            "persons_affected",
            "current_state",
        ]
        help_texts = {
            "title": gettext_lazy("One line, e.g. 「メールサーバーへの不正アクセス」."),
            "description": gettext_lazy("What happened, as far as you know now."),
            "systems_text": gettext_lazy("Servers, services, PCs or accounts involved."),
            "data_text": gettext_lazy("Which data may have been seen, taken or lost (ours and others')."),
            "current_state": gettext_lazy("What has been done so far, and what still runs or is stopped."),
        }

    def clean_detected_at(self) -> datetime.datetime | None:
        return _not_future(self.cleaned_data.get("detected_at"))


class StaffIntakeForm(IntakeForm):
    """Staff record an incident themselves: which supplier, and since when we know."""

    aware_at = forms.DateTimeField(
        label=gettext_lazy("Aware since"),
        input_formats=DATETIME_FORMATS,
        widget=DateTimeInput(),
        required=False,
        help_text=gettext_lazy(
            "When our organization learned of it: every deadline counts from here. Empty: now."
        ),
    )

    class Meta(IntakeForm.Meta):
        fields = ["supplier", *IntakeForm.Meta.fields, "reporter_name"]

    def __init__(self, *args: Any, suppliers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].required = False
        if suppliers is not None:
            self.fields["supplier"].queryset = suppliers

    def clean_aware_at(self) -> datetime.datetime | None:
        return _not_future(self.cleaned_data.get("aware_at"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        detected, aware = data.get("detected_at"), data.get("aware_at")
        if detected and aware and aware < detected:
            self.add_error("aware_at", _("We cannot have learned of it before it was detected."))
        return data


class TriageForm(_Texts):
    """Severity, category, status and the facts the obligation rules read."""

    aware_at = forms.DateTimeField(
        label=gettext_lazy("Aware since"),
        input_formats=DATETIME_FORMATS,
        widget=DateTimeInput(),
        help_text=gettext_lazy("Every deadline counts from here."),
    )
    persons_affected = forms.IntegerField(
        label=gettext_lazy("People possibly affected"),
        required=False,
        min_value=0,
        max_value=PERSONS_MAX,
    )

    class Meta:
        model = Incident
        fields = [
            "status",
            "severity",
            "category",
            "aware_at",
            "personal_data",
            "persons_affected",
            "sensitive_personal_data",
            "financial_harm_possible",
            "unauthorized_access",
            "export_controlled_tech",
            "we_are_contractor",
            "regulated_sector",
        ]

    def clean_aware_at(self) -> datetime.datetime | None:
        return _not_future(self.cleaned_data.get("aware_at"))


class ReportFieldsForm(_Texts):
    """What the 個人情報保護委員会 report asks for beyond the intake, and the lessons."""

    class Meta:
        model = Incident
        fields = [
            "title",
            "description",
            "systems_text",
            "data_text",
            "cause",
            "secondary_harm",
            "response_to_persons",
            "publication",
            "recurrence_prevention",
            "lessons",
        ]


class ObligationForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=ObligationStatus.choices)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=None, required=False)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members


EVENT_KINDS = [
    (k, label)
    for k, label in EventKind.choices
    if k in (EventKind.NOTE, EventKind.DECISION, EventKind.MESSAGE)
]


class EventForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=EVENT_KINDS, initial=EventKind.NOTE)
    text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    attachment = forms.FileField(label=gettext_lazy("Attachment"), required=False)
    supplier_visible = forms.BooleanField(
        label=gettext_lazy("Show to the reporting supplier"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("text") and not data.get("attachment"):
            raise forms.ValidationError(_("Write something or attach a file."))
        return data


class MessageForm(forms.Form):
    """A supplier contact's message on its own incident (portal)."""

    text = forms.CharField(
        label=gettext_lazy("Message"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    attachment = forms.FileField(label=gettext_lazy("Attachment"), required=False)


class ShareForm(forms.Form):
    detail = forms.ChoiceField(
        label=gettext_lazy("Level of detail"),
        choices=Detail.choices,
        initial=Detail.SUMMARY,
        widget=forms.RadioSelect,
    )
    message = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
