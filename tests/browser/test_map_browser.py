"""End to end: the analyst opens the supply-chain map, filters it, opens a node and highlights what
a compromise of 東海精密部品 (S-1001) reaches — the seed 001 chain: its access into the production
system and every plant that depends on it. Then the same map on a phone (390 px)."""

import re

import pytest

from tests.browser.support import DESKTOP, PHONE, log_in, login_of, shot

pytestmark = pytest.mark.browser

# The seed 001 part of the demo map (renkei/graph/demo.py), entered through the forms when the
# demo was built without a map.
NODES = [("SYS-MES", "system", "生産管理システム(MES)"), ("SITE-HQ", "site", "本社工場(静岡)"),
         ("SITE-KYUSHU", "site", "九州工場"), ("DATA-PLAN", "data", "生産計画")]
EDGES = [("S-1001", "SYS-MES", "accesses"), ("SITE-HQ", "S-1001", "depends_on"),
         ("SITE-KYUSHU", "S-1001", "depends_on"), ("SYS-MES", "DATA-PLAN", "hosts_data")]


def enter_chain_through_the_forms(page, base):
    for key, kind, name in NODES:
        page.goto(f"{base}/map/new-node/")
        page.fill("input[name=key]", key)
        page.select_option("select[name=kind]", kind)
        page.fill("input[name=name]", name)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert page.url.endswith(f"/map/nodes/{key}/"), page.url
    for source, target, kind in EDGES:
        page.goto(f"{base}/map/new-edge/")
        page.fill("input[name=source]", source)
        page.fill("input[name=target]", target)
        page.select_option("select[name=kind]", kind)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert page.url.endswith(f"/map/nodes/{source}/"), page.url


def open_map(page, base):
    page.goto(f"{base}/map/")
    if page.locator("#map-empty").count():
        enter_chain_through_the_forms(page, base)
        page.goto(f"{base}/map/")
    page.wait_for_selector("#map-svg .node[data-id='S-1001']")


def test_analyst_filters_the_map_opens_a_node_and_highlights_an_impact(demo, browser):
    base = demo["base"]
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, base, login_of(demo, "analyst"))
        open_map(page, base)
        shot(page, "map-desktop")
        # Filter: without data nodes, then with them again.
        data_nodes = page.locator("#map-svg .node.kind-data:not(.hidden)")
        assert data_nodes.count() >= 1
        page.uncheck("#map-filters input[name=kind][value=data]")
        assert data_nodes.count() == 0
        assert page.locator("#map-svg .node.kind-site:not(.hidden)").count() >= 2
        page.check("#map-filters input[name=kind][value=data]")
        assert data_nodes.count() >= 1
        # Click a node: the side panel names it and links to the registry.
        page.locator("#map-svg .node[data-id='S-1001']").click()
        panel = page.locator("#map-panel")
        panel.wait_for(state="visible")
        assert "東海精密部品株式会社" in panel.inner_text()
        assert panel.locator("a[href^='/suppliers/']").count() == 1
        # Highlight what a compromise reaches: the production system and the plants.
        page.select_option("#map-mode", "compromise")
        panel.locator("button.btn-primary").click()
        page.wait_for_selector("#map-svg.dimmed")
        for key in ("SYS-MES", "SITE-HQ", "SITE-KYUSHU"):
            assert page.locator(f"#map-svg .node.hit[data-id='{key}']").count() == 1, key
        assert page.locator("#map-svg .node.origin[data-id='S-1001']").count() == 1
        assert page.locator("#map-svg .edge.hit").count() >= 3
        reached = int(re.search(r"\d+", page.inner_text("#map-status")).group())
        assert reached >= 3
        shot(page, "map-desktop-impact")
        # The impact page lists the same nodes, most severe first.
        with page.expect_navigation():
            page.click("#map-status a")
        rows = page.locator("#impact-list tbody tr")
        assert rows.count() == min(reached, 100)
        ids = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
        assert {"SYS-MES", "SITE-HQ", "SITE-KYUSHU"} <= set(ids)
        assert ids.index("SITE-HQ") < ids.index("SYS-MES")  # a plant that stops outranks a system
        shot(page, "map-impact-page")
    finally:
        context.close()
    assert not errors


def test_the_map_on_a_phone(demo, browser):
    base = demo["base"]
    context = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, base, login_of(demo, "analyst"))
        open_map(page, base)
        # The filters start folded, the drawing fills the width, nothing scrolls sideways.
        assert page.locator("#map-filters").get_attribute("open") is None
        box = page.locator("#map-svg").bounding_box()
        assert box["width"] >= PHONE["width"] - 40
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.fill("#map-q", "東海精密部品")
        page.locator("#map-results button").first.click()
        panel = page.locator("#map-panel")
        panel.wait_for(state="visible")
        # The chosen node stays in view above the panel.
        node = page.locator("#map-svg .node.selected").bounding_box()
        assert node["y"] + node["height"] < panel.bounding_box()["y"]
        shot(page, "map-phone")
    finally:
        context.close()
    assert not errors
