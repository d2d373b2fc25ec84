"""Market page: price trajectories with (or without) the equilibrium line, the order book (or,
for runs stored without it, the realised trades) at a round with its clearing point,
efficiency, and two runs side by side."""

from __future__ import annotations

import itertools

from app_driver import chart, metrics, no_exception, texts, trace_names, values


def test_prices_of_a_real_run(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    no_exception(at)
    m = metrics(at)
    assert m["Efficiency"].endswith("%") and int(m["Trades"].replace(",", "")) > 0
    spec = chart(at, "Clearing price per resource")
    names = trace_names(spec)
    assert names.count("clearing price") == 4
    # axes carry units
    ytitles = [v["title"]["text"] for k, v in spec["layout"].items() if k.startswith("yaxis") and "title" in v]
    assert any("credits / GFLOP" in t for t in ytitles) and any("Mbps·round" in t for t in ytitles)


def test_equilibrium_line_when_stored_and_a_note_when_not(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.synthetic)
    assert trace_names(chart(at, "Clearing price per resource")).count("equilibrium price") == 4
    at = app_at(app_db.url, "market", app_db.no_eq)
    assert "equilibrium price" not in trace_names(chart(at, "Clearing price per resource"))
    assert "reference line is omitted" in texts(at, "caption")


def test_order_book_curves_with_the_clearing_point(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    spec = chart(at, "order book (all venues)")
    names = trace_names(spec)
    assert {"demand (bids, by price ↓)", "supply (asks, by price ↑)", "clearing point"} <= set(names)
    dy = values(next(t for t in spec["data"] if t["name"].startswith("demand"))["y"])
    dx = values(next(t for t in spec["data"] if t["name"].startswith("demand"))["x"])
    sy = values(next(t for t in spec["data"] if t["name"].startswith("supply"))["y"])
    assert len(dy) > 2 and all(a >= b for a, b in itertools.pairwise(dy))  # bids fall
    assert len(sy) > 2 and all(a <= b for a, b in itertools.pairwise(sy))  # asks rise
    point = next(t for t in spec["data"] if t["name"] == "clearing point")
    assert 0 < values(point["x"])[0] <= max(dx) + 1e-9 and values(point["y"])[0] > 0
    # another round and resource
    at.slider(key="sd_round").set_value(2)
    at.radio(key="sd_resource").set_value("computation").run()
    no_exception(at)
    spec = chart(at, "Computation: order book (all venues), round 2")
    assert "GFLOP" in spec["layout"]["xaxis"]["title"]["text"]
    assert "pooled over all its markets" in texts(at, "markdown")   # what the curve is


def test_runs_without_curves_show_the_realised_trades(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.synthetic)   # stored without order-book curves
    no_exception(at)
    spec = chart(at, "realised supply and demand")
    names = trace_names(spec)
    assert "clearing point" in names and any("served demand" in n for n in names)
    assert "stored no order-book curves" in texts(at, "markdown")


def test_efficiency_against_the_optimum(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    names = trace_names(chart(at, "Welfare against the optimum"))
    assert {"optimal welfare", "realised welfare", "efficiency"} <= set(names)


def test_two_mechanisms_side_by_side(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    assert at.selectbox(key="compare_with").value == app_db.mcafee   # same scenario, other mechanism
    names = set(trace_names(chart(at, "Clearing prices, side by side")))
    assert any("uniform" in n for n in names) and any("mcafee" in n for n in names)
    assert len(trace_names(chart(at, "elfare per round, side by side"))) == 4  # per round + cumulative
    table = at.dataframe[-1].value
    assert len(table.columns) == 2 and "efficiency" in table.index


def test_a_single_run_store_says_how_to_compare(app_at, tmp_path):
    from app.runner import run_simulation

    url = f"sqlite:///{tmp_path / 'one.db'}"
    rid = run_simulation("smart_city", overrides={"devices.count": 10, "nodes.count": 2, "snapshot_every": 0},
                         seed=3, rounds=2, db_url=url).run_id
    at = app_at(url, "market", rid)
    no_exception(at)
    assert "another mechanism" in texts(at, "info")
