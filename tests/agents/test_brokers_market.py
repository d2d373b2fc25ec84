"""Brokers as economic agents (issue 11, item 5): they price by a node strategy, never
below their true cost nor beyond their idle capacity; they relay radio (D2D) for devices
out of coverage at the two-hop rate and latency computed here by hand; they trade in a
seeded small run, whose summary and store report their share."""

from __future__ import annotations

import itertools
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


def _layout_model(security: int = 2, cls: str = CLASS,
                  **extra: object) -> tuple[EdgeMarketModel, int, int, int]:
    """One node at (1000, 1000), coverage 500 m; broker B 490 m east (covered); devices A
    and C just out of coverage, 15 m and 18 m from B. No shadowing; nobody moves.
    Brokers at ``security`` level 2 by default: robots need privacy 2 to relay via one."""
    sc = small("smart_city", devices__count=3, nodes__count=1, devices__mix={cls: 1.0},
               **{f"service_classes__{cls}__mobility__model": "static", "cloud__enabled": False,
                  **extra},
               channel__shadowing_sigma_db=0.0, devices__security_level=security)
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
    # Scarce node compute and many brokers, so that brokers sell (the share is what is tested).
    s = run_simulation("smart_city", overrides={"devices.count": 40, "nodes.count": 4,
                                                "snapshot_every": 1, "devices.broker_fraction": 0.5,
                                                "nodes.capacity.computation_gflop": 1500.0},
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


# --- a broker unit never leaves its buyer worse off than the node unit it displaced ---------

def _random_clearing(rng: np.random.Generator) -> tuple:  # type: ignore[type-arg]
    """A random clearing of a few venue-resource groups, as a mechanism might leave it: per
    group some node and broker asks (prices with ties, offers), units sold to buyers
    (request rows, harms with ties and inf) at one buyer price and one seller price, the
    units taken from the asks in any order (not necessarily cheapest first) and matched
    to buyers in any order."""
    from agents.brokers import AskBook
    from market.orders import Trades

    cols: dict[str, list] = {k: [] for k in ("buyer", "seller", "res", "q", "p", "sp", "bid", "ask", "grp")}  # type: ignore[type-arg]
    a_cols: dict[str, list] = {k: [] for k in ("group", "price", "offered", "agent", "broker")}  # type: ignore[type-arg]
    harm: dict[int, float] = {}
    next_bid = 0
    for g in range(int(rng.integers(1, 5))):
        n_a, n_b = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        first = len(a_cols["group"])
        price = rng.choice([1.0, 1.5, 2.0], n_a)
        offered = rng.uniform(0.5, 3.0, n_a)
        broker = rng.random(n_a) < 0.5
        for j in range(n_a):
            for k, v in (("group", g), ("price", price[j]), ("offered", offered[j]),
                         ("agent", 10 + first + j + (500 if broker[j] else 0)), ("broker", broker[j])):
                a_cols[k].append(v)
        order = rng.permutation(n_a)  # the asks the mechanism took units from, in any order
        taken = np.where(rng.random(n_a) < 0.3, rng.uniform(0, 1, n_a), 1.0) * offered[order]
        a_q, a_rows = taken[taken > 0], first + order[taken > 0]
        if a_q.size == 0:
            continue
        total = a_q.sum()
        b_share = rng.dirichlet(np.ones(n_b)) * total
        bids = np.arange(next_bid, next_bid + n_b)
        next_bid += n_b
        for b in bids:
            harm[int(b)] = float(rng.choice([np.inf, 0.1, 0.2, 0.2, 0.5]))
        bo = rng.permutation(n_b)
        bc, sc = np.cumsum(b_share[bo]), np.cumsum(a_q)
        bc[-1] = sc[-1] = total
        cuts = np.unique(np.r_[0.0, bc, sc])
        p_buy, p_sell = rng.uniform(2.0, 3.0), float(price[order[taken > 0]].max()) + rng.uniform(0, 0.5)
        for lo, hi in itertools.pairwise(cuts):
            i = bo[min(np.searchsorted(bc, (lo + hi) / 2), n_b - 1)]
            j = a_rows[min(np.searchsorted(sc, (lo + hi) / 2), a_rows.size - 1)]
            for k, v in (("buyer", 1000 + bids[i]), ("seller", a_cols["agent"][j]), ("res", g % 4),
                         ("q", hi - lo), ("p", p_buy), ("sp", p_sell), ("bid", bids[i]), ("ask", j),
                         ("grp", g)):
                cols[k].append(v)
    t = Trades(buyer=np.array(cols["buyer"], np.int64), seller=np.array(cols["seller"], np.int64),
               resource=np.array(cols["res"], np.int8), quantity=np.array(cols["q"]),
               price=np.array(cols["p"]), bid_index=np.array(cols["bid"], np.int64),
               ask_index=np.array(cols["ask"], np.int64), seller_price=np.array(cols["sp"]))
    asks = AskBook(group=np.array(a_cols["group"], np.int64), price=np.array(a_cols["price"]),
                   offered=np.array(a_cols["offered"]), agent=np.array(a_cols["agent"], np.int64),
                   broker=np.array(a_cols["broker"], bool))
    h = np.array([harm[int(b)] for b in cols["bid"]])
    return t, np.array(cols["grp"], np.int64), h, asks


def _sums(key: np.ndarray, w: np.ndarray) -> dict:  # type: ignore[type-arg]
    out: dict = {}  # type: ignore[type-arg]
    for k, v in zip(key.tolist(), w.tolist(), strict=True):
        out[k] = out.get(k, 0.0) + v
    return out


@pytest.mark.parametrize("seed", range(60))
def test_a_broker_unit_never_displaces_a_cheaper_node_unit_nor_suits_its_buyer_worse(seed: int) -> None:
    """Against plain bookkeeping (dicts, pairwise comparisons), for random clearings:
    every buyer keeps its units and pays the same (a broker unit costs it no more than the
    node unit it would have had); units sold per group unchanged, no ask beyond its offer
    and none paid below its ask; where a broker sold, no cheaper node offer is left unsold
    (a broker only sells behind the nodes); and no buyer holds a broker unit while a buyer
    that a broker unit harms less holds a node unit (no swap helps either)."""
    from agents.brokers import assign_units

    t, grp, harm, asks = _random_clearing(np.random.default_rng(seed))
    out = assign_units(t, grp, harm, asks)
    assert np.all(out.quantity > 0)
    for key, price in ((t.bid_index, t.price), (grp, None)):
        o_key = out.bid_index if price is not None else asks.group[out.ask_index]
        before, after = _sums(key, t.quantity), _sums(o_key, out.quantity)
        assert before.keys() == after.keys()
        for k in before:
            assert after[k] == pytest.approx(before[k], rel=1e-12)
    pay_before, pay_after = _sums(t.bid_index, t.quantity * t.price), _sums(out.bid_index, out.quantity * out.price)
    for k in pay_before:
        assert pay_after[k] == pytest.approx(pay_before[k], rel=1e-12)
    sold = np.bincount(out.ask_index, weights=out.quantity, minlength=asks.group.size)
    assert np.all(sold <= asks.offered * (1 + 1e-12))
    assert np.all(out.seller_price >= asks.price[out.ask_index])
    touched = set(asks.group[t.ask_index[asks.broker[t.ask_index]]].tolist())
    h = dict(zip(t.bid_index.tolist(), harm.tolist(), strict=True))
    for g in touched:
        in_g = np.flatnonzero(asks.group == g)
        selling = in_g[sold[in_g] > 1e-12]
        spare_node = in_g[(sold[in_g] < asks.offered[in_g] * (1 - 1e-9)) & ~asks.broker[in_g]]
        for b in selling[asks.broker[selling]]:
            assert all(asks.price[j] > asks.price[b] for j in spare_node)
        rows = asks.group[out.ask_index] == g
        from_b = asks.broker[out.ask_index]
        got_b = {int(x) for x in out.bid_index[rows & from_b]}
        got_n = {int(x) for x in out.bid_index[rows & ~from_b]}
        assert not [(x, y) for x in got_b for y in got_n if x != y and h[x] > h[y]]


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_the_compiled_assignment_equals_the_numpy_code(seed: int) -> None:
    """agents.broker_kernels against assign_units' numpy path: the same trade rows (buyer,
    seller, request, ask, resource) in the same order, amounts and prices to float
    rounding (sums are taken in another order)."""
    from agents.brokers import assign_units

    t, grp, harm, asks = _random_clearing(np.random.default_rng(seed))
    fast = assign_units(t, grp, harm, asks, kernel=True)
    slow = assign_units(t, grp, harm, asks, kernel=False)
    assert len(fast) == len(slow) > 0
    for f in ("buyer", "seller", "bid_index", "ask_index", "resource"):
        np.testing.assert_array_equal(getattr(fast, f), getattr(slow, f), err_msg=f)
    for f in ("quantity", "price", "seller_price"):
        np.testing.assert_allclose(getattr(fast, f), getattr(slow, f), rtol=1e-12, err_msg=f)


def test_in_a_run_brokers_sell_only_behind_cheaper_node_supply_to_buyers_they_suit() -> None:
    """Scarce nodes, many brokers: per edge venue and resource, (1) a broker unit is sold
    only when every node ask below the broker's ask is sold out (it displaces no cheaper
    node unit), (2) its buyer pays the venue's one price, like a node unit's buyer, and
    (3) no request too private for brokers holds a broker unit while a request they may
    serve holds a node unit of the same venue and resource."""
    sc = small("smart_city", devices__broker_fraction=0.5, devices__count=80,
               nodes__capacity__computation_gflop=1500.0, nodes__capacity__caching_gb=20.0)
    model = EdgeMarketModel(sc, seed=2)
    seen = 0
    for _ in range(4):
        rr = model.step()
        o = model._round_orders[0]  # the edge venues' orders of this round
        t = rr.clearing.trades
        edge = (t.ask_index >= 0) & (t.ask_index < o.ask_venue.size) \
            & (model.sellers.kind[t.seller] != ex.KIND_CLOUD)
        t_ask = t.ask_index[edge]
        sold = np.bincount(t_ask, weights=t.quantity[edge], minlength=o.ask_venue.size)
        is_brk = model.sellers.kind[o.ask_agent] == ex.KIND_DEVICE
        dev_row = model.sellers.index[t.buyer[edge]]
        privacy = model.classes.columns["privacy_level"][model.devices.cls[dev_row]]
        too_private = privacy > sc.devices.security_level
        t_brk = is_brk[t_ask]
        for a in np.flatnonzero(is_brk & (sold > 0)):
            seen += 1
            same = (o.ask_venue == o.ask_venue[a]) & (o.ask_resource == o.ask_resource[a]) & ~is_brk
            cheaper = same & (o.ask_price < o.ask_price[a])
            assert np.all(sold[cheaper] >= o.ask_quantity[cheaper] * (1 - 1e-9))  # (1)
            grp = np.isin(t_ask, np.flatnonzero(same | (np.arange(is_brk.size) == a)))
            prices = t.price[edge][grp]
            assert np.ptp(prices) <= 1e-12 * max(1.0, prices.max())  # (2)
            # (3): too-private buyers with broker units only once no node unit is left to
            # a buyer brokers may serve.
            if (grp & t_brk & too_private).any():
                assert not (grp & ~t_brk & ~too_private).any()
    assert seen > 0


#: Ready scenarios with brokers. codesign_cell and scarce_hotspots set broker_fraction 0 on
#: purpose: they are the controlled settings of the co-design and learned-pricing benchmarks.
BROKER_SCENARIOS = ["factory", "highway", "metro", "smart_city"]


def test_the_scenarios_with_brokers_are_the_ready_ones_but_the_two_benchmarks() -> None:
    from agents.scenario import SCENARIO_DIR, load_scenario

    names = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    with_brokers = [n for n in names if load_scenario(n).devices.broker_fraction > 0]
    assert with_brokers == BROKER_SCENARIOS
    assert sorted(set(names) - set(with_brokers)) == ["codesign_cell", "scarce_hotspots"]


@pytest.mark.parametrize("name", BROKER_SCENARIOS)
def test_brokers_trade_in_a_short_run_of_each_ready_scenario(name: str) -> None:
    """Full-size scenario, seed 0, a few rounds (metro: 3; ~5 s CPU for the four)."""
    from agents.scenario import load_scenario

    model = EdgeMarketModel(load_scenario(name), seed=0)
    trades = sum(model.step().info["broker_trades"] for _ in range(3 if name == "metro" else 6))
    assert trades > 0


def test_a_paired_device_that_buys_no_hop_goes_back_to_its_own_link() -> None:
    """A and C are paired with B; if the edge sells them no node bandwidth (no edge trades
    at all here), they buy no D2D hop, so they leave the relay: the link view is the
    channel's own for them again, and a rate they get elsewhere (the cloud's access rate)
    is not capped at the sidelink they do not use."""
    from agents import relay_market
    from agents.workloads import generate
    from market.orders import Trades

    model, a, _, c = _layout_model(cls="driving", cloud__enabled=True)
    model.step()
    relay = relay_market.begin_round(model, model.last_relay.raw)
    assert relay.relayed.tolist() == [a, c]  # paired, seen through B
    assert relay.link.attached.tolist() == [0, 0, 0]
    req = generate(model.classes, model.devices.cls, np.ones(3, bool), np.random.default_rng(0))
    assert set(req.device.tolist()) >= {a, c}
    assert len(relay_market.relay_trades(model, relay, req, Trades.empty())) == 0
    assert relay.relayed.size == 0
    raw = relay.raw
    assert relay.link.attached.tolist() == raw.attached.tolist() == [-1, 0, -1]
    for name in ("link_delay_ms", "jitter_ms", "residual_loss", "per"):
        np.testing.assert_array_equal(getattr(relay.link, name), getattr(raw, name))
    k = raw.delay_prob.shape[1]
    np.testing.assert_array_equal(relay.link.delay_prob[:, :k], raw.delay_prob)
    assert not relay.link.delay_prob[:, k:].any()
    got = ex.received(Trades.empty(), len(req), model.sellers, np.zeros(0), np.zeros(0))
    got.rate_mbps[:] = model.scenario.cloud.access_rate_mbps
    relay_market.cap_rates(model, relay, req, got, Trades.empty())
    np.testing.assert_array_equal(got.rate_mbps, model.scenario.cloud.access_rate_mbps)
