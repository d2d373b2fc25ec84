"""D2D relay in the market (issue 11, item 5): devices out of coverage or badly served buy
radio from a broker in range, at the broker's price, carried at the two-hop rate.

One round, as the model calls it:

1. :func:`begin_round` (after the channel is measured): :func:`agents.relay.plan_relays`
   pairs each device in need (no node, or min(uplink, downlink) spectral efficiency below
   ``devices.relay.min_se``) with the nearest active broker within ``range_m`` whose
   two-hop rate beats the device's own. A broker time-shares its radio equally among the
   devices it relays for: a pair's rate cap is the two-hop rate min(D2D rate, the
   broker's uplink rate over its node's whole band) / (devices the broker relays); the
   node hop carries what the relayed request buys from the node at the broker's
   spectral efficiency, as for any device. The brokers then quote
   (agents.brokers), relay radio included, up to the sum of their pairs' caps.
   The market sees each relayed device through the relay path (:func:`relayed_link`):
   attached to the broker's node, at the broker's spectral efficiencies (the node hop),
   with the D2D hop's delay atoms and losses added to the broker's.
2. :func:`reserve` (before the edge clears): a bundle designed for more rate than the
   pair's cap is redesigned around the cap (:func:`fit_to_cap`: transmission at the
   cap, compute sized to still meet the deadline quantile). The device keeps the relay
   when that bundle fits, its bid covers the relay, its privacy level is within the
   brokers' security level, and its own link has no feasible bundle expected to cost
   less; otherwise it goes back to its own link for the round.
   A relayed request's edge bid is its bid less the relay it plans to buy (broker's ask
   × the rate its bundle needs), so the two payments together never exceed the bid (no
   exposure).
3. :func:`relay_trades` (after the edge clears): each relayed request that bought node
   bandwidth buys the D2D hop from its broker, bilaterally at the broker's posted ask:
   quantity = min(node-hop rate it got, pair cap) Mbps. Relay radio is not put in the
   venue: only the paired device can use it. Every other paired device goes back to its
   own link (:func:`release`): one that won no node bandwidth and is served at the cloud
   reaches it directly, at its own rate.
4. :func:`cap_rates` (after execution's aggregation): the relayed request's rate is that
   two-hop rate; its latency and reliability follow from the relayed link view (delay
   atoms, residual loss), hence so do its QoAIS, SLA and delivered welfare. The broker's
   battery pays the transmit energy (agents.brokers, "True cost").

Pairing uses :func:`agents.relay.plan_relays` (D2D rate at 10 % BLER). The hop itself
(:func:`d2d_hop`) runs the channel's link adaptation at the relayed device's own target
BLER (its service class's, as its direct link would): CQI, BLER curve, Chase-combining
HARQ (``max_retransmissions``, one ``harq_rtt_ms`` each) in both directions, goodput
rate; plus the air interface both ways.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from agents import execution as ex
from agents.brokers import active_brokers, relay_unit_cost
from agents.bundles import FIT_ITERATIONS, Design, queue_eps
from agents.channel import Channel, LinkState
from agents.latency import wait_quantile_units
from agents.link_adaptation import adapt, effective_spectral_eff
from agents.relay import RelayPlan, d2d_snr_db, plan_relays
from agents.workloads import Requests
from market.orders import Trades
from market.resources import N_RESOURCES

if TYPE_CHECKING:
    from agents.model import EdgeMarketModel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class RelayRound:
    """This round's relays: per relayed device row its ``broker`` row (-1: none) and rate
    cap (Mbps); ``link``: the market's view of every device's link."""

    broker: IntArray  # (n,) broker row relaying device i, -1 if none
    cap_mbps: FloatArray  # (n,) the pair's two-hop rate share
    pair_rate_mbps: FloatArray  # (n,) the pair's full two-hop rate (energy per Mbit)
    link: LinkState
    raw: LinkState  # the channel's own links
    planned: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))
    #: Device rows of ``link`` sent back to their own links, batch by batch (views built
    #: from ``link`` before a batch are stale for its devices).
    restored: list[IntArray] = dataclasses.field(default_factory=list)

    @property
    def relayed(self) -> IntArray:
        """Device rows relayed this round."""
        return np.flatnonzero(self.broker >= 0)


def _convolve_rows(x: FloatArray, y: FloatArray) -> FloatArray:
    """Row-wise full convolution of (n, p) and (n, q) -> (n, p + q − 1)."""
    out = np.zeros((x.shape[0], x.shape[1] + y.shape[1] - 1))
    for j in range(x.shape[1]):
        out[:, j: j + y.shape[1]] += x[:, j: j + 1] * y
    return out


@dataclass
class Hop:
    """The D2D hop of each pair: goodput rate (Mbps), P(j retransmissions over both
    directions and delivered) (n, 2k+1), and the per-transmission packet error rate over
    both directions."""

    rate_mbps: FloatArray
    retx_prob: FloatArray
    per: FloatArray


def d2d_hop(channel: Channel, d_m: FloatArray, target_bler: FloatArray, tx_power_dbm: float,
            bandwidth_mhz: float, max_retx: int, packet_bits: int) -> Hop:
    """The D2D hop by the channel's own link adaptation (:func:`agents.link_adaptation.adapt`
    on the D2D SNR of :func:`agents.relay.d2d_snr_db`) at the relayed device's target BLER:
    CQI, Chase-combining HARQ, goodput. The same MCS and SNR both ways (a symmetric link);
    no fading draw (the pair is chosen by distance). 0 rate below ``min_snr_db``."""
    snr = d2d_snr_db(channel, d_m, tx_power_dbm, bandwidth_mhz)
    q = adapt(snr, target_bler, max_retx, packet_bits)
    up = snr >= channel.cfg.min_snr_db
    return Hop(rate_mbps=np.where(up, bandwidth_mhz * q.spectral_eff, 0.0),
               retx_prob=_convolve_rows(q.retx_prob, q.retx_prob),
               per=1 - (1 - q.bler) ** 2)


def relayed_link(link: LinkState, device: IntArray, broker: IntArray, hop: Hop,
                 air_ms: float, harq_ms: float, base_jitter_ms: float, k: int,
                 packet_bits: int) -> LinkState:
    """``link`` with the rows ``device`` replaced by the relay path through ``broker``:
    the broker's node and node-hop figures, its delay atoms convolved with the D2D hop's
    (``hop``, one row per device: 2·air + HARQ RTT per retransmission), losses of both
    hops (packet error rates and residual losses combine as independent stages).

    Delay atoms of every row become ``base + harq_ms·j``, j = 0..4k (base 2·air, or 4·air
    on the relay path); rows not relayed keep their atoms (padding has probability 0).
    Returns ``link`` itself when no row is relayed.
    """
    if device.size == 0:
        return link
    n, a = link.delay_prob.shape
    cols = 4 * k + 1
    base = np.full(n, 2 * air_ms)
    prob = np.zeros((n, cols))
    prob[:, :a] = link.delay_prob
    two = _convolve_rows(link.delay_prob[broker], hop.retx_prob)
    prob[device, : two.shape[1]] = two
    base[device] = 4 * air_ms
    delay = base[:, None] + harq_ms * np.arange(cols)
    out = {f.name: getattr(link, f.name).copy() for f in dataclasses.fields(link)
           if f.name not in ("delay_ms", "delay_prob")}
    for name in ("attached", "snr_db", "shannon_mbps", "spectral_eff", "sinr_db", "sinr_ul_db",
                 "spectral_eff_ul", "cqi", "cqi_ul"):
        out[name][device] = getattr(link, name)[broker]
    ok = two.sum(axis=1)
    d = delay[device]
    mean = (two * d).sum(axis=1) / ok
    var = (two * d**2).sum(axis=1) / ok - mean**2
    out["link_delay_ms"][device] = mean
    out["jitter_ms"][device] = base_jitter_ms + np.sqrt(np.maximum(var, 0.0))
    out["residual_loss"][device] = 1 - ok
    per = 1 - (1 - link.per[broker]) * (1 - hop.per)
    out["per"][device] = per
    out["ber"][device] = -np.expm1(np.log1p(-np.minimum(per, 1 - 1e-16)) / packet_bits)
    return LinkState(**out, delay_ms=np.ascontiguousarray(delay), delay_prob=prob)


def begin_round(model: EdgeMarketModel, link: LinkState) -> RelayRound:
    """Pair devices with brokers, price the brokers, and build the relayed link view."""
    sc, dev = model.scenario, model.devices
    rc, ch = sc.devices.relay, sc.channel
    n = dev.uid.size
    broker = np.full(n, -1, np.int64)
    cap, pair_rate = np.zeros(n), np.zeros(n)
    brokers = active_brokers(model)
    # True relay cost: marginal cost unless the broker relays this round (set below).
    dev.cost[:, 0] = sc.devices.marginal_cost.communication_credits_per_mbps
    relay_cap = np.zeros(n)
    hop = Hop(np.zeros(0), np.zeros((0, 2 * ch.max_retransmissions + 1)), np.zeros(0))
    if rc.enabled and brokers.size:
        # The broker's own rate to its node: its uplink over the whole cell (what the node
        # hop could carry; the market decides how much of it is bought).
        own = np.zeros(n)
        bw = model.channel.bandwidth_mhz[link.attached[brokers]]
        own[brokers] = link.spectral_eff_ul[brokers] * bw
        se = np.minimum(link.spectral_eff, link.spectral_eff_ul)
        plan = plan_relays(model.channel, dev.xy_m, link.attached, se, own, brokers,
                           range_m=rc.range_m, min_se=rc.min_se,
                           tx_power_dbm=ch.ue_tx_power_dbm, bandwidth_mhz=rc.bandwidth_mhz)
        if plan.device.size:
            # The hop runs at the relayed device's own target BLER (its class's).
            order = np.argsort(plan.device)
            plan = RelayPlan(*(a[order] for a in dataclasses.astuple(plan)))
            hop = d2d_hop(model.channel, plan.distance_m,
                          model.classes.target_bler[dev.cls[plan.device]], ch.ue_tx_power_dbm,
                          rc.bandwidth_mhz, ch.max_retransmissions, ch.packet_bits)
            rate = np.minimum(hop.rate_mbps, own[plan.broker])
            share = np.bincount(plan.broker, minlength=n)[plan.broker]
            broker[plan.device] = plan.broker
            pair_rate[plan.device] = rate
            cap[plan.device] = rate / share
            relay_cap = np.bincount(plan.broker, weights=cap[plan.device],
                                    minlength=n).astype(np.float64)
            # Cost per Mbps at the broker's slowest pair: an upper bound over its pairs.
            slowest = np.full(n, np.inf)
            np.minimum.at(slowest, plan.broker, rate)
            b = np.unique(plan.broker)
            dev.cost[b, 0] = relay_unit_cost(
                sc.devices.marginal_cost.communication_credits_per_mbps, sc.devices.tx_power_w,
                model.round_s, slowest[b], sc.nodes.energy.price_credits_per_kwh)
    offered = np.zeros((n, N_RESOURCES))
    offered[brokers] = dev.capacity[brokers]
    offered[:, 0] = relay_cap
    model.broker_pricing.quote(model, offered)
    dev_rows = np.flatnonzero(broker >= 0)
    view = relayed_link(link, dev_rows, broker[dev_rows], hop, ch.air_interface_ms,
                        ch.harq_rtt_ms, ch.base_jitter_ms, ch.max_retransmissions,
                        ch.packet_bits)
    return RelayRound(broker, cap, pair_rate, view, link)


def _node_hop_ratio(model: EdgeMarketModel, req: Requests, link: LinkState) -> FloatArray:
    """Per request: actual Mbps per nominal node Mbps on its (relayed) link."""
    d = req.device
    att = np.maximum(link.attached[d], 0)
    se = effective_spectral_eff(req.data_mbit, req.result_mbit, link.spectral_eff_ul[d],
                                link.spectral_eff[d])
    return np.where(link.attached[d] >= 0, se / model.nodes.se_ref[att], 0.0)


def fit_to_cap(req: Requests, cap_mbps: FloatArray, budget_s: FloatArray,
               round_s: float) -> tuple[FloatArray, FloatArray]:
    """Bundle of a request whose transmission stage is held to ``cap_mbps``: t1 = traffic
    / cap, and the compute stage gets the longest time t2 with which the (1 − ε) quantile
    of the tandem sojourn, max(t1, t2)·w(ρ) + t1 + t2 (agents.latency, ε of
    :func:`agents.bundles.queue_eps`), still fits the stage budget (bisection on t2; the
    least compute that meets the deadline). Returns (rate Mbps, GFLOP bought), both 0
    where even t2 = 0 does not fit."""
    traffic = req.data_mbit + req.result_mbit
    with np.errstate(divide="ignore"):
        t1 = np.where(traffic > 0, traffic / cap_mbps, 0.0)
    eps = np.maximum(queue_eps(req), 1e-300)
    lo, fits0 = _fit_compute_time(t1, np.asarray(req.task_rate_hz, np.float64),
                                  np.asarray(budget_s, np.float64), eps)
    ok = np.isfinite(t1) & (budget_s > 0) & fits0
    work = req.work_gflop * round_s
    with np.errstate(divide="ignore", invalid="ignore"):
        gflop = np.where(req.work_gflop > 0, work / lo, 0.0)
    ok &= np.isfinite(gflop)
    rate = np.where(traffic > 0, cap_mbps, 0.0)
    return np.where(ok, rate, 0.0), np.where(ok, gflop, 0.0)


def _fit_compute_time(t1: FloatArray, lam: FloatArray, budget: FloatArray, eps: FloatArray,
                      kernel: bool | None = None) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Per request: the longest compute time t2 in [0, budget] (bisection) with which the
    (1 − ε) sojourn quantile max(t1, t2)·w(ρ) + t1 + t2 fits the budget, and whether t2 = 0
    fits. A compiled loop by default (agents.queue_kernels.fit_compute_time: the same
    bisection, equal to float rounding); ``kernel=False`` runs numpy."""
    from market.matching import kernel_input, use_kernels

    if use_kernels(kernel):
        from agents import queue_kernels
        from agents.latency import kernel_grid, kernel_lnc_grid

        ki = kernel_input
        grid_x, h, _, _ = kernel_grid()
        return queue_kernels.fit_compute_time(  # type: ignore[no-any-return]
            ki(t1), ki(lam), ki(budget), ki(eps), FIT_ITERATIONS, grid_x, kernel_lnc_grid(), h)

    def fits(t2: FloatArray) -> NDArray[np.bool_]:
        d = np.maximum(t1, t2)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.asarray(d * wait_quantile_units(eps, lam * d) + t1 + t2 <= budget)

    lo, hi = np.zeros(t1.size), np.maximum(budget, 0.0)
    for _ in range(FIT_ITERATIONS):
        mid = (lo + hi) / 2
        f = fits(mid)
        lo, hi = np.where(f, mid, lo), np.where(f, hi, mid)
    return lo, fits(np.zeros(t1.size))


def _send_back(relay: RelayRound, d: IntArray, harq_ms: float) -> None:
    """Devices ``d`` lose their broker and go back to their own links: their rows of
    ``relay.link`` become the channel's (in place), recorded in ``relay.restored``."""
    relay.broker[d] = -1
    view, raw = relay.link, relay.raw
    for f in dataclasses.fields(raw):
        if f.name not in ("delay_ms", "delay_prob"):
            getattr(view, f.name)[d] = getattr(raw, f.name)[d]
    a = raw.delay_prob.shape[1]
    view.delay_prob[d] = 0.0
    view.delay_prob[d, :a] = raw.delay_prob[d]
    view.delay_ms[d] = raw.delay_ms[d, :1] + harq_ms * np.arange(view.delay_ms.shape[1])
    relay.restored.append(d)


def _bundle_cost(model: EdgeMarketModel, node: IntArray, demand: FloatArray) -> FloatArray:
    """Credits a bundle is expected to cost at the prices devices plan with (the node's
    smoothed clearing price, its ask before any)."""
    nodes = model.nodes
    price = np.where(np.isfinite(nodes.expected_price), nodes.expected_price, nodes.ask)
    return np.asarray((demand * price[np.maximum(node, 0)]).sum(axis=1), np.float64)


def reserve(model: EdgeMarketModel, relay: RelayRound, req: Requests, venue: IntArray,
            design: Design, bid_value: FloatArray) -> FloatArray:
    """Each paired device's choice between the relay and its own link, and its edge bid
    with the planned relay payment taken off (see the module doc); records the planned
    relay Mbps per request in ``relay.planned``.

    A relayed joint bundle whose design needs more rate than the pair's cap is redesigned
    around the cap (:func:`fit_to_cap`); the device then keeps the relay only when that
    bundle fits its deadline, its bid covers the relay, its privacy level is within the
    brokers' ``devices.security_level``, and its own link offers no feasible bundle
    expected to cost less (bundle at planned prices + relay). Otherwise
    it goes back to its own link: its rows of ``venue``, ``design`` and the relayed link
    view are replaced in place by the direct ones. Comm-only bids keep the relay with
    their bandwidth capped."""
    b = relay.broker[req.device]
    rows = np.flatnonzero(b >= 0)
    relay.planned = np.zeros(len(req))
    if rows.size == 0:
        return bid_value
    sub = req.take(rows)
    ratio = _node_hop_ratio(model, sub, relay.link)
    safe = np.where(ratio > 0, ratio, 1.0)
    cap = relay.cap_mbps[req.device[rows]]
    demand = design.demand.copy()
    over = np.flatnonzero(demand[rows, 0] * ratio > cap * (1 + 1e-9))
    joint = model.scenario.market.bundling == "joint"
    if over.size:
        r = rows[over]
        if joint:
            rate, gflop = fit_to_cap(sub.take(over), cap[over], design.stage_budget_s[r],
                                     model.round_s)
            demand[r, 0] = rate / safe[over]
            demand[r, 2] = gflop
            demand[r[rate + gflop <= 0]] = 0.0  # nothing fits
        else:
            demand[r, 0] = cap[over] / safe[over]
    need = demand[rows, 0] * ratio
    ask = model.broker_pricing.ask[b[rows], 0]
    left = bid_value[rows] - ask * need
    # A broker is a seller of the bundle: its security level bounds the request's privacy
    # (agents.qoais.sla_met), so a request needing more privacy than brokers offer does
    # not relay (as one needing more than its node offers goes to the cloud).
    private = sub.privacy_level > model.scenario.devices.security_level
    ok = design.feasible[rows] & (demand[rows].sum(axis=1) > 0) & (left > 0) & ~private
    if joint:
        v_dir, d_dir, _ = model._edge_designs(sub, relay.raw)
        direct_ok = d_dir.feasible & (v_dir >= 0) & (d_dir.demand.sum(axis=1) > 0)
        cheaper = (_bundle_cost(model, relay.link.attached[sub.device], demand[rows]) + ask * need
                   <= _bundle_cost(model, v_dir, d_dir.demand))
        ok &= ~direct_ok | cheaper
        back = np.flatnonzero(~ok)
        if back.size:
            r = rows[back]
            demand[r] = d_dir.demand[back]
            design.feasible[r] = d_dir.feasible[back]
            design.stage_budget_s[r] = d_dir.stage_budget_s[back]
            venue[r] = v_dir[back]
            _send_back(relay, sub.device[back], model.scenario.channel.harq_rtt_ms)
    design.demand[:] = demand
    relay.planned[rows] = np.where(ok, need, 0.0)
    out = bid_value.copy()
    out[rows] = np.where(ok, left, np.where(joint, bid_value[rows], 0.0))
    return out


def relay_trades(model: EdgeMarketModel, relay: RelayRound, req: Requests,
                 edge_trades: Trades) -> Trades:
    """The D2D hop bought by each relayed request that got node bandwidth (module doc).

    Every other paired device is released (:func:`release`): it bought no hop, so its
    traffic (to the cloud, say) goes over its own link, at its own rate."""
    n_req = len(req)
    b = relay.broker[req.device]
    if not (b >= 0).any():
        release(model, relay, np.zeros(0, np.int64))
        return Trades.empty()
    hop = np.zeros(n_req)
    if len(edge_trades):
        ratio = model._comm_se_ratio(edge_trades, req)
        comm = edge_trades.resource == 0
        hop = np.bincount(edge_trades.bid_index[comm],
                          weights=edge_trades.quantity[comm] * ratio[comm], minlength=n_req)
    rows = np.flatnonzero((b >= 0) & (hop > 0))
    q = np.minimum(hop[rows], relay.cap_mbps[req.device[rows]])
    keep = q > 0
    rows, q = rows[keep], q[keep]
    release(model, relay, req.device[rows])
    if rows.size == 0:
        return Trades.empty()
    br = b[rows]
    price = model.broker_pricing.ask[br, 0]
    return Trades(buyer=model.devices.uid[req.device[rows]], seller=model.devices.uid[br],
                  resource=np.zeros(rows.size, np.int8), quantity=q, price=price,
                  bid_index=rows.astype(np.int64), ask_index=np.full(rows.size, -1, np.int64),
                  seller_price=price)


def release(model: EdgeMarketModel, relay: RelayRound, buying: IntArray) -> None:
    """Paired devices other than ``buying`` (device rows that bought a D2D hop) go back to
    their own links for the rest of the round (in place on ``relay``): no broker, the
    channel's own link view. A request that planned on a relay but won no node bandwidth
    buys no hop; served at the cloud, it reaches it over its own link, and its rate must
    not be capped at a sidelink it does not use."""
    d = np.setdiff1d(relay.relayed, buying)
    if d.size:
        _send_back(relay, d, model.scenario.channel.harq_rtt_ms)


def cap_rates(model: EdgeMarketModel, relay: RelayRound, req: Requests, got: ex.Received,
              trades: Trades) -> None:
    """Relayed requests get the two-hop rate; brokers' batteries pay the relay's tx energy."""
    b = relay.broker[req.device]
    rows = np.flatnonzero(b >= 0)
    if rows.size == 0:
        return
    got.rate_mbps[rows] = np.minimum(got.rate_mbps[rows], relay.cap_mbps[req.device[rows]])
    kind = model.sellers.kind[trades.seller]
    sel = np.flatnonzero((kind == ex.KIND_DEVICE) & (trades.resource == 0)
                         & (trades.bid_index >= 0))
    if sel.size == 0:
        return
    d = req.device[trades.bid_index[sel]]
    bro = model.sellers.index[trades.seller[sel]]
    sc = model.scenario.devices
    j = sc.tx_power_w * model.round_s * trades.quantity[sel] / relay.pair_rate_mbps[d]
    dev = model.devices
    dev.battery_j = np.maximum(dev.battery_j - np.bincount(bro, weights=j,
                                                           minlength=dev.uid.size), 0.0)


def round_info(model: EdgeMarketModel, relay: RelayRound, trades: Trades, req: Requests,
               sla_met: NDArray[np.bool_]) -> dict[str, float | int]:
    """RoundResult.info entries: ``broker_trades`` (trades whose seller is a broker device,
    D2D hops included), ``relayed`` devices this round, ``relay_trades`` (D2D
    hops sold), ``relay_sla_met`` (of the requests that bought a hop, those that met
    every QoAIS requirement), ``broker_value`` (credits buyers paid brokers, all
    resources) and ``trade_value`` (credits paid over all trades): the numerators and
    denominators of the run summary's broker shares."""
    value = trades.quantity * trades.price
    broker = model.sellers.kind[trades.seller] == ex.KIND_DEVICE
    hop = broker & (trades.resource == 0) & (trades.bid_index >= 0)
    return {"broker_trades": int(np.count_nonzero(broker)), "relayed": int(relay.relayed.size),
            "relay_sla_met": int(sla_met[np.unique(trades.bid_index[hop])].sum()),
            "relay_trades": int(np.count_nonzero(broker & (trades.resource == 0))),
            "broker_value": float(value[broker].sum()), "trade_value": float(value.sum())}
