"""Remediation in the demo: S-1001 (東海精密部品, portal login `tokai`) has an agreed plan whose
supplier-side actions its contact works through in the portal; S-2006's × answers are register
candidates (raised by submitting its questionnaire), one of them confirmed and mitigated by an
action the supplier reports done, waiting for the analyst to verify. Idempotent: a plan is
looked up by supplier and title and left alone once it exists."""

from __future__ import annotations

import datetime
from typing import Any

from renkei.audit.services import Actor

TOKAI_PLAN = "是正計画 2026 上期（リモート接続と教育）"
TOKAI_ACTIONS = [
    # (title, description, owner side, days until due, status)
    (
        "VPN 装置のファームウェアを最新版に更新する",
        "既知の脆弱性が公表されている版を使用中。更新後、版数が分かる画面の写しを証跡として添付してください。",
        "supplier",
        30,
        "open",
    ),
    (
        "VPN 接続に多要素認証を導入する",
        "当社への接続に使うアカウントすべてが対象です。",
        "supplier",
        60,
        "open",
    ),
    (
        "標的型メール訓練を全従業員に実施する",
        "実施日・対象者数・開封率の報告書を添付してください。",
        "supplier",
        -7,
        "in_progress",
    ),
    ("当社側 VPN の接続元 IP アドレスを東海精密部品の拠点に限定する", "", "buyer", 14, "open"),
]
S2006_PLAN = "是正計画（アクセス管理）"


def build_demo_remediation(organization: Any, today: datetime.date | None = None) -> None:
    from django.utils import timezone

    from renkei.accounts.models import User
    from renkei.remediation import services
    from renkei.remediation.models import RemediationPlan
    from renkei.risk import register
    from renkei.risk.choices import RiskStatus
    from renkei.risk.models import Risk
    from renkei.suppliers.models import Supplier

    today = today or timezone.localdate()
    actor = Actor.system("demo")
    analyst = User.objects.filter(username="analyst").first()
    tokai = Supplier.objects.filter(organization=organization, code="S-1001").first()
    if tokai is not None and not RemediationPlan.objects.filter(supplier=tokai, title=TOKAI_PLAN).exists():
        plan = services.create_plan(
            actor, tokai, title=TOKAI_PLAN, due_on=today + datetime.timedelta(days=90)
        )
        for title, description, side, days, status in TOKAI_ACTIONS:
            action = services.add_action(
                actor,
                plan,
                {
                    "title": title,
                    "description": description,
                    "owner_side": side,
                    "owner": analyst.pk if side == "buyer" and analyst else None,
                    "owner_name": "佐藤 一郎" if side == "supplier" else "",
                    "due_on": today + datetime.timedelta(days=days),
                    "source": "review",
                },
            )
            if status != "open":
                services.report_progress(actor, action, status=status)
        services.agree_plan(actor, plan)
    supplier = Supplier.objects.filter(organization=organization, code="S-2006").first()
    if supplier is None or RemediationPlan.objects.filter(supplier=supplier, title=S2006_PLAN).exists():
        return
    risk = (
        Risk.objects.filter(supplier=supplier, status=RiskStatus.CANDIDATE, item__isnull=False)
        .select_related("item")
        .order_by("item__order")
        .first()
    )
    if risk is None:
        return
    register.confirm(actor, risk, inherent_likelihood=4, owner=analyst)
    plan = services.create_plan(actor, supplier, title=S2006_PLAN, due_on=today + datetime.timedelta(days=60))
    action = services.add_action(
        actor,
        plan,
        {
            "title": f"{risk.item.item_id} の対策を実施する",
            "owner_side": "supplier",
            "due_on": today + datetime.timedelta(days=20),
            "source": "risk",
        },
        risk=risk,
    )
    register.update(actor, risk, {"treatment": "mitigate"})
    services.agree_plan(actor, plan)
    services.report_progress(
        actor, action, status="done", completion_note="規程を改訂し、全従業員に周知しました。"
    )
