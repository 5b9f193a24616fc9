"""Forms of the map pages. They only collect input: renkei.graph.services validates it with the
rules of the file format (the same messages as an import) and saves it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from renkei.graph.choices import AccessVia, EdgeKind, NodeKind, Privilege

NODE_TYPED = ("tier", "country", "records", "classes")
EDGE_TYPED = ("single_source", "method", "privilege")
OTHER_HELP = gettext_lazy("One attribute per line, written name = value (e.g. owner = 生産技術部).")


def _other_lines(attributes: dict[str, Any], typed: tuple[str, ...]) -> str:
    lines = []
    for name, value in attributes.items():
        if name in typed:
            continue
        lines.append(f"{name} = {value}")
    return "\n".join(lines)


class AttributesMixin:
    """The free attributes textarea ("other") parsed into {name: value}."""

    typed: tuple[str, ...] = ()
    cleaned_data: dict[str, Any]

    def clean_other(self) -> dict[str, str]:
        text = self.cleaned_data.get("other") or ""
        found: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(
                    _("Line %(line)d: write the attribute as name = value.") % {"line": number})
            if name.strip() in found or name.strip() in self.typed:
                raise forms.ValidationError(
                    _("Line %(line)d: the attribute %(name)s is given twice.") % {"line": number,
                                                                                  "name": name.strip()})
            found[name.strip()] = value.strip()
        return found

    def attributes(self) -> dict[str, Any]:
        values = {name: self.cleaned_data.get(name) for name in self.typed}
        return {**{k: v for k, v in values.items() if v not in (None, "")}, **self.cleaned_data["other"]}

    def apply_errors(self, errors: dict[str, str], message: str) -> None:
        """Put the service's {field: message} next to the fields (attributes.x → x or "other")."""
        form: Any = self
        if not errors:
            form.add_error(None, message)
        for field, text in errors.items():
            name = field.removeprefix("attributes.")
            if name in form.fields:
                form.add_error(name, text)
            elif field.startswith("attributes."):
                form.add_error("other", f"{name}: {text}")
            else:
                form.add_error(None, text)


class NodeForm(AttributesMixin, forms.Form):
    typed = NODE_TYPED

    key = forms.CharField(label=gettext_lazy("Node id"), max_length=100,
                          help_text=gettext_lazy("For a registry supplier, its supplier code."))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=NodeKind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    tier = forms.CharField(label=gettext_lazy("Tier"), required=False, max_length=10,
                           help_text=gettext_lazy("Suppliers only: 1 for a direct supplier, 2 for its "
                                                  "subcontractor, and so on."))
    country = forms.CharField(label=gettext_lazy("Country"), required=False, max_length=60,
                              help_text=gettext_lazy("ISO code or name, e.g. JP or 日本."))
    records = forms.CharField(label=gettext_lazy("Records"), required=False, max_length=30,
                              help_text=gettext_lazy("Data only: how many records (e.g. 120,000)."))
    classes = forms.CharField(
        label=gettext_lazy("Data classes"), required=False, max_length=2000,
        help_text=gettext_lazy("Data only: separated by semicolons, e.g. 個人情報; 顧客情報."))
    other = forms.CharField(label=gettext_lazy("Other attributes"), required=False, max_length=20000,
                            widget=forms.Textarea(attrs={"rows": 3}), help_text=OTHER_HELP)

    @classmethod
    def initial_for(cls, node: Any) -> dict[str, Any]:
        attrs = dict(node.attributes or {})
        classes = attrs.get("classes")
        return {
            "key": node.key, "kind": node.kind, "name": node.name,
            "tier": attrs.get("tier", ""), "country": attrs.get("country", ""),
            "records": attrs.get("records", ""),
            "classes": "; ".join(str(c) for c in classes) if isinstance(classes, list) else (classes or ""),
            "other": _other_lines(attrs, NODE_TYPED),
        }


BLANK = [("", "—")]


class EdgeForm(AttributesMixin, forms.Form):
    typed = EDGE_TYPED

    source = forms.CharField(label=pgettext_lazy("map edge", "From (node id)"), max_length=100)
    target = forms.CharField(label=pgettext_lazy("map edge", "To (node id)"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=EdgeKind.choices)
    single_source = forms.ChoiceField(
        label=gettext_lazy("Single source"), required=False,
        choices=[("", "—"), ("true", gettext_lazy("Yes")), ("false", gettext_lazy("No"))],
        help_text=gettext_lazy("Supplies only: yes when the target has no other supplier for this."))
    method = forms.ChoiceField(label=gettext_lazy("Access method"), required=False,
                               choices=BLANK + list(AccessVia.choices),
                               help_text=gettext_lazy("Has access to only."))
    privilege = forms.ChoiceField(label=gettext_lazy("Privilege"), required=False,
                                  choices=BLANK + list(Privilege.choices),
                                  help_text=gettext_lazy("Has access to only."))
    other = forms.CharField(label=gettext_lazy("Other attributes"), required=False, max_length=20000,
                            widget=forms.Textarea(attrs={"rows": 2}), help_text=OTHER_HELP)

    @classmethod
    def initial_for(cls, edge: Any) -> dict[str, Any]:
        attrs = dict(edge.attributes or {})
        single = attrs.get("single_source")
        return {
            "source": edge.source.key, "target": edge.target.key, "kind": edge.kind,
            "single_source": "" if single is None else ("true" if single else "false"),
            "method": attrs.get("method", ""), "privilege": attrs.get("privilege", ""),
            "other": _other_lines(attrs, EDGE_TYPED),
        }
