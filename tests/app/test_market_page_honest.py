"""Market page: the honest welfare figures (allocative efficiency, delivered welfare) and
each venue's clearing price beside its LP duals, of a real stored run (one page render
for both: the page is slow to render)."""

from __future__ import annotations

from app_driver import no_exception, texts

from ledger.store import queries
from ledger.store.database import open_engine


def test_honest_welfare_is_shown_for_a_real_run(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    no_exception(at)
    assert "Honest welfare" in [s.value for s in at.subheader]
    assert "pool-wide optimum on true costs" in texts(at, "caption")
    assert len(at.get("arrow_line_chart")) + len(at.get("vega_lite_chart")) >= 2
    # Prices per venue: the default resource of the page (the first) at the last round.
    assert "Prices per venue" in [s.value for s in at.subheader]
    assert "true-cost dual" in texts(at, "caption")
    eng = open_engine(app_db.url)
    last = queries.round_range(eng, app_db.uniform)[1]
    stored = queries.venue_prices_at(eng, app_db.uniform, last)
    eng.dispose()
    shown = [df.value for df in at.dataframe if "dual" in df.value.columns]
    want = stored[stored["resource"] == "communication"]
    assert len(shown) == 1 and len(want) > 0
    assert shown[0]["name"].tolist() == want["name"].tolist()
    assert shown[0]["price"].fillna(-1).tolist() == want["price"].fillna(-1).tolist()
