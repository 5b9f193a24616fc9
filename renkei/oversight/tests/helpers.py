"""Shared helpers of the oversight tests (also used by renkei.core.tests.test_security)."""

from __future__ import annotations

import datetime
from typing import Any

from renkei.audit.services import Actor
from renkei.questionnaires import assessments_services as assessments
from renkei.questionnaires.models import Template
from renkei.suppliers.models import Supplier

SYSTEM = Actor.system("test")


def actor(user: Any) -> Actor:
    return Actor(user=user, address="127.0.0.1", label=str(user))


def candidate(organization: Any, code: str = "C1", **extra: Any) -> Supplier:
    from renkei.oversight.services import register_candidate

    supplier = Supplier(
        organization=organization, code=code, name=extra.pop("name", f"候補{code}株式会社"), **extra
    )
    register_candidate(SYSTEM, supplier)
    return supplier


def answer_all(assessment: Any) -> None:
    """Answer every item ○ and submit."""
    answers: dict[str, Any] = {}
    for item in assessment.template.items.all():
        if item.answer_type == "tri_state":
            answers[item.item_id] = "○"
        elif item.answer_type == "certificate":
            answers[item.item_id] = {"held": False}
    assessments.save_answers(SYSTEM, assessment, answers)
    assessments.submit(SYSTEM, assessment)


def scrm() -> Template:
    return Template.objects.get(key="scrm-sheet", organization__isnull=True)


def foreign_objects(suppliers: list[Supplier]) -> dict[str, list[Any]]:
    """An intake, an audit with a released finding, and the contracts of SUPPLIERS, for the
    security sweep's foreign-object attacks."""
    from renkei.oversight import audit_services
    from renkei.oversight.models import Intake
    from renkei.oversight.services import start_intake
    from renkei.suppliers.models import Contract

    objects: dict[str, list[Any]] = {"intake": [], "audit": [], "finding": []}
    for supplier in suppliers:
        supplier.status = "candidate"
        supplier.save()
        intake = Intake.objects.filter(supplier=supplier, decision="").first() or start_intake(
            SYSTEM, supplier
        )
        objects["intake"].append(intake)
        audit = audit_services.plan_audit(
            SYSTEM, supplier, planned_on=datetime.date(2030, 1, 10), scope=f"LEAK-{supplier.code}-AUDIT"
        )
        finding = audit_services.add_finding(SYSTEM, audit, title=f"LEAK-{supplier.code}-FINDING")
        audit_services.set_status(SYSTEM, audit, "done")
        audit_services.release_report(SYSTEM, audit)
        objects["audit"].append(audit)
        objects["finding"].append(finding)
    objects["contractcheck"] = list(Contract.objects.filter(supplier__in=suppliers))
    return objects
