"""Accuracy-vs-wall-time curves of FedAvg under each client-selection strategy (the app's
QoAIS page): the scenario's federation at full learning units, one job per strategy."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from agents.fl.config import FLConfig
from agents.fl.data import make_federation
from agents.fl.selection import STRATEGIES
from agents.fl.trajectory import train


@lru_cache(maxsize=4)
def selection_curves(cfg: FLConfig, seed: int, rounds: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """strategy -> (cumulative round time, held-out accuracy), both (R,)."""
    fed = make_federation(cfg.clients, cfg.alpha, seed, missing_max=cfg.missing_max,
                          label_noise_max=cfg.label_noise_max, speed_sigma=cfg.speed_sigma,
                          link_sigma=cfg.link_sigma)
    out = {}
    for s in STRATEGIES:
        tr = train(fed, np.array([cfg.max_epochs]), np.array([cfg.participants]), s,
                   rounds or cfg.job_rounds, seed + 1, lr=cfg.lr, l2=cfg.l2, beta=cfg.beta)
        out[s] = (np.cumsum(tr.round_time[0]), tr.test_acc[0].astype(np.float64))
    return out
