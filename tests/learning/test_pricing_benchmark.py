"""The learned-pricing benchmark (agents/learning/benchmark.py, bench/bench_learned_pricing.py):
duals and errors against hand-solved markets, statistics against published t quantiles,
ZIP against Cliff's (1997) update rule, the oracle bounding what any pricing delivers, and
(matrix marker) the bench's --quick path with a real tiny RLlib training."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.learning import benchmark as bm
from agents.learning.core import MarketCore
from agents.scenario import load_scenario
from agents.strategies import ZIP, NodeObservation

ROOT = Path(__file__).resolve().parents[2]
TINY = {"devices.count": 40, **bm.BENCH_OVERRIDES}


def test_lp_duals_of_a_hand_solved_venue() -> None:
    """Three one-unit bids for communication worth 10, 8, 6 and 2.5 units at cost 1: the
    third bid is served in part, so λ*_comm = 6; with 5 units supply is slack and
    λ*_comm = the marginal seller's cost, 1."""
    demand = np.array([[1.0, 0, 0, 0]] * 3)
    value = np.array([10.0, 8.0, 6.0])
    res = np.array([0], np.int8)
    scarce = bm.lp_duals(demand, value, res, np.array([2.5]), np.array([1.0]))
    slack = bm.lp_duals(demand, value, res, np.array([5.0]), np.array([1.0]))
    assert scarce[0] == pytest.approx(6.0)
    assert slack[0] == pytest.approx(1.0)


def test_relative_errors_by_hand() -> None:
    price = np.array([[7.0, np.nan], [np.nan, 2.0]])
    dual = np.array([[6.0, 1.0], [2.0, 0.0]])
    wanted = np.ones((2, 2))
    min_ask = np.array([[5.0, 3.0], [np.nan, 1.0]])
    # (0,0): |7-6|/6; (0,1): no trade, lowest ask 3: |3-1|/1; (1,0): no price at all;
    # (1,1): λ* = 0, undefined.
    np.testing.assert_allclose(bm.relative_errors(price, dual, wanted, min_ask), [1 / 6, 2.0])
    assert bm.relative_errors(price, dual, np.zeros((2, 2)), min_ask).size == 0


def test_bundle_error_does_not_depend_on_how_a_rent_is_split() -> None:
    """A venue wanting 2 cache per learning unit: λ* = (0, 3) and (1.5, 0) price its bundle
    alike (2·0 + 3 = 2·1.5 + 0 = 3), so prices (1, 1) are off by |3 − 3| = 0 for both,
    while the per-resource errors differ."""
    wanted = np.array([[0.0, 2.0, 0.0, 1.0]])
    price = np.array([[np.nan, 1.0, np.nan, 1.0]])
    no_ask = np.full((1, 4), np.nan)
    for dual in (np.array([[1.0, 0.0, 1.0, 3.0]]), np.array([[1.0, 1.5, 1.0, 0.0]])):
        np.testing.assert_allclose(bm.bundle_errors(price, dual, wanted, no_ask), [0.0])
    np.testing.assert_allclose(bm.bundle_errors(2 * price, dual, wanted, no_ask), [1.0])
    assert bm.bundle_errors(np.full((1, 4), np.nan), dual, wanted, no_ask).size == 0


def test_mean_ci_matches_the_t_table() -> None:
    m, lo, hi = bm.mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4 dof) from the t table
    assert (m, lo, hi) == pytest.approx((3.0, 3.0 - half, 3.0 + half), rel=1e-6)


def test_compare_is_paired_over_common_seeds() -> None:
    def r(name: str, seed: int, ratio: float, err: float) -> bm.SeedResult:
        return bm.SeedResult(name, seed, 1, ratio * 100.0, 100.0, err, 1, 0.0, 1.0, 1.0)

    res = [r("learned", 1, 0.60, 1.0), r("learned", 2, 0.70, 2.0), r("learned", 3, 0.9, 9.0),
           r("c", 1, 0.55, 2.0), r("c", 2, 0.60, 2.0)]
    out = bm.compare(res, "learned", "c")
    assert out["seeds"] == 2  # seed 3 has no partner
    assert out["welfare_gain_pp"] == pytest.approx(7.5)  # (5 + 10) / 2
    assert out["dual_error_ratio"] == pytest.approx(1.5 / 2.0)


def test_zip_follows_cliffs_update_rule() -> None:
    """Cliff (1997), HPL-97-141, eqs. for a seller: Δ = β(τ − p), Γ(t+1) = γΓ(t) + (1−γ)Δ,
    p(t+1) = p(t) + Γ(t+1), μ = p/λ − 1; τ = R·q + A with R = 1, A = 0 here (r_max =
    a_max = 0). A seller that sold its capacity at or below q raises toward q; one that
    sold nothing lowers toward q."""
    z = ZIP(beta_min=0.4, beta_max=0.4, margin_min=0.5, margin_max=0.5, r_max=0.0, a_max=0.0)
    cost = np.array([[1.0, 2.0, 1.0, 1.0]])
    cap = np.ones((1, 4))
    obs = NodeObservation(round=1, cost=cost, capacity=cap, last_ask=cost, sold=cap,
                          demand=cap, market_price=np.array([[2.0, 2.0, 1.2, 3.0]]))
    rng = np.random.default_rng(0)
    z.quote(obs, rng)
    z.gamma_ = np.full((1, 4), 0.25)
    sold = np.array([[1.0, 0.0, 1.0, 1.0]])  # resource 1 sold nothing
    obs = NodeObservation(1, cost, cap, cost, sold, cap, obs.market_price)
    p, gam = cost * 1.5, np.zeros((1, 4))
    q = obs.market_price
    for _ in range(2):
        z.update(obs, rng)
        # raise when sold and p <= q; lower when unsold; else unchanged (resource 2: p > q).
        move = (sold >= 0.9) & (p <= q) | (sold < 0.9)
        delta = 0.4 * (q - p)
        gam = np.where(move, 0.25 * gam + 0.75 * delta, gam)
        p = p + np.where(move, gam, 0.0)
        np.testing.assert_allclose(cost * (1 + z.margin_), np.maximum(p, cost), rtol=1e-12)


def test_oracle_bounds_delivered_welfare_and_equilibrium_prices_track_the_duals() -> None:
    """With truthful bids, asks at true cost and nobody leaving, the equilibrium mechanism's
    venue prices are the duals of the venue LPs on true values and costs (error 0); any
    pricing delivers at most the oracle; a ×2 markup drives buyers away and is off λ*."""
    sc = load_scenario(bm.BENCH_SCENARIO, {**TINY, "dynamics.reservation_min_share": None})
    eq = bm.run_seed(sc, bm.baseline_pricings(1.0)[-1], 5, 3)
    assert eq.dual_pairs > 0 and eq.dual_error == pytest.approx(0.0, abs=1e-6)
    assert eq.left_share == 0.0
    sc_leave = load_scenario(bm.BENCH_SCENARIO, TINY)
    x2 = bm.run_seed(sc_leave, bm.constant_markup(2.0), 5, 3)
    assert x2.left_share > 0.0 and x2.dual_error > 0.05
    for r in (eq, x2):
        assert 0.0 < r.oracle and r.delivered <= r.oracle + 1e-6


def test_welfare_reward_splits_the_rounds_delivered_welfare() -> None:
    core = MarketCore(bm.BENCH_SCENARIO, {"episode_rounds": 3, "node_reward": "welfare",
                                          "reward_scale": 50.0},
                      overrides={"devices.count": 40, "snapshot_every": 0,
                                 "market.optimum_every": 0})
    core.reset(seed=0)
    out = core.step(np.full((core.n_nodes, 4), 1.5))
    assert np.all(out.node_rewards == out.node_rewards[0])
    assert out.node_rewards.sum() * 50.0 == pytest.approx(out.round_result.delivered_welfare)


@pytest.mark.matrix
def test_bench_quick_path_with_a_tiny_real_training(tmp_path: Path) -> None:
    """The bench's whole --quick path (grid, PPO on the new API stack, held-out
    evaluation, JSON line) on a tiny config: one PPO iteration of 100 env steps (~20 s quiet)."""
    cmd = [sys.executable, str(ROOT / "bench" / "bench_learned_pricing.py"), "--quick",
           "--set", "devices.count=40", "--grid-seeds", "1", "--rounds", "3", "--seeds", "2",
           "--iterations", "1", "--batch", "100", "--out", str(tmp_path / "policy")]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert line["seeds"] == 2 and line["training"]["env_steps"] >= 100
    assert set(line["baselines"]) == {"learned", "tatonnement", "zip", "equilibrium",
                                      f"constant x{line['best_constant_multiplier']:g}"}
    assert math.isfinite(line["welfare_gain_pp"]) and math.isfinite(line["dual_error_ratio"])


def test_evaluate_benchmark_prints_cis_and_stores_rows(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import select

    from app.cli import main
    from ledger.store import Evaluation, RunStore

    db = f"sqlite:///{tmp_path / 'b.db'}"
    try:
        main(["evaluate", "scarce_hotspots", "--benchmark", "--seeds", "2", "--rounds", "2",
              "--multiplier", "1.5", "--set", "devices.count=40", "--db", db, "--session", "b"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "| constant x1.5 | 2 |" in out and "| zip | 2 |" in out and "[" in out
    with RunStore(db).engine.connect() as c:
        rows = c.execute(select(Evaluation.pricing, Evaluation.welfare_share,
                                Evaluation.mean_price).where(Evaluation.session == "b")).all()
    assert len(rows) == 2 * 4  # 2 held-out seeds × (tatonnement, zip, constant, equilibrium)
    assert all(0.0 <= share <= 1.0 and "dual_error" in mp for _p, share, mp in rows)
