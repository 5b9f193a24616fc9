"""A list of choices stored in one text column, filterable on SQLite and PostgreSQL alike.

Stored as ",a,b," (sorted, comma-delimited, with guards) so `field__contains=",a,"` finds rows
holding choice "a" on every database, with no JSON operator support needed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import exceptions
from django.db import models


def encode_choices(values: list[str] | tuple[str, ...] | set[str]) -> str:
    cleaned = sorted({v for v in values if v})
    return f",{','.join(cleaned)}," if cleaned else ""


def decode_choices(raw: str | None) -> list[str]:
    return [part for part in (raw or "").split(",") if part]


class ChoiceListField(models.CharField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 255:
            del kwargs["max_length"]
        kwargs.pop("blank", None)
        kwargs.pop("default", None)
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> list[str]:
        return decode_choices(value)

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple | set):
            return sorted({str(v) for v in value if v})
        return decode_choices(value)

    def get_prep_value(self, value: Any) -> str:
        if isinstance(value, str):
            # Already encoded (e.g. a lookup such as contains=",vpn,").
            return value
        return encode_choices(value or [])

    def validate(self, value: Any, model_instance: Any) -> None:
        allowed = {str(key) for key, _label in self.choices or []}
        for item in value or []:
            if item not in allowed:
                raise exceptions.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
        if not self.blank and not value:
            raise exceptions.ValidationError(self.error_messages["blank"], code="blank")

    def value_to_string(self, obj: Any) -> str:
        return ",".join(self.value_from_object(obj) or [])

    def formfield(self, **kwargs: Any) -> forms.Field:
        options = {
            "choices": self.choices,
            "required": not self.blank,
            "widget": forms.CheckboxSelectMultiple,
            "label": self.verbose_name,
            "help_text": self.help_text,
            **kwargs,
        }
        return forms.TypedMultipleChoiceField(**options)

    def check(self, **kwargs: Any) -> list:
        # CharField's check insists the default fits max_length; ours is a callable.
        return [c for c in super().check(**kwargs) if c.id != "fields.E009"]
