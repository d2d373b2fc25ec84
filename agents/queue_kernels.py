"""Compiled (numba) loops of the per-task latency model: the M/D/1 waiting-time CDF and
the in-time probability of a request's latency mixture.

Each kernel is the numpy code it replaces (:func:`agents.latency.md1_wait_cdf`,
:func:`agents.latency.in_time_probability`) written as one loop per element: the same formulas, branches and constants (the x(ρ) grid
of agents.latency is passed in), but fused, so that no (n, atoms, terms) temporaries are
built and atoms without probability are skipped. Sums are taken in a different order than
numpy's pairwise reductions, so results agree to float rounding, not bit for bit
(tests/agents/test_queue_kernels.py checks them against the numpy code and against the
exact M/D/1 series). The quantile fit of the bundle design
(agents.bundles.fit_scale_quantile) is here too: with x(ρ) and ln C(ρ) read off their
grids, a test costs no exp or log, and false position on the bisection's lattice needs
about a third of its tests. Imported lazily (numba costs ~0.3 s to import); switched off with the
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


@njit(inline="always", error_model="numpy")
def _excess(k: int, unit: float, ln_e: float, e: float, rho1: float, dmax: float, tot: float,
            budget: float, grid_x: Array, grid_lnc: Array, h: float) -> float:
    # (1 − ε) sojourn quantile at scale s = k·unit minus the budget: the fit holds at s iff
    # this is <= 0 (the bisection's test, term for term).
    s = k * unit
    w = _wait_quantile_units(ln_e, e, rho1 * s, grid_x, grid_lnc, h)
    return s * (dmax * w + tot) - budget


@njit(cache=True, nogil=True, error_model="numpy")
def fit_scale_quantile(t1: Array, t2: Array, rate: Array, budget: Array, eps: Array,
                       iters: int, grid_x: Array, grid_lnc: Array, h: float) -> Array:
    """agents.bundles.fit_scale_quantile per element: the largest s = k·2^-iters (k < 2^iters)
    such that s·(D·w(ρ·s) + t1 + t2) <= budget, w the (1 − ε) wait quantile in units of D
    (:func:`_wait_quantile_units`); 0 if none.

    The fit is monotone in s, so that s is what the bisection of the numpy code finds. It is
    searched on the same lattice of scales with the same test, but by false position
    (Illinois variant) with a bisection step whenever a step fails to halve the bracket:
    about a third of the bisection's evaluations. The bracket [kl, kh] always holds a
    scale that fits (or kl = 0) and one that does not (or kh = 2^iters), as the bisection's
    lo and hi, and the search ends when they are adjacent."""
    n = t1.size
    out = np.zeros(n)
    top = 1 << iters
    unit = 1.0 / top
    for i in range(n):
        dmax = max(t1[i], t2[i])
        tot = t1[i] + t2[i]
        rho1 = rate[i] * dmax
        e = max(eps[i], 1e-300)
        ln_e = math.log(e)
        b = budget[i]
        kl, kh = 0, top
        gl = -b  # the excess at s = 0 and s = 1 (neither is tested, as in the bisection)
        gh = _excess(top, unit, ln_e, e, rho1, dmax, tot, b, grid_x, grid_lnc, h)
        # The wait is >= 0, so no scale above budget / (t1 + t2) fits: test the lattice
        # point just above it first (kept as the upper end only if it indeed fails).
        if tot > 0.0 and b >= 0.0 and b / tot < 1.0:
            k = int(b / tot * top) + 1
            if k < top:
                g = _excess(k, unit, ln_e, e, rho1, dmax, tot, b, grid_x, grid_lnc, h)
                if g > 0.0:
                    kh, gh = k, g
        side = 0
        bisect = not (gl < 0.0 and gh > 0.0 and math.isfinite(gh))
        while kh - kl > 1:
            width = kh - kl
            k = kl + width // 2
            if not bisect:
                k = kl + int(width * (gl / (gl - gh)))
                if k <= kl:
                    k = kl + 1
                elif k >= kh:
                    k = kh - 1
            g = _excess(k, unit, ln_e, e, rho1, dmax, tot, b, grid_x, grid_lnc, h)
            if g <= 0.0:  # fits (a NaN does not, as in the bisection)
                kl, gl = k, g
                if side == -1:
                    gh *= 0.5  # Illinois: the kept end has been kept twice
                side = -1
            else:
                kh, gh = k, g
                if side == 1:
                    gl *= 0.5
                side = 1
            # A step that does not halve the bracket (or no usable excess) is followed by
            # a bisection step: never more than about twice the bisection's evaluations.
            bisect = (not bisect and 2 * (kh - kl) > width) or not (
                math.isfinite(gl) and math.isfinite(gh) and gl <= 0.0 < gh)
        out[i] = kl * unit
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def fit_compute_time(t1: Array, lam: Array, budget: Array, eps: Array, iters: int,
                     grid_x: Array, grid_lnc: Array, h: float) -> tuple[Array, Array]:
    """agents.relay_market.fit_to_cap per element: with the transmission stage held at t1,
    the longest compute time t2 in [0, budget] (bisection, ``iters`` halvings) such that
    D·w(λD) + t1 + t2 <= budget, D = max(t1, t2), w the (1 − ε) wait quantile in units of D
    (:func:`_wait_quantile_units`); and whether t2 = 0 fits at all."""
    n = t1.size
    lo_out = np.zeros(n)
    fits0 = np.zeros(n, np.bool_)
    for i in range(n):
        e = eps[i]
        ln_e = math.log(e)
        a, b, r = t1[i], budget[i], lam[i]
        d = max(a, 0.0)
        fits0[i] = d * _wait_quantile_units(ln_e, e, r * d, grid_x, grid_lnc, h) + a <= b
        lo, hi = 0.0, max(b, 0.0)
        for _ in range(iters):
            mid = (lo + hi) / 2
            d = max(a, mid)
            if d * _wait_quantile_units(ln_e, e, r * d, grid_x, grid_lnc, h) + a + mid <= b:
                lo = mid
            else:
                hi = mid
        lo_out[i] = lo
    return lo_out, fits0
