"""Compiled (numba) loop of the FL table's feature redundancy (agents.fl.table).

:func:`duplicate_pixels` counts, per client set, the pixels that are not constant and
those correlated |r| > 0.95 with an earlier pixel, from the clients' exact integer moments
(see :func:`agents.fl.table.redundancy_of_sets` for why they are exact and how a set whose
correlations come too close to the threshold is handed to np.corrcoef). One pass over the
lower triangle of each set's covariance instead of (sets, 64, 64) numpy temporaries.
Imported lazily; switched off with the market's kernels (``EDGEMARKET_KERNELS=0``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(cache=True, nogil=True, error_model="numpy")
def duplicate_pixels(sets: Array, rows: Array, col: Array, gram: Array, threshold: float,
                     margin: float) -> tuple[Array, Array, Array]:
    """Per set s (``sets`` (S, K) bool): live pixels, duplicate pixels and whether a
    correlation lies within ``margin`` of ``threshold``.

    ``rows`` (K,) samples, ``col`` (K, d) column sums and ``gram`` (K, d, d) Gram matrices
    of each client (integers: every sum is exact). n·G - s s^T is n² × the covariance.
    """
    n_sets, k = sets.shape
    d = col.shape[1]
    live = np.zeros(n_sets, np.int64)
    dup = np.zeros(n_sets, np.int64)
    near = np.zeros(n_sets, np.bool_)
    g = np.empty((d, d))
    sm = np.empty(d)
    var = np.empty(d)
    for s in range(n_sets):
        n = 0.0
        sm[:] = 0.0
        g[:] = 0.0
        for c in range(k):
            if sets[s, c]:
                n += rows[c]
                for i in range(d):
                    sm[i] += col[c, i]
                    for j in range(i + 1):
                        g[i, j] += gram[c, i, j]
        for i in range(d):
            var[i] = n * g[i, i] - sm[i] * sm[i]
        nl = 0
        nd = 0
        for i in range(d):
            if var[i] <= 0.0:
                continue
            nl += 1
            is_dup = False
            for j in range(i):
                if var[j] <= 0.0:
                    continue
                r = abs(n * g[i, j] - sm[i] * sm[j]) / math.sqrt(var[i] * var[j])
                if abs(r - threshold) < margin:
                    near[s] = True
                if r > threshold:
                    is_dup = True
            if is_dup:
                nd += 1
        live[s] = nl
        dup[s] = nd
    return live, dup, near
