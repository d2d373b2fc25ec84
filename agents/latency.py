"""Per-task latency as a distribution: the tandem queue of a session, its quantiles and its
reliability, over arrays of requests.

A session's tasks arrive as a Poisson stream at ``f`` tasks/s and pass two stages of
deterministic service time: transmission ``t1`` and compute ``t2``. For constant service
times in tandem the sojourn of every task equals the wait in a single M/D/1 queue with the
slower stage's service time ``D = max(t1, t2)`` plus both service times (Friedman,
"Reduction methods for tandem queuing systems", Oper. Res. 13(1), 1965), so

    latency = W_{M/D/1}(λ = f, D = max(t1, t2)) + t1 + t2 + link delay (air + HARQ)
              + transport + (cache miss ? penalty : 0).

The M/D/1 waiting-time distribution is exact (Erlang 1909; Crommelin 1932):

    P(W <= t) = (1 − ρ) Σ_{k=0}^{⌊t/D⌋} [λ(kD − t)]^k / k! · e^{−λ(kD − t)},  ρ = λD < 1.

The alternating sum loses precision as t/D grows, so it is used for t < ``EXACT_TERMS``·D
only; beyond, the Cramér–Lundberg tail ``P(W > t) = C·e^{−x·t/D}`` is used, with x the
positive root of ``ρ(e^x − 1) = x`` and ``C = (1 − ρ)/(ρ·e^x − 1)``. At t = 8D it differs
from the exact sum by < 1e-9 for every ρ (tests/agents/test_latency_distribution.py checks
both against a plain Monte Carlo of the queue). The link delay, the cache hit or miss and
the transport are discrete: the latency CDF is a finite mixture of shifted M/D/1 CDFs.

Reliability = P(latency <= budget) × (1 − residual loss after HARQ).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Terms of the exact alternating sum (t < EXACT_TERMS·D); the tail formula beyond.
EXACT_TERMS = 8
_FACT = np.array([math.factorial(k) for k in range(EXACT_TERMS)], dtype=np.float64)


def _root_table(points: int = 65537) -> tuple[FloatArray, FloatArray]:
    """x(ρ) on a grid of ρ in (0, 1): the positive root of ρ(e^x − 1) = x (Newton from the
    right, where the convex function converges monotonically)."""
    rho = np.linspace(0.0, 1.0, points)[1:-1]
    # Two upper bounds of the root: ρ(e^x − 1) >= ρ(x + x²/2) makes 2(1 − ρ)/ρ one, and
    # f(2·ln(1/ρ) + 2) = e²/ρ − ρ − 2·ln(1/ρ) − 2 > 0 the other.
    x = np.minimum(2 * (1 - rho) / rho, 2 * np.log(1 / rho) + 2)
    for _ in range(200):
        f = rho * np.expm1(x) - x
        x = x - f / (rho * np.exp(x) - 1)
    return rho, x


_RHO_GRID, _X_GRID = _root_table()
_H = float(_RHO_GRID[1] - _RHO_GRID[0])  # uniform spacing: index arithmetic, no search
_X_STEP = np.diff(_X_GRID)
#: ln C(ρ) on the same grid, C = (1 − ρ)/(ρe^x − 1) the tail constant, written with the
#: root's identity ρe^x = x + ρ as (1 − ρ)/(x + ρ − 1) (positive on the whole grid), capped
#: at 1: the wait quantile's bisection then needs no exp or log per step.
_LNC_GRID = np.log(np.minimum((1 - _RHO_GRID) / (_X_GRID + _RHO_GRID - 1), 1.0))
_LNC_STEP = np.diff(_LNC_GRID)


def _interp_x(r: FloatArray) -> FloatArray:
    """np.interp(r, _RHO_GRID, _X_GRID) on the uniform grid, by index arithmetic."""
    pos = np.minimum(np.maximum(r / _H - 1.0, 0.0), _X_GRID.size - 1.0)
    i = np.minimum(pos.astype(np.int64), _X_GRID.size - 2)
    return np.asarray(_X_GRID[i] + (pos - i) * _X_STEP[i], dtype=np.float64)


def decay_rate(rho: FloatArray) -> FloatArray:
    """x(ρ): the tail decay of the M/D/1 wait in units of 1/D (ρ clipped into (0, 1)).

    Linear interpolation on a 2^16 grid (x is smooth and convex: the error is < 1e-7 for
    ρ >= 1e-3, far below what the tail's probabilities resolve), the fixed point
    x = ln(1 + x/ρ) below the grid, 2(1 − ρ)/ρ above it (x → 0 as ρ → 1).
    """
    r = np.clip(np.asarray(rho, dtype=np.float64), 1e-12, 1 - 1e-12)
    x = _interp_x(r)
    low = r < _RHO_GRID[0]
    if low.any():
        xl = np.log(1 / r[low])
        for _ in range(40):
            xl = np.log1p(xl / r[low])
        x[low] = xl
    return np.where(r > _RHO_GRID[-1], 2 * (1 - r) / r, x)


def _tail_constant(rho: FloatArray, x: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        c = (1 - rho) / (rho * np.exp(x) - 1)
    return np.where(np.isfinite(c), np.clip(c, 0.0, 1.0), 1.0)


def md1_wait_cdf(t_s: FloatArray, rate_hz: FloatArray, service_s: FloatArray) -> FloatArray:
    """P(W <= t) of the M/D/1 queue's waiting time (arrays broadcast together).

    0 for t < 0; 0 everywhere when ρ >= 1 (the queue is unstable); 1 when D or λ is 0.
    """
    t, lam, d = np.broadcast_arrays(np.asarray(t_s, np.float64), np.asarray(rate_hz, np.float64),
                                    np.asarray(service_s, np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        rho = lam * d
    trivial = (d <= 0) | (lam <= 0)
    out = np.where(trivial & (t >= 0), 1.0, 0.0)
    live = ~trivial & (t >= 0) & (rho < 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n_all = np.where(live, t / np.where(live, d, 1.0), 0.0)  # t in units of D
    near = live & (n_all < EXACT_TERMS)
    far = live & ~near
    if near.any():
        # Exact sum: term_k = (−u)^k/k!·e^u, u = ρ(n − k) >= 0, for k <= ⌊n⌋.
        n, r = n_all[near], rho[near]
        k = np.arange(EXACT_TERMS, dtype=np.float64)
        u = r[:, None] * (n[:, None] - k)
        with np.errstate(over="ignore", invalid="ignore"):
            terms = np.where(k <= np.floor(n)[:, None], (-u) ** k / _FACT * np.exp(u), 0.0)
        out[near] = (1 - r) * terms.sum(axis=1)
    if far.any():
        r = rho[far]
        x = decay_rate(r)
        out[far] = 1 - _tail_constant(r, x) * np.exp(-x * n_all[far])
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)


def wait_quantile_units(eps: FloatArray, rho: FloatArray) -> FloatArray:
    """The M/D/1 wait quantile of :func:`md1_wait_quantile` in units of D, lean enough for
    a bisection's inner loop: ``max(0, (ln C − ln ε)/x)`` with x(ρ) and ln C(ρ) read off
    their grids by linear interpolation, inf for ρ >= 1. Below the grid (ρ < 1.5e-5) it is 0
    when ε >= ρ (exact: P(W > 0) = ρ) and the grid's first values otherwise (the quantile
    errs long)."""
    r = np.minimum(np.maximum(rho, 0.0), 1 - 1e-12)
    pos = np.minimum(np.maximum(r / _H - 1.0, 0.0), _X_GRID.size - 1.0)
    i = np.minimum(pos.astype(np.int64), _X_GRID.size - 2)
    f = pos - i
    x = _X_GRID[i] + f * _X_STEP[i]
    lnc = _LNC_GRID[i] + f * _LNC_STEP[i]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = np.fmax((lnc - np.log(eps)) / x, 0.0)
    w = np.where((r < _RHO_GRID[0]) & (eps >= r), 0.0, w)
    return np.where(rho < 1, w, np.inf)


def md1_wait_quantile(eps: FloatArray, rate_hz: FloatArray, service_s: FloatArray) -> FloatArray:
    """Wait w with P(W > w) <= ε (approximately, from the exponential tail; exact beyond
    8·D): ``w = D·ln(C/ε)/x``, 0 when ε >= C (ρ small), inf when ρ >= 1."""
    lam, d = np.asarray(rate_hz, np.float64), np.asarray(service_s, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rho = lam * d
        w = d * wait_quantile_units(np.maximum(eps, 1e-300), rho)
    w = np.where((d <= 0) | (lam <= 0), 0.0, w)
    return np.where(rho >= 1, np.inf, np.nan_to_num(w, nan=0.0))


def tandem_latency_quantile_s(eps: FloatArray, t1_s: FloatArray, t2_s: FloatArray,
                              rate_hz: FloatArray) -> FloatArray:
    """(1 − ε) quantile of a task's sojourn through both deterministic stages (s)."""
    d = np.maximum(t1_s, t2_s)
    return md1_wait_quantile(eps, rate_hz, d) + t1_s + t2_s


def tandem_mean_s(t1_s: FloatArray, t2_s: FloatArray, rate_hz: FloatArray) -> FloatArray:
    """Mean sojourn through both stages (s): ρD/(2(1 − ρ)) + t1 + t2, inf if ρ >= 1."""
    d = np.maximum(t1_s, t2_s)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rho = rate_hz * d
        w = np.where(rho < 1, rho * d / (2 * (1 - rho)), np.inf)
        return np.asarray(w + t1_s + t2_s, dtype=np.float64)


def kernel_grid() -> tuple[FloatArray, float, float, float]:
    """The x(ρ) table as the compiled kernels (agents.queue_kernels) take it: the grid's x
    values, its spacing and its first and last ρ."""
    return _X_GRID, _H, float(_RHO_GRID[0]), float(_RHO_GRID[-1])


def kernel_lnc_grid() -> FloatArray:
    """ln C(ρ) on the grid of :func:`kernel_grid` (see :func:`wait_quantile_units`)."""
    return _LNC_GRID


def in_time_probability(budget_s: FloatArray, t1_s: FloatArray, t2_s: FloatArray,
                        rate_hz: FloatArray, delay_s: FloatArray,
                        delay_prob: FloatArray, kernel: bool | None = None) -> FloatArray:
    """P(latency <= budget) per request.

    ``delay_s``/``delay_prob`` (n, A): the atoms of the fixed (non-queueing) part of the
    latency -- link delay with its HARQ retransmissions, transport, cache-miss penalty --
    and their probabilities (a row may sum to < 1: the missing mass never arrives).
    A compiled loop by default (agents.queue_kernels, equal to float rounding);
    ``kernel=False`` runs the numpy code below.
    """
    from market.matching import kernel_input, use_kernels

    # Atoms no request gives any weight are skipped (HARQ tails of 1e-13 and below).
    keep = np.flatnonzero((delay_prob > 1e-13).any(axis=0))
    if use_kernels(kernel):
        from agents import queue_kernels

        ki = kernel_input
        n = delay_prob.shape[0]

        def col(a: FloatArray) -> FloatArray:
            return ki(np.broadcast_to(np.asarray(a, np.float64), (n,)))

        return queue_kernels.in_time_probability(  # type: ignore[no-any-return]
            col(budget_s), col(t1_s), col(t2_s), col(rate_hz),
            ki(np.broadcast_to(np.asarray(delay_s, np.float64), delay_prob.shape)),
            ki(np.asarray(delay_prob, np.float64)), ki(keep.astype(np.int64)), *kernel_grid())
    delay_s, delay_prob = delay_s[:, keep], delay_prob[:, keep]
    d = np.maximum(t1_s, t2_s)
    with np.errstate(over="ignore", invalid="ignore"):
        slack = budget_s[:, None] - delay_s - (t1_s + t2_s)[:, None]
        cdf = md1_wait_cdf(slack, rate_hz[:, None], d[:, None])
    return np.einsum("na,na->n", delay_prob, cdf)


def atom_quantile(delay: FloatArray, prob: FloatArray, eps: FloatArray) -> FloatArray:
    """Per row, the smallest atom ``delay[:, j]`` (increasing in j) with P(delay > it) <= ε,
    the missing mass of a row (lost blocks) counted as exceeding every atom; the last atom
    if none qualifies."""
    tail = prob.sum(axis=1, keepdims=True) - np.cumsum(prob, axis=1) \
        + (1 - prob.sum(axis=1, keepdims=True))
    ok = tail <= np.asarray(eps, np.float64).reshape(-1, 1)
    j = np.where(ok.any(axis=1), np.argmax(ok, axis=1), delay.shape[1] - 1)
    return np.asarray(delay[np.arange(delay.shape[0]), j], dtype=np.float64)
