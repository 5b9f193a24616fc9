"""API representation of questionnaire templates (read-only: templates are loaded from files)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from renkei.questionnaires.models import Choice, Item, Section, Template


class ChoiceSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True, help_text="In the request's language.")

    class Meta:
        model = Choice
        fields = ["value", "label", "label_ja", "label_en", "points"]


class ItemSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="item_id", read_only=True, help_text="The stable item id.")
    text = serializers.CharField(read_only=True)
    help = serializers.CharField(read_only=True)
    type = serializers.CharField(source="answer_type", read_only=True)
    not_applicable = serializers.BooleanField(source="allow_na", read_only=True)
    choices = ChoiceSerializer(many=True, read_only=True)

    class Meta:
        model = Item
        fields = ["id", "text", "text_ja", "text_en", "help", "help_ja", "help_en", "type",
                  "not_applicable", "required", "weight", "critical", "condition", "choices"]


class SectionSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    items = serializers.SerializerMethodField()

    class Meta:
        model = Section
        fields = ["key", "title", "title_ja", "title_en", "items"]

    @extend_schema_field(ItemSerializer(many=True))
    def get_items(self, section: Section) -> list[dict[str, Any]]:
        # Items are prefetched once per template and grouped by the viewset (template_parts).
        return ItemSerializer(getattr(section, "item_list", []), many=True).data


class TemplateSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text="In the request's language.")
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True,
                                                help_text="null for a built-in template.")
    builtin = serializers.BooleanField(source="is_builtin", read_only=True)
    locked = serializers.BooleanField(source="is_locked", read_only=True,
                                      help_text="Sent with an assessment: never changes.")
    items = serializers.IntegerField(source="item_count", read_only=True,
                                     help_text="Number of answerable items.")
    critical_items = serializers.IntegerField(source="critical_count", read_only=True)
    versions = serializers.IntegerField(source="version_count", read_only=True,
                                        help_text="How many versions of this key exist.")

    class Meta:
        model = Template
        fields = ["id", "key", "version", "name", "name_ja", "name_en", "organization", "builtin",
                  "locked", "items", "critical_items", "versions", "content_hash", "created_at"]


class TemplateDetailSerializer(TemplateSerializer):
    description = serializers.CharField(read_only=True)
    source = serializers.CharField(read_only=True)
    sections = serializers.SerializerMethodField()

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "description", "description_ja",
                  "description_en", "source", "source_ja", "source_en", "sections"]

    @extend_schema_field(SectionSerializer(many=True))
    def get_sections(self, template: Template) -> list[dict[str, Any]]:
        return SectionSerializer(self.context["sections"], many=True).data
