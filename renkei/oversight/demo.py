"""Selection, contract and audit demo data for 株式会社みなと精機 (renkei.core.demo calls it).

- the incident-notification time and the data-return clause on the demo contracts that have them
  (the registry demo predates these fields), so the contract checklist shows a realistic mix;
- one candidate, 株式会社ミライ決済サービス, in intake: profile confirmed, questionnaire next;
- one completed on-site audit of 株式会社日本システムサービス (S-5001) with three findings, each
  turned into a remediation action, the report released, the gravest also raised as a risk;
  and a planned remote audit of 株式会社北陸精工 (S-2001).

Idempotent: records are found by natural keys (supplier code, contract title, audit scope) and
only changed through the audited services when something differs."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from renkei.audit.services import Actor
from renkei.oversight import audit_services, services
from renkei.oversight.choices import AuditKind, AuditStatus, Severity
from renkei.oversight.models import Audit, Intake
from renkei.suppliers.models import Contract, Supplier
from renkei.suppliers.services import save_record

# supplier code → (incident notification within hours, return and deletion of data at the end)
CONTRACT_EXTRAS: dict[str, tuple[int | None, bool]] = {
    "S-1001": (24, False),
    "S-1004": (72, False),
    "S-2001": (24, True),
    "S-2006": (48, True),
    "S-3001": (24, True),
    "S-4001": (24, True),
    "S-5001": (24, True),
    "S-5004": (12, True),
    "S-6001": (72, True),
    "S-6002": (24, True),
    "S-7001": (24, False),
    "S-8002": (24, True),
}

CANDIDATE = {
    "code": "C-0001",
    "name": "株式会社ミライ決済サービス",
    "name_kana": "ミライケッサイサービス",
    "relationship": "contractor",
    "chain_type": "service",
    "business_function": "cloud",
    "personal_info_records": 20000,
    "data_classes": ["customer", "financial"],
    "access_methods": ["api"],
    "notes": "EC サイトの決済代行の候補。2 社比較中。",
}

AUDIT_SCOPE = "システム運用保守委託業務（リモート保守環境、アカウント管理、サーバールームの物理的管理）"
PLANNED_SCOPE = "製造委託先の図面データの取扱いと再委託先（有限会社岡田製作所）の管理状況"
FINDINGS = [
    (
        Severity.HIGH,
        "リモート保守用 VPN 装置のファームウェアが更新されていない",
        "既知の脆弱性が公表されている版のまま運用されていた。資料001 の事例と同じ侵入経路になりうる。",
        30,
    ),
    (
        Severity.MEDIUM,
        "退職者アカウントの削除手順が文書化されていない",
        "削除は担当者の記憶に頼っており、退職後 2 か月残っていたアカウントがあった。",
        60,
    ),
    (
        Severity.LOW,
        "サーバールームの入退室記録の保管期間が規程と異なる",
        "規程は 1 年、実際は 6 か月で廃棄していた。",
        90,
    ),
]


def build_demo_oversight(organization: Any, today: datetime.date | None = None) -> None:
    today = today or timezone.localdate()
    actor = Actor.system("demo")
    suppliers = {s.code: s for s in Supplier.objects.filter(organization=organization)}
    _contract_extras(actor, suppliers)
    _candidate(actor, organization)
    _audits(actor, suppliers, today)


def _contract_extras(actor: Actor, suppliers: dict[str, Supplier]) -> None:
    for code, (hours, data_return) in CONTRACT_EXTRAS.items():
        supplier = suppliers.get(code)
        if supplier is None:
            continue
        for contract in Contract.objects.filter(
            supplier=supplier, has_incident_notification=True
        ) | Contract.objects.filter(supplier=supplier, has_security_clause=True):
            wanted_hours = hours if contract.has_incident_notification else None
            if (contract.incident_notification_hours, contract.has_data_return) != (
                wanted_hours,
                data_return,
            ):
                contract.incident_notification_hours = wanted_hours
                contract.has_data_return = data_return
                save_record(actor, contract)


def _candidate(actor: Actor, organization: Any) -> None:
    supplier = Supplier.objects.filter(organization=organization, code=CANDIDATE["code"]).first()
    if supplier is None:
        supplier = Supplier(organization=organization, **CANDIDATE)
        services.register_candidate(actor, supplier, tags=["候補"])
    intake = Intake.objects.filter(supplier=supplier).order_by("-pk").first()
    if intake is None or not intake.is_open:
        return
    # Profile confirmed; the questionnaire is the next step, left for the visitor to send (the
    # demo's questionnaires are a fixed set, see renkei.core.demo.DEMO_ASSESSMENTS).
    if intake.profile_confirmed_at is None:
        services.confirm_profile(actor, intake)


def _audits(actor: Actor, suppliers: dict[str, Supplier], today: datetime.date) -> None:
    supplier = suppliers.get("S-5001")
    if supplier is not None and not Audit.objects.filter(supplier=supplier, scope=AUDIT_SCOPE).exists():
        audit = audit_services.plan_audit(
            actor,
            supplier,
            planned_on=today - datetime.timedelta(days=45),
            scope=AUDIT_SCOPE,
            kind=AuditKind.ONSITE,
            auditors="情報システム部 田中、品質保証部 山本",
        )
        for severity, title, description, due_days in FINDINGS:
            finding = audit_services.add_finding(
                actor, audit, title=title, severity=severity, description=description
            )
            if severity == Severity.HIGH:
                finding = audit_services.finding_to_risk(actor, finding)
            audit_services.finding_to_action(actor, finding, due_on=today + datetime.timedelta(days=due_days))
        audit = audit_services.set_status(
            actor,
            audit,
            AuditStatus.DONE,
            done_on=today - datetime.timedelta(days=45),
            summary="全体として管理体制は整備されているが、リモート保守環境の脆弱性管理に重大な不備があった。",
        )
        audit_services.release_report(actor, audit)
    planned = suppliers.get("S-2001")
    if planned is not None and not Audit.objects.filter(supplier=planned, scope=PLANNED_SCOPE).exists():
        audit_services.plan_audit(
            actor,
            planned,
            planned_on=today + datetime.timedelta(days=30),
            scope=PLANNED_SCOPE,
            kind=AuditKind.REMOTE,
            auditors="調達部 佐々木",
        )
