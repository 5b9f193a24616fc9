"""The demo organization's supply-chain map (issue 5), shaped like the seed 001 case.

株式会社東海精密テクノ, a subsidiary of the tier-1 parts maker 東海精密部品 (S-1001), is declared by
S-1001's contact in the portal; its remote-connection (VPN) device reaches into S-1001, which
shares the buyer's EDI and reaches the production system (MES) over VPN; every plant depends on
S-1001 (the single source of the spindle unit parts). The impact of the subsidiary therefore
stops every plant. Around it: the buyer's systems, data, plants, products, the IT contractors'
administrator access and one MSP behind four suppliers (a shared fourth party).

Idempotent: the map file is merged (nothing changes on a second run) and the declaration and
its VPN edge are made only when missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from renkei.audit.services import Actor
from renkei.graph import portal, services
from renkei.graph.choices import EdgeKind
from renkei.graph.io.importer import import_files
from renkei.graph.models import Edge, Node

MAP_FILE = Path(__file__).resolve().parents[1] / "core" / "demo_files" / "minato-map.json"
PARENT = "S-1001"
SUBSIDIARY = "株式会社東海精密テクノ"


def build_demo_map(organization: Any, actor: Actor, suppliers: dict[str, Any], corporate_number: str) -> Node:
    """Import the demo map and declare the seed 001 subsidiary; return the subsidiary's node."""
    result = import_files(organization, MAP_FILE, actor=actor)
    if not result.ok:
        raise RuntimeError(f"the demo map does not import: {result.errors[:3]}")
    parent = suppliers[PARENT]
    node = Node.objects.filter(organization=organization, declared_by=parent, name=SUBSIDIARY).first()
    if node is None:
        contact = (
            parent.contacts.filter(portal_access=True, user__isnull=False).select_related("user").first()
        )
        declarer = actor
        if contact is not None:
            declarer = Actor(user=contact.user, address=actor.address, label=contact.user.username)
        node = portal.declare(
            declarer,
            parent,
            name=SUBSIDIARY,
            corporate_number=corporate_number,
            work="主軸部品の切削加工（100%子会社）。親会社の生産管理とVPN装置で常時接続。",
            buyer_access=True,
        )
    connected = Edge.objects.filter(
        organization=organization, source=node, target__key=PARENT, kind=EdgeKind.ACCESSES
    ).exists()
    if not connected:
        services.create_edge(
            actor,
            organization.pk,
            source=node,
            target=PARENT,
            kind=EdgeKind.ACCESSES,
            attributes={"method": "vpn", "privilege": "admin"},
        )
    return node
