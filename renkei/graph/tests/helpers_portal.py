"""Shared helpers of the declared-subcontractor tests (also used by renkei.core.tests.test_security)."""

from __future__ import annotations

from typing import Any

from renkei.audit.services import Actor
from renkei.graph import portal, services
from renkei.graph.models import Edge, Node

SYSTEM = Actor.system("test")


def actor(user: Any) -> Actor:
    return Actor(user=user, address="127.0.0.1", label=str(user))


def foreign_objects(suppliers: list[Any]) -> dict[str, list[Any]]:
    """For each supplier: a subcontractor it declared (named LEAK-<code>-DECLARED, with the
    declared edge) and a system of its buyer it has access to (LEAK-<code>-SYSTEM, the buyer's
    own node and edge). Keys: mapnode, mapedge."""
    nodes, edges = [], []
    for supplier in suppliers:
        declared = portal.declare(
            SYSTEM,
            supplier,
            name=f"LEAK-{supplier.code}-DECLARED",
            work=f"LEAK-{supplier.code}-WORK",
            buyer_access=True,
        )
        system = services.create_node(
            SYSTEM,
            supplier.organization_id,
            key=f"SYS-{supplier.code}",
            kind="system",
            name=f"LEAK-{supplier.code}-SYSTEM",
        )
        services.create_edge(
            SYSTEM, supplier.organization_id, source=supplier.code, target=system.key, kind="accesses"
        )
        nodes += [declared, system]
        edges += list(Edge.objects.filter(target__in=[declared, system]))
    nodes += list(
        Node.objects.filter(
            key__in=[s.code for s in suppliers],
            origin="registry",
            organization__in={s.organization_id for s in suppliers},
        )
    )
    return {"mapnode": nodes, "mapedge": edges}
