"""Generate realistic suppliers for one organization, fast.

    python bench/generate.py 50000 [--organization bench] [--database-url URL]

Writes with bulk_create, NOT through renkei.suppliers.services: no validation and no audit
entries, because a benchmark needs 50,000 rows in seconds, not the ~10 minutes the audited
one-by-one path takes. Use it for benchmarks and load tests only, never for real data. The
rows are still valid: Japanese names with kana, unique codes, 法人番号 with correct check
digits, subcontracting chains whose tiers are parent tier + 1, tags and certifications.
"""

from __future__ import annotations

import datetime
import random
import time
from typing import Any

from common import bench_organization, parser, setup_django

PLACES = [
    ("東海", "トウカイ"),
    ("北陸", "ホクリク"),
    ("関東", "カントウ"),
    ("信州", "シンシュウ"),
    ("三河", "ミカワ"),
    ("浜松", "ハママツ"),
    ("大阪", "オオサカ"),
    ("九州", "キュウシュウ"),
    ("東北", "トウホク"),
    ("中部", "チュウブ"),
    ("湘南", "ショウナン"),
    ("京浜", "ケイヒン"),
    ("北海道", "ホッカイドウ"),
    ("瀬戸内", "セトウチ"),
    ("富士", "フジ"),
    ("みなと", "ミナト"),
    ("さくら", "サクラ"),
    ("日本", "ニホン"),
    ("新潟", "ニイガタ"),
    ("岡山", "オカヤマ"),
]
BUSINESSES = {
    "procurement": [
        ("精密部品", "セイミツブヒン"),
        ("金属工業", "キンゾクコウギョウ"),
        ("樹脂", "ジュシ"),
        ("電子デバイス", "デンシデバイス"),
        ("ベアリング", "ベアリング"),
    ],
    "production": [
        ("精工", "セイコウ"),
        ("製作所", "セイサクショ"),
        ("プレス", "プレス"),
        ("熱処理", "ネツショリ"),
        ("メッキ工業", "メッキコウギョウ"),
    ],
    "logistics": [
        ("物流", "ブツリュウ"),
        ("運送", "ウンソウ"),
        ("倉庫", "ソウコ"),
        ("トランスポート", "トランスポート"),
    ],
    "sales": [("商事", "ショウジ"), ("販売", "ハンバイ"), ("マシナリー", "マシナリー")],
    "it_operations": [
        ("システムサービス", "システムサービス"),
        ("ネットワーク", "ネットワーク"),
        ("データセンター", "データセンター"),
    ],
    "development": [("ソフトウェア", "ソフトウェア"), ("システム開発", "システムカイハツ")],
    "cloud": [("クラウド", "クラウド"), ("ITソリューションズ", "アイティーソリューションズ")],
    "maintenance": [("設備", "セツビ"), ("エンジニアリング", "エンジニアリング")],
    "professional": [("会計事務所", "カイケイジムショ"), ("人材サービス", "ジンザイサービス")],
    "other": [("警備保障", "ケイビホショウ"), ("ビルサービス", "ビルサービス")],
}
FORMS = [
    ("株式会社", "front", 0.45),
    ("株式会社", "back", 0.40),
    ("有限会社", "front", 0.1),
    ("合同会社", "front", 0.05),
]
FUNCTION_WEIGHTS = {
    "procurement": 30,
    "production": 25,
    "logistics": 12,
    "sales": 10,
    "it_operations": 6,
    "development": 5,
    "cloud": 4,
    "maintenance": 4,
    "professional": 3,
    "other": 1,
}
CHAIN = {
    "it_operations": "service",
    "cloud": "service",
    "maintenance": "service",
    "professional": "service",
    "other": "service",
    "development": "software",
}
COUNTRIES = [("JP", 90), ("CN", 3), ("VN", 2), ("TH", 2), ("US", 1), ("TW", 1), ("KR", 1)]
TIER_WEIGHTS = [(1, 70), (2, 20), (3, 8), (4, 2)]
TAGS = [
    "重要取引先",
    "単一調達先",
    "個人情報",
    "特権アクセス",
    "輸出管理",
    "海外",
    "再委託あり",
    "IT委託",
    "クラウド",
    "グループ会社",
]
DATA_CLASSES = ["technical", "customer", "personnel", "financial", "sales_info", "production_plan"]
ACCESS = ["shared_system", "vpn", "remote_desktop", "api", "onsite"]
CERTS = [
    ("isms", 30),
    ("pmark", 20),
    ("security_action_1", 20),
    ("security_action_2", 15),
    ("cs_mark", 5),
    ("soc2", 5),
    ("ismap", 5),
]


def pick(rng: random.Random, weighted: list[tuple[Any, int]] | dict[Any, int]) -> Any:
    items = list(weighted.items()) if isinstance(weighted, dict) else weighted
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def corporate_number(serial: int) -> str:
    from renkei.suppliers.validators import corporate_number_check_digit

    base12 = f"{7_000_000_000_000 // 10 + serial * 37:012d}"[-12:]
    return f"{corporate_number_check_digit(base12)}{base12}"


def supplier_name(rng: random.Random, function: str) -> tuple[str, str]:
    place, place_kana = rng.choice(PLACES)
    core, core_kana = rng.choice(BUSINESSES[function])
    form, position = rng.choices([(f, p) for f, p, _ in FORMS], [w for *_, w in FORMS])[0]
    name = f"{form}{place}{core}" if position == "front" else f"{place}{core}{form}"
    return name, f"{place_kana}{core_kana}"


def generate(organization: Any, count: int, seed: int = 20260401) -> int:
    """Add COUNT suppliers to ORGANIZATION; returns how many were created."""
    from django.db import transaction

    from renkei.suppliers.models import Certification, Supplier, Tag

    rng = random.Random(seed + Supplier.objects.filter(organization=organization).count())
    start = Supplier.objects.filter(organization=organization).count()
    tags = {t.name: t for t in Tag.objects.filter(organization=organization)}
    for name in TAGS:
        if name not in tags:
            tags[name] = Tag.objects.create(organization=organization, name=name)
    today = datetime.date.today()
    with transaction.atomic():
        by_tier: dict[int, list[int]] = {}
        for tier in (1, 2, 3, 4):
            ids = Supplier.objects.filter(organization=organization, tier=tier)
            by_tier[tier] = list(ids.values_list("id", flat=True)[:5000])
        planned: dict[int, list[Supplier]] = {1: [], 2: [], 3: [], 4: []}
        for i in range(start, start + count):
            function = pick(rng, FUNCTION_WEIGHTS)
            name, kana = supplier_name(rng, function)
            tier = pick(rng, TIER_WEIGHTS)
            country = pick(rng, COUNTRIES)
            planned[tier].append(
                Supplier(
                    organization=organization,
                    code=f"B{i + 1:06d}",
                    name=name,
                    name_kana=kana,
                    corporate_number=corporate_number(organization.id * 1_000_000 + i)
                    if country == "JP"
                    else "",
                    country=country,
                    relationship="subcontractor"
                    if tier > 1
                    else pick(
                        rng,
                        {"supplier": 60, "contractor": 30, "group": 7, "overseas_subsidiary": 3},
                    ),
                    chain_type=CHAIN.get(function, "business"),
                    tier=tier,
                    business_function=function,
                    personal_info_records=rng.choice([0, 0, 0, 120, 1500, 30000]),
                    data_classes=rng.sample(DATA_CLASSES, rng.choice([0, 1, 1, 2])),
                    export_controlled=rng.random() < 0.05,
                    access_methods=rng.sample(ACCESS, rng.choice([0, 0, 0, 1, 2])),
                )
            )
        created: list[Supplier] = []
        for tier in (1, 2, 3, 4):
            rows = planned[tier]
            for row in rows:
                parents = by_tier.get(tier - 1) or []
                if tier > 1 and not parents:  # no parent available yet: make it tier 1
                    row.tier, row.relationship = 1, "supplier"
                elif tier > 1:
                    row.subcontracted_by_id = rng.choice(parents)
            Supplier.objects.bulk_create(rows, batch_size=2000)
            # bulk_create sets pks on SQLite >= 3.35 and PostgreSQL.
            by_tier[tier] = by_tier.get(tier, []) + [r.pk for r in rows][:5000]
            created.extend(rows)
        through = Supplier.tags.through
        links = [
            through(supplier_id=s.pk, tag_id=tags[name].pk)
            for s in created
            for name in rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2, 3]))
        ]
        through.objects.bulk_create(links, batch_size=5000)
        certs = []
        for s in created:
            if rng.random() < 0.55:
                kind = pick(rng, CERTS)
                expires = today + datetime.timedelta(days=rng.randint(-200, 900))
                certs.append(
                    Certification(
                        supplier_id=s.pk,
                        kind=kind,
                        expires_on=expires,
                        issued_on=expires - datetime.timedelta(days=730),
                        number=f"10{rng.randint(800000, 899999)}({rng.randint(1, 12):02d})"
                        if kind == "pmark"
                        else "",
                    )
                )
        Certification.objects.bulk_create(certs, batch_size=2000)
    return len(created)


def ensure_suppliers(organization: Any, wanted: int) -> int:
    """Top ORGANIZATION up to WANTED suppliers; returns how many were added."""
    from renkei.suppliers.models import Supplier

    have = Supplier.objects.filter(organization=organization).count()
    return generate(organization, wanted - have) if have < wanted else 0


def main() -> None:
    p = parser("Generate realistic suppliers for one organization (bulk, no audit trail).")
    p.add_argument("count", type=int)
    p.add_argument(
        "--organization", default="bench", help="Organization slug (created if missing)."
    )
    args = p.parse_args()
    db = setup_django(args.database_url)
    org = bench_organization(args.organization)
    started = time.perf_counter()
    created = generate(org, args.count)
    print(
        f"{db}: created {created} suppliers for {org.slug} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
