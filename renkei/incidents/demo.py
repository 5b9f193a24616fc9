"""The demo incident, shaped like the seed 003 case.

北陸物流 (S-3001)'s mail server is taken over: the attacker reads its address books and sends
spoofed invoice and payment mails with malware attachments, in 北陸物流's name, to its partners.
Its contact reported it in the portal three days ago; the analyst has triaged it (mail account
takeover, high, unauthorized access, personal data of 3,200 people in the address books), so the
rules require the PPC's preliminary report (already late in the demo: red on the dashboard) and
the final report within 60 days; the partners who may receive the spoofed mails were told at the
"notice" level and one of them has acknowledged. Idempotent: nothing is made when the incident
exists.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from renkei.accounts.models import User
from renkei.audit.services import Actor
from renkei.incidents import services
from renkei.incidents.models import EventKind, Incident, Status

SUPPLIER = "S-3001"
TITLE = "メールサーバーの乗っ取りと請求書を装うなりすましメール"
# The partners the spoofed mails went to, by supplier code.
PARTNERS = ("S-1001", "S-1002", "S-2001")


def build_demo_incident(organization: Any, today: datetime.date | None = None) -> Incident | None:
    from renkei.suppliers.models import Supplier

    supplier = Supplier.objects.filter(organization=organization, code=SUPPLIER).first()
    if supplier is None:
        return None
    existing = Incident.objects.filter(organization=organization, supplier=supplier, title=TITLE).first()
    if existing is not None:
        return existing
    contact = supplier.contacts.filter(portal_access=True, user__isnull=False).select_related("user").first()
    analyst = User.objects.filter(username="analyst").first()
    reporter = Actor(user=contact.user if contact else None, label="demo")
    staff = Actor(user=analyst, label=str(analyst or "demo"))
    now = timezone.localtime()
    incident = services.report(
        reporter,
        supplier,
        {
            "title": TITLE,
            "description": (
                "当社のメールサーバー（Microsoft 365 ではなく自社運用の Postfix）に不正ログインされ、"
                "管理者アカウントのパスワードが盗まれていました。攻撃者は当社のアドレス帳を抜き取り、"
                "当社の名前で取引先に「請求書の送付」「振込先口座変更のお願い」を装うメールを送信しました。"
                "添付の Excel ファイルにはマルウェア（Emotet と思われる）が含まれています。"
            ),
            "detected_at": (now - datetime.timedelta(days=3, hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "systems_text": "自社メールサーバー（Postfix / Dovecot）、Webメール",
            "data_text": "アドレス帳（取引先担当者の氏名・メールアドレス・電話番号）、送受信メール",
            "personal_data": "on",
            "persons_affected": "3200",
            "current_state": (
                "メールサーバーをネットワークから切り離し、全アカウントのパスワードを変更しました。"
                "取引先への注意喚起は電話で一部実施済みです。"
            ),
        },
    )
    Incident.objects.filter(pk=incident.pk).update(aware_at=now - datetime.timedelta(days=3))
    incident.refresh_from_db()
    services.triage(
        staff,
        incident,
        {
            "status": Status.INVESTIGATING,
            "severity": "high",
            "category": "mail_takeover",
            "aware_at": timezone.localtime(incident.aware_at).strftime("%Y-%m-%dT%H:%M:%S"),
            "personal_data": "on",
            "persons_affected": "3200",
            "unauthorized_access": "on",
        },
    )
    services.add_event(
        staff,
        incident,
        kind=EventKind.DECISION,
        text="CSIRT 判断：個人情報保護委員会への速報を準備。取引先への注意喚起を優先する。",
    )
    services.add_event(
        staff,
        incident,
        kind=EventKind.MESSAGE,
        supplier_visible=True,
        text="メールサーバーのログ（認証ログ・送信ログ）を消さずに保全してください。",
    )
    _share(staff, incident)
    # The notice to partners is done; the 速報 has an owner and is late (red on the dashboard).
    from renkei.incidents.models import ObligationStatus

    for row in incident.obligations.filter(rule_id__in=["partners-share", "ppc-preliminary"]):
        done = row.rule_id == "partners-share"
        services.update_obligation(
            staff,
            row,
            status=ObligationStatus.DONE if done else ObligationStatus.OPEN,
            owner=analyst,
            note="取引先3社に注意喚起を送信済み。" if done else "報告様式の記入中。",
        )
    return incident


def _share(actor: Actor, incident: Incident) -> None:
    """Tell the partners at the notice level; one of them has acknowledged."""
    from renkei.incidents import sharing
    from renkei.incidents.models import Detail, Recipient
    from renkei.suppliers.models import Supplier

    partners = list(
        Supplier.objects.filter(organization_id=incident.organization_id, code__in=PARTNERS).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        share = sharing.share(
            actor,
            incident,
            detail=Detail.NOTICE,
            supplier_ids=partners,
            extra_recipients="",
            message=(
                "北陸物流株式会社の名前で、請求書や振込先口座の変更を装うメールが届く可能性があります。"
                "添付ファイルを開かず、口座変更の依頼は必ず電話で確認してください。"
            ),
        )
    first = Recipient.objects.filter(share=share).order_by("pk").first()
    if first is not None:
        sharing.acknowledge(first, name=first.name, address="192.0.2.10")
