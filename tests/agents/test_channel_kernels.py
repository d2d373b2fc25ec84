"""The compiled channel loops (agents.channel_kernels) on random layouts with several worlds:
the far-field interference against a plain Python sum of the link-budget formula of
docs/scenarios.md and against the numpy code it replaces (to float rounding); the shadowing
step and received powers against their numpy code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.channel import Channel
from agents.scenario import ChannelConfig


def _layout(rng: np.random.Generator, worlds: int, per_world: int,
            n_dev: int) -> tuple[Channel, np.ndarray, np.ndarray]:
    cfg = ChannelConfig(candidates=4)
    # Worlds lie 100 km apart, as the model places independent copies.
    xy = np.concatenate([rng.uniform(0, 3000, (per_world, 2)) + np.array([w * 1e5, 0.0])
                         for w in range(worlds)])
    dev_world = rng.integers(0, worlds, n_dev)
    ch = Channel(cfg, xy, rng.uniform(38, 46, worlds * per_world), 10.0,
                 np.full(worlds * per_world, 100.0), 2000.0, n_dev, rng,
                 worlds=(dev_world, per_world))
    dev_xy = rng.uniform(0, 3000, (n_dev, 2)) + np.c_[dev_world * 1e5, np.zeros(n_dev)]
    dev_xy[0] = xy[dev_world[0] * per_world]  # on top of a node: d < 1 m
    assert ch.tree is not None
    _, cand = ch.tree.query(dev_xy, k=ch.k)
    return ch, dev_xy, np.asarray(cand, np.int64)


def test_far_power_equals_a_plain_sum_of_the_link_budget() -> None:
    rng = np.random.default_rng(3)
    ch, dev_xy, cand = _layout(rng, worlds=3, per_world=12, n_dev=40)
    dev = np.arange(40)
    got = ch._far_power(dev, dev_xy, cand, kernel=True)
    pl0 = 20 * math.log10(ch.cfg.frequency_ghz) + 32.45
    for i in range(40):
        w = int(ch.dev_world[i])  # type: ignore[index]
        mw = {j: 10 ** ((ch.eirp_dbm[j] - pl0 - 10 * ch.cfg.path_loss_exponent
                         * math.log10(max(math.dist(dev_xy[i], ch.node_xy[j]), 1.0))) / 10)
              for j in range(w * 12, (w + 1) * 12)}
        want = math.fsum(v for j, v in mw.items() if j not in cand[i])
        assert got[i] == pytest.approx(want, rel=1e-12), i


def test_far_power_kernel_equals_the_numpy_code() -> None:
    rng = np.random.default_rng(4)
    ch, dev_xy, cand = _layout(rng, worlds=4, per_world=50, n_dev=2000)
    dev = np.arange(2000)
    fast = ch._far_power(dev, dev_xy, cand, kernel=True)
    slow = ch._far_power(dev, dev_xy, cand, kernel=False)
    assert (slow > 0).all()
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=0)


def test_shadowing_step_and_rx_kernel_equal_the_numpy_code() -> None:
    """Same random draws, same shadowing state after the step, same distances and powers."""
    import copy

    rng = np.random.default_rng(6)
    ch, dev_xy, cand = _layout(rng, worlds=3, per_world=30, n_dev=500)
    other = copy.deepcopy(ch)
    cur = rng.integers(0, 90, 500)
    cols = np.column_stack([cand, cur])
    moved = rng.uniform(0, 30, 500)
    d1, rx1 = ch._shadow_and_rx(dev_xy, moved, cand, cols, np.random.default_rng(9), kernel=True)
    d2, rx2 = other._shadow_and_rx(dev_xy, moved, cand, cols, np.random.default_rng(9),
                                   kernel=False)
    assert not np.array_equal(ch.shadow_db, _layout(np.random.default_rng(6), 3, 30, 500)[0].shadow_db)
    np.testing.assert_allclose(ch.shadow_db, other.shadow_db, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d1, d2, rtol=1e-15)
    np.testing.assert_allclose(rx1, rx2, rtol=0, atol=1e-9)


def test_link_adaptation_kernel_equals_the_numpy_code() -> None:
    """Both directions' CQI, goodput and BLER and the convolved retransmission distribution,
    compiled against agents.link_adaptation.adapt (itself checked against the 3GPP table in
    test_radio_link), on SINRs from deep outage to above the top CQI, with fading."""
    rng = np.random.default_rng(8)
    ch, _, _ = _layout(rng, worlds=1, per_world=10, n_dev=5)
    n = 3000
    sinr = rng.uniform(-40, 40, (2, n))
    sinr[:, :3] = -300.0  # no link at all (the model's floor)
    target = rng.choice([0.1, 1e-3, 1e-5], n)
    fade = rng.normal(0.0, 2.0, (2, n))
    fast = ch._adapt(sinr[0], sinr[1], target, fade, kernel=True)
    slow = ch._adapt(sinr[0], sinr[1], target, fade, kernel=False)
    np.testing.assert_array_equal(fast[0], slow[0])
    assert set(np.unique(fast[0])) >= {1, 15}
    for got, want in zip(fast[1:], slow[1:], strict=True):
        # probabilities and efficiencies are O(1): 1e-15 absolute is float rounding
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
