"""Storing questionnaire templates. The CLI, the built-in loader and the Excel check-sheet import
all call `load_template_data` / `load_template_file`, so every template is validated and versioned
the same way (docs/questionnaire-format.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record, snapshot
from renkei.questionnaires.loader import Problem, TemplateError, content_hash, read_yaml, validate
from renkei.questionnaires.models import Choice, Item, Section, Template

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


@dataclass(frozen=True)
class LoadResult:
    template: Template  # the stored version: the new one, or the latest when unchanged
    created: bool
    version: int
    unchanged: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.template.key,
            "version": self.version,
            "created": self.created,
            "unchanged": self.unchanged,
            "organization": self.template.organization.slug if self.template.organization else None,
            "items": self.template.items.count(),
        }


def load_template_data(
    data: dict[str, Any], *, organization: Organization | None, actor: Actor
) -> LoadResult:
    """Validate DATA (the structure of docs/questionnaire-format.md) and store it.

    Same content as the latest version of (organization, key): nothing changes (unchanged=True).
    Different content, or no such template yet: a new version n + 1 (created=True); stored
    versions are never modified, so a version sent with an assessment stays as it was sent.
    ORGANIZATION None stores a built-in template (no audit trail: it belongs to no organization).
    Raises TemplateError listing every problem; then nothing is written.
    """
    spec = validate(data)
    digest = content_hash(spec)
    try:
        with transaction.atomic():
            return _store(spec, digest, organization, actor)
    except IntegrityError as exc:
        # Another process stored a version of the same key between our read and our insert.
        raise TemplateError([Problem("key", _(
            "another version of this template was stored at the same time; load it again"
        ))]) from exc


def load_template_file(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    organization: Organization | None,
    actor: Actor,
) -> LoadResult:
    """Read a YAML template (path, bytes or binary file object) and store it as above."""
    data = read_yaml(source)
    return load_template_data(data, organization=organization, actor=actor)


def load_builtin_templates(actor: Actor | None = None) -> list[LoadResult]:
    """Load every file in renkei/questionnaires/builtin/ (idempotent: unchanged files do nothing)."""
    actor = actor or Actor.system("builtin-templates")
    return [
        load_template_file(path, organization=None, actor=actor)
        for path in sorted(BUILTIN_DIR.glob("*.yaml"))
    ]


def lock_template(template: Template) -> bool:
    """Mark TEMPLATE as sent (immutable from now on). True if this call locked it."""
    changed = Template.objects.filter(pk=template.pk, locked_at__isnull=True).update(
        locked_at=timezone.now()
    )
    template.refresh_from_db(fields=["locked_at"])
    return bool(changed)


def _store(spec: dict[str, Any], digest: str, organization: Organization | None,
           actor: Actor) -> LoadResult:
    # Locks the latest version on PostgreSQL so concurrent loads of one key queue up.
    latest = (
        Template.objects.select_for_update()
        .filter(organization=organization, key=spec["key"])
        .order_by("-version")
        .first()
    )
    if latest is not None and latest.content_hash == digest:
        return LoadResult(latest, created=False, version=latest.version, unchanged=True)
    template = Template.objects.create(
        organization=organization,
        key=spec["key"],
        version=(latest.version + 1) if latest else 1,
        name_ja=spec["name"]["ja"], name_en=spec["name"]["en"],
        description_ja=spec["description"]["ja"], description_en=spec["description"]["en"],
        source_ja=spec["source"]["ja"], source_en=spec["source"]["en"],
        content_hash=digest,
    )
    sections = Section.objects.bulk_create([
        Section(template=template, key=s["key"], order=index,
                title_ja=s["title"]["ja"], title_en=s["title"]["en"])
        for index, s in enumerate(spec["sections"])
    ])
    pending_items: list[tuple[Item, list[dict]]] = []
    order = 0
    for section, s in zip(sections, spec["sections"], strict=True):
        for i in s["items"]:
            item = Item(
                template=template, section=section, item_id=i["id"], order=order,
                text_ja=i["text"]["ja"], text_en=i["text"]["en"],
                help_ja=i["help"]["ja"], help_en=i["help"]["en"],
                answer_type=i["type"], allow_na=i["not_applicable"], required=i["required"],
                weight=Decimal(i["weight"]), critical=i["critical"], condition=i["condition"],
            )
            pending_items.append((item, i["choices"]))
            order += 1
    items = Item.objects.bulk_create([item for item, _choices in pending_items])
    Choice.objects.bulk_create([
        Choice(item=item, value=c["value"], label_ja=c["label"]["ja"], label_en=c["label"]["en"],
               points=c["points"], order=index)
        for item, (_unsaved, choices) in zip(items, pending_items, strict=True)
        for index, c in enumerate(choices)
    ])
    if organization is not None:
        after = snapshot(template)
        after["items"] = len(items)
        after["previous_version"] = latest.version if latest else None
        record(actor, AuditEntry.Action.CREATE, template, None, after)
    return LoadResult(template, created=True, version=template.version, unchanged=False)
