"""Service execution: from the round's trades to what each request actually experienced.

Everything is computed from the trades (what each request really received, from whom), so
partial fills of a bundle, brokers and the cloud are all handled the same way:

- rate (Mbps) = Σ bandwidth bought × se(device, seller node) / se_ref(seller node); requests
  served at the cloud get the cloud's best-effort access rate;
- compute rate (GFLOPS) = Σ GFLOP bought / round length; cache GB, learning LU summed;
- per-task latency (ms): a distribution (agents.latency). The transmission stage (uplink
  data + downlink results at the bought rate) and the compute stage form a tandem queue of
  deterministic servers fed by the session's Poisson task stream: exact M/D/1 wait of the
  slower stage plus both service times; plus the link delay with its HARQ retransmissions
  (atoms from the channel), the transport to where the work runs (backhaul between nodes,
  D2D to a broker, or the cloud RTT) and, for tasks that miss the cache (hit probability
  = share of the cache bought × the class hit ratio), the miss penalty. Its mean is
  reported;
- reliability = P(latency <= budget) × (1 − residual loss after HARQ), from that
  distribution;
- accuracy = accuracy_max·(1 − exp(−gain·LU bought / LU needed)).

Latencies are capped at :data:`agents.qoais.TIMEOUT_MS` (a stage that got nothing never
completes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agents.bundles import service_time_for, stage_latency_s
from agents.handover import HandoverCost
from agents.latency import in_time_probability, tandem_mean_s
from agents.qoais import TIMEOUT_MS, Measured
from agents.workloads import Requests
from market.orders import Trades
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Seller kinds in the model's uid lookup tables.
KIND_NODE, KIND_CLOUD, KIND_DEVICE = 0, 1, 2


@dataclass
class SellerInfo:
    """Lookup tables indexed by agent id (unique_id)."""

    kind: NDArray[np.int8]
    index: IntArray
    security: FloatArray
    autonomy: FloatArray


@dataclass
class Received:
    """Per request (n,): what the trades delivered, and the money involved."""

    units: FloatArray  # (n, 4) units of each resource bought
    rate_mbps: FloatArray  # actual rate from the bandwidth bought
    transport_ms: FloatArray
    security: FloatArray  # lowest security level among its sellers
    autonomy: FloatArray  # lowest autonomy level among its compute/learning sellers
    broker_share: FloatArray  # share of the bundle's cost paid to broker devices
    payment: FloatArray  # credits paid
    provider: IntArray  # uid of the seller of the largest share (-1 if none)
    served: BoolArray  # received anything at all


def received(trades: Trades, n: int, sellers: SellerInfo, comm_se_ratio: FloatArray,
             transport_ms_per_trade: FloatArray) -> Received:
    """Aggregate trades (``bid_index`` = request row) per request.

    ``comm_se_ratio`` per trade: se(device, seller)/se_ref(seller) for bandwidth trades.
    ``transport_ms_per_trade``: delay to reach the seller for non-bandwidth trades.
    """
    req = trades.bid_index
    r = trades.resource.astype(np.int64)
    q = trades.quantity
    value = q * trades.price
    units = np.bincount(req * N_RESOURCES + r, weights=q,
                        minlength=n * N_RESOURCES).reshape(n, N_RESOURCES)
    comm = r == 0
    rate = np.bincount(req[comm], weights=q[comm] * comm_se_ratio[comm], minlength=n)
    payment = np.bincount(req, weights=value, minlength=n)
    kind = sellers.kind[trades.seller]
    broker_pay = np.bincount(req, weights=value * (kind == KIND_DEVICE), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        broker_share = np.where(payment > 0, broker_pay / payment, 0.0)
    transport = np.zeros(n)
    np.maximum.at(transport, req[~comm], transport_ms_per_trade[~comm])
    security = np.full(n, np.inf)
    np.minimum.at(security, req, sellers.security[trades.seller])
    autonomy = np.full(n, np.inf)
    work = (r == 2) | (r == 3)
    np.minimum.at(autonomy, req[work], sellers.autonomy[trades.seller[work]])
    served = np.bincount(req, minlength=n) > 0
    # Main provider: the seller of the largest-value trade of each request.
    provider = np.full(n, -1, dtype=np.int64)
    if len(trades):
        # The largest value per request; among equal ones the last trade (a stable sort by
        # (request, value) would end with it), found in two linear passes.
        top = np.full(n, -np.inf)
        np.maximum.at(top, req, value)
        at_top = np.flatnonzero(value == top[req])
        last = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last, req[at_top], at_top)
        has = last >= 0
        provider[has] = trades.seller[last[has]]
    return Received(units=units, rate_mbps=rate, transport_ms=transport,
                    security=np.where(np.isfinite(security), security, 0.0),
                    autonomy=autonomy, broker_share=broker_share, payment=payment,
                    provider=provider, served=served)


@dataclass
class LinkView:
    """Per request (n,): the device's link this round."""

    link_delay_ms: FloatArray
    jitter_ms: FloatArray
    ber: FloatArray
    per: FloatArray
    residual_loss: FloatArray
    handed_over: BoolArray
    delay_ms: FloatArray  # (n, A) link delay atoms (air + HARQ), ms
    delay_prob: FloatArray  # (n, A) their probabilities (sum 1 − residual loss)
    handover: HandoverCost | None = None  # interruption and state migration (agents.handover)


def measure(req: Requests, got: Received, link: LinkView,
            round_s: float) -> tuple[Measured, FloatArray]:
    """Per request: Measured (for QoAIS) and transmission seconds per task.

    ``got`` and ``link`` rows align with ``req``. ``got.rate_mbps`` is the rate over the
    task's whole traffic (uplink + downlink, see link_adaptation.effective_spectral_eff).
    """
    f = req.task_rate_hz
    traffic = req.data_mbit + req.result_mbit
    with np.errstate(divide="ignore", invalid="ignore"):
        tx_s = np.where(traffic > 0, traffic / got.rate_mbps, 0.0)
        comp_s = np.where(req.work_gflop > 0, req.work_gflop * round_s / got.units[:, 2], 0.0)
        cache_share = np.where(req.cache_gb > 0, np.minimum(got.units[:, 1] / req.cache_gb, 1.0), 1.0)
        learn_ratio = np.where(req.learning_lu > 0, got.units[:, 3] / req.learning_lu, 1.0)
    t1 = np.nan_to_num(tx_s, nan=np.inf)
    t2 = np.nan_to_num(comp_s, nan=np.inf)
    hit = cache_share * req.cache_hit_ratio
    # Fixed part of the latency: link atoms + transport, for hits and for misses.
    base = link.delay_ms + got.transport_ms[:, None]
    atoms_ms = np.concatenate([base, base + req.cache_miss_penalty_ms[:, None]], axis=1)
    probs = np.concatenate([hit[:, None] * link.delay_prob,
                            (1 - hit)[:, None] * link.delay_prob], axis=1)
    budget = req.latency_budget_ms
    reliability = in_time_probability(budget / 1000, t1, t2, f, atoms_ms / 1000, probs)
    with np.errstate(divide="ignore", invalid="ignore"):
        link_mean = np.where(link.delay_prob.sum(axis=1) > 0,
                             (link.delay_ms * link.delay_prob).sum(axis=1)
                             / link.delay_prob.sum(axis=1), link.delay_ms[:, 0])
    queue_ms = 1000 * tandem_mean_s(t1, t2, f)
    latency_ms = link_mean + got.transport_ms + queue_ms + (1 - hit) * req.cache_miss_penalty_ms
    ho, continuity = link.handover, np.zeros(0)
    if ho is not None:
        # Handed-over sessions: a mixture over the extra delays of their round's tasks.
        rows = np.flatnonzero(ho.prob[:, 0] < 1)
        if rows.size:
            acc = ho.prob[rows, 0] * reliability[rows]
            for w in range(1, ho.extra_ms.shape[1]):
                acc += ho.prob[rows, w] * in_time_probability(
                    (budget[rows] - ho.extra_ms[rows, w]) / 1000, t1[rows], t2[rows], f[rows],
                    atoms_ms[rows] / 1000, probs[rows])
            reliability[rows] = acc
        latency_ms = latency_ms + (ho.prob * ho.extra_ms).sum(axis=1)
        continuity = ho.continuity
    latency_ms = np.minimum(np.nan_to_num(latency_ms, nan=TIMEOUT_MS), TIMEOUT_MS)
    # The compute stage's share: its service time, plus the queueing when it is the slower.
    comp_lat = np.where(t2 >= t1, tandem_mean_s(t1, t2, f) - t1, t2)
    accuracy = req.accuracy_max * -np.expm1(-req.learning_gain * learn_ratio)
    with np.errstate(divide="ignore", invalid="ignore"):
        efficiency = np.where(got.units[:, 2] > 0,
                              f * req.work_gflop * round_s / got.units[:, 2], 1.0)
    autonomy_delivered = np.minimum(req.autonomy_level, got.autonomy)
    m = Measured(
        cls=req.cls, latency_ms=latency_ms, latency_budget_ms=budget,
        stage_budget_s=np.zeros(len(req)),  # filled by the caller (depends on the venue)
        link_delay_ms=link.link_delay_ms, jitter_ms=link.jitter_ms, ber=link.ber, per=link.per,
        residual_loss=link.residual_loss, reliability=reliability, accuracy=accuracy,
        min_accuracy=req.min_accuracy, min_reliability=req.min_reliability,
        rate_mbps=got.rate_mbps, data_mbit=traffic, cache_share=cache_share,
        cache_hit_ratio=hit, cache_miss_penalty_ms=req.cache_miss_penalty_ms,
        compute_latency_ms=np.minimum(1000 * comp_lat, TIMEOUT_MS),
        compute_efficiency=efficiency, provider_security=got.security,
        privacy_level=req.privacy_level, broker_share=got.broker_share,
        autonomy_required=req.autonomy_level, autonomy_delivered=autonomy_delivered,
        handed_over=link.handed_over, continuity=continuity,
    )
    return m, np.nan_to_num(tx_s, nan=0.0, posinf=0.0)


def compute_need_gflop(req: Requests, rate_mbps: FloatArray, stage_budget_s: FloatArray,
                       round_s: float) -> FloatArray:
    """GFLOP for the round a request needs to finish within budget at its actual rate.

    The compute scheduler of the communication-only baseline: given the rate the radio
    scheduler gave, the compute stage gets whatever time is left. inf if none is left.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        traffic = req.data_mbit + req.result_mbit
        tx_s = np.where(traffic > 0, traffic / rate_mbps, 0.0)
    left = stage_budget_s - stage_latency_s(np.nan_to_num(tx_s, nan=np.inf), req.task_rate_hz)
    t2 = service_time_for(np.where(left > 0, left, 0.0), req.task_rate_hz)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(left > 0, req.work_gflop * round_s / t2, np.inf)
    return np.where(req.work_gflop > 0, need, 0.0)


def water_fill(group: IntArray, need: FloatArray, capacity: FloatArray) -> FloatArray:
    """Max-min fair split of ``capacity[g]`` among the items of each group, capped at need.

    Vectorized over all groups (sort by group, then need). ``need`` may be inf.
    """
    n = need.size
    if n == 0:
        return np.zeros(0)
    order = np.lexsort((need, group))
    g, d = group[order], need[order]
    start = np.r_[True, g[1:] != g[:-1]]
    first = np.flatnonzero(start)
    size = np.diff(np.r_[first, n])
    grp_first = np.repeat(first, size)
    pos = np.arange(n) - grp_first
    k = np.repeat(size, size)
    finite_d = np.where(np.isfinite(d), d, 0.0)
    cum = np.cumsum(finite_d)
    before = cum - finite_d - np.repeat(np.r_[0.0, cum][first], size)
    cap = capacity[g]
    level_here = (cap - before) / (k - pos)
    over = d > level_here
    idx = np.where(over, np.arange(n), n)
    first_over = np.minimum.reduceat(idx, first)
    level = np.where(first_over < n, level_here[np.minimum(first_over, n - 1)], np.inf)
    alloc_sorted = np.minimum(d, np.repeat(level, size))
    alloc_sorted = np.maximum(np.where(np.isfinite(alloc_sorted), alloc_sorted, 0.0), 0.0)
    out = np.empty(n)
    out[order] = alloc_sorted
    return out
