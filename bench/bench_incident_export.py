"""Server time of exporting one incident with a long timeline as Excel and as PDF.

    python bench/bench_incident_export.py [--events 1000] [--repeat 5] [--save DIR] [--database-url URL]

Records an incident like seed 003 (a supplier's mail server taken over, spoofed invoice mails)
through the services, so it has its obligations, then adds EVENTS timeline events of varied
length (one line, a few lines, every 50th a 2,000-character paste). Downloads
/incidents/<id>/export.xlsx and export.pdf REPEAT times each as the organization's admin with
django.test.Client in-process (access check, queries, rendering) and prints the median and p95
(and the median CPU time of the process, which other load on the machine disturbs less), the file
sizes and the PDF's page count. --save DIR keeps the two files to look at.
Target: < 3 s of CPU for each file at 1,000 events.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import time
from pathlib import Path

from common import bench_organization, parser, setup_django, summary_ms

TARGET_MS = 3000
LINES = [
    "取引先から偽の請求書メールを受信したとの連絡あり。",
    "メールヘッダーを確認。送信元は東海精密部品のメールサーバー（SPF は pass）。\n送信時刻 02:14。",
    "CSIRT 会議: 影響範囲の調査を継続。\n- 送信先リストの特定\n- 振込の有無の確認\n- 委員会への速報の準備",
]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--save", type=Path, default=None)
    args = p.parse_args()
    db = setup_django(args.database_url)

    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django.utils import timezone

    from renkei.accounts.models import Membership, User
    from renkei.audit.services import Actor
    from renkei.core.permissions import Role
    from renkei.incidents import services
    from renkei.incidents.models import Event, EventKind
    from renkei.suppliers.models import Supplier

    setup_test_environment()  # lets the test client's host in
    org = bench_organization("bench-incidents")
    user, _ = User.objects.get_or_create(username="bench-incidents-admin")
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.ADMIN})
    code = f"BI{int(time.time())}"
    supplier = Supplier.objects.create(organization=org, code=code, name=f"ベンチ精密部品 {code}")
    now = timezone.localtime()
    incident = services.record_incident(
        Actor(user=user, label=user.username),
        org,
        {
            "supplier": supplier.pk,
            "title": "取引先メールサーバーの乗っ取りと偽請求書メール",
            "description": "取引先のメールサーバーが乗っ取られ、同社名義の偽の請求書メールが送信された。",
            "detected_at": (now - datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "aware_at": (now - datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "data_text": "取引担当者の氏名、メールアドレス",
            "personal_data": "on",
            "persons_affected": "1500",
        },
    )
    start = now - datetime.timedelta(days=2)
    Event.objects.bulk_create(
        Event(
            incident=incident,
            at=start + datetime.timedelta(minutes=i),
            kind=EventKind.NOTE,
            user=user,
            actor_label=user.username,
            text=("ログ抜粋: " + "認証失敗 user=admin src=203.0.113.7; " * 60)[:2000]
            if i % 50 == 0
            else f"{i}: {LINES[i % len(LINES)]}",
            attachment_name="mail-headers.eml" if i % 100 == 0 else "",
        )
        for i in range(args.events)
    )
    print(
        f"database: {db}; incident {incident.number} with "
        f"{Event.objects.filter(incident=incident).count()} timeline events, "
        f"{incident.obligations.count()} obligations; {args.repeat} downloads per format"
    )

    client = Client()
    client.force_login(user)
    for fmt, route in (("xlsx", "incidents:export-xlsx"), ("pdf", "incidents:export-pdf")):
        url = reverse(route, args=[incident.pk])
        samples: list[float] = []
        cpu: list[float] = []
        body = b""
        for _ in range(args.repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            samples.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            assert response.status_code == 200, response.status_code
            body = response.content
        median, p95 = summary_ms(samples)
        extra = ""
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{incident.number}.{fmt}").write_bytes(body)
        if fmt == "pdf" and shutil.which("pdfinfo"):
            info = subprocess.run(["pdfinfo", "-"], input=body, capture_output=True, check=True).stdout
            pages = next(x for x in info.decode().splitlines() if x.startswith("Pages:")).split()[1]
            extra = f", {pages} pages"
        # Judged on CPU time: the wall clock on a shared 2-core machine mostly measures the others.
        verdict = "ok" if summary_ms(cpu)[0] < TARGET_MS else "SLOW"
        print(
            f"{fmt}: median {median:.0f} ms, p95 {p95:.0f} ms (CPU median {summary_ms(cpu)[0]:.0f} ms), "
            f"{len(body) / 1024:.0f} KiB{extra} "
            f"(target < {TARGET_MS} ms CPU: {verdict})"
        )


if __name__ == "__main__":
    main()
