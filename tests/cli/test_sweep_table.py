"""Sweeps: one tidy table with Student-t CIs over seeds, and cells settled on their own chains.

The CI is checked against published t quantiles and by plain Monte Carlo coverage; the
table's means and intervals against the stored run summaries read with sqlite3 and the
t-table value, not against the code's own numbers.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.sweep import run_sweep
from app.sweep_table import mean_ci, tidy_sweep

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"devices.count": 12, "nodes.count": 2, "snapshot_every": 0}


@pytest.mark.parametrize(("values", "t_table"), [
    ([1.0, 2.0, 3.0], 4.303),          # t_{0.975, 2}, e.g. NIST/SEMATECH e-Handbook table 1.3.6.7.2
    ([2.0, 4.0, 4.0, 5.0, 10.0], 2.776),  # t_{0.975, 4}
])
def test_mean_ci_matches_the_t_table(values: list[float], t_table: float) -> None:
    n = len(values)
    m = sum(values) / n
    s = math.sqrt(sum((x - m) ** 2 for x in values) / (n - 1))
    mean, lo, hi = mean_ci(values)
    assert mean == pytest.approx(m)
    assert (hi - mean) == pytest.approx(t_table * s / math.sqrt(n), rel=1e-3)
    assert (mean - lo) == pytest.approx(hi - mean)
    assert mean_ci([7.0]) == (7.0, 7.0, 7.0)


def test_mean_ci_covers_the_true_mean_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    trials, hits = 4000, 0
    for _ in range(trials):
        _, lo, hi = mean_ci(rng.normal(3.0, 2.0, size=4).tolist())
        hits += lo <= 3.0 <= hi
    # binomial sd at p=0.95, n=4000 is 0.0034: +-0.015 is over 4 sd
    assert abs(hits / trials - 0.95) < 0.015


def test_tidy_table_of_a_real_sweep(tmp_path: Path) -> None:
    db = tmp_path / "sweep.db"
    url = f"sqlite:///{db}"
    report = run_sweep("factory", {"market.mechanism": ["uniform", "mcafee"]}, seeds=2, db_url=url,
                       rounds=2, overrides=SMALL, parallel=False)
    assert report.count("done") == 4
    table = tidy_sweep(url, "factory")
    assert list(table["market.mechanism"]) == ["mcafee", "uniform"]
    assert (table["n_seeds"] == 2).all()
    raw = sqlite3.connect(db)
    for mech in ("mcafee", "uniform"):
        rows = [json.loads(s) for (s,) in raw.execute(
            "select summary from runs where json_extract(scenario_json, '$.market.mechanism') = ?", (mech,))]
        welfare = [r["welfare_total"] for r in rows]
        m = sum(welfare) / 2
        half = 12.706 * abs(welfare[0] - welfare[1]) / math.sqrt(2) / math.sqrt(2)  # t_{0.975,1} s / sqrt(2)
        row = table.set_index("market.mechanism").loc[mech]
        assert row["welfare_total_mean"] == pytest.approx(m)
        assert row["welfare_total_ci_high"] - m == pytest.approx(half, rel=1e-3)
    # the CLI writes the same table
    out = tmp_path / "cells.parquet"
    r = subprocess.run([sys.executable, "-m", "app.cli", "sweep", "factory", "--grid",
                        "market.mechanism=uniform,mcafee", "--seeds", "2", "--rounds", "2", "--serial",
                        "--resume", "--db", url, "--table", str(out),
                        *[a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")]],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert "4 skipped" in r.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out), table, check_like=True)


def test_sweep_refuses_a_shared_chain(tmp_path: Path) -> None:
    from app.errors import UserError

    with pytest.raises(UserError, match="--chain"):
        run_sweep("factory", {"market.mechanism": ["uniform"]}, seeds=1, db_url=f"sqlite:///{tmp_path / 'x.db'}",
                  rounds=1, overrides=SMALL, parallel=False, chain="http://127.0.0.1:8545")


@pytest.mark.chain
def test_sweep_cells_settle_each_on_its_own_chain(tmp_path: Path) -> None:
    from ledger.store import RunStore

    url = f"sqlite:///{tmp_path / 'chain.db'}"
    report = run_sweep("factory", {"market.mechanism": ["uniform", "mcafee"]}, seeds=1, db_url=url,
                       rounds=2, overrides=SMALL, parallel=False, chain="anvil")
    assert report.count("done") == 2, [o.error for o in report.outcomes]
    store = RunStore(url)
    runs = [store.get_run(o.run_id) for o in report.outcomes]
    states = {r.chain_info["state_file"] for r in runs}
    assert len(states) == 2 and all(Path(s).exists() for s in states)
    for r in runs:
        assert r.chain == "anvil" and r.summary["chain"]["reconciled"] is True
        assert r.summary["chain"]["rounds_settled"] == 2
        assert len(store.settlements(r.id, "confirmed")) == 2
    store.close()
    for s in states:
        Path(s).unlink(missing_ok=True)
