"""Compiled (numba) loops of the agents' round, each equal to a numpy reference bit for bit.

Like :mod:`market.kernels`: imported lazily on first use (numba costs ~0.3 s to import),
same IEEE operations in the same order as the reference (``error_model="numpy"``: a
division by zero gives inf/nan as numpy does, no exception), and switched off together with
the market's kernels (``EDGEMARKET_KERNELS=0`` or ``market.matching.KERNELS = False``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(inline="always", error_model="numpy")
def _sojourn(t: float, rate: float) -> float:
    # agents.bundles.stage_latency_s for one stage.
    rho = rate * t
    if rho < 1:
        return t * (2 - rho) / (2 * (1 - rho))
    return np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def fit_scale(t1: Array, t2: Array, rate: Array, budget: Array, iters: int) -> Array:
    """Per request, the largest s in [0, 1] (bisection, ``iters`` halvings) with
    ``L(s·t1) + L(s·t2) <= budget`` (reference: the loop in ``bundles.design_joint``)."""
    out = np.empty(t1.size)
    for i in range(t1.size):
        lo, hi = 0.0, 1.0
        for _ in range(iters):
            s = (lo + hi) / 2
            if _sojourn(s * t1[i], rate[i]) + _sojourn(s * t2[i], rate[i]) <= budget[i]:
                lo = s
            else:
                hi = s
        out[i] = lo
    return out
