"""Per-task reliability of a task split between a device and an edge server (source 001).

A user's tasks arrive as a Poisson stream of ``f`` tasks/s. Each task carries ``D`` Mbit of
raw input and ``C`` GFLOP of work and must finish within ``deadline`` s. The user keeps a
share ``x`` of every task on its own CPU (``C1 = x·C`` at ``F_dev`` GFLOPS) and offloads the
rest (``C2 = (1-x)·C``): the offloaded part's input, ``(1-x)·D`` Mbit, is sent at the user's
rate ``r`` Mbps and computed on a dedicated edge slice of ``e`` GFLOPS. The input shrinks
linearly with ``C1`` and is 0 when ``C1 = C``, as in source 001's example. The two parts run
**in parallel** (data-partition offloading): the local part is one FIFO queue of
deterministic service ``t_loc = x·C/F_dev``; the offloaded part is a tandem of two FIFO
queues, the uplink (``t_tx = (1-x)·D/r``) then the edge slice (``t_e = (1-x)·C/e``), plus a
fixed delay ``delta`` (air interface). A task is done when both parts are.

Why parallel: were the parts run one after the other, the latency ``x·C/F_dev + (1-x)·(D/r +
C/e)`` would be linear in ``x``, so the best split would always be all or nothing, and a
user whose CPU alone misses the deadline (001's assumption) would never gain from the split.

The maths, all exact except where stated:

- **M/D/1 waiting time** (Erlang 1909; e.g. Franx, "A simple solution for the M/D/c waiting
  time distribution", Oper. Res. Lett. 29, 2001, eq. (1) with c = 1): with ``ρ = f·T < 1``,
  ``P(W ≤ t) = (1-ρ)·Σ_{k=0}^{⌊t/T⌋} (f·(kT - t))^k / k! · exp(-f·(kT - t))``.
  The series alternates; it is summed in float64 and is accurate to ~1e-10 while
  ``f·t ≤ MAX_LOAD_TIME`` (8), which :class:`TaskSpec` checks (here ``f·t ≤ f·deadline``,
  0.6 for 001's video task); the sum itself is agents.latency's, one implementation.
- **Tandem of deterministic servers** (Friedman, "Reduction methods for tandem queuing
  systems", Oper. Res. 13(1), 1965): the sojourn through FIFO servers with constant service
  times equals the waiting time of a single queue with the slowest of them plus the sum of
  all service times. So ``P(S_R ≤ d) = P(W_{max(t_tx, t_e)} ≤ d - delta - t_tx - t_e)``.
- **Fork-join**: the local and offloaded sojourns are both non-increasing functions of the
  same independent inter-arrival times, hence associated (Esary, Proschan and Walkup 1967),
  so ``P(S_L ≤ d, S_R ≤ d) ≥ P(S_L ≤ d)·P(S_R ≤ d)``. :func:`task_reliability` returns that
  product: exact when ``x`` is 0 or 1, otherwise a lower bound (a safe one to plan with).
  tests/agents/test_codesign_reliability.py checks all three against a plain Monte Carlo of
  the queues (Lindley recursions).

:func:`min_edge_table` turns this into what a scheduler needs: for each uplink rate, the
least edge GFLOPS (and the split ``x`` that achieves it) with which a user meets its
reliability target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agents import latency

FloatArray = NDArray[np.float64]

#: Largest ``f·t`` for which the alternating Erlang series is summed (error ~1e-10 there).
MAX_LOAD_TIME = 8.0
#: Series terms beyond this are below 1e-25 when ``f·t ≤ MAX_LOAD_TIME`` (8^61/61!·e^8).
MAX_TERMS = 61
#: Bisection halvings for the edge time budget (2^-40 of the deadline).
BISECTION_STEPS = 40


@dataclass(frozen=True)
class TaskSpec:
    """One user's task stream and device (all users of the experiment share it)."""

    rate_hz: float  # Poisson task arrivals per s
    data_mbit: float  # raw input per task (sent in full when x = 0)
    work_gflop: float  # compute per task (C = C1 + C2)
    deadline_s: float
    min_reliability: float  # P(latency ≤ deadline) required
    device_gflops: float  # the device's own CPU
    fixed_delay_s: float = 0.0  # air interface etc., on the offloaded path only

    def __post_init__(self) -> None:
        if self.rate_hz * self.deadline_s > MAX_LOAD_TIME:
            raise ValueError(f"rate_hz * deadline_s must be <= {MAX_LOAD_TIME} "
                             "(the M/D/1 series is summed directly)")


def md1_wait_cdf(t: FloatArray | float, service_s: FloatArray | float,
                 rate_hz: FloatArray | float) -> FloatArray:
    """``P(W ≤ t)`` for the FIFO M/D/1 waiting time (Erlang's formula): the model's own
    :func:`agents.latency.md1_wait_cdf`, with this module's argument order.

    0 where ``t < 0`` or the queue is unstable (``ρ ≥ 1``); 1 where the service time is 0
    and ``t ≥ 0``.
    """
    return latency.md1_wait_cdf(np.asarray(t, np.float64), np.asarray(rate_hz, np.float64),
                                np.asarray(service_s, np.float64))


def stage_times(task: TaskSpec, x: FloatArray | float, rate_mbps: FloatArray | float,
                edge_gflops: FloatArray | float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Service times (s) of the local CPU, the uplink and the edge slice for split ``x``."""
    x_a = np.asarray(x, np.float64)
    r = np.asarray(rate_mbps, np.float64)
    e = np.asarray(edge_gflops, np.float64)
    off = 1 - x_a
    with np.errstate(divide="ignore", invalid="ignore"):
        t_loc = x_a * task.work_gflop / task.device_gflops
        t_tx = np.where(off > 0, off * task.data_mbit / r, 0.0)
        t_e = np.where(off > 0, off * task.work_gflop / e, 0.0)
    return t_loc, t_tx, t_e


def local_reliability(task: TaskSpec, x: FloatArray | float) -> FloatArray:
    """``P(S_L ≤ deadline)`` of the local part (1 when nothing runs locally)."""
    t_loc = np.asarray(x, np.float64) * task.work_gflop / task.device_gflops
    return md1_wait_cdf(task.deadline_s - t_loc, t_loc, task.rate_hz)


def offload_reliability(task: TaskSpec, t_tx: FloatArray, t_e: FloatArray) -> FloatArray:
    """``P(S_R ≤ deadline)`` of the offloaded part (uplink then edge; Friedman's reduction)."""
    slack = task.deadline_s - task.fixed_delay_s - t_tx - t_e
    none = (t_tx == 0) & (t_e == 0)
    return np.where(none, 1.0, md1_wait_cdf(slack, np.maximum(t_tx, t_e), task.rate_hz))


def task_reliability(task: TaskSpec, x: FloatArray | float, rate_mbps: FloatArray | float,
                     edge_gflops: FloatArray | float) -> FloatArray:
    """``P(latency ≤ deadline)`` per task (exact for x in {0, 1}, else a lower bound)."""
    _, t_tx, t_e = stage_times(task, x, rate_mbps, edge_gflops)
    return local_reliability(task, x) * offload_reliability(task, t_tx, t_e)


@dataclass(frozen=True)
class EdgeTable:
    """Least edge GFLOPS to meet the target, by uplink rate (ascending ``rates_mbps``)."""

    rates_mbps: FloatArray
    edge_gflops: FloatArray  # inf where no split and no edge share meets the target
    split: FloatArray  # the x that achieves it

    def lookup(self, rate_mbps: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(edge GFLOPS, split) for arbitrary rates, read at the largest tabulated rate not
        above each one: never less than the exact need, since the need falls with rate."""
        r = np.asarray(rate_mbps, np.float64)
        idx = np.searchsorted(self.rates_mbps, r, side="right") - 1
        below = idx < 0
        idx = np.maximum(idx, 0)
        return (np.where(below, np.inf, self.edge_gflops[idx]),
                np.where(below, np.nan, self.split[idx]))


def min_edge_table(task: TaskSpec, rates_mbps: FloatArray, x_grid: FloatArray) -> EdgeTable:
    """For each rate: min over ``x`` in ``x_grid`` of the least ``e`` meeting the target.

    For each (rate, x) the local part's reliability ``p_L`` is fixed, so the offloaded part
    must reach ``q = target / p_L``; its reliability falls as the edge time ``t_e`` grows, so
    the largest admissible ``t_e`` is found by bisection and ``e = (1-x)·C / t_e``.
    """
    rates = np.asarray(rates_mbps, np.float64)
    xs = np.asarray(x_grid, np.float64)
    R, X = np.meshgrid(rates, xs, indexing="ij")
    p_loc = local_reliability(task, X)
    target = task.min_reliability
    need = np.divide(target, p_loc, out=np.full(R.shape, np.inf), where=p_loc > 0)
    off = 1 - X
    with np.errstate(divide="ignore"):
        t_tx = np.where(off > 0, off * task.data_mbit / R, 0.0)
    lo, hi = np.zeros(R.shape), np.full(R.shape, task.deadline_s)
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        ok = offload_reliability(task, t_tx, mid) >= need
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    # lo is admissible unless it is still 0 (nothing fits); re-check it to be safe.
    fits = (lo > 0) & (offload_reliability(task, t_tx, lo) >= need) & (need <= 1)
    e = np.where(fits, off * task.work_gflop / np.where(lo > 0, lo, 1.0), np.inf)
    # All local: no edge and no radio needed, feasible iff the local part alone is.
    e = np.where((off == 0) & (p_loc >= target), 0.0, np.where(off == 0, np.inf, e))
    best = np.argmin(e, axis=1)
    rows = np.arange(rates.size)
    return EdgeTable(rates_mbps=rates, edge_gflops=e[rows, best], split=xs[best])
