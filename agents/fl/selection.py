"""Which clients take part in a FedAvg round.

All strategies pick ``p`` clients (per federation) out of K without replacement:

- ``random``: uniformly at random (FedAvg, McMahan et al.);
- ``fastest``: the ``p`` clients with the shortest expected round time (compute + upload);
  ignores data, so on non-IID data the same few clients, hence the same few classes, win;
- ``importance``: importance sampling aware of data, comm and compute (the approach of
  source 001 Table 2, its ref. [14]): P(k) proportional to n_k x L_k / t_k^beta, n_k the
  client's samples, L_k the current global model's loss on its data (how much it still has
  to teach), t_k its expected round time. Sampling without replacement uses the Gumbel
  top-p trick (keys log P(k) + Gumbel noise; the p largest win).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

STRATEGIES: tuple[str, ...] = ("random", "fastest", "importance")


def _top(keys: FloatArray, p: IntArray) -> BoolArray:
    """Mask of the p[f] largest keys in each row (ties by position)."""
    order = np.argsort(-keys, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(keys.shape[-1])[None, :].repeat(keys.shape[0], 0), axis=-1)
    return rank < p[:, None]


def select(strategy: str, p: IntArray, n: FloatArray, loss: NDArray[np.floating[Any]], t: FloatArray,
           rng: np.random.Generator, beta: float = 1.0) -> BoolArray:
    """(F, K) participant mask: row f picks p[f] clients.

    n (K,) samples per client; loss (F, K) the global model's loss on each client's data;
    t (F, K) or (K,) expected round time of each client.
    """
    f, k = loss.shape
    p = np.clip(np.asarray(p, dtype=np.int64), 0, k)
    t = np.broadcast_to(t, (f, k))
    if strategy == "random":
        return _top(rng.random((f, k)), p)
    if strategy == "fastest":
        return _top(-t, p)
    if strategy == "importance":
        with np.errstate(divide="ignore"):
            logp = np.log(n)[None, :] + np.log(np.maximum(loss, 1e-12)) - beta * np.log(t)
        return _top(logp + rng.gumbel(size=(f, k)), p)
    raise ValueError(f"unknown client selection {strategy!r} (choose from {', '.join(STRATEGIES)})")
