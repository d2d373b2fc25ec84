"""Every page in a real browser (headless Debian chromium via Playwright) on a real stored
run: a screenshot of each, and no element overflowing its container.

What counts as an overflow, measured in the page (see OVERFLOWS):
- a visible element of the main area wider than the main block (sticks out to the right);
- text cut off: an element whose content is wider than its box while it clips it
  (overflow hidden/clip, e.g. an ellipsis on a metric label or a caption);
- a Plotly title, axis title, tick label or annotation drawn outside its chart's SVG.
Scrolling containers (the data grids, the sidebar) may be wider inside: they scroll.
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

PAGES = ("Run", "Market", "QoAIS", "Agents", "Ledger", "Learning")

OVERFLOWS = """
() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]')
            || document.querySelector('[data-testid="stMain"]');
  const box = main.getBoundingClientRect();
  const out = [];
  const name = (el) => (el.getAttribute('data-testid') || el.tagName.toLowerCase())
                       + (el.tagName === 'INPUT' ? `[type=${el.type} aria=${el.getAttribute('aria-label')} cls=${el.className} w=${Math.round(el.getBoundingClientRect().width)}]` : '')
                       + ': ' + (el.textContent || '').trim().slice(0, 60);
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== main; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (['auto', 'scroll'].includes(s.overflowX)) return true;
    }
    return false;
  };
  for (const el of main.querySelectorAll('*')) {
    if (el.closest('svg') || el.closest('canvas')) continue;
    // Streamlit's sliders keep an invisible <input type=range> centred on the thumb: at the
    // right end of the track half of it lies past the slider; nothing is drawn there.
    if (el.tagName === 'INPUT' && el.type === 'range') continue;
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.visibility === 'hidden' || s.position === 'fixed') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > box.right + 2 && !scrolls(el) && s.opacity !== '0')
      out.push('sticks out: ' + name(el) + ` [right ${Math.round(r.right)} > ${Math.round(box.right)}]`);
    if (['hidden', 'clip'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 2
        && el.children.length === 0 && (el.textContent || '').trim())
      out.push('text cut: ' + name(el));
  }
  for (const plot of main.querySelectorAll('.js-plotly-plot')) {
    const sb = plot.querySelector('.svg-container').getBoundingClientRect();
    for (const t of plot.querySelectorAll('.gtitle, .g-xtitle text, .g-ytitle text, .annotation-text, .xtick text, .ytick text')) {
      const r = t.getBoundingClientRect();
      if (r.width === 0) continue;
      // 6 px: a text's box includes the font's ascent above the ink of its glyphs
      if (r.left < sb.left - 6 || r.right > sb.right + 6 || r.top < sb.top - 6 || r.bottom > sb.bottom + 6)
        out.push('chart text outside its chart: ' + (t.textContent || '').slice(0, 60)
                 + ` [${Math.round(r.left)}-${Math.round(r.right)} x ${Math.round(r.top)}-${Math.round(r.bottom)} in `
                 + `${Math.round(sb.left)}-${Math.round(sb.right)} x ${Math.round(sb.top)}-${Math.round(sb.bottom)}]`);
    }
  }
  return [...new Set(out)];
}
"""


# The QoAIS page's tables are HTML (app/ui/html_table.py), not canvas data grids, so their
# cells can be checked: each visible table within its container and the main block, and no
# cell whose content is wider than the cell (wrapped text is fine; clipped text is not).
TABLES = """
() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]')
            || document.querySelector('[data-testid="stMain"]');
  const box = main.getBoundingClientRect();
  const out = [];
  for (const g of main.querySelectorAll('[data-testid="stDataFrame"]'))
    if (g.getBoundingClientRect().width > 0) out.push('a canvas data grid (cells not checkable)');
  const tables = [...main.querySelectorAll('table')].filter(t => t.getBoundingClientRect().width > 0);
  for (const t of tables) {
    const r = t.getBoundingClientRect();
    const p = t.parentElement.getBoundingClientRect();
    if (r.right > Math.min(p.right, box.right) + 2 || t.parentElement.scrollWidth > t.parentElement.clientWidth + 2)
      out.push(`table wider than its container: ${Math.round(r.width)} px in ${Math.round(p.width)} px`);
    for (const c of t.querySelectorAll('th, td'))
      if (c.scrollWidth > c.clientWidth + 2) out.push('cell cut: ' + (c.textContent || '').slice(0, 40));
  }
  return {tables: tables.length, problems: out};
}
"""


def check_qoais_tables(pg) -> list[str]:  # type: ignore[no-untyped-def]
    """TABLES on the QoAIS page with each indicator tab open in turn (tab panels are hidden
    until chosen); also OVERFLOWS per tab. Returns the problems found."""
    problems: list[str] = []
    tabs = pg.get_by_role("tab")
    assert tabs.count() == 6  # one per QoAIS dimension
    for i in range(tabs.count()):
        tabs.nth(i).click()
        pg.wait_for_timeout(300)
        found = pg.evaluate(TABLES)
        assert found["tables"] == 2, found  # the class scores and this dimension's indicators
        problems += [f"tab {i}: {x}" for x in found["problems"] + pg.evaluate(OVERFLOWS)]
    return problems


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from app.runner import run_simulation

    tmp = tmp_path_factory.mktemp("layout")
    url = f"sqlite:///{tmp / 'store.db'}"
    run_simulation("smart_city", overrides={"devices.count": 40, "nodes.count": 4, "snapshot_every": 2,
                                            "snapshot_devices": 40}, seed=0, rounds=6, db_url=url)
    with live_app(url, ROOT / "data" / "browser-home") as base:
        yield base


@pytest.mark.parametrize("width", [1440, pytest.param(1024, marks=pytest.mark.matrix)])
def test_every_page_fits_its_containers(app_url: str, width: int) -> None:
    from playwright.sync_api import sync_playwright

    from ledger.chain.paths import data_dir

    shots = data_dir("screenshots", "layout")
    problems: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": width, "height": 1400})
            pg.set_default_timeout(60_000)
            pg.goto(app_url)
            pg.wait_for_selector('h1:has-text("Run")')
            wait_idle(pg)
            for title in PAGES:
                if title != "Run":
                    pg.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                    pg.wait_for_selector(f'h1:has-text("{title}")')
                    wait_idle(pg)
                pg.wait_for_timeout(1200)  # let Plotly lay out its charts
                assert pg.get_by_test_id("stException").count() == 0, title
                path = Path(shots) / f"{title.lower()}-{width}.png"
                pg.screenshot(path=str(path), full_page=True)
                assert path.stat().st_size > 10_000
                found = pg.evaluate(OVERFLOWS)
                if title == "QoAIS":
                    found += check_qoais_tables(pg)
                if found:
                    problems[title] = found
        finally:
            browser.close()
    assert not problems, problems
