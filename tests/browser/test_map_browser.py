"""End to end: the analyst opens the supply-chain map of the demo, filters it, opens a node and
highlights what a compromise of 株式会社東海精密テクノ reaches — the seed 001 chain: the subsidiary's
VPN device into its parent 東海精密部品 (S-1001), the parent's access into the production system,
and every plant that depends on the parent. Then a plant is added through the forms, and the same
map is shown on a phone (390 px)."""

import re

import pytest

from tests.browser.support import DESKTOP, PHONE, log_in, login_of, shot

pytestmark = pytest.mark.browser

PLANTS = ("SITE-HQ", "SITE-KYUSHU", "SITE-HANOI", "SITE-THAI")


def open_map(page, base):
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
        # The subsidiary its parent declared in the portal: what does its compromise reach?
        page.fill("#map-q", "東海精密テクノ")
        page.locator("#map-results button").first.click()
        panel.wait_for(state="visible")
        assert "株式会社東海精密テクノ" in panel.inner_text()
        subsidiary = page.get_attribute("#map-svg .node.selected", "data-id")
        page.select_option("#map-mode", "compromise")
        panel.locator("button.btn-primary").click()
        page.wait_for_selector("#map-svg.dimmed")
        for key in ("S-1001", "SYS-MES", *PLANTS):
            assert page.locator(f"#map-svg .node.hit[data-id='{key}']").count() == 1, key
        assert page.locator(f"#map-svg .node.origin[data-id='{subsidiary}']").count() == 1
        assert page.locator("#map-svg .edge.hit").count() >= 6
        reached = int(re.search(r"\d+", page.inner_text("#map-status")).group())
        assert reached >= 6
        shot(page, "map-desktop-impact")
        # The impact page lists the same nodes, most severe first.
        with page.expect_navigation():
            page.click("#map-status a")
        rows = page.locator("#impact-list tbody tr")
        assert rows.count() == min(reached, 100)
        ids = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
        assert {"SYS-MES", *PLANTS} <= set(ids)
        assert ids.index("SITE-HQ") < ids.index("SYS-MES")  # a plant that stops outranks a system
        shot(page, "map-impact-page")
    finally:
        context.close()
    assert not errors


def test_a_plant_added_through_the_forms_stops_with_its_supplier(demo, browser):
    base = demo["base"]
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = context.new_page()
    try:
        log_in(page, base, login_of(demo, "analyst"))
        page.goto(f"{base}/map/new-node/")
        page.fill("input[name=key]", "SITE-OSAKA")
        page.select_option("select[name=kind]", "site")
        page.fill("input[name=name]", "大阪工場")
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert page.url.endswith("/map/nodes/SITE-OSAKA/"), page.url
        page.goto(f"{base}/map/new-edge/")
        page.fill("input[name=source]", "SITE-OSAKA")
        page.fill("input[name=target]", "S-1001")
        page.select_option("select[name=kind]", "depends_on")
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert page.url.endswith("/map/nodes/SITE-OSAKA/"), page.url
        # The outage of the parts maker now stops the new plant too.
        page.goto(f"{base}/map/nodes/S-1001/impact/?mode=outage")
        ids = page.locator("#impact-list tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
        assert "SITE-OSAKA" in ids and set(PLANTS) <= set(ids)
    finally:
        context.close()


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
