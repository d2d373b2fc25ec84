"""D2D relay links: a broker device relays radio for a device out of coverage or badly
served (issue 11, item 7; source 000's devices that "price, i.e. operate as brokers").

The maths reuses the model's :class:`agents.channel.Channel` (its log-distance path loss
and practical spectral efficiency with the same coding gap and cap) for a device-to-device
link; channel.py itself is not changed:

- D2D SNR (dB) = P_tx,dBm − PL(d) − noise, noise = −174 dBm/Hz + 10·log10(B_d2d) + NF
  (no antenna gain on a handset; shadowing left out: a relay is chosen by distance).
- D2D rate (Mbps) = B_d2d[MHz] · SE of the CQI that link adaptation picks at 10 % BLER
  (3GPP TS 38.214 Table 5.2.2.1-2, :mod:`agents.link_adaptation`); 0 below the channel's
  ``min_snr_db``.
- A two-hop relay carries min(D2D rate, the broker's own rate to its node): decode and
  forward, each hop in its own resource.

:func:`plan_relays` pairs every device that needs help (no node, or spectral efficiency
below ``min_se``) with the nearest broker in range that has a node link, one broker
serving several devices. The market stage that lets paired devices buy the relay from
their broker is :mod:`agents.relay_market`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from agents.channel import Channel
from agents.link_adaptation import CQI_SPECTRAL_EFFICIENCY, select_cqi

#: Target first-transmission BLER of a D2D relay link (a broadband link, as in 38.214's CQI table).
BROADBAND_BLER = 0.1

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def d2d_snr_db(channel: Channel, d_m: FloatArray, tx_power_dbm: float,
               bandwidth_mhz: float) -> FloatArray:
    """SNR (dB) of a device-to-device link over ``d_m`` metres (see the module doc)."""
    noise = -174.0 + 10 * np.log10(bandwidth_mhz * 1e6) + channel.cfg.noise_figure_db
    return tx_power_dbm - channel.path_loss_db(np.asarray(d_m, np.float64)) - noise


def d2d_rate_mbps(channel: Channel, d_m: FloatArray, tx_power_dbm: float,
                  bandwidth_mhz: float) -> FloatArray:
    """Practical D2D rate (Mbps) over ``d_m``; 0 where the SNR is below the channel's
    ``min_snr_db``."""
    snr = d2d_snr_db(channel, d_m, tx_power_dbm, bandwidth_mhz)
    cqi = select_cqi(snr, np.full(np.shape(snr), BROADBAND_BLER))
    rate = bandwidth_mhz * CQI_SPECTRAL_EFFICIENCY[cqi - 1]
    return np.where(snr >= channel.cfg.min_snr_db, rate, 0.0)


@dataclass(frozen=True)
class RelayPlan:
    """Who relays whom: ``device`` rows helped, the ``broker`` row relaying each, the D2D
    distance and the two-hop rate (Mbps)."""

    device: IntArray
    broker: IntArray
    distance_m: FloatArray
    rate_mbps: FloatArray


def plan_relays(channel: Channel, dev_xy: FloatArray, attached: IntArray,
                spectral_eff: FloatArray, broker_rate_mbps: FloatArray,
                brokers: IntArray, *, range_m: float, min_se: float, tx_power_dbm: float,
                bandwidth_mhz: float) -> RelayPlan:
    """Pair devices needing help with the nearest broker in range (see the module doc).

    ``brokers``: rows of devices able to relay (attached, charged); ``broker_rate_mbps``:
    per device row, its own rate to its node. A pair is kept only when the two-hop rate
    beats what the device has on its own (``spectral_eff`` x D2D bandwidth; 0 if none).
    """
    need = np.flatnonzero((attached < 0) | (spectral_eff < min_se))
    need = np.setdiff1d(need, brokers)
    empty = RelayPlan(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    if need.size == 0 or brokers.size == 0:
        return empty
    tree = cKDTree(dev_xy[brokers])
    d, j = tree.query(dev_xy[need], k=1, distance_upper_bound=range_m)
    ok = np.isfinite(d)
    if not ok.any():
        return empty
    dev, bro, dist = need[ok], brokers[j[ok]], d[ok]
    rate = np.minimum(d2d_rate_mbps(channel, dist, tx_power_dbm, bandwidth_mhz),
                      broker_rate_mbps[bro])
    own = np.where(attached[dev] >= 0, spectral_eff[dev] * bandwidth_mhz, 0.0)
    keep = rate > own
    return RelayPlan(dev[keep], bro[keep], dist[keep], rate[keep])
