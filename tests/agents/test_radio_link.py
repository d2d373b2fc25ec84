"""Radio physics against hand computations and the 3GPP CQI table.

- SINR (downlink and uplink, load-weighted interference) and rates for a 3-node layout,
  computed by hand here from the link-budget formulas in docs/scenarios.md.
- The CQI table of 3GPP TS 38.214 (Table 5.2.2.1-2) and the SINR at 10 % BLER of each CQI
  (Kawser et al. 2012), typed in from the sources: MCS choice and BLER checked against them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import link_adaptation as la
from agents.channel import Channel
from agents.scenario import ChannelConfig

#: 38.214 Table 5.2.2.1-2, CQI 1..15 (bit/s/Hz), as printed in /work/shared/REFERENCES.md.
PUBLISHED_SE = [0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063,
                2.7305, 3.3223, 3.9023, 4.5234, 5.1152, 5.5547]
#: SINR (dB) at 10 % BLER, CQI 1..15, AWGN SISO (Kawser et al., IJIEE 2012, Table 3).
PUBLISHED_SINR10 = [-6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3, 18.7,
                    21.0, 22.7]


def _dbm_to_mw(x: float) -> float:
    return 10 ** (x / 10)


def _pl(d: float) -> float:
    return 20 * math.log10(3.5) + 32.45 + 32 * math.log10(d)


def _three_node_channel(**cfg: object) -> Channel:
    c = ChannelConfig(shadowing_sigma_db=0.0, fast_fading_sigma_db=0.0, candidates=3,
                      handover_hysteresis_db=0.0, **cfg)  # type: ignore[arg-type]
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0]])
    return Channel(c, xy, np.full(3, 43.0), 10.0, np.full(3, 200.0), 2000.0, 1,
                   np.random.default_rng(0))


def test_sinr_and_rate_match_a_hand_computation_for_three_nodes() -> None:
    ch = _three_node_channel()
    ch.observe_load(np.array([0.5, 0.8, 0.3]))
    link = ch.measure(np.array([[200.0, 0.0]]), np.zeros(1), np.random.default_rng(1), 0.1)
    assert link.attached[0] == 0
    # Downlink: 53 dBm EIRP, noise over 200 MHz with a 7 dB noise figure.
    s = _dbm_to_mw(53 - _pl(200))
    i = 0.8 * _dbm_to_mw(53 - _pl(800)) + 0.3 * _dbm_to_mw(53 - _pl(math.hypot(200, 1000)))
    n = _dbm_to_mw(-174 + 10 * math.log10(200e6) + 7)
    sinr_db = 10 * math.log10(s / (n + i))
    assert link.sinr_db[0] == pytest.approx(sinr_db, abs=1e-9)
    assert link.snr_db[0] == pytest.approx(10 * math.log10(s / n), abs=1e-9)
    assert link.shannon_mbps[0] == pytest.approx(200 * math.log2(1 + s / (n + i)), rel=1e-12)
    # Uplink: 23 dBm + 10 dB node gain over 10 MHz, 5 dB noise figure; one device of each
    # neighbour cell 30 % of the way from its node towards node 0 (0.7 × 1000 m away).
    s_ul = _dbm_to_mw(33 - _pl(200))
    i_ul = (0.8 + 0.3) * _dbm_to_mw(33 - _pl(700))
    n_ul = _dbm_to_mw(-174 + 10 * math.log10(10e6) + 5)
    assert link.sinr_ul_db[0] == pytest.approx(10 * math.log10(s_ul / (n_ul + i_ul)), abs=1e-9)
    # Rates: the CQI is the highest one whose 10 % BLER SINR (published) is below the SINR;
    # goodput = its published spectral efficiency / expected transmissions (>= 1, < 1.2).
    for got_se, got_cqi, x in ((link.spectral_eff[0], link.cqi[0], sinr_db),
                               (link.spectral_eff_ul[0], link.cqi_ul[0],
                                10 * math.log10(s_ul / (n_ul + i_ul)))):
        cqi = max(1, sum(t <= x for t in PUBLISHED_SINR10))
        assert got_cqi == cqi
        assert PUBLISHED_SE[cqi - 1] / 1.2 < got_se <= PUBLISHED_SE[cqi - 1]


def test_interference_off_gives_the_snr_and_full_load_lowers_the_sinr() -> None:
    quiet = _three_node_channel(interference="none")
    busy = _three_node_channel()
    busy.observe_load(np.ones(3))
    xy = np.array([[200.0, 0.0]])
    a = quiet.measure(xy, np.zeros(1), np.random.default_rng(1))
    b = busy.measure(xy, np.zeros(1), np.random.default_rng(1))
    assert a.sinr_db[0] == pytest.approx(a.snr_db[0])
    assert b.sinr_db[0] < a.sinr_db[0] - 1.0
    assert b.spectral_eff[0] < a.spectral_eff[0]


def test_cqi_table_is_38214_table_5_2_2_1_2() -> None:
    assert la.CQI_SPECTRAL_EFFICIENCY.tolist() == PUBLISHED_SE
    assert la.CQI_SINR_AT_10PCT_DB.tolist() == PUBLISHED_SINR10


@pytest.mark.parametrize("cqi", range(1, 16))
def test_mcs_choice_and_bler_at_the_published_thresholds(cqi: int) -> None:
    x = PUBLISHED_SINR10[cqi - 1]
    # At its published 10 % point a CQI has BLER 0.1 and is the one chosen for 10 %.
    assert la.bler(np.array(x), np.array(cqi)) == pytest.approx(0.1, rel=1e-12)
    assert la.select_cqi(np.array(x + 1e-9), np.array(0.1)) == cqi
    if cqi > 1:
        assert la.select_cqi(np.array(x - 1e-9), np.array(0.1)) == cqi - 1
    # A URLLC target (1e-5) needs more SINR: the chosen CQI is lower, its BLER <= 1e-5.
    # (Below every CQI's 1e-5 point the lowest MCS is used anyway.)
    low = int(la.select_cqi(np.array(x), np.array(1e-5)))
    assert low < cqi or cqi == 1
    assert low == 1 or la.bler(np.array(x), np.array(low)) <= 1e-5
    assert low == 15 or la.bler(np.array(x), np.array(low + 1)) > 1e-5


def test_bler_falls_with_sinr_and_harq_is_consistent() -> None:
    s = np.linspace(-10, 30, 81)
    b = la.bler(s, np.full(s.size, 7))
    assert np.all(np.diff(b) < 0) and b[0] > 0.99 and b[-1] < 1e-9
    q = la.adapt(s, np.full(s.size, 0.1), 4, 12000)
    # Delivered + lost = 1; PER is the first-transmission BLER of the chosen CQI; BER gives
    # that PER over a packet's bits.
    assert np.allclose(q.retx_prob.sum(axis=1) + q.residual_loss, 1.0)
    assert np.allclose(q.bler, la.bler(s, q.cqi))
    assert np.allclose(-np.expm1(12000 * np.log1p(-q.ber)), q.bler, rtol=1e-9, atol=0)
    # Above CQI 1's threshold the chosen MCS meets the target BLER.
    above = s >= PUBLISHED_SINR10[0]
    assert np.all(q.bler[above] <= 0.1 + 1e-12)
