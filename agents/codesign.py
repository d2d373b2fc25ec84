"""Compute-communication co-design experiment (source 001): fair radio vs a co-scheduler.

One cell: a base station of ``B`` MHz with an edge server of ``F`` GFLOPS, and ``N`` static
users placed uniformly over the scenario's area (channel: the scenario's path loss,
shadowing and spectral efficiency, through :class:`agents.channel.Channel`). Every user runs
001's video-analytics task and splits it between its own slow CPU and the edge
(:mod:`agents.codesign_reliability`: split ``x``, per-task reliability
``P(latency ≤ deadline)``). The radio is divided into ``units`` equal scheduling units
(time-frequency shares of ``B/units`` MHz).

Both arms use the **same admission rule**, :func:`first_fit_admission`: users arrive in a
random order (the same order in both arms) and a user is admitted iff the arm's scheduler
can then serve *every* admitted user at its reliability target within the cell's bandwidth
and edge compute; otherwise it is turned away and the previous allocation stands. A user is
*satisfied* iff admitted (admission guarantees its per-task reliability); the metric is the
share of users satisfied.

- **fair** (001's "traditional scheduler"): the radio is shared round-robin, ``units // n``
  units each and one more for the first ``units % n`` admitted users (with static channels
  proportional fair gives the same equal shares). Given the rate each user then gets, the
  compute side is optimal: each user takes the split and the least edge share that meet its
  target (:class:`agents.codesign_reliability.EdgeTable`); feasible iff those fit in ``F``.
- **joint** (the co-scheduler): bandwidth, edge compute and split chosen together. The
  admitted set is feasible iff ``min Σ_i e_i(b_i)`` over integer unit allocations with
  ``Σ b_i ≤ units`` is at most ``F``, where ``e_i(b)`` is user ``i``'s least edge share at
  the rate ``b`` units give it. :class:`JointScheduler` solves that exactly (on the unit
  grid) by dynamic programming: a min-plus convolution per admitted user.

Since ``joint`` searches over all unit allocations, the fair one included, every set the fair
arm can serve the joint arm can serve too, at no more edge compute (tested, with a
brute-force check of the DP on tiny instances). The admission decision for the ``j``-th
arrival depends only on earlier arrivals, so one pass over ``N_max`` arrivals gives the
results for every cell size ``N ≤ N_max`` (the first ``N`` arrivals).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from agents.channel import Channel
from agents.codesign_reliability import EdgeTable, TaskSpec, min_edge_table
from agents.scenario import Scenario

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Device CPU (GFLOPS) when none is given: 001 assumes each user's CPU alone misses the
#: deadline; 50 GFLOPS is a phone's sustained DNN throughput order of magnitude and puts
#: 001's video task (20 GFLOP) at 0.4 s on the device against a 0.3 s deadline.
DEFAULT_DEVICE_GFLOPS = 50.0


@dataclass(frozen=True)
class Cell:
    """The shared resources of the cell and the task every user runs."""

    bandwidth_mhz: float
    edge_gflops: float
    units: int  # radio scheduling units; one is bandwidth_mhz / units
    task: TaskSpec

    @property
    def unit_mhz(self) -> float:
        return self.bandwidth_mhz / self.units


def cell_from_scenario(sc: Scenario, service_class: str = "video",
                       device_gflops: float = DEFAULT_DEVICE_GFLOPS, units: int = 1000) -> Cell:
    """The cell of a one-node scenario (e.g. ``codesign_cell``): node bandwidth, node compute
    per round as GFLOPS, the class's task, the channel's air-interface delay."""
    cls = sc.service_classes[service_class]
    task = TaskSpec(rate_hz=cls.task_rate_hz, data_mbit=cls.data_mbit, work_gflop=cls.work_gflop,
                    deadline_s=cls.latency_budget_ms / 1000.0,
                    min_reliability=cls.min_reliability, device_gflops=device_gflops,
                    fixed_delay_s=sc.channel.air_interface_ms / 1000.0)
    return Cell(bandwidth_mhz=sc.nodes.bandwidth_mhz,
                edge_gflops=sc.nodes.capacity.computation_gflop / sc.round_duration_s,
                units=units, task=task)


def edge_table(cell: Cell, rate_points: int = 400, split_points: int = 51) -> EdgeTable:
    """The least-edge-share table both arms read, from one unit's rate at the weakest
    usable channel (0.01 bit/s/Hz) up to the whole cell at 10 bit/s/Hz (log-spaced)."""
    lo = 0.01 * cell.unit_mhz
    hi = 10.0 * cell.bandwidth_mhz
    return min_edge_table(cell.task, np.geomspace(lo, hi, rate_points),
                          np.linspace(0.0, 1.0, split_points))


def draw_users(sc: Scenario, n: int, seed: int) -> FloatArray:
    """Uplink spectral efficiency (bit/s/Hz) of ``n`` static users placed uniformly over the
    scenario's area around one node at its centre, as the project's channel model rates
    their links (one ``Channel.measure``); 0 for users out of service."""
    rng = np.random.default_rng(seed)
    nc = sc.nodes
    node_xy = np.array([[sc.area.width_m / 2, sc.area.height_m / 2]])
    xy = np.column_stack([rng.uniform(0, sc.area.width_m, n), rng.uniform(0, sc.area.height_m, n)])
    ch = Channel(sc.channel, node_xy, np.array([nc.tx_power_dbm]), nc.antenna_gain_db,
                 np.array([nc.bandwidth_mhz]), nc.coverage_radius_m, n, rng)
    link = ch.measure(xy, np.zeros(n), rng)
    # The camera stream goes up: the uplink goodput where the channel model rates the uplink
    # separately, else the link's one spectral efficiency (the same SNR both ways).
    se = getattr(link, "spectral_eff_ul", link.spectral_eff)
    return np.where(link.attached >= 0, np.asarray(se, np.float64), 0.0)


def unit_costs(cell: Cell, table: EdgeTable, se: FloatArray) -> FloatArray:
    """(n, units + 1): least edge GFLOPS of each user given 0..units radio units (inf: the
    target cannot be met at that rate)."""
    rates = np.outer(np.asarray(se, np.float64), np.arange(cell.units + 1) * cell.unit_mhz)
    e, _ = table.lookup(rates)
    return e


def first_fit_admission(n: int, fits: Callable[[list[int], int], bool]) -> BoolArray:
    """The admission rule of both arms: arrivals ``0..n-1`` in order; arrival ``j`` is
    admitted iff ``fits(admitted_so_far, j)``, i.e. the arm's scheduler can serve all of
    ``admitted_so_far + [j]`` at target. Returns the admitted mask."""
    admitted: list[int] = []
    mask = np.zeros(n, dtype=bool)
    for j in range(n):
        if fits(admitted, j):
            admitted.append(j)
            mask[j] = True
    return mask


def fair_units(units: int, n: int) -> IntArray:
    """Round-robin shares of ``units`` among ``n`` users in admission order."""
    out = np.full(n, units // n, dtype=np.int64)
    out[: units % n] += 1
    return out


class FairScheduler:
    """Fair radio shares; the compute side optimal given each user's rate."""

    def __init__(self, cell: Cell, costs: FloatArray) -> None:
        self.cell, self.costs = cell, costs

    def allocation(self, users: Sequence[int]) -> tuple[IntArray, FloatArray]:
        """(units, edge GFLOPS) per user of ``users`` (in admission order)."""
        idx = np.asarray(users, dtype=np.int64)
        b = fair_units(self.cell.units, idx.size)
        return b, self.costs[idx, b]

    def fits(self, admitted: list[int], j: int) -> bool:
        _, e = self.allocation([*admitted, j])
        return bool(np.all(np.isfinite(e)) and e.sum() <= self.cell.edge_gflops)


def min_plus(state: FloatArray, cost: FloatArray) -> tuple[FloatArray, IntArray]:
    """``out[k] = min_u state[k-u] + cost[u]`` (and the minimizing ``u``), k, u in 0..K."""
    K = state.size - 1
    padded = np.concatenate([np.full(K, np.inf), state])
    # Row k holds state[k-K .. k]; column K-u is state[k-u].
    sums = sliding_window_view(padded, K + 1) + cost[::-1]
    arg = np.argmin(sums, axis=1)
    return sums[np.arange(K + 1), arg], (K - arg).astype(np.int64)


class JointScheduler:
    """Co-scheduler: the admitted set is feasible iff the least total edge compute over all
    radio unit allocations fits. ``state[k]`` = least total edge GFLOPS of the admitted users
    using at most ``k`` units; admitting a user is one min-plus convolution."""

    def __init__(self, cell: Cell, costs: FloatArray) -> None:
        self.cell, self.costs = cell, costs
        self.state = np.zeros(cell.units + 1)  # no user: nothing needed

    def fits(self, admitted: list[int], j: int) -> bool:
        new, _ = min_plus(self.state, self.costs[j])
        new = np.minimum.accumulate(new)  # "at most k units"
        if new[-1] <= self.cell.edge_gflops:
            self.state = new
            return True
        return False

    def allocation(self, users: Sequence[int]) -> tuple[IntArray, FloatArray]:
        """An optimal (units, edge GFLOPS) per user of ``users``: the DP again, with
        backtracking."""
        K = self.cell.units
        state = np.zeros(K + 1)
        choices = []
        for i in users:
            state, arg = min_plus(state, self.costs[i])
            choices.append(arg)
        k = int(np.argmin(state))  # all units need not be used
        b = np.zeros(len(users), dtype=np.int64)
        if not np.isfinite(state[k]):  # no allocation serves them all
            return b, np.full(len(users), np.inf)
        for pos in range(len(users) - 1, -1, -1):
            b[pos] = choices[pos][k]
            k -= int(b[pos])
        idx = np.asarray(users, dtype=np.int64)
        return b, self.costs[idx, b] if idx.size else np.zeros(0)


@dataclass
class ArmRun:
    """One arm on one draw of users (in arrival order)."""

    admitted: BoolArray
    scheduler: FairScheduler | JointScheduler


def run_arm(arm: str, cell: Cell, costs: FloatArray) -> ArmRun:
    """Admit the arrivals (rows of ``costs``) in order with the arm's scheduler."""
    sched: FairScheduler | JointScheduler
    if arm == "fair":
        sched = FairScheduler(cell, costs)
    elif arm == "joint":
        sched = JointScheduler(cell, costs)
    else:
        raise ValueError(f"arm: unknown {arm!r} (fair or joint)")
    return ArmRun(admitted=first_fit_admission(costs.shape[0], sched.fits), scheduler=sched)


def quartile_of(se: FloatArray) -> IntArray:
    """Channel-quality quartile (0 = weakest) of each user among the users given."""
    ranks = np.argsort(np.argsort(se, kind="stable"), kind="stable")
    return (4 * ranks // max(se.size, 1)).astype(np.int64)


@dataclass
class SeedResult:
    """Satisfied shares per cell size (rows of ``users``) for one seed."""

    users: list[int]
    fair: FloatArray  # (len(users),)
    joint: FloatArray
    fair_q: FloatArray  # (len(users), 4) by channel-quality quartile
    joint_q: FloatArray


#: Orders in which the shared admission rule considers a cell's users: ``arrival`` (random,
#: channel-blind: the headline) or ``best_channel_first`` (strongest first: the order that
#: lets equal shares admit the most users; a sensitivity check).
ORDERS = ("arrival", "best_channel_first")


def admission_order(se: FloatArray, order: str) -> IntArray:
    """Indices of the users in the order the admission rule considers them."""
    if order == "arrival":
        return np.arange(se.size, dtype=np.int64)  # positions are i.i.d.: already random
    if order == "best_channel_first":
        return np.argsort(-se, kind="stable").astype(np.int64)
    raise ValueError(f"order: unknown {order!r} (one of {', '.join(ORDERS)})")


ARMS = ("fair", "joint")
#: Users drawn per seed; a cell of N users takes the first N.
USER_POOL = 200


def admitted_masks(cell: Cell, table: EdgeTable, se: FloatArray, order: str = "arrival",
                   wall_s: dict[str, float] | None = None) -> tuple[BoolArray, BoolArray]:
    """(fair, joint) admitted masks of users with spectral efficiencies ``se``; adds each
    arm's wall time to ``wall_s`` when given."""
    perm = admission_order(se, order)
    costs = unit_costs(cell, table, se[perm])
    masks = []
    for arm in ARMS:
        mask = np.zeros(se.size, dtype=bool)
        t0 = time.perf_counter()
        mask[perm] = run_arm(arm, cell, costs).admitted
        if wall_s is not None:
            wall_s[arm] = wall_s.get(arm, 0.0) + time.perf_counter() - t0
        masks.append(mask)
    return masks[0], masks[1]


def run_seed(sc: Scenario, cell: Cell, table: EdgeTable, users: Sequence[int],
             seed: int, order: str = "arrival",
             wall_s: dict[str, float] | None = None) -> SeedResult:
    """Both arms for each cell size N in ``users``: the first N of the seed's
    ``USER_POOL`` users, considered for admission in ``order``."""
    if max(users) > USER_POOL:
        raise ValueError(f"users: at most {USER_POOL} per cell, got {max(users)}")
    # Cell size N is the first N users of one fixed-size draw, so a seed's users do not
    # depend on which cell sizes are asked for.
    se_all = draw_users(sc, USER_POOL, seed)[: max(users)]
    # In arrival order the decisions on the first N arrivals ignore later ones: one pass.
    full = admitted_masks(cell, table, se_all, order, wall_s) if order == "arrival" else None
    shares = np.zeros((2, len(users)))
    by_q = np.zeros((2, len(users), 4))
    for r, n in enumerate(users):
        se = se_all[:n]
        masks = ((full[0][:n], full[1][:n]) if full is not None
                 else admitted_masks(cell, table, se, order, wall_s))
        q = quartile_of(se)
        for a, adm in enumerate(masks):
            shares[a, r] = adm.mean()
            by_q[a, r] = [adm[q == k].mean() if np.any(q == k) else np.nan for k in range(4)]
    return SeedResult(list(users), shares[0], shares[1], by_q[0], by_q[1])


def bootstrap_ratio_ci(num: FloatArray, den: FloatArray, seed: int = 0, draws: int = 4000,
                       level: float = 0.95) -> tuple[float, float, float]:
    """Ratio of means ``mean(num)/mean(den)`` over seeds and its paired percentile-bootstrap
    CI (seeds resampled with replacement). nan where the denominator mean is 0."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, num.size, size=(draws, num.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        point = num.mean() / den.mean() if den.mean() > 0 else np.nan
        boots = num[pick].mean(axis=1) / den[pick].mean(axis=1)
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return float(point), np.nan, np.nan
    a = (1 - level) / 2
    return float(point), float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))


def mean_ci(x: FloatArray, seed: int = 0, draws: int = 4000,
            level: float = 0.95) -> tuple[float, float, float]:
    """Mean over seeds and its percentile-bootstrap CI."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    boots = x[rng.integers(0, x.size, size=(draws, x.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(x.mean()), float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))
