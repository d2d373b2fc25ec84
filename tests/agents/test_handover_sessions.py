"""Handover costs and the multi-round time base.

- Handover interruption and migration shares against a hand computation, and the
  reliability of a handed-over session (execution.measure) against a plain Monte Carlo of
  its round: tandem queue, HARQ atoms, and tasks arriving during the interruption (wait
  for its end) or the migration (backhaul detour).
- Time-to-trigger counted in measurements.
- Sessions longer than a round hold their node resources (asks shrink, the device is busy,
  the held units are paid each round).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import execution as ex
from agents.channel import Channel
from agents.handover import handover_cost
from agents.model import EdgeMarketModel
from agents.scenario import ChannelConfig
from agents.sessions import session_rounds
from agents.workloads import Requests


def test_handover_shares_match_a_hand_computation() -> None:
    # 50 ms interruption in a 1 s round; 4 GB over 10 Gbps = 3.2 s of migration, cut at
    # the end of the round: 0.95 of the tasks detour.
    c = handover_cost(np.array([True, False]), np.array([4.0, 4.0]), np.array([2.5, 2.5]),
                      50.0, 10.0, 1.0)
    assert c.prob[0].sum() == pytest.approx(1.0)
    assert c.prob[0, 1:5].sum() == pytest.approx(0.05)
    assert c.prob[0, 5] == pytest.approx(0.95)
    assert c.continuity[0] == pytest.approx(1 - 0.05 - 0.95 / 2)
    assert c.prob[1, 0] == 1.0 and c.continuity[1] == 1.0
    # Small state: 0.5 GB -> 400 ms of detour.
    c2 = handover_cost(np.array([True]), np.array([0.5]), np.array([2.5]), 50.0, 10.0, 1.0)
    assert c2.prob[0, 5] == pytest.approx(0.4)


def _one_request(budget_ms: float, f: float, data: float, work: float) -> Requests:
    one = np.ones(1)
    return Requests(
        device=np.zeros(1, np.int64), cls=np.zeros(1, np.int64), value_credits=one,
        data_mbit=data * one, result_mbit=0 * one, work_gflop=work * one, task_rate_hz=f * one,
        cache_gb=0.5 * one, learning_lu=0 * one, latency_budget_ms=budget_ms * one,
        min_reliability=0.999 * one, min_accuracy=0 * one, privacy_level=0 * one,
        autonomy_level=0 * one, accuracy_max=one, learning_gain=one, cache_hit_ratio=one,
        cache_miss_penalty_ms=0 * one)


@pytest.mark.parametrize("budget_ms", [20.0, 30.0, 60.0])
def test_handed_over_reliability_matches_a_monte_carlo_of_the_round(budget_ms: float) -> None:
    rng = np.random.default_rng(int(budget_ms))
    f, t1, t2 = 60.0, 0.008, 0.010  # ρ = 0.6 at the compute stage
    req = _one_request(budget_ms, f, data=8.0, work=10.0)
    got = ex.Received(units=np.array([[0.0, 0.5, 1000.0, 0.0]]), rate_mbps=np.array([1000.0]),
                      transport_ms=np.zeros(1), security=np.zeros(1), autonomy=np.zeros(1),
                      broker_share=np.zeros(1), payment=np.zeros(1),
                      provider=np.zeros(1, np.int64), served=np.ones(1, bool))
    atoms, p_atoms = np.array([[1.0, 2.0]]), np.array([[0.95, 0.05]])
    ho = handover_cost(np.array([True]), req.cache_gb, np.array([6.0]), 50.0, 10.0, 1.0)
    lv = ex.LinkView(link_delay_ms=np.ones(1), jitter_ms=np.zeros(1), ber=np.zeros(1),
                     per=np.zeros(1), residual_loss=np.zeros(1), handed_over=np.ones(1, bool),
                     delay_ms=atoms, delay_prob=p_atoms, handover=ho)
    m, _ = ex.measure(req, got, lv, 1.0)
    assert got.units[0, 2] == 1000.0 and t2 == pytest.approx(10.0 * 1.0 / 1000.0)
    # Monte Carlo: Poisson tasks at uniform instants of many rounds; the handover happens at
    # the round's start (any instant gives the same shares of tasks).
    n = 400_000
    a = np.cumsum(rng.exponential(1 / f, n))
    i = np.arange(n)
    d1 = (i + 1) * t1 + np.maximum.accumulate(a - i * t1)
    d2 = (i + 1) * t2 + np.maximum.accumulate(d1 - i * t2)
    soj = (d2 - a)[n // 10:] * 1000
    u = rng.random(soj.size) * 1000.0  # ms into the round
    extra = np.where(u < 50.0, 50.0 - u, np.where(u < 50.0 + 400.0, 6.0, 0.0))
    link = np.where(rng.random(soj.size) < 0.95, 1.0, 2.0)
    mc = float(np.mean(soj + link + extra <= budget_ms))
    assert float(m.reliability[0]) == pytest.approx(mc, abs=0.02)
    assert float(m.continuity[0]) == pytest.approx(1 - 0.05 - 0.2)


def test_time_to_trigger_counts_measurements() -> None:
    cfg = ChannelConfig(shadowing_sigma_db=0.0, fast_fading_sigma_db=0.0, candidates=2,
                        handover_ttt_ms=2500.0, interference="none")
    ch = Channel(cfg, np.array([[0.0, 0.0], [600.0, 0.0]]), np.full(2, 43.0), 10.0,
                 np.full(2, 200.0), 1000.0, 1, np.random.default_rng(0), round_s=1.0)
    rng = np.random.default_rng(1)
    assert ch.measure(np.array([[100.0, 0.0]]), np.zeros(1), rng).attached[0] == 0
    near_b = np.array([[500.0, 0.0]])
    seen = [int(ch.measure(near_b, np.zeros(1), rng).attached[0]) for _ in range(4)]
    assert seen == [0, 0, 1, 1]  # 2.5 s -> 3 measurements of 1 s


def test_session_rounds_cover_a_task_and_its_budget() -> None:
    r = session_rounds(np.array([30.0, 100.0, 10.0, 0.2]), np.array([20.0, 10.0, 100.0, 4000.0]),
                       1.0)
    assert r.tolist() == [1, 1, 1, 5]
    assert session_rounds(np.array([0.2]), np.array([4000.0]), 2.0).tolist() == [3]
    assert math.ceil(4.5) == session_rounds(np.array([1.0]), np.array([4500.0]), 1.0)[0]


def test_long_sessions_hold_their_resources_across_rounds() -> None:
    model = EdgeMarketModel("smart_city", seed=3, overrides={
        "devices.count": 60, "nodes.count": 4, "devices.mix": {"medicine": 1.0},
        "devices.broker_fraction": 0.0, "cloud.enabled": False})
    assert model.session_rounds[model.classes.names.index("medicine")] == 5
    model.step()
    busy = model.sessions.busy(2)
    assert busy.any()
    held = model.sessions.held_units(2, model.sellers.index)
    bought = model.nodes.sold.copy()  # round 1: everything sold was bought by new sessions
    assert np.allclose(held, bought)
    budget_before = model.devices.budget_credits.copy()
    model.step()
    # Busy devices start nothing new; the held units stay sold and are paid again.
    assert not np.isin(model.history[-1].clearing.trades.buyer, model.devices.uid[busy]).any()
    assert np.all(model.nodes.sold >= held - 1e-9)
    held_t, held_dev = model.sessions.held_trades(2)
    pay = np.bincount(held_dev, weights=held_t.quantity * held_t.price,
                      minlength=model.devices.uid.size)
    assert pay.sum() > 0
    assert np.all(model.devices.spent_credits >= pay - 1e-9)
    assert np.all(model.devices.budget_credits[busy] <= budget_before[busy] + 5.0 + 1e-9)
