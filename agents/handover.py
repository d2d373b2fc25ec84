"""What a handover costs the session running through it, over arrays of requests.

A device hands over at a random instant of the round (length T); from there:

- **interruption** ``I = handover_interruption_ms`` (default 50 ms, a break-before-make
  handover: the order of the LTE/NR intra-frequency interruption of 3GPP TS 36.133/38.133;
  0 models the Rel-16 DAPS handover that meets IMT-2020's 0 ms, ITU-R M.2410): a task
  arriving in it waits for the rest of it, a delay uniform on (0, I];
- **state migration**: the session's cached state (``cache_gb``) moves to the new node over
  the backhaul in ``Mg = cache_gb × 8 / handover_backhaul_gbps`` s; meanwhile tasks are
  served by the old node, a backhaul detour of ``backhaul_ms + backhaul_ms_per_km × d``.

As a share of the round's tasks: ``q_i = min(I, T)/T`` interrupted, ``q_m = min(Mg, T −
I)/T`` detoured (a migration longer than the round is cut at its end). The latency of a
handed-over session is a mixture: no extra delay (1 − q_i − q_m), the interruption's
remaining time (4-point midpoint rule over (0, I]), or the detour. Continuity (QoAIS
orchestration) = 1 − q_i − q_m/2: interrupted tasks count fully, detoured ones half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Midpoint-rule points for the remaining interruption time.
INTERRUPTION_POINTS = 4


@dataclass
class HandoverCost:
    """Per request: extra-delay atoms (n, W) in ms, their probabilities, and continuity."""

    extra_ms: FloatArray
    prob: FloatArray
    continuity: FloatArray


def handover_cost(handed: BoolArray, cache_gb: FloatArray, detour_ms: FloatArray,
                  interruption_ms: float, backhaul_gbps: float, round_s: float) -> HandoverCost:
    """Extra delays of the tasks of each request's round (all zero where not handed over)."""
    n = handed.size
    t_ms = 1000.0 * round_s
    i_ms = min(interruption_ms, t_ms)
    mig_ms = 1000.0 * np.asarray(cache_gb, np.float64) * 8.0 / backhaul_gbps
    q_i = np.where(handed, i_ms / t_ms, 0.0)
    q_m = np.where(handed, np.minimum(mig_ms, t_ms - i_ms) / t_ms, 0.0)
    k = INTERRUPTION_POINTS
    waits = interruption_ms * (np.arange(k) + 0.5) / k
    extra = np.column_stack([np.zeros(n), np.broadcast_to(waits, (n, k)), detour_ms])
    prob = np.column_stack([1 - q_i - q_m, np.repeat(q_i[:, None] / k, k, axis=1), q_m])
    return HandoverCost(extra_ms=np.asarray(extra, np.float64), prob=prob,
                        continuity=1 - q_i - q_m / 2)
