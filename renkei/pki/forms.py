"""Forms of the certificate pages. They only read input; renkei.pki.services decides and saves."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from renkei.pki.choices import RevocationReason


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=RevocationReason.choices)
