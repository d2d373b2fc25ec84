"""QoAIS page: a six-dimension radar per service class, SLA satisfaction over rounds, and
distributions of latency, reliability and accuracy."""

from __future__ import annotations

import numpy as np
from app_driver import chart, metrics, no_exception, trace_names, values

from ledger.store import RunStore
from ledger.store import queries as q


def test_radar_sla_and_distributions_of_a_real_run(app_at, app_db):
    at = app_at(app_db.url, "qoais", app_db.uniform)
    no_exception(at)
    classes = set(q.qoais_series(RunStore(app_db.url).engine, app_db.uniform)["service_class"])
    assert classes >= {"xr", "driving"}
    radar = chart(at, "QoAIS per service class")
    assert set(trace_names(radar)) == classes
    assert {t["type"] for t in radar["data"]} == {"scatterpolar"}
    theta = radar["data"][0]["theta"]
    assert theta[:6] == ["Performance", "Connection", "Data", "Computation", "Security", "Orchestration"]
    sla = chart(at, "SLA satisfaction over rounds")
    assert set(trace_names(sla)) == classes | {"all classes"}
    assert "%" in sla["layout"]["yaxis"]["title"]["text"]
    dist = chart(at, "Distributions over rounds")
    assert {t["type"] for t in dist["data"]} == {"box"} and len(dist["data"]) == 4 * len(classes)
    m = metrics(at)
    assert m["SLA satisfied"].endswith("%") and 0 <= float(m["QoAIS (overall)"]) <= 1


def test_radar_window_of_rounds(app_at, app_db):
    at = app_at(app_db.url, "qoais", app_db.synthetic)
    at.slider(key="qoais_window").set_value((0, 3)).run()
    no_exception(at)
    assert len(trace_names(chart(at, "QoAIS per service class"))) == 3


def test_indicators_of_all_six_dimensions_and_fl_curves(app_at, app_db):
    """A real run stores per-indicator scores; the page charts every dimension's indicators
    (one bar per class) and FedAvg accuracy against wall time for the three selections."""
    from agents.qoais import DIMENSIONS, INDICATORS, NOT_MEASURED

    ind = q.qoais_indicators(RunStore(app_db.url).engine, app_db.uniform)
    assert set(ind["dimension"]) == set(DIMENSIONS)
    measured = {i[1] for i in INDICATORS} - set(NOT_MEASURED)
    assert set(ind["indicator"]) == measured  # the small run has learning and inference requests
    assert ind["value"].between(0, 1).all()
    at = app_at(app_db.url, "qoais", app_db.uniform)
    no_exception(at)
    for dim in DIMENSIONS:
        bars = chart(at, f"{dim.capitalize()} indicators per service class")
        assert {t["type"] for t in bars["data"]} == {"bar"}
        assert set(bars["data"][0]["x"]) == {i[1] for i in INDICATORS if i[0] == dim} - set(NOT_MEASURED)
    # The tables are HTML (they fit the page): the class scores, then one per dimension, each
    # indicator's mean with two decimals, as the store's query gives it.
    tables = [m.value for m in at.markdown if "<table" in m.value]
    assert len(tables) == 1 + len(DIMENSIONS)
    assert all(f">{c}<" in tables[0] for c in set(ind["service_class"]))
    one = ind.iloc[0]
    dim_table = tables[1 + list(DIMENSIONS).index(one["dimension"])]
    row = dim_table.split(f">{one['indicator']}</td>", 1)[1].split("</tr>", 1)[0]
    assert f">{one['value']:.2f}<" in row
    fl = chart(at, "Federated learning: accuracy against wall time")
    assert set(trace_names(fl)) == {"random", "fastest", "importance"}
    for t in fl["data"]:
        acc, time = values(t["y"]), values(t["x"])
        assert acc and all(0 <= v <= 1 for v in acc)
        assert all(d > 0 for d in np.diff(time))  # wall time accumulates
