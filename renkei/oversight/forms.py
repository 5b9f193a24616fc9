"""Forms of supplier selection and audits. They only read input; services decide and save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from renkei.oversight.choices import AuditKind, AuditStatus, Decision, Severity
from renkei.remediation.models import OwnerSide
from renkei.risk.config import CONTRACT_CLAUSES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect)
    reasons = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)


class ConditionForm(forms.Form):
    title = forms.CharField(label=_("Condition"), max_length=300, required=False)
    due_on = forms.DateField(label=_("Due date"), required=False, widget=DATE_INPUT)


ConditionFormSet = forms.formset_factory(ConditionForm, extra=3, max_num=20)


class SendForm(forms.Form):
    due_on = forms.DateField(label=_("Answer by"), required=False, widget=DATE_INPUT)


class AuditForm(forms.Form):
    supplier = forms.CharField(label=_("Supplier code"), max_length=50)
    kind = forms.ChoiceField(label=_("Kind"), choices=AuditKind.choices)
    planned_on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    scope = forms.CharField(label=_("Scope"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    auditors = forms.CharField(label=_("Auditors"), max_length=300, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["supplier"]
            self.fields["summary"] = forms.CharField(
                label=_("Summary"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
            )


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (AuditStatus.DONE.value, AuditStatus.DONE.label),
            (AuditStatus.CANCELLED.value, AuditStatus.CANCELLED.label),
        ],
    )
    done_on = forms.DateField(label=_("Carried out on"), required=False, widget=DATE_INPUT)
    summary = forms.CharField(
        label=_("Summary"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class FindingForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM)
    title = forms.CharField(label=_("Finding"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    evidence = forms.FileField(label=_("Evidence file"), required=False)


class FindingActionForm(forms.Form):
    due_on = forms.DateField(label=_("Due date"), required=False, widget=DATE_INPUT)
    owner_side = forms.ChoiceField(
        label=_("Owner side"), choices=OwnerSide.choices, initial=OwnerSide.SUPPLIER
    )


class ChecklistFilterForm(forms.Form):
    missing = forms.ChoiceField(label=_("Missing clause"), required=False)
    criticality = forms.ChoiceField(
        label=_("Criticality"),
        required=False,
        choices=[("", "---------"), ("1", "1"), ("2", "2"), ("3", "3")],
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from renkei.oversight.checklist import CLAUSE_LABELS

        super().__init__(*args, **kwargs)
        self.fields["missing"].choices = [
            ("", "---------"),
            ("any", _("Any required clause")),
            *[(c, CLAUSE_LABELS[c]) for c in CONTRACT_CLAUSES],
        ]
