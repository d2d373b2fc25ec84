"""Per-task reliability of a device/edge split (agents.codesign_reliability) against
independent references: the Pollaczek-Khinchine mean, and a plain Monte Carlo of the
FIFO queues themselves (departure-time recursions, no queueing formula involved)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.codesign_reliability import (
    TaskSpec,
    local_reliability,
    md1_wait_cdf,
    min_edge_table,
    offload_reliability,
    stage_times,
    task_reliability,
)

TASKS = 400_000
WARMUP = 2_000


def fifo_departures(arrivals: np.ndarray, service_s: float) -> np.ndarray:
    """Departures of a FIFO single server with constant service: d_n = max(a_n, d_{n-1}) + T,
    i.e. d_n - (n+1)T = max(a_n - nT, d_{n-1} - nT), a running maximum."""
    n = np.arange(arrivals.size)
    return np.maximum.accumulate(arrivals - n * service_s) + (n + 1) * service_s


def simulate(task: TaskSpec, x: float, rate_mbps: float, edge_gflops: float,
             seed: int) -> dict[str, float]:
    """Monte Carlo estimates of P(local ≤ d), P(offloaded ≤ d) and P(both ≤ d)."""
    rng = np.random.default_rng(seed)
    a = np.cumsum(rng.exponential(1 / task.rate_hz, TASKS))
    t_loc, t_tx, t_e = (float(v) for v in stage_times(task, x, rate_mbps, edge_gflops))
    d = task.deadline_s
    local = fifo_departures(a, t_loc) - a if t_loc > 0 else np.zeros_like(a)
    if t_tx + t_e > 0:
        remote = fifo_departures(fifo_departures(a, t_tx), t_e) - a + task.fixed_delay_s
    else:
        remote = np.zeros_like(a)
    local, remote = local[WARMUP:], remote[WARMUP:]
    return {"local": float(np.mean(local <= d)), "remote": float(np.mean(remote <= d)),
            "both": float(np.mean(np.maximum(local, remote) <= d))}


def test_md1_waiting_time_matches_pollaczek_khinchine_mean_and_atom() -> None:
    # P(W = 0) = 1 - ρ and E[W] = ρT / (2(1 - ρ)) for M/D/1 (Pollaczek-Khinchine).
    for rho in (0.1, 0.4, 0.7):
        T, f = 0.1, rho / 0.1
        assert md1_wait_cdf(0.0, T, f) == pytest.approx(1 - rho, abs=1e-12)
        t = np.linspace(0, 8 / f, 40_001)
        tail = 1 - md1_wait_cdf(t, T, f)
        mean = float(np.sum((tail[1:] + tail[:-1]) / 2 * np.diff(t)))  # E[W] = ∫ P(W > t) dt
        assert mean == pytest.approx(rho * T / (2 * (1 - rho)), rel=2e-3, abs=1e-6)


def test_md1_cdf_edges() -> None:
    assert md1_wait_cdf(-0.01, 0.1, 2.0) == 0.0
    assert md1_wait_cdf(0.2, 0.6, 2.0) == 0.0  # ρ = 1.2: unstable
    assert md1_wait_cdf(0.0, 0.0, 2.0) == 1.0


# (rate_hz, deadline_s, x, rate_mbps, edge_gflops): light to heavy loads, all-offload,
# balanced splits, uplink- or edge-bound offloaded parts.
CASES = [
    (2.0, 0.3, 0.0, 20.0, 150.0),
    (2.0, 0.3, 0.26, 20.0, 160.0),
    (2.0, 0.3, 0.5, 8.0, 100.0),
    (5.0, 0.4, 0.3, 30.0, 120.0),
    (8.0, 0.5, 0.2, 60.0, 250.0),
    (8.0, 0.5, 0.4, 25.0, 300.0),
    (2.0, 0.3, 0.2, 40.0, 200.0),  # near the operating point: both parts >= 0.99
]


@pytest.mark.parametrize(("f", "deadline", "x", "rate", "edge"), CASES)
def test_reliability_matches_monte_carlo_of_the_queues(f: float, deadline: float, x: float,
                                                       rate: float, edge: float) -> None:
    task = TaskSpec(rate_hz=f, data_mbit=2.0, work_gflop=20.0, deadline_s=deadline,
                    min_reliability=0.99, device_gflops=50.0, fixed_delay_s=0.005)
    mc = simulate(task, x, rate, edge, seed=int(100 * f + 10 * x))
    _, t_tx, t_e = stage_times(task, x, rate, edge)
    p_loc = float(local_reliability(task, x))
    p_rem = float(offload_reliability(task, t_tx, t_e))
    p = float(task_reliability(task, x, rate, edge))
    # Marginals are exact (Erlang + Friedman): within Monte Carlo noise.
    assert p_loc == pytest.approx(mc["local"], abs=0.01)
    assert p_rem == pytest.approx(mc["remote"], abs=0.01)
    # The product is a lower bound on the joint probability (association); the joint
    # probability is at most the smaller marginal (Fréchet), so near the targets (both
    # marginals >= 0.99) the bound gives away at most 1 - max(p_loc, p_rem) <= 0.01.
    assert p <= mc["both"] + 0.01
    assert mc["both"] <= min(p_loc, p_rem) + 0.01
    if min(p_loc, p_rem) >= 0.99:
        assert p == pytest.approx(mc["both"], abs=0.01)
    if x == 0.0:
        assert p == pytest.approx(mc["both"], abs=0.01)


def test_table_gives_the_least_edge_share_a_grid_search_finds() -> None:
    task = TaskSpec(rate_hz=2.0, data_mbit=2.0, work_gflop=20.0, deadline_s=0.3,
                    min_reliability=0.99, device_gflops=50.0, fixed_delay_s=0.0005)
    xs = np.linspace(0, 1, 21)
    rates = np.array([12.0, 20.0, 50.0, 400.0])
    table = min_edge_table(task, rates, xs)
    e_grid = np.geomspace(20, 2000, 3000)  # steps of 0.15 %
    for r, e_tab, x_tab in zip(rates, table.edge_gflops, table.split, strict=True):
        X, E = np.meshgrid(xs, e_grid, indexing="ij")
        ok = task_reliability(task, X, r, E) >= task.min_reliability
        brute = float(E[ok].min()) if ok.any() else np.inf
        if not np.isfinite(brute):
            assert not np.isfinite(e_tab)
            continue
        # The table's choice meets the target, and no grid point does with 0.5 % less.
        assert task_reliability(task, x_tab, r, e_tab) >= task.min_reliability - 1e-9
        assert e_tab <= brute * 1.0016
        assert e_tab >= brute / 1.005
    # Less rate never needs less edge compute.
    assert np.all(np.diff(table.edge_gflops[np.isfinite(table.edge_gflops)]) <= 1e-9)


def test_lookup_is_conservative_between_grid_rates() -> None:
    task = TaskSpec(rate_hz=2.0, data_mbit=2.0, work_gflop=20.0, deadline_s=0.3,
                    min_reliability=0.99, device_gflops=50.0)
    table = min_edge_table(task, np.geomspace(5, 500, 60), np.linspace(0, 1, 21))
    r = np.geomspace(6, 450, 50)
    e, x = table.lookup(r)
    ok = np.isfinite(e)
    assert ok.any()
    assert np.all(task_reliability(task, x[ok], r[ok], e[ok]) >= task.min_reliability - 1e-9)
    assert np.isinf(table.lookup(np.array([1.0]))[0][0])  # below the table: not servable
