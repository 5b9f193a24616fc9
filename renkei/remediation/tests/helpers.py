"""Foreign risks, plans and actions for the security sweep (renkei/core/tests/test_security.py)."""

from __future__ import annotations

from typing import Any

from renkei.audit.services import Actor


def foreign_objects(suppliers: list[Any]) -> dict[str, list[Any]]:
    """For each supplier: a register entry, an agreed plan with a supplier-side and a buyer-side
    action, all titled LEAK-{code}-… so a leak shows in any response."""
    from renkei.remediation import services
    from renkei.risk import register

    actor = Actor.system("test")
    found: dict[str, list[Any]] = {"risk": [], "remediationplan": [], "action": []}
    for supplier in suppliers:
        risk = register.raise_risk(actor, supplier, title=f"LEAK-{supplier.code}-RISK")
        plan = services.create_plan(actor, supplier, title=f"LEAK-{supplier.code}-PLAN")
        for side in ("supplier", "buyer"):
            found["action"].append(
                services.add_action(
                    actor,
                    plan,
                    {"title": f"LEAK-{supplier.code}-ACTION-{side}", "owner_side": side},
                    risk=risk,
                )
            )
        found["risk"].append(risk)
        found["remediationplan"].append(services.agree_plan(actor, plan))
    return found
