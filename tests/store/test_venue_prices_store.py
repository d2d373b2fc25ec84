"""The venue_prices table (migration 0008): a model round's per-venue prices and duals
round-trip through a real SQLite file, `load_run` / `runs export` carry them, and a store
at revision 0007 is upgraded on open with its runs intact."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import create_engine, inspect, text

from agents.model import EdgeMarketModel
from agents.scenario import small
from ledger.store import RunStore
from ledger.store.export import export_run, load_run
from ledger.store.venue_rows import venue_price_frame
from market.resources import RESOURCE_NAMES


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def test_venue_prices_round_trip_through_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore(url, flush_every=5)
    model = EdgeMarketModel(small("smart_city", market__optimum_every=1), seed=5)
    run = store.create_run("smart_city", {}, 5, mechanism="uniform", rounds_planned=2)
    rrs = [model.step() for _ in range(2)]
    for rr in rrs:
        store.record_round(run, rr)
    store.close()
    back = RunStore(url)  # a fresh engine on the same file
    df = venue_price_frame(back.engine, run)
    want = []
    for rr in rrs:
        vp = rr.info["venue_prices"]
        for i, v in enumerate(vp["venue"]):
            for r, res in enumerate(RESOURCE_NAMES):
                if vp["supply"][i][r]:
                    want.append((rr.round, v, vp["name"][i], vp["kind"][i], res, vp["price"][i][r],
                                 vp["dual"][i][r], vp["dual_true"][i][r], vp["volume"][i][r],
                                 vp["supply"][i][r]))
    want.sort(key=lambda w: (w[0], w[1], RESOURCE_NAMES.index(w[4])))
    got = [tuple(None if isinstance(x, float) and math.isnan(x) else x for x in row)
           for row in df.itertuples(index=False)]
    assert len(got) == len(want) > 0
    assert {w[3] for w in want} == {"edge", "cloud"}
    assert any(w[7] is not None for w in want)  # true-cost duals solved (optimum_every 1)
    for g, w in zip(got, want, strict=True):
        assert g[:5] == w[:5]
        assert all(_same(a, b) for a, b in zip(g[5:], w[5:], strict=True)), (g, w)
    assert len(load_run(back.engine, run).venue_prices) == len(want)
    paths = export_run(back.engine, run, tmp_path / "out", fmt="csv")
    assert (tmp_path / "out" / "venue_prices.csv") in paths
    back.delete_run(run)
    assert venue_price_frame(back.engine, run).empty


def test_store_at_0007_is_upgraded_to_venue_prices(tmp_path) -> None:
    from alembic import command

    from ledger.store.database import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0007")
    eng = create_engine(url)
    assert "venue_prices" not in inspect(eng).get_table_names()
    with eng.begin() as c:
        c.execute(text("insert into runs (scenario, scenario_json, seed, code_version, mechanism,"
                       " rounds_planned, rounds_done, status, chain, label, created_at, wall_s)"
                       " values ('old', '{}', 1, 'v0', 'uniform', 3, 3, 'done', 'none', '',"
                       " '2026-01-01', 1.0)"))
    eng.dispose()
    store = RunStore(url)
    with store.engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar_one() >= "0008"
    assert store.get_run(1).scenario == "old"
    assert venue_price_frame(store.engine, 1).empty  # old runs simply have no rows
    with store.engine.begin() as c:
        c.execute(text("insert into venue_prices values (1, 0, -1, 'computation', 'cloud 0',"
                       " 'cloud', 0.5, 20.0, 100.0, 0.5, NULL)"))
    df = venue_price_frame(store.engine, 1)
    assert df.iloc[0]["price"] == pytest.approx(0.5) and df.iloc[0]["kind"] == "cloud"
    store.close()
