"""Compiled (numba) loops of the channel's per-round work (agents.channel).

:func:`far_power` is :meth:`agents.channel.Channel._far_power` -- the mean power a device
receives from the nodes of its world that are not among its candidates -- as one loop per
device over its world's nodes, with no (devices × nodes) temporaries: the same operations
in the same order and numpy's pairwise summation, so it equals the numpy code bit for bit
(tests/agents/test_channel_kernels.py). A faster form, 10^((EIRP − PL(1 m))/10)·d^−n
summed in plain order (5.7x numpy instead of ~1.8x), differed in the last bits, and over
100 rounds of smart_city that flipped one trade at round 56 and the run diverged after it:
exactness was kept instead. :func:`shadow_and_rx` agrees with its numpy code to float
rounding (float32 shadowing: the same values in practice).
Imported lazily; switched off with the market's kernels (``EDGEMARKET_KERNELS=0``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(inline="always", error_model="numpy")
def _rx_mw(eirp_dbm: float, pl0_db: float, ten_n: float, dx: float, dy: float) -> float:
    # _mw(EIRP − PL(d)) of Channel._far_power, the same operations in the same order.
    d = math.hypot(dx, dy)
    return 10.0 ** ((eirp_dbm - (pl0_db + ten_n * math.log10(max(d, 1.0)))) / 10)


@njit(inline="always", error_model="numpy")
def _block_sum(a: Array, lo: int, n: int) -> float:
    # numpy's pairwise sum for n <= 128 (numpy/_core/src/umath/loops_utils.h.src).
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


def _halving(inner: Any) -> Any:
    """numpy's split of a longer run into two halves (the first a multiple of 8), each
    summed by ``inner``; written as levels, not recursion (numba cannot load a cached
    function that calls a recursive one: it crashes)."""

    @njit(error_model="numpy")
    def level(a: Array, lo: int, n: int) -> float:
        if n <= 128:
            return _block_sum(a, lo, n)  # type: ignore[no-any-return]
        n2 = n // 2
        n2 -= n2 % 8
        return inner(a, lo, n2) + inner(a, lo + n2, n - n2)  # type: ignore[no-any-return]

    return level


#: Each level sums runs up to about twice the previous level's: 128, 242, 470, 926, 1838.
MAX_PAIRWISE = 1838
pairwise_sum = _halving(_halving(_halving(_halving(_block_sum))))
pairwise_sum.__doc__ = """numpy's pairwise summation of ``a[lo:lo + n]`` for n <= MAX_PAIRWISE
(8 accumulators up to 128 values, halves beyond), so that a row sum here equals
``ndarray.sum(axis=-1)`` bit for bit."""


@njit(cache=True, nogil=True, error_model="numpy")
def far_power(dev_xy: Array, world: Array, cand: Array, node_xy: Array, eirp_dbm: Array,
              pl0_db: float, exponent: float, per_world: int) -> Array:
    """Per device: the mean received power (mW) summed over its world's nodes, less the
    same sum over its candidates, floored at 0 -- Channel._far_power's numpy code, with
    its operations and its pairwise sums, so equal to it bit for bit."""
    s = dev_xy.shape[0]
    k = cand.shape[1]
    ten_n = 10 * exponent
    out = np.empty(s)
    p = np.empty(per_world)
    near = np.empty(k)
    for i in range(s):
        x, y = dev_xy[i, 0], dev_xy[i, 1]
        base = world[i] * per_world
        for j in range(per_world):
            n = base + j
            p[j] = _rx_mw(eirp_dbm[n], pl0_db, ten_n, x - node_xy[n, 0], y - node_xy[n, 1])
        for c in range(k):
            n = cand[i, c]
            near[c] = _rx_mw(eirp_dbm[n], pl0_db, ten_n, x - node_xy[n, 0], y - node_xy[n, 1])
        out[i] = max(pairwise_sum(p, 0, per_world) - pairwise_sum(near, 0, k), 0.0)
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
