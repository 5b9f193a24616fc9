"""End to end, as new users would: 東海精密's contact (`tokai`) registers a delivery on a phone —
a release archive signed with `openssl cms -sign` under the supplier's code-signing CA (registered
by the buyer in the demo) and a CycloneDX SBOM; the analyst opens it, sees the signature checked
and the known vulnerabilities, triages one as not affected, exports the VEX; then new
vulnerability data arrives as files (`renkei osv import`) and both the analyst and the supplier
are told by (real SMTP) mail, and the analyst finds the delivery in the portfolio search."""

import json
import subprocess

import pytest

from tests.browser.support import DESKTOP, PHONE, RENKEI, ROOT, log_in, login_of, shot, wait_for_mail

pytestmark = pytest.mark.browser

PRODUCT = "受注管理ゲートウェイ"
COMPONENTS = [
    ("log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
    ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20"),
    ("minimist", "1.2.5", "pkg:npm/minimist@1.2.5"),
]
NEW_ADVISORY = {
    "schema_version": "1.6.0",
    "id": "GHSA-xvch-5gv4-984h",
    "modified": "2026-12-01T00:00:00Z",
    "published": "2022-03-18T00:01:09Z",
    "aliases": ["CVE-2021-44906"],
    "summary": "Prototype Pollution in minimist",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "minimist"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.6"}]}],
        }
    ],
}


def _signed_release(tmp_path):
    """A release archive and its detached CMS signature by a certificate under a CA we make here;
    the CA is registered for S-1001 through the CLI, as the buyer's admin would."""
    ca_key, ca, key, cert = (tmp_path / n for n in ("ca.key", "ca.pem", "signer.key", "signer.pem"))
    ossl = ["openssl"]
    subprocess.run(
        [
            *ossl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "3650",
            "-subj",
            "/O=東海精密部品/CN=Release CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
        ],
        check=True,
        capture_output=True,
    )
    csr = tmp_path / "signer.csr"
    subprocess.run(
        [
            *ossl,
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            "/O=東海精密部品/CN=Release Signing",
        ],
        check=True,
        capture_output=True,
    )
    ext = tmp_path / "ext.cnf"
    ext.write_text("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=codeSigning\n")
    subprocess.run(
        [
            *ossl,
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "365",
            "-extfile",
            ext,
        ],
        check=True,
        capture_output=True,
    )
    archive = tmp_path / "gateway-1.0.0.zip"
    archive.write_bytes(b"PK\x03\x04" + "受注管理ゲートウェイ 1.0.0".encode() + bytes(range(256)) * 40)
    signature = tmp_path / "gateway-1.0.0.zip.p7s"
    subprocess.run(
        [
            *ossl,
            "cms",
            "-sign",
            "-binary",
            "-in",
            archive,
            "-signer",
            cert,
            "-inkey",
            key,
            "-outform",
            "DER",
            "-out",
            signature,
        ],
        check=True,
        capture_output=True,
    )
    return ca, archive, signature


def _sbom(tmp_path):
    items = [
        {
            "type": "library",
            "bom-ref": purl,
            "name": n,
            "version": v,
            "purl": purl,
            "supplier": {"name": "OSS"},
        }
        for n, v, purl in COMPONENTS
    ]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": "2026-12-01T09:00:00Z",
            "authors": [{"name": "東海精密 開発部"}],
            "component": {"type": "application", "bom-ref": "app", "name": PRODUCT, "version": "1.0.0"},
        },
        "components": items,
        "dependencies": [{"ref": "app", "dependsOn": [i["bom-ref"] for i in items]}]
        + [{"ref": i["bom-ref"]} for i in items],
    }
    path = tmp_path / "bom.cdx.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_register_check_triage_and_recheck(demo_with_mail, mailbox, browser, tmp_path):
    demo, (box, _port) = demo_with_mail, mailbox
    base, env = demo["base"], demo["env"]
    run = {"env": env, "cwd": ROOT, "capture_output": True, "text": True, "timeout": 300}
    ca, archive, signature = _signed_release(tmp_path)
    trusted = subprocess.run(
        [*RENKEI, "pki", "trust", "add", str(ca), "--name", "東海精密 リリースCA", "--supplier", "S-1001"],
        check=False,
        **run,
    )
    assert trusted.returncode == 0, trusted.stderr
    sbom = _sbom(tmp_path)
    tokai = next(login for login in demo["logins"] if login["username"] == "tokai")

    # 1. The supplier's contact registers the delivery on a phone, from the dashboard card.
    phone = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page = phone.new_page()
    try:
        log_in(page, base, tokai)
        page.click("a[data-portal=delivery-new]")
        form = page.locator("#delivery-form")
        form.locator("[name=product]").fill(PRODUCT)
        form.locator("[name=version]").fill("1.0.0")
        form.locator("[name=artifact_0]").set_input_files(str(archive))
        form.locator("[name=signature_0]").set_input_files(str(signature))
        form.locator("[name=sbom]").set_input_files(str(sbom))
        shot(page, "deliveries-01-portal-register-phone")
        page.click("#register-delivery")
        page.wait_for_selector("#findings")
        text = page.inner_text("main")
        assert PRODUCT in text and "GHSA-jfh8-c2jp-5v3q" in text and "有効" in text
        assert "minimist" in text  # listed among the components, no finding yet
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the portal page is {overflow}px wider than the phone"
        shot(page, "deliveries-02-portal-detail-phone")
    finally:
        phone.close()
    # The buyer's admin and analyst are told that the supplier registered a delivery.
    told = wait_for_mail(box, lambda m: PRODUCT in m.subject)
    assert any("nakamura@" in r for m in told for r in m.recipients) or len(told) >= 1

    # 2. The analyst opens it: signature valid, Log4Shell critical; triages lodash as not affected.
    desk = browser.new_context(viewport=DESKTOP, locale="ja-JP", accept_downloads=True)
    page = desk.new_page()
    try:
        log_in(page, base, login_of(demo, "analyst"))
        page.goto(f"{base}/deliveries/")
        page.click(f"text={PRODUCT}")
        page.wait_for_selector("#findings")
        artifacts = page.inner_text("#artifacts")
        assert "有効" in artifacts and "gateway-1.0.0.zip" in artifacts
        findings = page.inner_text("#findings")
        assert "GHSA-jfh8-c2jp-5v3q" in findings and "緊急" in findings
        row = page.locator("tr", has_text="lodash").first
        row.locator("a", has_text="トリアージ").click()
        triage = page.locator("#triage-form")
        triage.locator("[name=state]").select_option("not_affected")
        triage.locator("[name=justification]").select_option("code_not_reachable")
        triage.locator("[name=detail]").fill("template 関数は使用していません。")
        triage.locator("button[type=submit]").click()
        page.wait_for_selector("#findings")
        assert "影響なし" in page.inner_text("main")
        with page.expect_download() as download:
            page.click("#vex-export")
        vex = json.loads(open(download.value.path(), encoding="utf-8").read())
        analyses = {v["id"]: v.get("analysis", {}).get("state") for v in vex["vulnerabilities"]}
        assert analyses["GHSA-35jh-r3h4-6jhm"] == "not_affected"
        shot(page, "deliveries-03-analyst-detail")
        delivery_url = page.url.split("#")[0]

        # 3. New vulnerability data arrives as files; the stored delivery is re-checked.
        feed = tmp_path / "npm-update"
        feed.mkdir()
        (feed / "GHSA-xvch-5gv4-984h.json").write_text(json.dumps(NEW_ADVISORY))
        box.received.clear()
        imported = subprocess.run(
            [*RENKEI, "osv", "import", str(feed), "--source", "npm-update", "--json"], check=False, **run
        )
        assert imported.returncode == 0, imported.stderr
        result = json.loads(imported.stdout)
        assert result["added"] == 1 and result["new_findings"] == 1
        staff = wait_for_mail(
            box, lambda m: "nakamura@" in m.recipients[0] and "GHSA-xvch-5gv4-984h" in m.text
        )
        assert PRODUCT in staff[0].text
        supplier_mail = wait_for_mail(box, lambda m: m.recipients == ["sato@tokai-seimitsu.example.jp"])
        assert (
            "GHSA-xvch-5gv4-984h" in supplier_mail[0].text and "/deliveries/portal/" in supplier_mail[0].text
        )
        page.goto(delivery_url)
        assert "GHSA-xvch-5gv4-984h" in page.inner_text("#findings")

        # 4. The portfolio search finds the delivery by component and by CVE.
        page.goto(f"{base}/deliveries/")
        page.click("text=納品物を横断検索")
        page.fill("#s-contains", "minimist 1.2")
        page.press("#s-contains", "Enter")
        page.wait_for_load_state()
        assert PRODUCT in page.inner_text("main")
        page.fill("#s-contains", "CVE-2021-44228")
        page.press("#s-contains", "Enter")
        page.wait_for_load_state()
        results = page.inner_text("main")
        assert PRODUCT in results and "生産管理システム" in results
        shot(page, "deliveries-04-portfolio-search")
    finally:
        desk.close()
