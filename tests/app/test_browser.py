"""End to end in a real browser: Debian's chromium (Playwright) against a live `streamlit run`.

Runs a small scenario by clicking Run on the Run page, waits for its charts, switches to the
Market, QoAIS and Agents pages through the sidebar, and saves screenshots under
data/screenshots/ (git-ignored). The server gets a free loopback port and a HOME under
data/, and is stopped (process group) whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, ROOT, live_app, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

SHOTS = ROOT / "data" / "screenshots"
CHART = '[data-testid="stPlotlyChart"]'


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    with live_app(f"sqlite:///{tmp_path / 'store.db'}", ROOT / "data" / "browser-home") as url:
        yield url


@pytest.fixture
def page(app_url: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1440, "height": 1500})
            pg.set_default_timeout(60_000)
            yield pg
        finally:
            browser.close()


def open_page(pg, title: str) -> None:  # type: ignore[no-untyped-def]
    pg.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    pg.wait_for_selector(f'h1:has-text("{title}")')
    wait_idle(pg)
    pg.locator(CHART).first.wait_for()
    pg.wait_for_timeout(800)  # let Plotly draw


def test_run_a_scenario_then_browse_its_pages(page, app_url) -> None:  # type: ignore[no-untyped-def]
    pg = page
    SHOTS.mkdir(parents=True, exist_ok=True)
    # a fresh server, first request deep-linked to a page: it still has its sidebar and hint
    pg.goto(f"{app_url}/market")
    pg.wait_for_selector('h1:has-text("Market")')
    wait_idle(pg)
    pg.get_by_text("No stored runs yet").first.wait_for()
    pg.get_by_text("No run selected").first.wait_for()
    pg.goto(app_url)
    pg.wait_for_selector('h1:has-text("Run")')
    wait_idle(pg)
    for label, value in (("Devices", "40"), ("Edge nodes", "4"), ("Rounds", "8")):
        box = pg.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
    pg.get_by_role("textbox", name="Advanced overrides").fill("snapshot_every = 2\nsnapshot_devices = 40")
    pg.get_by_role("button", name="Run", exact=True).click()
    pg.get_by_text("finished").wait_for(timeout=120_000)
    wait_idle(pg)
    pg.locator(CHART).nth(1).wait_for()
    pg.wait_for_timeout(800)
    pg.get_by_text("Run #1").first.wait_for()
    assert pg.get_by_test_id("stException").count() == 0
    pg.screenshot(path=str(SHOTS / "run.png"))

    open_page(pg, "Market")
    pg.get_by_text("Run #1").first.wait_for()                 # the selection follows the pages
    assert pg.get_by_test_id("stMetric").count() >= 4
    pg.screenshot(path=str(SHOTS / "market.png"))
    pg.get_by_role("tab", name="Supply & demand").click()
    pg.wait_for_timeout(800)
    pg.screenshot(path=str(SHOTS / "market_supply_demand.png"))

    open_page(pg, "QoAIS")
    assert pg.locator(CHART).count() >= 3
    pg.screenshot(path=str(SHOTS / "qoais.png"))

    open_page(pg, "Agents")
    pg.screenshot(path=str(SHOTS / "agents.png"))
    assert pg.get_by_test_id("stException").count() == 0
