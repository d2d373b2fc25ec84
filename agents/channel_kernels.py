"""Compiled (numba) loops of the channel's per-round work (agents.channel).

:func:`far_power` is :meth:`agents.channel.Channel._far_power` -- the mean power a device
receives from the nodes of its world that are not among its candidates -- as one loop per
device over its world's nodes, with no (devices × nodes) temporaries, in the form
10^((EIRP − PL(1 m))/10)·max(d², 1)^(−n/2) (one log and one exp a pair instead of hypot,
log10 and a power) and split across threads. It agrees with the numpy code and with a plain
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
from numba import njit, prange

Array = Any  # numba dispatchers are untyped for mypy


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def far_power(dev_xy: Array, world: Array, cand: Array, node_xy: Array, amp_mw: Array,
              half_exponent: float, per_world: int) -> Array:
    """Per device: the mean received power (mW) summed over its world's nodes that are not
    among its candidates -- ``amp_mw[j] · max(d², 1)^(−n/2)``, i.e. 10^((EIRP_j − PL(d))/10)
    with PL(d) = PL(1 m) + 10·n·log10(max(d, 1)), ``amp_mw`` = 10^((EIRP − PL(1 m))/10).
    Devices are independent, so they are split across threads (``prange``)."""
    s = dev_xy.shape[0]
    k = cand.shape[1]
    out = np.empty(s)
    for i in prange(s):
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
