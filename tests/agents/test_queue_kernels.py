"""The compiled latency kernels (agents.queue_kernels) against independent references.

- The M/D/1 CDF inside the in-time kernel against the Erlang/Crommelin series summed in
  plain Python (math.fsum, one term at a time) for t < 8·D, and against a brute-force
  bisection of the Cramér–Lundberg root beyond it.
- The in-time probability against the numpy code it replaces (``kernel=False``) on random inputs that cover every branch: unstable and empty queues,
  infinite stages, zero-probability atoms, ρ below and above the x(ρ) grid.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.latency import in_time_probability


def _series_cdf(t: float, lam: float, d: float) -> float:
    """P(W <= t) of M/D/1: (1 − ρ) Σ_{k<=t/D} [λ(kD − t)]^k/k!·e^{−λ(kD − t)}, term by term,
    exact for t < 8D (few terms: no cancellation to speak of); the exponential tail
    beyond, its root found by plain bisection of ρ(e^x − 1) = x."""
    rho = lam * d
    if t < 0:
        return 0.0
    if t / d < 8:
        terms = [(lam * (k * d - t)) ** k / math.factorial(k) * math.exp(-lam * (k * d - t))
                 for k in range(math.floor(t / d) + 1)]
        return (1 - rho) * math.fsum(terms)
    lo, hi = 1e-12, 50.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rho * math.expm1(mid) - mid < 0 else (lo, mid)
    x = (lo + hi) / 2
    c = (1 - rho) / (rho * math.exp(x) - 1)
    return 1 - c * math.exp(-x * t / d)


def test_in_time_kernel_equals_the_exact_md1_series() -> None:
    rng = np.random.default_rng(5)
    n = 400
    d = rng.uniform(0.001, 0.02, n)
    lam = rng.uniform(0.02, 0.98, n) / d
    t = d * rng.uniform(0.0, 14.0, n)
    # One atom at delay 0 with probability 1: the in-time probability is the CDF itself.
    got = in_time_probability(t + d, d, np.zeros(n), lam, np.zeros((n, 1)), np.ones((n, 1)),
                              kernel=True)
    want = np.array([_series_cdf(ti, li, di) for ti, li, di in zip(t, lam, d, strict=True)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    near = t < 8 * d
    np.testing.assert_allclose(got[near], want[near], rtol=0, atol=1e-10)


def _random_requests(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    t1 = rng.uniform(0.0, 0.05, n)
    t2 = rng.uniform(0.0, 0.05, n)
    t1[rng.random(n) < 0.05] = np.inf  # a stage that got nothing
    t2[rng.random(n) < 0.05] = 0.0
    rate = rng.uniform(0.0, 60.0, n)
    rate[rng.random(n) < 0.05] = 0.0
    rate[rng.random(n) < 0.05] = 1e-9  # ρ below the x(ρ) grid
    return {"t1": t1, "t2": t2, "rate": rate, "budget": rng.uniform(-0.01, 0.2, n)}


def test_in_time_kernel_equals_the_numpy_code() -> None:
    rng = np.random.default_rng(11)
    n, a = 3000, 10
    r = _random_requests(rng, n)
    delay = np.sort(rng.uniform(0.0, 0.05, (n, a)), axis=1)
    prob = rng.dirichlet(np.ones(a), n) * rng.uniform(0.9, 1.0, (n, 1))
    prob[rng.random((n, a)) < 0.3] = 0.0
    prob[:, 7] = 1e-14  # an atom dropped everywhere
    args = (r["budget"], r["t1"], r["t2"], r["rate"], delay, prob)
    fast = in_time_probability(*args, kernel=True)
    slow = in_time_probability(*args, kernel=False)
    assert 0.05 < np.mean(fast) < 0.95  # the inputs cover hits and misses
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("rho", [1e-7, 0.5, 0.9999, 0.99999])
def test_in_time_kernel_tail_branches(rho: float) -> None:
    """ρ below, inside and above the x(ρ) grid, far into the tail (t = 20·D). Above the
    grid (ρ > 1 − 2^-16) the model's x ≈ 2(1 − ρ)/ρ is itself approximate: there the
    kernel is held to the numpy code only."""
    d = 0.01
    args = (np.array([21 * d]), np.array([d]), np.zeros(1), np.array([rho / d]),
            np.zeros((1, 1)), np.ones((1, 1)))
    got = float(in_time_probability(*args, kernel=True)[0])
    assert got == pytest.approx(float(in_time_probability(*args, kernel=False)[0]), abs=1e-12)
    if rho < 0.99998:
        assert got == pytest.approx(_series_cdf(20 * d, rho / d, d), abs=1e-6)


def _plain_quantile_fits(s: float, t1: float, t2: float, lam: float, budget: float,
                         eps: float) -> bool:
    """The bundle design's fit condition at scale s in plain Python: the (1 − ε) quantile
    D·ln(C/ε)/x of the M/D/1 wait (root x of ρ(e^x − 1) = x by bisection), plus both
    stages, within the budget."""
    d, tot = s * max(t1, t2), s * (t1 + t2)
    rho = lam * d
    if rho >= 1:
        return False
    w = 0.0
    if rho > 0:
        lo, hi = 1e-12, 60.0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if rho * math.expm1(mid) - mid < 0 else (lo, mid)
        x = (lo + hi) / 2
        c = min((1 - rho) / (rho * math.exp(x) - 1), 1.0)
        w = max(d * math.log(c / eps) / x, 0.0)
    return w + tot <= budget


def test_quantile_fit_kernel_is_the_largest_scale_that_fits() -> None:
    """The compiled bisection against the numpy one and, independently, against the fit
    condition evaluated in plain Python just below and just above the scale it returns."""
    from agents.bundles import FIT_ITERATIONS, fit_scale_quantile

    rng = np.random.default_rng(11)
    n = 400
    t1, t2 = rng.uniform(1e-4, 0.2, n), rng.uniform(1e-4, 0.2, n)
    lam = rng.choice([0.0, 1.0, 5.0, 20.0], n) * rng.uniform(0.5, 1.5, n)
    budget = rng.uniform(0.0, 0.5, n)
    eps = 10.0 ** -rng.uniform(1, 6, n)
    t1[:5], lam[:5] = 10.0, 1.0  # unstable at s = 1: the fit is below 1/(λD)
    fast = fit_scale_quantile(t1, t2, lam, budget, eps, kernel=True)
    slow = fit_scale_quantile(t1, t2, lam, budget, eps, kernel=False)
    step = 2.0 ** -FIT_ITERATIONS
    np.testing.assert_allclose(fast, slow, rtol=0, atol=step)
    assert (fast < 1).any() and (fast > 0).any()
    for i in range(n):
        s = float(fast[i])
        # x(ρ) is interpolated on a grid (error < 1e-7 for ρ >= 1e-3, larger below): the
        # boundary is checked to 0.1 % of the scale.
        if s > 4 * step:  # the fit condition holds a little below s ...
            assert _plain_quantile_fits(s * (1 - 1e-3), t1[i], t2[i], lam[i], budget[i],
                                        eps[i]), i
        if s < 1 - 4 * step:  # ... and fails a little above it
            assert not _plain_quantile_fits(s * (1 + 1e-3) + 2 * step, t1[i], t2[i], lam[i], budget[i],
                                            eps[i]), i


def test_quantile_fit_search_lands_where_the_bisection_does() -> None:
    """The kernel searches the bisection's lattice of scales by false position; the fit is
    monotone in the scale, so it must land on the very scale the plain bisection (numpy,
    24 halvings) returns, bar float rounding of the test itself on a handful of rows."""
    from agents.bundles import FIT_ITERATIONS, fit_scale_quantile

    rng = np.random.default_rng(5)
    n = 20_000
    t1 = rng.uniform(1e-5, 0.3, n) * rng.choice([1.0, 1.0, 1.0, 0.0], n)
    t2 = rng.uniform(1e-5, 0.3, n) * rng.choice([1.0, 1.0, 1.0, 0.0], n)
    lam = rng.choice([0.0, 1.0, 5.0, 20.0, 200.0], n) * rng.uniform(0.5, 1.5, n)
    budget = rng.uniform(-0.1, 0.5, n)
    eps = 10.0 ** -rng.uniform(0.5, 7, n)
    fast = fit_scale_quantile(t1, t2, lam, budget, eps, kernel=True)
    slow = fit_scale_quantile(t1, t2, lam, budget, eps, kernel=False)
    assert np.all(np.abs(fast - slow) <= 2.0 ** -FIT_ITERATIONS)
    assert (fast == slow).mean() > 0.999
    assert (fast == 0).any() and (fast == 1 - 2.0 ** -FIT_ITERATIONS).any()


def test_compute_time_fit_kernel_equals_the_numpy_bisection() -> None:
    """agents.relay_market's fit of the compute time to a capped transmission: the compiled
    bisection against the numpy one, and the fit condition checked in plain Python around
    what it returns."""
    from agents.bundles import FIT_ITERATIONS
    from agents.relay_market import _fit_compute_time

    rng = np.random.default_rng(12)
    n = 2_000
    t1 = rng.uniform(0.0, 0.1, n) * rng.choice([1.0, 1.0, 0.0], n)
    lam = rng.choice([0.0, 2.0, 10.0, 30.0], n) * rng.uniform(0.5, 1.5, n)
    budget = rng.uniform(-0.05, 0.3, n)
    eps = 10.0 ** -rng.uniform(1, 6, n)
    fast, ok_fast = _fit_compute_time(t1, lam, budget, eps, kernel=True)
    slow, ok_slow = _fit_compute_time(t1, lam, budget, eps, kernel=False)
    step = np.maximum(budget, 0.0) * 2.0 ** -FIT_ITERATIONS
    assert np.all(np.abs(fast - slow) <= step * (1 + 1e-9))
    assert (fast == slow).mean() > 0.99 and (ok_fast == ok_slow).mean() > 0.99
    assert ok_fast.any() and not ok_fast.all() and (fast > 0).any()
    for i in np.flatnonzero(ok_fast & (fast > 4 * step))[:200]:
        s = float(fast[i])  # fits a little below what it returns, fails a little above
        assert _plain_quantile_fits(1.0, t1[i], s * (1 - 1e-3), lam[i], budget[i], eps[i])
        if fast[i] < budget[i] - 4 * step[i]:
            assert not _plain_quantile_fits(1.0, t1[i], s * (1 + 1e-3) + 2 * step[i], lam[i],
                                            budget[i], eps[i])
