"""Market page: each venue's clearing price next to its LP duals, from a real stored run."""

from __future__ import annotations

from app_driver import no_exception, texts

from ledger.store import queries


def test_venue_prices_are_shown_beside_their_duals(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    no_exception(at)
    assert "Prices per venue" in [s.value for s in at.subheader]
    assert "true-cost dual" in texts(at, "caption")
    from ledger.store.database import open_engine

    eng = open_engine(app_db.url)
    last = queries.round_range(eng, app_db.uniform)[1]
    stored = queries.venue_prices_at(eng, app_db.uniform, last)
    eng.dispose()
    shown = [df.value for df in at.dataframe if "dual" in df.value.columns]
    assert len(shown) == 1
    # the default resource of the page (the first) at the last round, every venue of it
    want = stored[stored["resource"] == "communication"]
    assert shown[0]["name"].tolist() == want["name"].tolist() and len(want) > 0
    assert shown[0]["price"].fillna(-1).tolist() == want["price"].fillna(-1).tolist()
