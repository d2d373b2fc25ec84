"""Latency distribution against independent references.

- The M/D/1 waiting-time CDF against the Erlang/Crommelin sum evaluated with 60-digit
  arithmetic (mpmath), across the switch to the exponential tail.
- The reliability of the whole task path -- a two-stage tandem of deterministic servers fed
  by Poisson tasks, plus HARQ link delay atoms, a cache-miss penalty and residual loss --
  against a plain, seeded Monte Carlo of that tandem (departure recursions of both stages,
  no reduction theorem), within 2 % absolute over a grid of loads.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.latency import in_time_probability, md1_wait_cdf, tandem_latency_quantile_s


@pytest.mark.parametrize("rho", [0.05, 0.3, 0.7, 0.95])
def test_md1_wait_cdf_matches_the_exact_sum_in_high_precision(rho: float) -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    for t in (0.0, 0.4, 1.0, 2.5, 7.99, 8.0, 11.0, 30.0):
        lam, tt = mp.mpf(rho), mp.mpf(t)
        exact = (1 - lam) * mp.fsum(
            (lam * (k - tt)) ** k / mp.factorial(k) * mp.exp(-lam * (k - tt))
            for k in range(int(t) + 1))
        got = md1_wait_cdf(np.array(t * 0.02), np.array(rho / 0.02), np.array(0.02))
        assert float(got) == pytest.approx(float(exact), abs=1e-8)


def _tandem_mc(rng: np.random.Generator, f: float, t1: float, t2: float, n: int) -> np.ndarray:
    """Sojourn of n Poisson(f) tasks through two FIFO deterministic stages (steady state:
    the first 10 % are discarded). d_i = max(a_i, d_{i-1}) + t, i.e.
    d_i = (i + 1)·t + max_{j <= i}(a_j − j·t)."""
    a = np.cumsum(rng.exponential(1 / f, n))
    i = np.arange(n)
    d1 = (i + 1) * t1 + np.maximum.accumulate(a - i * t1)
    d2 = (i + 1) * t2 + np.maximum.accumulate(d1 - i * t2)
    return (d2 - a)[n // 10:]


@pytest.mark.parametrize("rho", [0.1, 0.3, 0.5, 0.7, 0.85, 0.95])
@pytest.mark.parametrize("ratio", [0.3, 1.0, 2.5])
def test_reliability_matches_a_monte_carlo_of_the_tandem(rho: float, ratio: float) -> None:
    rng = np.random.default_rng(int(rho * 100) + int(ratio * 10))
    t_max = 0.010  # the slower stage's service time, s
    t1, t2 = (t_max, t_max / ratio) if ratio >= 1 else (t_max * ratio, t_max)
    f = rho / t_max
    # Link delay atoms (HARQ) with a defective total (residual loss), a cache-miss penalty.
    atoms = np.array([0.001, 0.002, 0.003])
    p_atoms = np.array([0.90, 0.08, 0.0195])  # residual loss 0.0005
    hit, miss_s, transport = 0.85, 0.004, 0.002
    n = 400_000
    soj = _tandem_mc(rng, f, t1, t2, n)
    m = soj.size
    draw = rng.random(m)
    cum = np.cumsum(p_atoms)
    lost = draw >= cum[-1]
    link = atoms[np.minimum(np.searchsorted(cum, draw, side="right"), atoms.size - 1)]
    miss = rng.random(m) >= hit
    total = soj + link + transport + miss * miss_s
    delay = np.concatenate([atoms + transport, atoms + transport + miss_s])[None, :]
    prob = np.concatenate([hit * p_atoms, (1 - hit) * p_atoms])[None, :]
    # Budgets from the shortest possible latency up to far in the tail (off the atoms).
    floor = atoms[0] + transport + t1 + t2
    for k in (0.37, 0.91, 2.13, 4.07, 9.11):
        budget = floor + k * t_max
        mc = float(np.mean((total <= budget) & ~lost))
        model = float(in_time_probability(np.array([budget]), np.array([t1]), np.array([t2]),
                                          np.array([f]), delay, prob)[0])
        assert model == pytest.approx(mc, abs=0.02), (rho, ratio, k)


@pytest.mark.parametrize("rho", [0.1, 0.3, 0.5, 0.7, 0.85, 0.95])
@pytest.mark.parametrize("eps", [0.1, 0.01, 1e-3, 1e-5])
def test_sizing_quantile_against_the_exact_wait_distribution(rho: float, eps: float) -> None:
    """The (1 − ε) quantile the bundles are sized on comes from the exponential tail; at it
    the exact wait CDF (checked above against 60-digit arithmetic) leaves a tail of ε
    within 35 % (the tail formula is approximate within a few D of 0, at low loads)."""
    t1, t2 = 0.004, 0.010
    q = float(tandem_latency_quantile_s(np.array(eps), np.array(t1), np.array(t2),
                                        np.array(rho / t2)))
    tail = 1 - float(md1_wait_cdf(np.array(q - t1 - t2), np.array(rho / t2), np.array(t2)))
    assert tail == pytest.approx(eps, rel=0.35)
