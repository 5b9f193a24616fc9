"""Forms of the reporting links: staff create a link; the person holding one says who they are.
What the person reports goes through forms.IntakeForm, as in the portal."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from renkei.incidents.links import LINK_DAYS, MAX_LINK_DAYS


class LinkForm(forms.Form):
    supplier = forms.ModelChoiceField(label=gettext_lazy("Supplier"), queryset=None)
    email = forms.EmailField(
        label=gettext_lazy("Send to (e-mail)"),
        help_text=gettext_lazy("The person who will report; the link is only in this e-mail."),
    )
    days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        initial=LINK_DAYS,
        min_value=1,
        max_value=MAX_LINK_DAYS,
        help_text=gettext_lazy("From 1 to 90 days. The link works once."),
    )

    def __init__(self, *args: Any, suppliers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers


class ReporterForm(forms.Form):
    """Who reports through a link: there is no account to tell us."""

    reporter_name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=100,
        help_text=gettext_lazy("And your department, e.g. 「情報システム部 山田」."),
    )
    reporter_email = forms.EmailField(
        label=gettext_lazy("Your e-mail address"),
        help_text=gettext_lazy("The acknowledgement with the incident number goes here."),
    )
