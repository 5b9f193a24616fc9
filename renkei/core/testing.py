"""The shared test world: one fixed user per role and suppliers on both sides of every boundary.

- Organization `buyer` with admin, analyst, auditor; suppliers S1 and S2, each with a portal
  contact (supplier1, supplier2).
- Organization `other` with its own admin (outsider) and supplier X1 with a contact (xcontact).
So every access rule is a one-line test: `client_for(world.supplier1)` must 404 on S2's page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from renkei.accounts.models import Membership, Organization, User
from renkei.core.permissions import Role
from renkei.suppliers.choices import AccessMethod, BusinessFunction, CertificationKind, DataClass
from renkei.suppliers.models import Certification, Contact, Contract, Supplier

PASSWORD = "correct-horse-battery-9"


@dataclass
class World:
    buyer: Organization
    other: Organization
    admin: User
    analyst: User
    auditor: User
    supplier1: User
    supplier2: User
    outsider: User
    xcontact: User
    s1: Supplier
    s2: Supplier
    x1: Supplier
    nobody: User  # authenticated, no membership and no contact


def tamper(sql: str, params: list[Any]) -> None:
    """Change rows as an attacker with database access would, bypassing the PostgreSQL trigger
    that keeps audit entries append-only. For tests of `renkei audit verify` only."""
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = origin")


def make_user(username: str, **extra: Any) -> User:
    user = User(username=username, email=f"{username}@example.jp", **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def build_world() -> World:
    buyer = Organization.objects.create(name="連携製作所", name_en="Renkei Works", slug="buyer")
    other = Organization.objects.create(name="他社工業", name_en="Other Industries", slug="other")
    users = {
        name: make_user(name)
        for name in (
            "admin",
            "analyst",
            "auditor",
            "supplier1",
            "supplier2",
            "outsider",
            "xcontact",
            "nobody",
        )
    }
    Membership.objects.create(user=users["admin"], organization=buyer, role=Role.ADMIN)
    Membership.objects.create(user=users["analyst"], organization=buyer, role=Role.ANALYST)
    Membership.objects.create(user=users["auditor"], organization=buyer, role=Role.AUDITOR)
    Membership.objects.create(user=users["outsider"], organization=other, role=Role.ADMIN)
    s1 = Supplier.objects.create(
        organization=buyer,
        code="S1",
        name="東海精密部品株式会社",
        name_kana="トウカイセイミツブヒン",
        corporate_number="7000012050002",
        business_function=BusinessFunction.PRODUCTION,
        access_methods=[AccessMethod.VPN],
        data_classes=[DataClass.TECHNICAL],
        personal_info_records=1200,
    )
    s2 = Supplier.objects.create(
        organization=buyer,
        code="S2",
        name="北陸物流株式会社",
        name_kana="ホクリクブツリュウ",
        business_function=BusinessFunction.LOGISTICS,
    )
    x1 = Supplier.objects.create(organization=other, code="X1", name="他社の取引先株式会社")
    Contact.objects.create(
        supplier=s1,
        name="佐藤 一郎",
        email="sato@s1.example.jp",
        user=users["supplier1"],
        portal_access=True,
        is_primary=True,
    )
    Contact.objects.create(
        supplier=s2,
        name="鈴木 花子",
        email="suzuki@s2.example.jp",
        user=users["supplier2"],
        portal_access=True,
        is_primary=True,
    )
    Contact.objects.create(
        supplier=x1, name="高橋 次郎", user=users["xcontact"], portal_access=True
    )
    Contract.objects.create(
        supplier=s1, title="取引基本契約", has_nda=True, starts_on=datetime.date(2024, 4, 1)
    )
    Contract.objects.create(supplier=s2, title="物流委託契約", has_nda=True)
    Certification.objects.create(
        supplier=s1,
        kind=CertificationKind.ISMS,
        number="IS 123456",
        expires_on=datetime.date(2030, 3, 31),
    )
    Certification.objects.create(
        supplier=s2,
        kind=CertificationKind.PMARK,
        number="10820123(05)",
        expires_on=datetime.date(2020, 3, 31),
    )
    return World(buyer=buyer, other=other, s1=s1, s2=s2, x1=x1, **users)
