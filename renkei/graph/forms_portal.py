"""Forms of declared subcontractors. They only read input; renkei.graph.portal decides and saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from renkei.graph.models import Node
from renkei.graph.portal import WORK_MAX, Declaration

YES, NO = "yes", "no"


class DeclarationForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    corporate_number = forms.CharField(
        label=_("Corporate number"),
        max_length=30,
        required=False,
        help_text=_("13 digits, if you know it (it helps your customer recognise the company)."),
    )
    country = forms.ChoiceField(label=_("Country"), initial="JP")
    work = forms.CharField(
        label=_("Work subcontracted"),
        max_length=WORK_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you have them do, e.g. machining of parts, server operation, delivery."),
    )
    buyer_access = forms.ChoiceField(
        label=_("Can this subcontractor reach your customer's systems or data?"),
        choices=[(YES, _("Yes")), (NO, _("No"))],
        widget=forms.RadioSelect,
        help_text=_(
            "Yes if they connect to your customer's network, use its accounts or handle its "
            "drawings, personal information or other data."
        ),
    )
    via = forms.ChoiceField(label=_("Subcontracted through"), required=False)

    def __init__(
        self, *args: Any, via_nodes: list[Node], code: str, declared: Declaration | None = None, **kwargs: Any
    ) -> None:
        if declared is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": declared.node.name,
                "corporate_number": declared.corporate_number,
                "country": declared.country or "JP",
                "work": declared.work,
                "buyer_access": YES if declared.buyer_access else NO,
                "via": str(declared.via.pk) if declared.via else "",
            }
        super().__init__(*args, **kwargs)
        self.via_nodes = {str(node.pk): node for node in via_nodes}
        self.fields["country"].choices = list(countries)
        self.fields["via"].choices = [("", _("Your company directly (%(code)s)") % {"code": code})] + [
            (pk, f"{node.name} ({node.key})") for pk, node in self.via_nodes.items()
        ]
        if not self.via_nodes:
            self.fields["via"].widget = forms.HiddenInput()
        if declared is not None and not declared.own:
            # Linked by the customer to a company of its registry: its name is the customer's.
            for name in ("name", "corporate_number", "country"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def via_node(self) -> Node | None:
        return self.via_nodes.get(self.cleaned_data.get("via") or "")

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "corporate_number": data.get("corporate_number") or "",
            "country": data.get("country") or "JP",
            "work": data["work"],
            "buyer_access": data["buyer_access"] == YES,
            "via": self.via_node(),
        }


class LinkForm(forms.Form):
    supplier = forms.CharField(label=_("Supplier code in the registry"), max_length=50)


# Service error keys (renkei.graph.services) → the form field that shows them.
ERROR_FIELDS = {
    "name": "name",
    "key": None,
    "kind": None,
    "attributes.country": "country",
    "corporate_number": "corporate_number",
    "work": "work",
    "attributes.work": "work",
    "via": "via",
    "source": "via",
    "supplier": "supplier",
}


def apply_errors(form: forms.Form, errors: dict[str, str], message: str) -> None:
    """Show a service's refusal next to the fields it names (the rest above the form)."""
    shown = False
    for key, text in errors.items():
        field = ERROR_FIELDS.get(key)
        if field in form.fields:
            form.add_error(field, text)
            shown = True
        else:
            form.add_error(None, text)
            shown = True
    if not shown:
        form.add_error(None, message)
