"""Forms of the member management pages (renkei.accounts.views)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from renkei.core.permissions import Role


class MemberAddForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=254,
        help_text=_("A person who already has a Renkei account with this address is added to "
                    "the organization; anyone else gets an invitation to set a password."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    display_name = forms.CharField(
        label=_("Display name"), max_length=150, required=False,
        help_text=_("Used for a new account only; an existing account keeps its own name."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.ANALYST)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
