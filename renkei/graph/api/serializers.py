"""Serializers of the map API: the read shapes of nodes and edges, the bodies of their writes
(saved by renkei.graph.services, never by a serializer), and the shapes of the analyses."""

from __future__ import annotations

from rest_framework import serializers

from renkei.graph.choices import EdgeKind, NodeKind, Via
from renkei.graph.engine import COMPROMISED, DEGRADED, STOPS
from renkei.graph.models import Edge, Node


class NodeSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(
        source="supplier.code", read_only=True, allow_null=True, default=None
    )
    declared_by_code = serializers.CharField(
        source="declared_by.code", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Node
        fields = [
            "id",
            "organization",
            "key",
            "kind",
            "name",
            "attributes",
            "origin",
            "supplier",
            "supplier_code",
            "declared_by",
            "declared_by_code",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class NodeWriteSerializer(serializers.Serializer):
    organization = serializers.IntegerField(
        required=False, help_text="Organization id; needed when you are staff of several."
    )
    declared_by = serializers.IntegerField(
        required=False,
        help_text="Supplier contacts: the supplier declaring (needed when you answer for "
        "several). The node's origin becomes portal.",
    )
    key = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Node id. Supplier contacts may leave it out: <supplier code>-SUB-<n>.",
    )
    kind = serializers.ChoiceField(choices=NodeKind.choices, required=False)
    name = serializers.CharField(required=False, max_length=200)
    attributes = serializers.DictField(required=False, help_text="Replaces all attributes on update.")


class EdgeSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.key", read_only=True)
    target = serializers.CharField(source="target.key", read_only=True)

    class Meta:
        model = Edge
        fields = [
            "id",
            "organization",
            "source",
            "target",
            "kind",
            "attributes",
            "origin",
            "declared_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EdgeWriteSerializer(serializers.Serializer):
    organization = serializers.IntegerField(
        required=False, help_text="Organization id; needed when you are staff of several."
    )
    declared_by = serializers.IntegerField(
        required=False,
        help_text="Supplier contacts: the supplier declaring (needed when you answer for several).",
    )
    source = serializers.CharField(
        required=False, max_length=100, help_text="Node id (or a registry supplier code)."
    )
    target = serializers.CharField(
        required=False, max_length=100, help_text="Node id (or a registry supplier code)."
    )
    kind = serializers.ChoiceField(choices=EdgeKind.choices, required=False)
    attributes = serializers.DictField(required=False, help_text="Replaces all attributes on update.")


class ReachedSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=NodeKind.choices)
    name = serializers.CharField()
    hops = serializers.IntegerField()
    via = serializers.ChoiceField(choices=Via.choices)
    path = serializers.ListField(child=serializers.CharField())
    effect = serializers.ChoiceField(choices=[(e, e) for e in (COMPROMISED, STOPS, DEGRADED)])
    severity = serializers.IntegerField(min_value=0, max_value=100)


class ImpactSerializer(serializers.Serializer):
    node = serializers.CharField()
    mode = serializers.ChoiceField(choices=Via.choices)
    total = serializers.IntegerField(help_text="Nodes reached; `reached` holds the `limit` most severe.")
    reached = ReachedSerializer(many=True)


class _ConcentrationEntry(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=NodeKind.choices)
    name = serializers.CharField()
    count = serializers.IntegerField()


class SinglePointSerializer(_ConcentrationEntry):
    halts = serializers.ListField(child=serializers.CharField(), help_text="Products and sites it halts.")


class SharedPartySerializer(_ConcentrationEntry):
    behind = serializers.ListField(
        child=serializers.CharField(), help_text="Registry suppliers relying on it."
    )


class BroadAccessSerializer(_ConcentrationEntry):
    systems = serializers.ListField(child=serializers.CharField(), help_text="Systems it has access to.")


class ConcentrationSerializer(serializers.Serializer):
    single_points = SinglePointSerializer(many=True)
    shared_parties = SharedPartySerializer(many=True)
    broad_access = BroadAccessSerializer(many=True)
