"""Link adaptation: MCS from SINR with the 3GPP CQI table, BLER(SINR), HARQ, BER and PER.

One consistent model per link, all from the same SINR (arrays, any shape):

- **CQI table**: 3GPP TS 38.214 Table 5.2.2.1-2 (4-bit CQI, up to 64QAM; identical to LTE's
  TS 36.213 Table 7.2.3-1): the spectral efficiency (bit/s/Hz) of CQI 1..15.
- **SINR at 10 % BLER** of each CQI on an AWGN channel: the SISO link-level mapping of
  Kawser et al., "Downlink SNR to CQI Mapping for Different Multiple Antenna Techniques in
  LTE", IJIEE 2(5), 2012 (-6.7 dB for CQI 1 ... 22.7 dB for CQI 15).
- **BLER(SINR)** of CQI c: a logistic curve in dB through that point,
  ``BLER = 1 / (1 + exp(s·(γ_dB − γ50_c)))``, ``γ50_c = γ10_c − ln(9)/s``, slope
  ``s = BLER_SLOPE_PER_DB``. This is our fit of the waterfall of an AWGN BLER curve: with
  s = 2 /dB the 1e-5 operating point of a CQI lies 4.7 dB above its 10 % point, in line with
  the spectral-efficiency shift between Tables 5.2.2.1-2 (10 %) and 5.2.2.1-4 (1e-5) of
  38.214 at the low CQIs.
- **MCS choice**: the highest CQI whose BLER at the SINR is <= the service class's target
  BLER (10 % broadband, 1e-5 URLLC-like); below CQI 1's threshold the lowest MCS (CQI 1) is
  used anyway, at whatever BLER it then has (the scheduler still transmits).
- **HARQ** with Chase combining: after j transmissions the combined SINR is j·γ, so
  ``P(more than j transmissions needed) = BLER_c(j·γ)``; after ``1 + max_retx`` the block is
  lost (residual loss). Goodput spectral efficiency = SE_c / E[transmissions].
- **PER** (per transmission) = BLER_c(γ) of the chosen MCS; **BER** is the bit error rate of
  a memoryless channel that gives that PER on ``packet_bits``:
  ``BER = 1 − (1 − PER)^(1/packet_bits)`` (so PER = 1 − (1 − BER)^bits exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: 3GPP TS 38.214 Table 5.2.2.1-2: spectral efficiency (bit/s/Hz) of CQI 1..15.
CQI_SPECTRAL_EFFICIENCY = np.array([
    0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063, 2.7305,
    3.3223, 3.9023, 4.5234, 5.1152, 5.5547])
#: Modulation order (bits/symbol) of CQI 1..15 in the same table (QPSK, 16QAM, 64QAM).
CQI_MODULATION_BITS = np.array([2] * 6 + [4] * 3 + [6] * 6)
#: SINR (dB) at which CQI 1..15 reaches 10 % BLER on AWGN (Kawser et al. 2012, SISO).
CQI_SINR_AT_10PCT_DB = np.array([
    -6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3, 18.7, 21.0, 22.7])
#: Slope of the logistic BLER waterfall, per dB (our fit; see the module docstring).
BLER_SLOPE_PER_DB = 2.0
#: SINR (dB) at 50 % BLER of each CQI.
CQI_SINR_AT_50PCT_DB = CQI_SINR_AT_10PCT_DB - math.log(9.0) / BLER_SLOPE_PER_DB


def bler(sinr_db: FloatArray, cqi: IntArray) -> FloatArray:
    """Block error rate of CQI ``cqi`` (1..15) at ``sinr_db`` (AWGN logistic fit)."""
    x = BLER_SLOPE_PER_DB * (np.asarray(sinr_db) - CQI_SINR_AT_50PCT_DB[np.asarray(cqi) - 1])
    # 1/(1+e^x) written to stay finite for large |x|.
    return np.exp(-np.logaddexp(0.0, x))


def sinr_for_bler_db(target_bler: FloatArray, cqi: IntArray) -> FloatArray:
    """Inverse of :func:`bler`: the SINR (dB) at which CQI ``cqi`` has ``target_bler``."""
    t = np.asarray(target_bler, dtype=np.float64)
    return CQI_SINR_AT_50PCT_DB[np.asarray(cqi) - 1] + np.log((1 - t) / t) / BLER_SLOPE_PER_DB


def select_cqi(sinr_db: FloatArray, target_bler: FloatArray) -> IntArray:
    """Highest CQI (1..15) whose BLER at ``sinr_db`` is <= ``target_bler``; 1 if none is."""
    s = np.asarray(sinr_db, dtype=np.float64)[..., None]
    t = np.asarray(target_bler, dtype=np.float64)[..., None]
    need = sinr_for_bler_db(t, np.arange(1, 16))  # (..., 15), increasing in CQI
    return np.maximum((s >= need).sum(axis=-1), 1).astype(np.int64)


@dataclass
class LinkQuality:
    """Per link (arrays of one shape): the adapted MCS and what it delivers."""

    cqi: IntArray  # 1..15
    spectral_eff: FloatArray  # goodput bit/s/Hz = SE_cqi / E[transmissions]
    bler: FloatArray  # first-transmission block error rate (= PER)
    ber: FloatArray  # equivalent memoryless bit error rate
    retx_prob: FloatArray  # (..., max_retx + 1): P(exactly k retransmissions and success)
    residual_loss: FloatArray  # P(block lost after all transmissions)


def adapt(sinr_db: FloatArray, target_bler: FloatArray, max_retx: int, packet_bits: int,
          fading_db: FloatArray | None = None) -> LinkQuality:
    """MCS, BLER, HARQ retransmission distribution, BER and goodput from the SINR.

    The MCS is chosen for ``sinr_db`` (the reported CQI); the blocks are then received at
    ``sinr_db + fading_db`` (this round's residual fading, default none).
    """
    sinr_db = np.asarray(sinr_db, dtype=np.float64)
    cqi = select_cqi(sinr_db, target_bler)
    rx_db = sinr_db if fading_db is None else sinr_db + fading_db
    lin = 10 ** (rx_db / 10)
    # fail[j] = P(the block is still not decoded after j + 1 transmissions), Chase combining.
    j = np.arange(1, max_retx + 2)
    with np.errstate(divide="ignore"):
        comb_db = 10 * np.log10(lin[..., None] * j)
    fail = bler(comb_db, cqi[..., None])
    before = np.concatenate([np.ones_like(fail[..., :1]), fail[..., :-1]], axis=-1)
    retx_prob = np.maximum(before - fail, 0.0)  # decoded at transmission k + 1
    residual = fail[..., -1]
    # E[transmissions] counts every attempt made, including those of lost blocks.
    tx_mean = before.sum(axis=-1)
    se = CQI_SPECTRAL_EFFICIENCY[cqi - 1] / tx_mean
    per = fail[..., 0]
    ber = -np.expm1(np.log1p(-np.minimum(per, 1 - 1e-16)) / packet_bits)
    return LinkQuality(cqi=cqi, spectral_eff=se, bler=per, ber=ber, retx_prob=retx_prob,
                       residual_loss=residual)


def effective_spectral_eff(ul_mbit: FloatArray, dl_mbit: FloatArray, se_ul: FloatArray,
                           se_dl: FloatArray) -> FloatArray:
    """bit/s/Hz over a task's whole traffic: (D_ul + D_dl) / (D_ul/se_ul + D_dl/se_dl).

    A task sends ``ul_mbit`` up and ``dl_mbit`` down over the same bought bandwidth, so its
    transmission time is the sum of both at their own spectral efficiencies. 0 where a used
    direction has no service; the uplink's value when the task carries no traffic at all.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ul_mbit > 0, ul_mbit / se_ul, 0.0) + np.where(dl_mbit > 0, dl_mbit / se_dl, 0.0)
        tot = ul_mbit + dl_mbit
        out = np.where(tot > 0, tot / t, se_ul)
    return np.where(np.isfinite(out), out, 0.0)
