"""The demo data set: 株式会社みなと精機 (Minato Seiki), a machine-tool maker, and its supply chain.

About forty suppliers across 調達 → 生産 → 物流 → 販売, IT outsourcing with remote access and
its 再委託先 chain, SaaS and software vendors, overseas subsidiaries and group companies,
contracts (some lacking security or incident-notification clauses) and certifications (some
expired or expiring, relative to today).

`build_demo()` is idempotent: records are looked up by natural keys (organization slug,
supplier code, contact name, contract title, certification kind) and updated in place, so a
second run adds nothing and leaves no audit entry unless something really changed (dates
relative to today do change from one day to the next). Every registry write goes through
renkei.suppliers.services.save_record with Actor.system("demo"), so the audit trail is real.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from renkei.accounts.models import Membership, Organization, User
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.demo_data import (
    CERTIFICATIONS,
    CONTACTS,
    CONTRACTS,
    STAFF,
    SUPPLIER_PASSWORD,
    SUPPLIERS,
)
from renkei.core.permissions import SUPPLIER_ROLE
from renkei.deliveries.demo import build_demo_deliveries
from renkei.graph.demo import build_demo_map
from renkei.incidents.demo import build_demo_incident
from renkei.monitoring.demo import build_demo_monitoring
from renkei.oversight.demo import build_demo_oversight
from renkei.remediation.demo import build_demo_remediation
from renkei.risk.demo import build_demo_risk
from renkei.suppliers.choices import CertificationKind, ReOutsourcing
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.services import save_record
from renkei.suppliers.validators import corporate_number_check_digit

ORG_SLUG = "minato"
ORG_NAME = "株式会社みなと精機"
ORG_NAME_EN = "Minato Seiki Co., Ltd."


def corporate_number(seed: str) -> str:
    """A well-formed 法人番号 (valid check digit) derived from SEED, stable between runs."""
    digest = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    base12 = f"{digest % 10**12:012d}"
    return f"{corporate_number_check_digit(base12)}{base12}"


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    supplier: str | None
    name: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "password": self.password,
            "role": self.role,
            "supplier": self.supplier,
        }


SHORT_KIND = {
    CertificationKind.ISMS: 3 * 365,
    CertificationKind.PMARK: 2 * 365,
    CertificationKind.SOC2: 365,
    CertificationKind.ISMAP: 2 * 365,
    CertificationKind.CS_MARK: 2 * 365,
}


def _apply(actor: Actor, instance: Any, values: dict[str, Any], **kwargs: Any) -> Any:
    """Set VALUES on INSTANCE and save through the audited service."""
    for name, value in values.items():
        setattr(instance, name, value)
    return save_record(actor, instance, **kwargs)


def _organization(actor: Actor) -> Organization:
    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is None:
        org = Organization.objects.create(
            slug=ORG_SLUG,
            name=ORG_NAME,
            name_en=ORG_NAME_EN,
            corporate_number=corporate_number("minato-seiki"),
        )
        record_many(
            actor,
            [
                PendingEntry(
                    AuditEntry.Action.CREATE, org, None, snapshot(org), organization_id=org.id
                )
            ],
        )
    return org


def _user(username: str, password: str, display_name: str, email: str) -> User:
    user = User.objects.filter(username=username).first() or User(username=username)
    user.display_name = display_name
    user.email = email
    user.is_active = True
    user.language = "ja"
    user.set_password(password)  # reset on every run, so the printed logins always work
    user.save()
    return user


def _suppliers(actor: Actor, org: Organization, today: datetime.date) -> dict[str, Supplier]:
    existing = {s.code: s for s in Supplier.objects.filter(organization=org)}
    result: dict[str, Supplier] = {}
    for spec in SUPPLIERS:  # parents come before their subcontractors in the list
        supplier = existing.get(spec.code) or Supplier(organization=org, code=spec.code)
        _apply(
            actor,
            supplier,
            {
                "name": spec.name,
                "name_kana": spec.kana,
                "relationship": spec.relationship,
                "chain_type": spec.chain,
                "business_function": spec.function,
                "tier": spec.tier,
                "subcontracted_by": result[spec.parent] if spec.parent else None,
                "country": spec.country,
                "access_methods": spec.access,
                "data_classes": spec.data,
                "personal_info_records": spec.pi,
                "export_controlled": spec.export,
                "notes": spec.notes,
                "corporate_number": corporate_number(spec.code) if spec.domestic_number else "",
            },
            tags=spec.tags,
        )
        result[spec.code] = supplier
    return result


def _children(
    actor: Actor, suppliers: dict[str, Supplier], today: datetime.date
) -> list[DemoLogin]:
    logins: list[DemoLogin] = []
    seen: set[str] = set()
    for code, name, dept, title, email, phone, username in CONTACTS:
        is_primary = code not in seen  # the first contact listed for a supplier
        seen.add(code)
        supplier = suppliers[code]
        contact = Contact.objects.filter(supplier=supplier, name=name).first() or Contact(
            supplier=supplier, name=name
        )
        user = None
        if username:
            user = _user(username, SUPPLIER_PASSWORD, name, email)
            logins.append(DemoLogin(username, SUPPLIER_PASSWORD, SUPPLIER_ROLE, code, name))
        _apply(
            actor,
            contact,
            {
                "department": dept,
                "title": title,
                "email": email,
                "phone": phone,
                "is_primary": is_primary,
                "user": user,
                "portal_access": user is not None,
            },
        )
    for code, title, start, nda, security, re_out, audit, notify in CONTRACTS:
        supplier = suppliers[code]
        contract = Contract.objects.filter(supplier=supplier, title=title).first() or Contract(
            supplier=supplier, title=title
        )
        starts_on = today + datetime.timedelta(days=start)
        _apply(
            actor,
            contract,
            {
                "signed_on": starts_on - datetime.timedelta(days=14),
                "starts_on": starts_on,
                "ends_on": None,
                "has_nda": nda,
                "has_security_clause": security,
                "re_outsourcing": ReOutsourcing(re_out),
                "has_audit_right": audit,
                "has_incident_notification": notify,
            },
        )
    for code, kind, number, issuer, expires in CERTIFICATIONS:
        supplier = suppliers[code]
        cert = Certification.objects.filter(supplier=supplier, kind=kind).first() or Certification(
            supplier=supplier, kind=kind
        )
        expires_on = today + datetime.timedelta(days=expires) if expires is not None else None
        issued_on = (
            expires_on - datetime.timedelta(days=SHORT_KIND.get(kind, 365))
            if expires_on
            else today - datetime.timedelta(days=400)
        )
        _apply(
            actor,
            cert,
            {
                "number": number,
                "issuer": issuer,
                "issued_on": issued_on,
                "expires_on": expires_on,
                "scope": "全社"
                if kind != "isms"
                else "本社及び主要事業所における情報システムの運用",
            },
        )
    return logins


def build_demo(today: datetime.date | None = None) -> list[DemoLogin]:
    """Create or refresh the demo organization, users and registry. Returns the logins.

    Mails the build sends (the demo incident's acknowledgement and partner notices) go to Django's
    in-memory backend, including those sent when the transaction commits: the demo's addresses
    are fictional and a demo machine has no mail server. The served demo sends for real."""
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        return _build_demo(today)


@transaction.atomic
def _build_demo(today: datetime.date | None) -> list[DemoLogin]:
    today = today or timezone.localdate()
    actor = Actor.system("demo")
    org = _organization(actor)
    logins: list[DemoLogin] = []
    for username, password, role, display_name, email in STAFF:
        user = _user(username, password, display_name, email)
        membership, created = Membership.objects.get_or_create(
            user=user, organization=org, defaults={"role": role}
        )
        before = None if created else snapshot(membership)
        if membership.role != role:
            membership.role = role
            membership.save(update_fields=["role", "updated_at"])
        if created or before != snapshot(membership):
            action = AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE
            record_many(
                actor,
                [
                    PendingEntry(
                        action, membership, before, snapshot(membership), organization_id=org.id
                    )
                ],
            )
        logins.append(DemoLogin(username, password, str(role), None, display_name))
    suppliers = _suppliers(actor, org, today)
    logins.extend(_children(actor, suppliers, today))
    _assessments(actor, org, suppliers, today)
    _crosswalk_demo(actor, org, suppliers, today)
    build_demo_oversight(org, today)
    build_demo_remediation(org, today)
    build_demo_map(org, actor, suppliers, corporate_number("tokai-seimitsu-techno"))
    build_demo_deliveries(org)
    build_demo_risk(org)
    build_demo_monitoring(org, today)
    build_demo_incident(org, today)
    return logins


# Demo questionnaires: (supplier code, stage, answers that differ from ○). Stages show every
# status a buyer meets: approved, submitted with a critical ×, in progress, not started.
DEMO_ASSESSMENTS = [
    ("S-1001", "approved", {"S-04": "△", "S-13": "△"}),
    ("S-2006", "submitted", {"S-07": "×", "S-12": "×", "S-03": "△", "P-04": "該当なし"}),
    ("S-3001", "in_progress", {"S-06": "×", "S-09": "△"}),
    ("S-5001", "not_started", {}),
]


def _assessments(
    actor: Actor, org: Organization, suppliers: dict[str, Supplier], today: datetime.date
) -> None:
    """The built-in sheet sent to four suppliers, once (a rerun leaves them as they are)."""
    from renkei.questionnaires import assessments_services as assessments
    from renkei.questionnaires.models import Assessment

    template = assessments.latest_template(org.id, "scrm-sheet")
    if template is None:  # built-in templates are loaded after migrate; nothing to send without
        return
    items = list(template.items.order_by("order"))
    for code, stage, differing in DEMO_ASSESSMENTS:
        supplier = suppliers.get(code)
        if supplier is None or Assessment.objects.filter(supplier=supplier, template=template).exists():
            continue
        assessment = assessments.create_assessment(
            actor, supplier, template, due_on=today + datetime.timedelta(days=30)
        )
        if stage == "not_started":
            continue
        answers: dict[str, Any] = {}
        for item in items:
            if item.answer_type == "certificate" and item.item_id == "C-02":
                expiry = today + datetime.timedelta(days=400)
                answers[item.item_id] = {"held": True, "number": "IS 700123", "expires_on": expiry}
            elif item.answer_type == "certificate":
                answers[item.item_id] = {"held": False}
            elif item.answer_type == "tri_state":
                answers[item.item_id] = differing.get(item.item_id, "○")
        if stage == "in_progress":
            answers = dict(list(answers.items())[:12])
        assessments.save_answers(actor, assessment, answers)
        if stage in ("submitted", "approved"):
            assessments.submit(actor, assessment)
        if stage == "approved":
            assessments.approve(actor, assessment)


# みなと精機's old Excel check sheet as its own template, a crosswalk from it to the built-in
# sheet, and S-5001's approved answers to it: S-5001's new sheet (not started) then offers
# 「前回・対応表から入力」 in every section.
DEMO_FILES = Path(__file__).resolve().parent / "demo_files"
OLD_SHEET_SUPPLIER = "S-5001"
OLD_SHEET_ANSWERS: dict[str, Any] = {
    "1-1": "○", "1-2": "はい", "1-3": "はい", "1-4": "△", "1-5": "はい", "2-1": "はい",
    "2-2": "○", "2-3": "△", "2-4": "はい", "2-5": "○", "2-6": "○",
    "3-2": "ISMS の適用範囲は本社およびデータセンター運用部門",
}


def _crosswalk_demo(
    actor: Actor, org: Organization, suppliers: dict[str, Supplier], today: datetime.date
) -> None:
    from renkei.questionnaires import assessments_services as assessments
    from renkei.questionnaires.crosswalks import load_crosswalk_file
    from renkei.questionnaires.models import Assessment, Template
    from renkei.questionnaires.services import load_template_file

    if not Template.objects.filter(organization__isnull=True, key="scrm-sheet").exists():
        return  # the crosswalk names the built-in sheet, loaded after migrate
    template = load_template_file(DEMO_FILES / "minato-2025.yaml", organization=org,
                                  actor=actor).template
    load_crosswalk_file(DEMO_FILES / "minato-2025-to-scrm.yaml", organization=org, actor=actor)
    supplier = suppliers.get(OLD_SHEET_SUPPLIER)
    if supplier is None or Assessment.objects.filter(supplier=supplier,
                                                     template__key=template.key).exists():
        return
    assessment = assessments.create_assessment(actor, supplier, template)
    answers = {**OLD_SHEET_ANSWERS, "3-1": {
        "held": True, "kind": "ISMS", "number": "IS 501234",
        "expires_on": today + datetime.timedelta(days=610)}}
    assessments.save_answers(actor, assessment, answers)
    assessments.submit(actor, assessment)
    assessments.approve(actor, assessment)
