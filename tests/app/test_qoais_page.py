"""QoAIS page: a six-dimension radar per service class, SLA satisfaction over rounds, and
distributions of latency, reliability and accuracy."""

from __future__ import annotations

from app_driver import chart, metrics, no_exception, trace_names

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
