"""Compiled (numba) loops of the channel's per-round work (agents.channel).

:func:`far_power` is :meth:`agents.channel.Channel._far_power` -- the mean power a device
receives from the nodes of its world that are not among its candidates -- as one loop per
device over its world's nodes, with no (devices × nodes) temporaries: the same formula
(EIRP − PL(d), log-distance path loss, 10^(dBm/10)) rearranged as 10^((EIRP − PL(1 m))/10)
· max(d, 1)^−n, summed in a different order and without the numpy code's subtraction
of the candidates' power (see :func:`far_power`), so it agrees with the numpy code to float
rounding (tests/agents/test_channel_kernels.py).
Imported lazily; switched off with the market's kernels (``EDGEMARKET_KERNELS=0``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(inline="always", error_model="numpy")
def _rx_mw(gain_mw: float, half_exp: float, dx: float, dy: float) -> float:
    # 10^((EIRP − PL0)/10) · max(d, 1)^−n, written as exp(−n/2 · ln max(d², 1)): one log
    # and one exp per pair instead of hypot, log10 and a power of 10.
    d2 = dx * dx + dy * dy
    return gain_mw * math.exp(-half_exp * math.log(max(d2, 1.0)))


@njit(cache=True, nogil=True, error_model="numpy")
def far_power(dev_xy: Array, world: Array, cand: Array, node_xy: Array, gain_mw: Array,
              exponent: float, per_world: int) -> Array:
    """Per device: Σ over its world's nodes other than its candidates of the mean received
    power (mW). ``gain_mw`` per node: 10^((EIRP − PL(1 m))/10). The candidates are skipped
    rather than subtracted from the world's total (as the numpy code does): no cancellation
    when a candidate's power dwarfs the rest."""
    s = dev_xy.shape[0]
    h = exponent / 2
    k = cand.shape[1]
    out = np.empty(s)
    for i in range(s):
        x, y = dev_xy[i, 0], dev_xy[i, 1]
        base = world[i] * per_world
        total = 0.0
        for j in range(base, base + per_world):
            skip = False
            for c in range(k):
                if cand[i, c] == j:
                    skip = True
                    break
            if not skip:
                total += _rx_mw(gain_mw[j], h, x - node_xy[j, 0], y - node_xy[j, 1])
        out[i] = total
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
