"""Sweeps over app.runner: plan, labels, Ray vs serial equality, failures, resume."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import UserError
from app.sweep import cell_label, parse_grid, plan_cells, run_sweep
from ledger.store import Run, RunStore

BASE = {"devices.count": 12, "nodes.count": 2, "snapshot_every": 0}
GRID = {"market.mechanism": ["uniform", "mcafee"], "devices.count": [10, 14]}


def test_parse_grid_and_labels():
    grid = parse_grid(["devices.count=20,40", "market.mechanism=uniform", "cloud.enabled=true,false"])
    assert grid == {"devices.count": [20, 40], "market.mechanism": ["uniform"],
                    "cloud.enabled": [True, False]}
    cells = plan_cells("city", grid, [0, 1])
    assert len(cells) == 8
    assert cells[0].label == "sweep:city:devices.count=20,market.mechanism=uniform,cloud.enabled=true:seed=0"
    assert len({c.label for c in cells}) == 8
    assert cell_label("x" * 300, {"a": 1}, 0).startswith("sweep:")
    assert len(cell_label("x" * 300, {"a": "y" * 300}, 0)) <= 200


@pytest.mark.parametrize("bad", ["devices.count", "=1,2", "devices.count=", "a..b=1", "x=1,,2"])
def test_parse_grid_rejects(bad):
    with pytest.raises(UserError):
        parse_grid([bad])


def test_parse_grid_rejects_repeated_key():
    with pytest.raises(UserError, match="twice"):
        parse_grid(["a.b=1", "a.b=2"])


def _by_label(report):
    return {o.label: o for o in report.outcomes}


def test_ray_sweep_matches_serial(ray_local, tmp_path):
    kw = dict(rounds=3, overrides=BASE, name="eq")
    serial = run_sweep("smart_city", GRID, 2, db_url=f"sqlite:///{tmp_path / 's.db'}",
                       parallel=False, **kw)
    par = run_sweep("smart_city", GRID, 2, db_url=f"sqlite:///{tmp_path / 'r.db'}",
                    parallel=True, **kw)
    assert len(par.outcomes) == 8 and par.count("done") == 8 and serial.count("done") == 8
    assert par.mode == "ray" and par.workers == 2
    s, p = _by_label(serial), _by_label(par)
    assert s.keys() == p.keys()
    for label in s:
        assert s[label].summary == p[label].summary, label
    store = RunStore(f"sqlite:///{tmp_path / 'r.db'}")
    with store.engine.connect() as c:
        rows = c.execute(select(Run.label, Run.status)).all()
    assert sorted(r.label for r in rows) == sorted(p)
    assert {r.status for r in rows} == {"done"}


def test_failed_cell_is_reported_and_others_go_on(ray_local, tmp_path):
    # Nine cells, one of them with an invalid grid value (a negative device count).
    grid = {"devices.count": [10, 11, 12, 13, 14, 15, 16, 17, -5]}
    kw = dict(rounds=2, overrides=BASE, name="fail")
    serial = run_sweep("smart_city", grid, [0], db_url=f"sqlite:///{tmp_path / 's.db'}",
                       parallel=False, **kw)
    par = run_sweep("smart_city", grid, [0], db_url=f"sqlite:///{tmp_path / 'r.db'}",
                    parallel=True, **kw)
    for rep in (serial, par):
        assert rep.count("done") == 8 and rep.count("failed") == 1
        (bad,) = rep.failed
        assert bad.label == "sweep:fail:devices.count=-5:seed=0"
        assert "devices.count" in (bad.error or "") and "\n" not in (bad.error or "")
    s, p = _by_label(serial), _by_label(par)
    assert s.keys() == p.keys()
    for label, o in s.items():
        assert o.status == p[label].status
        assert o.summary == p[label].summary, label


def test_resume_skips_done_cells(tmp_path):
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    grid = {"devices.count": [10, 12]}
    first = run_sweep("smart_city", grid, 1, db_url=url, rounds=2, overrides=BASE, parallel=False,
                      name="res")
    assert first.count("done") == 2
    seen = []
    again = run_sweep("smart_city", {"devices.count": [10, 12, 14]}, 1, db_url=url, rounds=2,
                      overrides=BASE, parallel=False, name="res", resume=True,
                      on_outcome=lambda o, done, total: seen.append((o.status, done, total)))
    assert [o.status for o in again.outcomes] == ["skipped", "skipped", "done"]
    assert seen[-1] == ("done", 3, 3)
    store = RunStore(url)
    assert len(store.list_runs()) == 3
