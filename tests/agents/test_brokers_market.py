"""Brokers as economic agents (issue 11, item 5): they price by a node strategy, never
below their true cost nor beyond their idle capacity; they relay radio (D2D) for devices
out of coverage at the two-hop rate and latency computed here by hand; they trade in a
seeded small run, whose summary and store report their share."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from agents import execution as ex
from agents.model import EdgeMarketModel
from agents.scenario import small
from agents.strategies import NodeObservation, NodeStrategy, register_strategy

# 3GPP TS 38.214 Table 5.2.2.1-2: (10 %-BLER SINR threshold dB, spectral efficiency), by hand.
CQI_TABLE = [(-6.7, 0.1523), (-4.7, 0.2344), (-2.3, 0.3770), (0.2, 0.6016), (2.4, 0.8770),
             (4.3, 1.1758), (5.9, 1.4766), (8.1, 1.9141), (10.3, 2.4063), (11.7, 2.7305),
             (14.1, 3.3223), (16.3, 3.9023), (18.7, 4.5234), (21.0, 5.1152), (22.7, 5.5547)]


@register_strategy("_test_dumping")
class Dumping(NodeStrategy):
    """Asks nothing at all: the broker's cost floor must catch it."""

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> np.ndarray:
        return np.zeros_like(obs.cost)


def _check_round(model: EdgeMarketModel, rr) -> int:  # type: ignore[no-untyped-def]
    """Every broker trade this round at or above the broker's true cost, and no broker
    selling more of a resource than it offered; returns the broker trades."""
    t = rr.clearing.trades
    dev = model.sellers.kind[t.seller] == ex.KIND_DEVICE
    rows = model.sellers.index[t.seller[dev]]
    r = t.resource[dev].astype(np.int64)
    assert np.all(t.seller_price[dev] >= model.devices.cost[rows, r] * (1 - 1e-12))
    sold = np.zeros_like(model.devices.cost)
    np.add.at(sold, (rows, r), t.quantity[dev])
    assert np.all(sold <= model.broker_pricing.offered * (1 + 1e-9) + 1e-12)
    return int(dev.sum())


@pytest.mark.parametrize("strategy", ["zip", "_test_dumping"])
def test_brokers_never_sell_below_cost_nor_beyond_idle_capacity(strategy: str) -> None:
    # Scarce nodes and many brokers, so that brokers do sell.
    sc = small("smart_city", devices__broker_fraction=0.5,
               nodes__capacity__computation_gflop=1500.0, nodes__capacity__caching_gb=20.0,
               devices__broker_strategy__name=strategy)
    model = EdgeMarketModel(sc, seed=1)
    sold = sum(_check_round(model, model.step()) for _ in range(3))
    assert sold > 0  # the property was exercised
    if strategy == "_test_dumping":  # a strategy asking 0 is floored at the true cost
        b = np.flatnonzero(model.broker_pricing.offered.sum(axis=1) > 0)
        np.testing.assert_array_equal(model.broker_pricing.ask[b], model.devices.cost[b])


CLASS = "robot"  # small tasks: a D2D hop can carry them


def _layout_model(security: int = 2) -> tuple[EdgeMarketModel, int, int, int]:
    """One node at (1000, 1000), coverage 500 m; broker B 490 m east (covered); devices A
    and C just out of coverage, 15 m and 18 m from B. No shadowing; nobody moves.
    Brokers at ``security`` level 2 by default: robots need privacy 2 to relay via one."""
    sc = small("smart_city", devices__count=3, nodes__count=1, devices__mix={CLASS: 1.0},
               **{f"service_classes__{CLASS}__mobility__model": "static"},
               channel__shadowing_sigma_db=0.0, cloud__enabled=False,
               devices__security_level=security)
    model = EdgeMarketModel(sc, seed=3)
    pos = model.mobility.pos
    pos[:] = [[1505.0, 1000.0], [1490.0, 1000.0], [1505.0, 1010.0]]
    model.devices.is_broker[:] = [False, True, False]
    return model, 0, 1, 2


def _hand_hop(snr_db: float, target: float, k: int) -> tuple[float, list[float]]:
    """Link adaptation by hand (agents/link_adaptation.py's docstring): the highest CQI
    whose logistic BLER (slope 2/dB through its 10 % point) at the SNR is <= target;
    Chase combining (j transmissions: j x SNR); goodput SE = SE_cqi / E[transmissions].
    Returns (goodput SE, P(delivered after exactly j retransmissions), j = 0..k)."""
    g50 = [thr - math.log(9.0) / 2 for thr, _ in CQI_TABLE]

    def bler(g: float, c: int) -> float:
        return 1 / (1 + math.exp(2 * (g - g50[c])))

    ok = [c for c in range(15) if bler(snr_db, c) <= target]
    c = max(ok) if ok else 0
    fail = [bler(10 * math.log10(10 ** (snr_db / 10) * (j + 1)), c) for j in range(k + 1)]
    before = [1.0, *fail[:-1]]
    return CQI_TABLE[c][1] / sum(before), [b - f for b, f in zip(before, fail, strict=True)]


def test_relay_rate_and_latency_by_hand() -> None:
    model, a, b, c = _layout_model()
    sc = model.scenario
    rr = model.step()
    assert model.devices.attached.tolist() == [-1, 0, -1]  # own links: A and C uncovered
    view = model.last_link
    assert view.attached.tolist() == [0, 0, 0]  # the market sees them through B
    ch, rc = sc.channel, sc.devices.relay
    k = ch.max_retransmissions
    target = sc.service_classes[CLASS].target_bler
    # D2D SNR by hand: log-distance path loss, thermal noise over the sidelink.
    noise = -174 + 10 * math.log10(rc.bandwidth_mhz * 1e6) + ch.noise_figure_db

    def hop(d: float) -> tuple[float, list[float]]:
        pl = 20 * math.log10(ch.frequency_ghz) + 32.45 + 10 * ch.path_loss_exponent * math.log10(d)
        se, p = _hand_hop(ch.ue_tx_power_dbm - pl - noise, target, k)
        return rc.bandwidth_mhz * se, p

    dist = {a: 15.0, c: math.hypot(15.0, 10.0)}
    own_b = view.spectral_eff_ul[b] * sc.nodes.bandwidth_mhz  # B's uplink over the whole band
    # B time-shares its sidelink between its two devices.
    cap = {d: min(hop(dist[d])[0], own_b) / 2 for d in (a, c)}
    relay = model.last_relay
    link_b = view.link_delay_ms[b]
    for d in (a, c):
        assert relay.broker[d] == b
        assert relay.cap_mbps[d] == pytest.approx(cap[d], rel=1e-9)
        # Latency: B's link delay plus the D2D hop's: air interface both ways and one HARQ
        # RTT per retransmission in either direction, given delivery.
        p = hop(dist[d])[1]
        e_retx = sum(j * q for j, q in enumerate(p)) / sum(p)
        hop_ms = 2 * ch.air_interface_ms + 2 * e_retx * ch.harq_rtt_ms
        assert view.link_delay_ms[d] == pytest.approx(link_b + hop_ms, rel=1e-9)
        assert view.residual_loss[d] == pytest.approx(
            1 - (1 - view.residual_loss[b]) * sum(p) ** 2, abs=1e-15)
    # The D2D hop each relayed request bought: min(node-hop rate, its cap), at B's ask,
    # which is at least B's true relay cost (marginal + tx energy at its slowest pair).
    t = rr.clearing.trades
    uid = model.devices.uid
    sold = (t.seller == uid[b]) & (t.resource == 0)
    assert sold.any()
    r = model.classes.names.index(CLASS)
    ul, dl = model.classes.data_mbit[r], model.classes.result_mbit[r]
    se = (ul + dl) / (ul / view.spectral_eff_ul[b] + dl / view.spectral_eff[b])
    ratio = se / model.nodes.se_ref[0]
    energy_price = sc.nodes.energy.price_credits_per_kwh / 3.6e6
    slowest = min(2 * cap[a], 2 * cap[c])
    true_cost = (sc.devices.marginal_cost.communication_credits_per_mbps
                 + sc.devices.tx_power_w * sc.round_duration_s / slowest * energy_price)
    assert model.devices.cost[b, 0] == pytest.approx(true_cost, rel=1e-9)
    for i in np.flatnonzero(sold):
        buyer = int(np.flatnonzero(uid == t.buyer[i])[0])
        node_q = t.quantity[(t.buyer == t.buyer[i]) & (t.seller == model.nodes.uid[0])
                            & (t.resource == 0)].sum()
        assert t.quantity[i] == pytest.approx(min(node_q * ratio, cap[buyer]), rel=1e-9)
        assert t.price[i] == model.broker_pricing.ask[b, 0] >= true_cost


def test_brokers_trade_in_a_small_run_and_the_summary_reports_their_share(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.runner import run_simulation

    db = tmp_path / "runs.db"
    s = run_simulation("smart_city", overrides={"devices.count": 40, "nodes.count": 4,
                                                "snapshot_every": 1},
                       seed=1, rounds=3, db_url=f"sqlite:///{db}")
    # Independent count from the stored rows: sellers that are neither a node nor the
    # cloud (every node and the cloud appear in each round's snapshot) are broker devices.
    con = sqlite3.connect(db)
    others = {r[0] for r in con.execute(
        "select agent_id from snapshots where kind in ('node', 'cloud')")}
    rows = con.execute("select seller, quantity * price from trades").fetchall()
    stored = con.execute("select summary from runs").fetchone()[0]
    con.close()
    broker = [v for seller, v in rows if seller not in others]
    assert len(broker) > 0
    assert s.broker_trade_share == pytest.approx(len(broker) / len(rows), abs=1e-9)  # rounded to 9 places
    assert s.broker_value_share == pytest.approx(sum(broker) / sum(v for _, v in rows), abs=1e-9)
    assert f'"broker_trade_share": {s.broker_trade_share}' in stored


def test_devices_plan_the_d2d_hop_only_where_a_broker_undercuts_a_node() -> None:
    from agents.brokers import planned_transport_ms

    model = EdgeMarketModel(small("smart_city"), seed=1)  # cell scope, 4 nodes
    model.step()
    bp, dev = model.broker_pricing, model.devices
    sellers = np.flatnonzero(bp.offered[:, 2] > 0)
    assert sellers.size
    venues = np.arange(model.nodes.uid.size)
    bp.ask[sellers] = model.nodes.ask[dev.attached[sellers]] * 1.01  # dearer than the nodes
    np.testing.assert_array_equal(planned_transport_ms(model, venues), 0.0)
    one = sellers[0]
    bp.ask[one, 2] = model.nodes.ask[dev.attached[one], 2] * 0.99  # undercuts its node
    want = np.where(venues == dev.attached[one], model.scenario.devices.d2d_ms, 0.0)
    np.testing.assert_array_equal(planned_transport_ms(model, np.r_[venues, -1]), np.r_[want, 0.0])


def test_a_request_needing_more_privacy_than_brokers_offer_does_not_relay() -> None:
    model = _layout_model(security=1)[0]  # robots need privacy 2
    rr = model.step()
    assert model.last_relay.relayed.size == 0
    assert model.last_link.attached.tolist() == [-1, 0, -1]  # back on their own links
    assert rr.info["relay_trades"] == 0
