"""Compiled (numba) loops of the channel's per-round work (agents.channel).

:func:`far_power` is :meth:`agents.channel.Channel._far_power` -- the mean power a device
receives from the nodes of its world that are not among its candidates -- as one loop per
device over its world's nodes, with no (devices × nodes) temporaries, in the form
10^((EIRP − PL(1 m))/10)·max(d², 1)^(−n/2) (one log and one exp a pair instead of hypot,
log10 and a power). It agrees with the numpy code and with a plain
``math.fsum`` of the link budget to float rounding, not bit for bit: the two paths can take
a different discrete choice after many rounds (a run with kernels off is a different but
equally valid sample path). :func:`shadow_and_rx` agrees with its numpy code to float
rounding (float32 shadowing: the same values in practice).
Imported lazily; switched off with the market's kernels (``EDGEMARKET_KERNELS=0``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(cache=True, nogil=True, error_model="numpy")
def far_power(dev_xy: Array, world: Array, cand: Array, node_xy: Array, amp_mw: Array,
              half_exponent: float, per_world: int) -> Array:
    """Per device: the mean received power (mW) summed over its world's nodes that are not
    among its candidates -- ``amp_mw[j] · max(d², 1)^(−n/2)``, i.e. 10^((EIRP_j − PL(d))/10)
    with PL(d) = PL(1 m) + 10·n·log10(max(d, 1)), ``amp_mw`` = 10^((EIRP − PL(1 m))/10).
    Serial on purpose: threaded (numba ``prange``) it gained nothing on a loaded 2-core
    machine, and other threaded kernels there ran 10x slower (threads waiting at the
    barrier for a core)."""
    s = dev_xy.shape[0]
    k = cand.shape[1]
    out = np.empty(s)
    for i in range(s):
        x, y = dev_xy[i, 0], dev_xy[i, 1]
        base = world[i] * per_world
        acc = 0.0
        for j in range(per_world):
            n = base + j
            skip = False
            for c in range(k):
                if cand[i, c] == n:
                    skip = True
            if skip:
                continue
            dx = x - node_xy[n, 0]
            dy = y - node_xy[n, 1]
            d2 = max(dx * dx + dy * dy, 1.0)
            acc += amp_mw[n] * math.exp(-half_exponent * math.log(d2))
        out[i] = acc
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def shadow_and_rx(dev_xy: Array, rho: Array, z: Array, cand: Array, cols: Array,
                  shadow_db: Array, dev_world: Array, per_world: int, node_xy: Array,
                  eirp_dbm: Array, pl0_db: float, exponent: float,
                  sigma_db: float) -> tuple[Array, Array]:
    """Steps the correlated shadowing of each device's candidates (in place, float32, own
    world only: ``s ← ρ·s + √(1 − ρ²)·σ·z``), then returns the distance (m) and the received
    power (dBm: EIRP − PL(d) − shadowing) of each (device, ``cols``) pair.
    ``dev_world`` is empty for a single world. Reference: Channel._update_shadowing and
    Channel.rx_dbm."""
    n, k = cand.shape
    w = cols.shape[1]
    d = np.empty((n, w))
    rx = np.empty((n, w))
    ten_n = 10 * exponent
    for i in range(n):
        r = rho[i]
        scale = math.sqrt(1 - r * r) * sigma_db
        for c in range(k):
            node = cand[i, c]
            if dev_world.size and node // per_world != dev_world[i]:
                continue
            col = node % per_world
            new = r * np.float64(shadow_db[i, col]) + scale * z[i, c]
            shadow_db[i, col] = np.float32(new)
        x, y = dev_xy[i, 0], dev_xy[i, 1]
        for c in range(w):
            node = cols[i, c]
            dist = math.hypot(x - node_xy[node, 0], y - node_xy[node, 1])
            d[i, c] = dist
            pl = pl0_db + ten_n * math.log10(max(dist, 1.0))
            rx[i, c] = eirp_dbm[node] - pl - np.float64(shadow_db[i, node % per_world])
    return d, rx


@njit(inline="always", error_model="numpy")
def _bler(x_db: float, g50_db: float, slope: float) -> float:
    # agents.link_adaptation.bler: 1/(1 + e^x), x = slope·(γ − γ50) -- one exp, taken of
    # −|x| so that it cannot overflow (numpy's exp(−logaddexp(0, x)) to float rounding).
    x = slope * (x_db - g50_db)
    if x > 0:
        e = math.exp(-x)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(x))


@njit(cache=True, nogil=True, error_model="numpy")
def adapt_links(sinr_db: Array, target: Array, fade_db: Array, max_retx: int, g50_db: Array,
                se_table: Array, slope: float) -> tuple[Array, Array, Array, Array]:
    """agents.link_adaptation.adapt for the downlink and uplink of each device at once
    (row 0 / 1 of ``sinr_db`` and ``fade_db``, shape (2, n)), then the convolution of their
    retransmission distributions (agents.channel.Channel._rate): per device the CQI, goodput
    spectral efficiency and first-transmission BLER of each direction (2, n), and
    P(u uplink and d downlink retransmissions, both decoded) summed over u + d (n, 2k + 1)."""
    n = sinr_db.shape[1]
    k1 = max_retx + 1
    cqi = np.empty((2, n), np.int64)
    se = np.empty((2, n))
    per = np.empty((2, n))
    prob = np.zeros((n, 2 * k1 - 1))
    retx = np.empty((2, k1))
    # Chase combining adds the energy of j + 1 transmissions: + 10·log10(j + 1) dB (the
    # numpy code takes 10·log10 of the summed linear SINR; equal to float rounding).
    gain_db = np.empty(k1)
    for j in range(k1):
        gain_db[j] = 10 * math.log10(j + 1.0)
    for i in range(n):
        ln_t = math.log((1 - target[i]) / target[i]) / slope
        for r in range(2):
            s = sinr_db[r, i]
            c = 0
            for q in range(g50_db.size):
                if s >= g50_db[q] + ln_t:
                    c += 1
            c = max(c, 1)
            faded = s + fade_db[r, i]
            before, tx_mean = 1.0, 0.0
            for j in range(k1):
                fail = _bler(faded + gain_db[j], g50_db[c - 1], slope)
                retx[r, j] = max(before - fail, 0.0)
                tx_mean += before
                if j == 0:
                    per[r, i] = fail
                before = fail
            cqi[r, i] = c
            se[r, i] = se_table[c - 1] / tx_mean
        for u in range(k1):
            for d in range(k1):
                prob[i, u + d] += retx[1, u] * retx[0, d]
    return cqi, se, per, prob
