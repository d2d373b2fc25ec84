"""Market page: price trajectories with (or without) the equilibrium line, realised supply
and demand at a round with its clearing point, efficiency, and two runs side by side."""

from __future__ import annotations

from app_driver import chart, metrics, no_exception, texts, trace_names


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


def test_supply_and_demand_marks_the_clearing_point(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    spec = chart(at, "realised supply and demand")
    names = trace_names(spec)
    assert "clearing point" in names and any("served demand" in n for n in names)
    point = next(t for t in spec["data"] if t["name"] == "clearing point")
    assert point["x"][0] > 0 and point["y"][0] > 0
    # another round and resource
    at.slider(key="sd_round").set_value(2)
    at.radio(key="sd_resource").set_value("computation").run()
    no_exception(at)
    spec = chart(at, "Computation: realised supply and demand, round 2")
    assert "GFLOP" in spec["layout"]["xaxis"]["title"]["text"]
    assert "order book" in texts(at, "markdown")     # the note on what the curve is


def test_efficiency_against_the_optimum(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    names = trace_names(chart(at, "Welfare against the optimum"))
    assert {"optimal welfare", "realised welfare", "efficiency"} <= set(names)


def test_two_mechanisms_side_by_side(app_at, app_db):
    at = app_at(app_db.url, "market", app_db.uniform)
    assert at.selectbox(key="compare_with").value == app_db.mcafee   # same scenario, other mechanism
    names = set(trace_names(chart(at, "Clearing prices, side by side")))
    assert any("uniform" in n for n in names) and any("mcafee" in n for n in names)
    assert len(trace_names(chart(at, "Efficiency, side by side"))) == 2
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
