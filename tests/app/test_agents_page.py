"""Agents page: map of devices and edge nodes at a snapshot round, animation frames over the
snapshot rounds, node load and handovers; a run without snapshots says so."""

from __future__ import annotations

from app_driver import chart, chart_specs, metrics, no_exception, texts, trace_names


def test_map_animation_and_load(app_at, app_db):
    at = app_at(app_db.url, "agents", app_db.synthetic)   # snapshots at rounds 0, 4, 8
    no_exception(at)
    m = metrics(at)
    assert m["Devices"] == "40" and m["Edge nodes"] == "4"
    assert at.select_slider(key="agents_round").options == ["0", "4", "8"]
    names = trace_names(chart(at, "Devices and edge nodes at round 8"))
    assert "attachment" in names and any(n.startswith("devices (40 shown") for n in names) and "edge_node" in names
    anim = chart(at, "Mobility and handovers")
    assert [f["name"] for f in anim["frames"]] == ["0", "4", "8"]
    assert anim["layout"]["sliders"][0]["steps"][0]["label"] == "0"
    assert "y (m)" in anim["layout"]["yaxis"]["title"]["text"]
    chart(at, "Devices per edge node")
    chart(at, "Handovers per round")
    at.select_slider(key="agents_round").set_value(4).run()
    no_exception(at)
    chart(at, "Devices and edge nodes at round 4")


def test_large_snapshots_are_sampled(app_at, tmp_path):
    from synthetic_runs import fill_run

    from ledger.store import RunStore

    url = f"sqlite:///{tmp_path / 'big.db'}"
    rid = fill_run(RunStore(url), rounds=2, n_devices=12_000, n_nodes=10, n_trades=10, snapshot_every=1, settle=False)
    at = app_at(url, "agents", rid)
    no_exception(at)
    assert metrics(at)["Devices"] == "12,000"
    devices = next(t for t in chart(at, "Devices and edge nodes at round 1")["data"]
                   if str(t["name"]).startswith("devices"))
    assert len(devices["x"]) <= 5000
    assert "the map draws every 3th of those" in texts(at, "caption")


def test_a_real_run_on_the_map(app_at, app_db):
    at = app_at(app_db.url, "agents", app_db.uniform)     # snapshots every 2 rounds of 6
    no_exception(at)
    assert at.select_slider(key="agents_round").options == ["2", "4", "6"]
    names = trace_names(chart(at, "Devices and edge nodes at round 6"))
    assert "node" in names and any(n.startswith("devices") for n in names)
    assert [f["name"] for f in chart(at, "Mobility and handovers")["frames"]] == ["2", "4", "6"]


def test_a_run_without_snapshots_says_how_to_get_them(app_at, app_db):
    at = app_at(app_db.url, "agents", app_db.no_eq)
    no_exception(at)
    assert "snapshot" in texts(at, "info")
    assert not chart_specs(at)
