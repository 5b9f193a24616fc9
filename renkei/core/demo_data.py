"""The demo data of 株式会社みなと精機 (Minato Seiki): staff, suppliers, contacts, contracts and
certifications. Built into the database by renkei.core.demo.build_demo.

Names, e-mail domains (.example.jp) and numbers are invented. 法人番号 are computed with a
valid check digit from the supplier code; dates are offsets in days from today, so the
demo always shows certificates that have expired or expire within 60 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from renkei.core.permissions import Role

# fmt: off

STAFF = [
    # username, password, role, display name, e-mail
    ("admin", "demo-admin-2026", Role.ADMIN, "情報システム部 山田 太郎",
      "yamada@minato-seiki.example.jp"),
    ("analyst", "demo-analyst-2026", Role.ANALYST, "調達部 中村 美咲",
      "nakamura@minato-seiki.example.jp"),
    ("auditor", "demo-auditor-2026", Role.AUDITOR, "内部監査室 小林 健一",
      "kobayashi@minato-seiki.example.jp"),
]
SUPPLIER_PASSWORD = "demo-supplier-2026"


@dataclass
class S:
    """One demo supplier. Fields mirror renkei.suppliers.models.Supplier."""

    code: str
    name: str
    kana: str
    relationship: str
    chain: str
    function: str
    tier: int = 1
    parent: str | None = None
    country: str = "JP"
    access: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    pi: int = 0
    export: bool = False
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    domestic_number: bool = True


# 調達 → 生産 → 物流 → 販売, then the service and software chains. Parents before subcontractors.
SUPPLIERS: list[S] = [
    # 調達 (procurement): parts and materials
    S("S-1001", "東海精密部品株式会社", "トウカイセイミツブヒン", "supplier", "business",
      "procurement", access=["shared_system"], data=["technical", "production_plan"], export=True,
      tags=["重要取引先", "単一調達先", "輸出管理"],
      notes="主軸ユニット用精密部品の唯一の調達先。受発注システム(EDI)を共用。"),
    S("S-1002", "北関東金属工業株式会社", "キタカントウキンゾクコウギョウ", "supplier", "business",
      "procurement", data=["technical"], tags=["重要取引先"]),
    S("S-1003", "株式会社三河樹脂", "ミカワジュシ", "supplier", "business", "procurement",
      data=["technical"]),
    S("S-1004", "信州電子デバイス株式会社", "シンシュウデンシデバイス", "supplier", "business",
      "procurement", access=["shared_system"], data=["technical"], export=True,
      tags=["重要取引先", "輸出管理"]),
    S("S-1005", "大阪ベアリング販売株式会社", "オオサカベアリングハンバイ", "supplier", "business",
      "procurement"),
    S("S-1006", "株式会社浜松ダイカスト", "ハママツダイカスト", "supplier", "business",
      "procurement", data=["technical"], tags=["単一調達先"]),
    S("S-1007", "Siam Precision Castings Co., Ltd.", "サイアムプレシジョンキャスティングス",
      "supplier", "business", "procurement", country="TH", data=["technical"], tags=["海外"],
      domestic_number=False),
    S("S-1008", "Shenzhen Huaxin Electronics Co., Ltd.", "シンセンファシンエレクトロニクス",
      "supplier", "business", "procurement", country="CN", data=["technical"],
      tags=["海外", "輸出管理"], domestic_number=False),
    # 生産 (production): contract manufacturing and its subcontractors
    S("S-2001", "株式会社北陸精工", "ホクリクセイコウ", "contractor", "business", "production",
      access=["vpn"], data=["technical", "production_plan"], export=True,
      tags=["重要取引先", "再委託あり", "輸出管理"],
      notes="主軸ハウジングの加工を委託。図面をVPN経由のファイルサーバで共有。"),
    S("S-2002", "有限会社岡田製作所", "オカダセイサクショ", "subcontractor", "business",
      "production", tier=2, parent="S-2001", data=["technical"], tags=["再委託あり"],
      notes="北陸精工からの再委託先(研削加工)。従業員12名。"),
    S("S-2003", "株式会社小林メッキ工業", "コバヤシメッキコウギョウ", "subcontractor", "business",
      "production", tier=3, parent="S-2002", data=["technical"],
      notes="岡田製作所からの再々委託先(表面処理)。"),
    S("S-2004", "株式会社東北プレス", "トウホクプレス", "contractor", "business", "production",
      data=["technical", "production_plan"], tags=["再委託あり"]),
    S("S-2005", "株式会社中部熱処理", "チュウブネツショリ", "subcontractor", "business",
      "production", tier=2, parent="S-2004", data=["technical"]),
    S("S-2006", "MINATO SEIKI VIETNAM CO., LTD.", "ミナトセイキベトナム", "overseas_subsidiary",
      "business", "production", country="VN", access=["vpn", "shared_system"],
      data=["technical", "production_plan", "personnel"], pi=850, export=True,
      tags=["海外", "グループ会社", "特権アクセス", "輸出管理"],
      notes="ハノイ工場。本社の生産管理システムと基幹ネットワークにVPNで常時接続。",
      domestic_number=False),
    S("S-2007", "MINATO SEIKI (THAILAND) CO., LTD.", "ミナトセイキタイランド",
      "overseas_subsidiary", "business", "production", country="TH", access=["vpn"],
      data=["technical", "production_plan"], pi=420, tags=["海外", "グループ会社"],
      domestic_number=False),
    S("S-2008", "株式会社みなと精機九州", "ミナトセイキキュウシュウ", "group", "business",
      "production", access=["shared_system", "vpn"],
      data=["technical", "production_plan", "personnel"], pi=310, tags=["グループ会社"]),
    S("S-2009", "株式会社メンテック設備", "メンテックセツビ", "contractor", "service",
      "maintenance", access=["remote_desktop", "onsite"], data=["technical"],
      tags=["特権アクセス"],
      notes="工作機械・PLCの保守。保守用リモートデスクトップで工場ネットワークに接続。"),
    # 物流 (logistics)
    S("S-3001", "北陸物流株式会社", "ホクリクブツリュウ", "contractor", "business", "logistics",
      access=["api"], data=["customer", "production_plan"], pi=5200,
      tags=["重要取引先", "個人情報"], notes="出荷指示をAPI連携。納品先の担当者情報を保有。"),
    S("S-3002", "株式会社関東トランスポート", "カントウトランスポート", "contractor", "business",
      "logistics", data=["customer"], pi=1800, tags=["再委託あり"]),
    S("S-3003", "有限会社丸山運送", "マルヤマウンソウ", "subcontractor", "business", "logistics",
      tier=2, parent="S-3002", data=["customer"], pi=600),
    S("S-3004", "みなとロジスティクス株式会社", "ミナトロジスティクス", "group", "business",
      "logistics", access=["shared_system"], data=["customer", "sales_info"], pi=9000,
      tags=["グループ会社", "個人情報"]),
    S("S-3005", "株式会社ベイエリア倉庫", "ベイエリアソウコ", "contractor", "business",
      "logistics", access=["onsite"], data=["production_plan"]),
    S("S-3006", "Pacific Gateway Logistics Pte. Ltd.", "パシフィックゲートウェイロジスティクス",
      "contractor", "business", "logistics", country="SG", data=["customer"], pi=300,
      tags=["海外"], domestic_number=False),
    # 販売 (sales)
    S("S-4001", "株式会社みなと精機販売", "ミナトセイキハンバイ", "group", "business", "sales",
      access=["shared_system", "vpn"], data=["customer", "sales_info"], pi=12000,
      tags=["グループ会社", "個人情報", "重要取引先"]),
    S("S-4002", "中部機械商事株式会社", "チュウブキカイショウジ", "supplier", "business", "sales",
      data=["customer", "sales_info"], pi=3400, tags=["個人情報"]),
    S("S-4003", "西日本マシナリー株式会社", "ニシニホンマシナリー", "supplier", "business",
      "sales", data=["sales_info"]),
    S("S-4004", "株式会社アドプラン", "アドプラン", "contractor", "service", "sales",
      data=["customer"], pi=45000, tags=["個人情報"],
      notes="展示会・メールマガジンの運営を委託。見込み客リストを預託。"),
    S("S-4005", "株式会社コールサポート北海道", "コールサポートホッカイドウ", "contractor",
      "service", "sales", access=["remote_desktop"], data=["customer"], pi=80000,
      tags=["個人情報", "特権アクセス"], notes="保守受付コールセンター。顧客管理システムに接続。"),
    # IT 委託 (IT outsourcing) and its 再委託 chain
    S("S-5001", "株式会社日本システムサービス", "ニホンシステムサービス", "contractor", "service",
      "it_operations", access=["vpn", "remote_desktop"],
      data=["customer", "personnel", "financial"], pi=15000,
      tags=["IT委託", "特権アクセス", "重要取引先", "再委託あり"],
      notes="基幹システム・社内ネットワークの運用保守。管理者権限でリモート接続。"),
    S("S-5002", "株式会社ネットワークソリューションズ東海", "ネットワークソリューションズトウカイ",
      "subcontractor", "service", "it_operations", tier=2, parent="S-5001",
      access=["remote_desktop"], data=["personnel"], tags=["IT委託", "特権アクセス", "再委託あり"],
      notes="日本システムサービスからの再委託(ネットワーク機器・VPN装置の保守)。"),
    S("S-5003", "合同会社ITサポートラボ", "アイティーサポートラボ", "subcontractor", "service",
      "it_operations", tier=3, parent="S-5002", access=["remote_desktop"], tags=["IT委託"],
      notes="夜間監視の再々委託先。従業員5名。"),
    S("S-5004", "株式会社データセンター横浜", "データセンターヨコハマ", "contractor", "service",
      "it_operations", access=["onsite"], data=["customer", "personnel", "financial"],
      tags=["IT委託"], notes="基幹サーバのハウジング。"),
    # Cloud / SaaS
    S("S-6001", "株式会社クラウドケア", "クラウドケア", "contractor", "service", "cloud",
      access=["api"], data=["personnel"], pi=1450, tags=["クラウド", "個人情報"],
      notes="勤怠・給与計算SaaS。"),
    S("S-6002", "Skyline CRM Inc.", "スカイラインシーアールエム", "contractor", "service", "cloud",
      country="US", access=["api"], data=["customer", "sales_info"], pi=30000,
      tags=["クラウド", "海外", "個人情報"], notes="営業支援(CRM)SaaS。", domestic_number=False),
    S("S-6003", "株式会社セキュアメール", "セキュアメール", "contractor", "service", "cloud",
      data=["customer", "personnel"], pi=2000, tags=["クラウド"], notes="メールセキュリティSaaS。"
    ),
    # Software vendors
    S("S-7001", "株式会社ソフトウェア工房さくら", "ソフトウェアコウボウサクラ", "contractor",
      "software", "development", access=["vpn", "api"], data=["technical", "production_plan"],
      tags=["重要取引先", "再委託あり"],
      notes="生産管理システム(MES)の開発・保守。更新モジュールを毎月配布。"),
    S("S-7002", "株式会社組込テクノ", "クミコミテクノ", "contractor", "software", "development",
      data=["technical"], export=True, tags=["輸出管理"],
      notes="工作機械の制御ファームウェアを開発。"),
    S("S-7003", "Hanoi Offshore Development JSC", "ハノイオフショアデベロップメント",
      "subcontractor", "software", "development", tier=2, parent="S-7001", country="VN",
      access=["vpn"], data=["technical"], tags=["海外"],
      notes="ソフトウェア工房さくらのオフショア開発先。", domestic_number=False),
    # Professional services
    S("S-8001", "税理士法人みなと会計", "ゼイリシホウジンミナトカイケイ", "contractor", "service",
      "professional", data=["financial", "personnel"], pi=1450),
    S("S-8002", "株式会社人材ブリッジ", "ジンザイブリッジ", "contractor", "service",
      "professional", access=["shared_system"], data=["personnel"], pi=3000, tags=["個人情報"]),
    S("S-8003", "株式会社清和警備保障", "セイワケイビホショウ", "contractor", "service", "other",
      access=["onsite"], notes="本社工場の常駐警備。"),
]

# supplier code, name, department, title, e-mail, phone, login username (portal access)
CONTACTS: list[tuple[str, str, str, str, str, str, str | None]] = [
    ("S-1001", "佐藤 一郎", "品質保証部", "部長", "sato@tokai-seimitsu.example.jp", "052-201-3301",
      "tokai"),
    ("S-1001", "伊藤 さやか", "営業部", "", "ito@tokai-seimitsu.example.jp", "052-201-3302", None),
    ("S-1002", "渡辺 修", "総務部", "課長", "watanabe@kitakanto-metal.example.jp", "027-311-4410",
      None),
    ("S-2001", "高橋 誠", "情報システム課", "課長", "takahashi@hokuriku-seiko.example.jp",
      "076-222-1101", None),
    ("S-2002", "岡田 和夫", "", "代表取締役", "okada@okada-ss.example.jp", "0766-22-5100", None),
    ("S-2006", "Nguyen Van An", "IT Department", "Manager", "an.nguyen@minato-vn.example.com",
      "+84-24-3555-0101", None),
    ("S-3001", "鈴木 花子", "総務部", "主任", "suzuki@hokuriku-butsuryu.example.jp",
      "076-233-8800", "hokuriku"),
    ("S-4005", "木村 拓也", "情報セキュリティ室", "室長", "kimura@callsupport-hk.example.jp",
      "011-555-2020", None),
    ("S-5001", "田中 浩二", "セキュリティ統括部", "部長", "tanaka@nss.example.jp", "03-5555-0101",
      "nss"),
    ("S-5002", "松本 亮", "技術部", "", "matsumoto@ns-tokai.example.jp", "052-555-7777", None),
    ("S-6001", "井上 由美", "カスタマーサクセス", "", "inoue@cloudcare.example.jp", "03-6666-1200",
      None),
    ("S-7001", "清水 翔太", "開発部", "リーダー", "shimizu@sakura-soft.example.jp", "045-444-3300",
      None),
]

# supplier code, title, starts (days from today), NDA, security clauses, re-outsourcing,
# audit right, incident-notification clause
CONTRACTS: list[tuple[str, str, int, bool, bool, str, bool, bool]] = [
    ("S-1001", "取引基本契約書", -2900, True, True, "with_approval", True, True),
    ("S-1002", "取引基本契約書", -2100, True, False, "unspecified", False, False),
    ("S-1004", "取引基本契約書", -1500, True, True, "with_approval", False, True),
    ("S-1006", "取引基本契約書", -800, True, False, "unspecified", False, False),
    ("S-1007", "Master Purchase Agreement", -600, True, False, "unspecified", False, False),
    ("S-2001", "製造委託契約書", -2500, True, True, "with_approval", True, True),
    ("S-2002", "製造委託契約書(再委託)", -900, True, False, "unspecified", False, False),
    ("S-2004", "製造委託契約書", -1200, True, True, "allowed", False, False),
    ("S-2006", "グループ会社間業務委託契約", -3000, True, True, "prohibited", True, True),
    ("S-2009", "設備保守契約書", -700, True, False, "unspecified", False, False),
    ("S-3001", "物流業務委託契約書", -1800, True, True, "with_approval", True, True),
    ("S-3002", "運送委託契約書", -1000, True, False, "allowed", False, False),
    ("S-4001", "販売代理店契約書", -3200, True, True, "prohibited", True, True),
    ("S-4004", "業務委託契約書(販促)", -400, True, False, "unspecified", False, False),
    ("S-4005", "コールセンター業務委託契約書", -1300, True, True, "unspecified", True, False),
    ("S-5001", "システム運用保守委託契約書", -2000, True, True, "with_approval", True, True),
    ("S-5002", "ネットワーク保守再委託契約書", -1100, True, True, "with_approval", False, False),
    ("S-5004", "ハウジングサービス契約", -1600, True, True, "prohibited", True, True),
    ("S-6001", "クラウドサービス利用規約(同意)", -500, False, True, "allowed", False, True),
    ("S-6002", "Subscription Agreement and DPA", -700, True, True, "allowed", False, True),
    ("S-7001", "ソフトウェア開発・保守委託契約書", -1900, True, True, "with_approval", True, False
    ),
    ("S-7002", "ソフトウェア開発委託契約書", -900, True, False, "unspecified", False, False),
    ("S-8002", "給与計算業務委託契約書", -1400, True, True, "prohibited", True, True),
]

# supplier code, kind, number, issuer, expires (days from today; None: no expiry)
CERTIFICATIONS: list[tuple[str, str, str, str, int | None]] = [
    ("S-1001", "isms", "IS 612345", "日本品質保証機構", 420),
    ("S-1004", "cs_mark", "CSM-G-000123", "日本サイバーセキュリティ認証機構", 300),
    ("S-2001", "isms", "IS 598765", "日本品質保証機構", 35),
    ("S-2002", "security_action_1", "", "IPA", None),
    ("S-2003", "security_action_1", "", "IPA", None),
    ("S-2006", "isms", "VN-27001-0456", "Bureau Veritas Vietnam", -120),
    ("S-3001", "security_action_2", "", "IPA", None),
    ("S-3003", "security_action_1", "", "IPA", None),
    ("S-4001", "pmark", "10861234(04)", "JIPDEC", 500),
    ("S-4004", "pmark", "10824567(03)", "JIPDEC", -45),
    ("S-4005", "pmark", "10835678(06)", "JIPDEC", 260),
    ("S-4005", "isms", "IS 634567", "BSIグループジャパン", 180),
    ("S-5001", "isms", "IS 501234", "日本品質保証機構", 610),
    ("S-5001", "pmark", "10820123(05)", "JIPDEC", 20),
    ("S-5002", "cs_mark", "CSM-S-000456", "日本サイバーセキュリティ認証機構", 50),
    ("S-5004", "isms", "IS 577777", "日本品質保証機構", 700),
    ("S-5004", "soc2", "SOC 2 Type 2", "監査法人あさひ", 200),
    ("S-6001", "isms", "IS 688888", "BSIグループジャパン", -10),
    ("S-6002", "soc2", "SOC 2 Type 2 (2025)", "Independent CPA firm", 150),
    ("S-6003", "ismap", "C21-0099-1", "ISMAP運営委員会", 300),
    ("S-7001", "isms", "IS 655555", "日本品質保証機構", 365),
    ("S-8001", "pmark", "22000999(02)", "日本税理士会連合会", 400),
    ("S-8002", "pmark", "10847777(08)", "JIPDEC", 90),
]
# fmt: on
