"""How much of each 3C-L resource a request asks for: the compute-communication co-design.

A session sends ``D`` Mbit per task (uplink data + downlink results, both over the bought
bandwidth; ``se`` is the task's effective spectral efficiency over both directions) and
computes ``W`` GFLOP per task, ``f`` tasks per second, within a latency budget per task.
Buying ``r`` Mbps (nominal, at the seller's reference spectral efficiency ``se_ref``) gives
an actual rate ``r·se/se_ref``; buying ``c`` GFLOP for a round of ``T`` s gives a compute
rate ``c/T`` GFLOPS. The two stages are deterministic servers (``t1 = D/rate``,
``t2 = W/(c/T)``) in tandem, fed at ``f`` tasks/s (agents.latency).

:func:`design_joint` (the 3C-L bundle market) splits the time left for the two stages to
minimize the bundle's cost at the prices the device expects: with ``a = D·se_ref/se`` and
``b = W·T``, cost ``p_r·a/t1 + p_c·b/t2`` is minimized over ``t1 + t2 = B`` by
``t1 ∝ √(p_r·a)``, ``t2 ∝ √(p_c·b)``; both are then scaled down together until the
(1 − ε) quantile of the tandem sojourn fits the budget (``eps`` given, as the model does;
without it, the older rule: the sum of the two stages' mean M/D/1 sojourns
``L(t) = t·(2 − f·t) / (2·(1 − f·t))``). Weak channels thus buy more bandwidth and
relatively more compute; strong channels buy little bandwidth.

:func:`design_comm_only` is the communication-aware-only baseline of source 001: the radio
is shared "fairly" -- every request at a node bids for an equal share of its bandwidth, so
its rate follows its channel (good channels get more rate than they need, weak ones too
little) -- and compute is then left to the serving node's scheduler, which shares it max-min
fairly, capped at what each request needs given the rate it got
(``EdgeMarketModel._assign_compute_naively``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agents.latency import wait_quantile_units
from agents.workloads import Requests

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def stage_latency_s(t_s: FloatArray, rate_hz: FloatArray) -> FloatArray:
    """M/D/1 sojourn time (s) of a stage with service time ``t_s`` at ``rate_hz`` arrivals."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rho = rate_hz * t_s
        out = t_s * (2 - rho) / (2 * (1 - rho))
    return np.where(rho < 1, out, np.inf)


def service_time_for(latency_s: FloatArray, rate_hz: FloatArray) -> FloatArray:
    """Inverse of :func:`stage_latency_s`: the service time whose sojourn is ``latency_s``."""
    lat = np.maximum(latency_s, 0.0)
    f = rate_hz
    # f·t² − 2t(1 + f·L) + 2L = 0, smaller root; written to stay exact as f -> 0.
    p = 1 + f * lat
    disc = np.maximum(p * p - 2 * f * lat, 0.0)
    return 2 * lat / (p + np.sqrt(disc))


@dataclass
class Design:
    """Per request: the bundle to bid for (n, 4) units and whether a budget remains at all."""

    demand: FloatArray
    feasible: BoolArray
    stage_budget_s: FloatArray  # time left for transmission + compute (s)


def miss_planned(req: Requests) -> BoolArray:
    """Whether a bundle plans every task for a cache miss: when misses are more frequent
    than a quarter of the failures the class allows (1 − min_reliability); rarer misses are
    left to the failure budget instead (:func:`queue_eps`)."""
    return np.asarray((1 - req.cache_hit_ratio) > (1 - req.min_reliability) / 4)


def queue_eps(req: Requests) -> FloatArray:
    """Tail probability left to the queue: half the class's 1 − min_reliability (the other
    half covers HARQ, see EdgeMarketModel), less the cache misses not planned for."""
    eps = (1 - req.min_reliability) / 2
    unplanned = np.where(miss_planned(req), 0.0, 1 - req.cache_hit_ratio)
    return np.maximum(eps - unplanned, eps / 4)


def stage_budget_s(req: Requests, link_delay_ms: FloatArray, extra_ms: FloatArray,
                   margin: float) -> FloatArray:
    """Seconds left for the transmission and compute stages after fixed delays."""
    miss_ms = np.where(miss_planned(req), req.cache_miss_penalty_ms, 0.0)
    ms = req.latency_budget_ms * (1 - margin) - link_delay_ms - extra_ms - miss_ms
    return ms / 1000.0


def design_joint(req: Requests, se: FloatArray, se_ref: FloatArray, link_delay_ms: FloatArray,
                 extra_ms: FloatArray, price_comm: FloatArray, price_comp: FloatArray,
                 round_s: float, margin: float, comm_available: BoolArray | None = None,
                 eps: FloatArray | None = None) -> Design:
    """Co-designed bundles (see module docstring).

    ``eps`` given: the stages are sized so that the (1 − ε) quantile of their tandem sojourn
    (agents.latency) fits the time left, instead of the mean sojourn of each stage.

    ``comm_available`` False means the venue sells no bandwidth (the cloud: best-effort
    access at a fixed rate, passed as ``se``/``se_ref`` = actual/nominal rate ratio 1 and
    bandwidth demand 0).
    """
    n = len(req)
    budget = stage_budget_s(req, link_delay_ms, extra_ms, margin)
    ok_se = se > 0
    traffic = req.data_mbit + req.result_mbit  # both directions share the bought bandwidth
    a = np.where(ok_se, traffic * se_ref / np.where(ok_se, se, 1.0), np.inf)
    b = req.work_gflop * round_s
    # Tiny floor on prices so that free resources still get a finite share of the time.
    wa = np.sqrt(np.maximum(price_comm, 1e-12) * np.where(np.isfinite(a), a, 0.0))
    wb = np.sqrt(np.maximum(price_comp, 1e-12) * b)
    tot = wa + wb
    share = np.divide(wa, tot, out=np.full(n, 0.5), where=tot > 0)
    t1, t2 = share * budget, (1 - share) * budget
    lo = (fit_scale(t1, t2, req.task_rate_hz, budget) if eps is None
          else fit_scale_quantile(t1, t2, req.task_rate_hz, budget, eps))
    t1, t2 = lo * t1, lo * t2
    feasible = (budget > 0) & ok_se & (lo > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        comm = np.where(traffic > 0, a / t1, 0.0)
        comp = np.where(req.work_gflop > 0, b / t2, 0.0)
    demand = np.column_stack([comm, req.cache_gb, comp, req.learning_lu])
    if comm_available is not None:
        demand[~comm_available, 0] = 0.0
    demand[~feasible] = 0.0
    return Design(demand=demand, feasible=feasible, stage_budget_s=budget)


#: Halvings of the bisection on the common scale of both stages: 2**-24 is far below any
#: latency that matters.
FIT_ITERATIONS = 24


def fit_scale(t1: FloatArray, t2: FloatArray, rate_hz: FloatArray, budget: FloatArray,
              kernel: bool | None = None) -> FloatArray:
    """Per request, the largest s in [0, 1] (to 2**-24) such that both stages scaled by s
    fit the budget: ``L(s·t1) + L(s·t2) <= budget`` with queueing included (L is
    :func:`stage_latency_s`). A compiled loop by default; ``kernel=False`` runs the numpy
    bisection it equals bit for bit."""
    from market.matching import kernel_input, use_kernels

    if use_kernels(kernel):
        from agents import kernels

        ki = kernel_input
        return kernels.fit_scale(  # type: ignore[no-any-return]
            ki(np.asarray(t1, np.float64)), ki(np.asarray(t2, np.float64)),
            ki(np.broadcast_to(np.asarray(rate_hz, np.float64), t1.shape)),
            ki(np.asarray(budget, np.float64)), FIT_ITERATIONS)
    n = t1.size
    lo, hi = np.zeros(n), np.ones(n)
    for _ in range(FIT_ITERATIONS):
        s = (lo + hi) / 2
        fits = (stage_latency_s(s * t1, rate_hz) + stage_latency_s(s * t2, rate_hz)) <= budget
        lo, hi = np.where(fits, s, lo), np.where(fits, hi, s)
    return lo


def fit_scale_quantile(t1: FloatArray, t2: FloatArray, rate_hz: FloatArray,
                       budget: FloatArray, eps: FloatArray,
                       kernel: bool | None = None) -> FloatArray:
    """Per request, the largest s in [0, 1] (to 2**-24) such that the (1 − ε) quantile of
    the tandem sojourn with service times s·t1 and s·t2 fits the budget (bisection).
    A compiled loop by default (agents.queue_kernels: the same lattice of scales and the
    same test, searched by false position, so it lands on the bisection's scale except where
    the test is within float rounding of the budget); ``kernel=False`` runs numpy."""
    from market.matching import kernel_input, use_kernels

    if use_kernels(kernel):
        from agents import queue_kernels
        from agents.latency import kernel_grid, kernel_lnc_grid

        ki = kernel_input
        grid_x, h, _, _ = kernel_grid()

        def col(a: FloatArray) -> FloatArray:
            return ki(np.broadcast_to(np.asarray(a, np.float64), t1.shape))

        return queue_kernels.fit_scale_quantile(  # type: ignore[no-any-return]
            col(t1), col(t2), col(rate_hz), col(budget), col(eps), FIT_ITERATIONS, grid_x,
            kernel_lnc_grid(), h)
    n = t1.size
    lo, hi = np.zeros(n), np.ones(n)
    dmax = np.maximum(t1, t2)
    tot = t1 + t2
    rho1 = np.asarray(rate_hz, np.float64) * dmax  # load at s = 1
    e = np.maximum(np.broadcast_to(np.asarray(eps, np.float64), t1.shape), 1e-300)
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(FIT_ITERATIONS):
            s = (lo + hi) / 2
            # (1 − ε) quantile of the sojourn at scale s: s·(D·w(ρ·s) + t1 + t2).
            fits = s * (dmax * wait_quantile_units(e, rho1 * s) + tot) <= budget
            lo, hi = np.where(fits, s, lo), np.where(fits, hi, s)
    return lo


def design_comm_only(req: Requests, fair_share_mbps: FloatArray, link_delay_ms: FloatArray,
                     extra_ms: FloatArray, margin: float) -> Design:
    """Bandwidth-only bids for an equal ("fair") share of the serving node's radio.

    ``fair_share_mbps``: the node's bandwidth divided by the requests it serves this round,
    what a resource-fair base-station scheduler gives every user (source 001's baseline).
    """
    budget = stage_budget_s(req, link_delay_ms, extra_ms, margin)
    feasible = budget > 0
    demand = np.zeros((len(req), 4))
    traffic = req.data_mbit + req.result_mbit
    demand[:, 0] = np.where(feasible & (traffic > 0), fair_share_mbps, 0.0)
    return Design(demand=demand, feasible=feasible, stage_budget_s=budget)
