"""Foreign incidents and reporting links for the security sweep (renkei/core/tests/test_security.py)."""

from __future__ import annotations

from typing import Any

from renkei.audit.services import Actor


def foreign_objects(suppliers: list[Any]) -> dict[str, list[Any]]:
    """For each supplier: an incident recorded by its buyer (with obligations, a staff-only note
    and an attachment-free timeline) and a reporting link, titled LEAK-{code}-… so a leak shows."""
    from renkei.incidents import links, services
    from renkei.incidents.models import EventKind

    actor = Actor.system("test")
    found: dict[str, list[Any]] = {"incident": [], "reportlink": []}
    for supplier in suppliers:
        incident = services.record_incident(
            actor,
            supplier.organization,
            {
                "supplier": supplier.pk,
                "title": f"LEAK-{supplier.code}-INCIDENT",
                "description": f"LEAK-{supplier.code}-DESCRIPTION",
                "detected_at": "2026-11-01T09:00",
                "personal_data": "on",
                "persons_affected": "5000",
            },
        )
        services.add_event(actor, incident, kind=EventKind.NOTE, text=f"LEAK-{supplier.code}-NOTE")
        found["incident"].append(incident)
        link, _token = links.create_link(actor, supplier, f"leak-{supplier.code.lower()}@example.jp")
        found["reportlink"].append(link)
    return found
