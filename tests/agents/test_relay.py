"""D2D relay maths (agents.relay) against closed forms, and the relay pairing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.channel import Channel
from agents.relay import d2d_rate_mbps, d2d_snr_db, plan_relays
from agents.scenario import ChannelConfig


def channel() -> Channel:
    cfg = ChannelConfig()
    return Channel(cfg, np.zeros((1, 2)), np.array([43.0]), 10.0, np.array([200.0]), 500.0, 4,
                   np.random.default_rng(0))


def test_d2d_snr_and_rate_closed_form() -> None:
    ch, cfg = channel(), ChannelConfig()
    d, p, b = 40.0, 23.0, 20.0
    # free space at 1 m for f in GHz (32.45 + 20 log10 f), then exponent n
    pl = 20 * math.log10(cfg.frequency_ghz) + 32.45 + 10 * cfg.path_loss_exponent * math.log10(d)
    noise = -174 + 10 * math.log10(b * 1e6) + cfg.noise_figure_db
    snr = p - pl - noise
    assert float(d2d_snr_db(ch, np.array([d]), p, b)[0]) == pytest.approx(snr, abs=1e-9)
    # 3GPP TS 38.214 Table 5.2.2.1-2 by hand: the highest CQI whose 10 %-BLER SINR
    # (Kawser et al. 2012) the link reaches, and its spectral efficiency
    table = [(-6.7, 0.1523), (-4.7, 0.2344), (-2.3, 0.3770), (0.2, 0.6016), (2.4, 0.8770),
             (4.3, 1.1758), (5.9, 1.4766), (8.1, 1.9141), (10.3, 2.4063), (11.7, 2.7305),
             (14.1, 3.3223), (16.3, 3.9023), (18.7, 4.5234), (21.0, 5.1152), (22.7, 5.5547)]
    se = max([e for thr, e in table if snr >= thr], default=0.1523)
    assert float(d2d_rate_mbps(ch, np.array([d]), p, b)[0]) == pytest.approx(b * se, rel=1e-12)
    # far away: below min SNR -> no link
    assert float(d2d_rate_mbps(ch, np.array([1e5]), p, b)[0]) == 0.0


def test_plan_pairs_each_needy_device_with_the_nearest_broker_in_range() -> None:
    ch = channel()
    xy = np.array([[0.0, 0.0], [30.0, 0.0], [500.0, 0.0], [10.0, 0.0], [2000.0, 0.0]])
    attached = np.array([-1, 0, -1, 0, -1])  # 0 and 2 and 4 out of coverage
    se = np.array([0.0, 5.0, 0.0, 6.0, 0.0])
    brokers = np.array([1, 3])
    own_rate = np.array([0.0, 300.0, 0.0, 5.0, 0.0])  # broker 3 has a weak uplink itself
    plan = plan_relays(ch, xy, attached, se, own_rate, brokers, range_m=100.0, min_se=1.0,
                       tx_power_dbm=23.0, bandwidth_mhz=20.0)
    # device 0: nearest broker is 3 (10 m), rate capped by its own 5 Mbps uplink
    assert plan.device.tolist() == [0] and plan.broker.tolist() == [3]
    assert plan.rate_mbps[0] == pytest.approx(5.0)
    assert 2 not in plan.device and 4 not in plan.device  # out of relay range


def test_the_round_view_after_relays_end_is_the_view_built_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """When relayed devices go back to their own links, the model rebuilds only their rows
    of the round's link view: every field must equal a view built from scratch."""
    import dataclasses

    from agents import execution as ex
    from agents.model import EdgeMarketModel
    from agents.scenario import load_scenario

    model = EdgeMarketModel(load_scenario("highway", {"devices.count": 400, "nodes.count": 8}),
                            seed=2)
    seen: list[tuple[object, ex.LinkView]] = []
    measure = ex.measure

    def spy(req, got, lv, round_s):  # type: ignore[no-untyped-def]
        seen.append((req, lv))
        return measure(req, got, lv, round_s)

    monkeypatch.setattr(ex, "measure", spy)
    rebuilt = 0
    for _ in range(4):
        model.step()
        req, lv = seen[-1]
        rebuilt += len(model.last_relay.restored) > 0
        fresh = model._link_view(req, model.last_link)  # type: ignore[arg-type]
        for f in dataclasses.fields(lv):
            if f.name == "handover":
                for g in dataclasses.fields(lv.handover):
                    np.testing.assert_array_equal(getattr(lv.handover, g.name),
                                                  getattr(fresh.handover, g.name), g.name)
            else:
                np.testing.assert_array_equal(getattr(lv, f.name), getattr(fresh, f.name), f.name)
    assert rebuilt  # relays ended in some round: the partial rebuild ran
