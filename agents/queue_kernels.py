"""Compiled (numba) loops of the per-task latency model: the M/D/1 waiting-time CDF and
the in-time probability of a request's latency mixture.

Each kernel is the numpy code it replaces (:func:`agents.latency.md1_wait_cdf`,
:func:`agents.latency.in_time_probability`) written as one loop per element: the same formulas, branches and constants (the x(ρ) grid
of agents.latency is passed in), but fused, so that no (n, atoms, terms) temporaries are
built and atoms without probability are skipped. Sums are taken in a different order than
numpy's pairwise reductions, so results agree to float rounding, not bit for bit
(tests/agents/test_queue_kernels.py checks them against the numpy code and against the
exact M/D/1 series). The quantile bisection of the bundle design
(agents.bundles.fit_scale_quantile) is here too: with x(ρ) and ln C(ρ) read off their
grids, a step costs no exp or log. Imported lazily (numba costs ~0.3 s to import); switched off with the
market's kernels (``EDGEMARKET_KERNELS=0`` or ``market.matching.KERNELS = False``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy

#: Terms of the exact alternating sum, as agents.latency.EXACT_TERMS.
_TERMS = 8


@njit(inline="always", error_model="numpy")
def _grid_pos(r: float, size: int, h: float) -> tuple[int, float]:
    # Index and fraction of ρ = r on the uniform grid (agents.latency._interp_x).
    pos = r / h - 1.0
    last = size - 1.0
    if pos < 0.0:
        pos = 0.0
    elif pos > last:
        pos = last
    i = int(pos)
    if i > size - 2:
        i = size - 2
    return i, pos - i


@njit(inline="always", error_model="numpy")
def _interp(r: float, grid_x: Array, h: float) -> float:
    # agents.latency._interp_x for one value.
    i, f = _grid_pos(r, grid_x.size, h)
    return grid_x[i] + f * (grid_x[i + 1] - grid_x[i])


@njit(inline="always", error_model="numpy")
def _decay(rho: float, grid_x: Array, h: float, rho_lo: float, rho_hi: float) -> float:
    # agents.latency.decay_rate for one value.
    r = min(max(rho, 1e-12), 1 - 1e-12)
    if r > rho_hi:
        return 2 * (1 - r) / r
    if r < rho_lo:
        x = math.log(1 / r)
        for _ in range(40):
            x = math.log1p(x / r)
        return x
    return _interp(r, grid_x, h)


@njit(inline="always", error_model="numpy")
def _md1_cdf(t: float, lam: float, d: float, grid_x: Array, h: float, rho_lo: float,
             rho_hi: float) -> float:
    # agents.latency.md1_wait_cdf for one (t, λ, D).
    if d <= 0 or lam <= 0:
        return 1.0 if t >= 0 else 0.0
    rho = lam * d
    if not (t >= 0 and rho < 1):
        return 0.0
    n = t / d
    if n < _TERMS:
        acc = 0.0
        fact = 1.0
        kmax = math.floor(n)
        k = 0
        while k <= kmax:
            u = rho * (n - k)
            acc += (-u) ** k / fact * math.exp(u)
            k += 1
            fact *= k
        out = (1 - rho) * acc
    else:
        x = _decay(rho, grid_x, h, rho_lo, rho_hi)
        c = (1 - rho) / (rho * math.exp(x) - 1)
        if not math.isfinite(c):
            c = 1.0
        c = min(max(c, 0.0), 1.0)
        out = 1 - c * math.exp(-x * n)
    if out != out:
        return 0.0
    return min(max(out, 0.0), 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def md1_wait_cdf(t: Array, lam: Array, d: Array, grid_x: Array, h: float, rho_lo: float,
                 rho_hi: float) -> Array:
    """P(W <= t) of the M/D/1 wait per element of flat, equal-length arrays."""
    out = np.empty(t.size)
    for i in range(t.size):
        out[i] = _md1_cdf(t[i], lam[i], d[i], grid_x, h, rho_lo, rho_hi)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def in_time_probability(budget: Array, t1: Array, t2: Array, lam: Array, delay: Array,
                        prob: Array, keep: Array, grid_x: Array, h: float, rho_lo: float,
                        rho_hi: float) -> Array:
    """Σ_a prob[i, a]·P(W <= budget_i − delay[i, a] − t1_i − t2_i) over the atoms ``keep``
    (D = max(t1, t2)); atoms of zero probability add nothing and are skipped."""
    n = budget.size
    out = np.zeros(n)
    for i in range(n):
        d = max(t1[i], t2[i])
        stages = t1[i] + t2[i]
        acc = 0.0
        for j in range(keep.size):
            a = keep[j]
            p = prob[i, a]
            if p == 0.0:
                continue
            slack = budget[i] - delay[i, a] - stages
            acc += p * _md1_cdf(slack, lam[i], d, grid_x, h, rho_lo, rho_hi)
        out[i] = acc
    return out


@njit(inline="always", error_model="numpy")
def _wait_quantile_units(ln_eps: float, eps: float, rho: float, grid_x: Array,
                         grid_lnc: Array, h: float) -> float:
    # agents.latency.wait_quantile_units for one value (ln ε passed in: once per request).
    if not rho < 1.0:
        return math.inf
    r = min(max(rho, 0.0), 1 - 1e-12)
    if r < h and eps >= r:  # below the grid (its first ρ is h): P(W > 0) = ρ <= ε
        return 0.0
    i, f = _grid_pos(r, grid_x.size, h)
    x = grid_x[i] + f * (grid_x[i + 1] - grid_x[i])
    lnc = grid_lnc[i] + f * (grid_lnc[i + 1] - grid_lnc[i])
    w = (lnc - ln_eps) / x
    return w if w > 0.0 else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def fit_scale_quantile(t1: Array, t2: Array, rate: Array, budget: Array, eps: Array,
                       iters: int, grid_x: Array, grid_lnc: Array, h: float) -> Array:
    """agents.bundles.fit_scale_quantile per element: the bisection on the common scale s of
    both stages such that s·(D·w(ρ·s) + t1 + t2) <= budget, w the (1 − ε) wait quantile in
    units of D (:func:`_wait_quantile_units`)."""
    n = t1.size
    dmax = np.maximum(t1, t2)
    tot = t1 + t2
    rho1 = rate * dmax
    e = np.maximum(eps, 1e-300)
    ln_e = np.log(e)
    lo = np.zeros(n)
    hi = np.ones(n)
    # Iterations outside, requests inside: consecutive requests are independent, so the
    # CPU overlaps their table reads and divisions (one request's steps form a chain).
    for _ in range(iters):
        for i in range(n):
            s = (lo[i] + hi[i]) / 2
            w = _wait_quantile_units(ln_e[i], e[i], rho1[i] * s, grid_x, grid_lnc, h)
            if s * (dmax[i] * w + tot[i]) <= budget[i]:
                lo[i] = s
            else:
                hi[i] = s
    return lo
