"""The supply-chain map: nodes and edges of one buyer (seed 001/004: propagation).

Rows are the stored truth; analyses (renkei.graph.engine) run on an in-memory graph built from
them plus the registry (every registry supplier is a node keyed by its code, every
`subcontracted_by` an edge), cached per organization and `MapVersion.version`.
Changed only through renkei.graph.services (audited; each change bumps the version).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from renkei.core.models import OwnedModel, TimestampedModel
from renkei.core.permissions import CHANGE, DELETE, VIEW
from renkei.graph.choices import EdgeKind, NodeKind, Origin


class Node(OwnedModel, TimestampedModel):
    """One thing on the map. `key` is the id of the CSV/JSON format (a supplier's code)."""

    # A supplier contact sees and corrects the nodes its own supplier declared (its subcontractors).
    supplier_path = "declared_by"
    supplier_actions = frozenset({VIEW, CHANGE, DELETE})

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="map_nodes",
        verbose_name=_("organization"),
    )
    key = models.CharField(_("node id"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=NodeKind.choices)
    name = models.CharField(_("name"), max_length=200)
    # Set when kind is supplier and the key is a registry supplier's code.
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.SET_NULL, null=True, blank=True, related_name="map_nodes",
        verbose_name=_("registry supplier"),
    )
    # Optional attribute columns: records (int), classes (list), tier (int), anything else as text.
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    # The supplier whose contact declared this node in the portal (a subcontractor of theirs).
    declared_by = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, null=True, blank=True, related_name="declared_nodes",
        verbose_name=_("declared by"),
    )

    class Meta:
        verbose_name = _("map node")
        verbose_name_plural = _("map nodes")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="graph_node_unique_key"),
        ]
        indexes = [models.Index(fields=["organization", "kind"], name="graph_node_org_kind")]

    def __str__(self) -> str:
        return f"{self.key} {self.name}"


class Edge(OwnedModel, TimestampedModel):
    """A directed relation SOURCE → TARGET of one kind (network is symmetric)."""

    supplier_path = "declared_by"
    supplier_actions = frozenset({VIEW, CHANGE, DELETE})

    # No index of its own: (organization, kind) and the unique key begin with it. Each index costs
    # time on every imported edge.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="map_edges",
        verbose_name=_("organization"), db_index=False,
    )
    source = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="out_edges",
                               verbose_name=_("from"))
    target = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="in_edges",
                               verbose_name=_("to"))
    kind = models.CharField(_("kind"), max_length=20, choices=EdgeKind.choices)
    # single_source (bool) for supplies; method and privilege for accesses; anything else as text.
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    declared_by = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, null=True, blank=True, related_name="declared_edges",
        verbose_name=_("declared by"), db_index=False,
    )

    class Meta:
        verbose_name = _("map edge")
        verbose_name_plural = _("map edges")
        constraints = [
            models.UniqueConstraint(fields=["organization", "source", "target", "kind"],
                                    name="graph_edge_unique"),
            models.CheckConstraint(condition=~models.Q(source=models.F("target")),
                                   name="graph_edge_no_self_loop"),
        ]
        indexes = [
            models.Index(fields=["organization", "kind"], name="graph_edge_org_kind"),
            # Few edges are declared in the portal: index only those (not a million NULLs).
            models.Index(
                fields=["declared_by"], condition=Q(declared_by__isnull=False), name="graph_edge_declared"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -{self.kind}-> {self.target_id}"


class MapVersion(models.Model):
    """One counter per organization, bumped by every map change: the key of the analysis cache."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE,
                                        related_name="map_version")
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization_id}: v{self.version}"
