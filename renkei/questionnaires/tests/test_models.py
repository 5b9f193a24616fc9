"""Constraints and accessors of the template models."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from renkei.questionnaires.models import Choice, Item, Section, Template
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db


def make(organization=None, key="t", version=1) -> Template:
    return Template.objects.create(organization=organization, key=key, version=version,
                                   name_ja="テンプレート", content_hash="x")


def test_version_is_unique_per_organization_and_key(world):
    make(world.buyer)
    make(world.other)
    with transaction.atomic(), pytest.raises(IntegrityError):
        make(world.buyer)


def test_version_is_unique_for_builtin_templates_too():
    make(None, key="shared")
    with transaction.atomic(), pytest.raises(IntegrityError):
        make(None, key="shared")
    make(None, key="shared", version=2)


def test_item_id_and_section_key_are_unique_per_template(world):
    template = make(world.buyer)
    section = Section.objects.create(template=template, key="s", order=0, title_ja="S")
    Item.objects.create(template=template, section=section, item_id="A", order=0, text_ja="q",
                        answer_type="text")
    with transaction.atomic(), pytest.raises(IntegrityError):
        Section.objects.create(template=template, key="s", order=1, title_ja="S2")
    with transaction.atomic(), pytest.raises(IntegrityError):
        Item.objects.create(template=template, section=section, item_id="A", order=1,
                            text_ja="q2", answer_type="text")
    other = make(world.buyer, version=2)
    other_section = Section.objects.create(template=other, key="s", order=0, title_ja="S")
    Item.objects.create(template=other, section=other_section, item_id="A", order=0,
                        text_ja="q", answer_type="text")


def test_texts_follow_the_active_language_with_japanese_fallback(world):
    template = load(small(), world.buyer).template
    item = template.items.get(item_id="B-01")
    no_en = template.items.get(item_id="B-02")
    choice = Choice.objects.get(item=item, value="done")
    with translation.override("en"):
        assert (template.name, item.text, no_en.text, choice.label) == (
            "Mini questionnaire", "Backups?", "委託先はありますか", "○ Done")
        assert template.sections.get(key="more").title == "その他"
    with translation.override("ja"):
        assert (template.name, item.text, choice.label) == ("ミニ質問票", "バックアップを取っていますか",
                                                            "○ 対応済み")


def test_latest_versions_and_counts(world):
    load(small(), world.buyer)
    changed = small()
    changed["sections"][1]["items"].pop()
    load(changed, world.buyer)
    load(small(), world.other)
    rows = {
        (t.organization_id, t.key): (t.version, t.item_count, t.critical_count, t.version_count)
        for t in Template.objects.latest_versions().with_counts()
    }
    assert rows == {
        (None, "scrm-sheet"): (1, 25, 5, 1),
        (world.buyer.pk, "mini"): (2, 4, 1, 2),
        (world.other.pk, "mini"): (1, 5, 1, 1),
    }


def test_is_locked_and_str(world):
    template = load(small(), world.buyer).template
    assert not template.is_locked and str(template) == "mini v1"
    assert Template.objects.get(key="scrm-sheet").is_builtin
