"""The learning resource in the model: learning-class requests get a really trained model.

:class:`FLService` is owned by the model. Each round it takes the learning-class requests,
what they bought (learning units -> epochs and participants; compute and bandwidth -> each
participant's time) and returns their raw FL measures (agents.fl.table.outcome), NaN for
the other requests. Its random draws come from its own generator (seeded from the model's
seed), so adding it leaves the rest of a run's random stream untouched.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from agents.fl.config import FLConfig
from agents.fl.table import fl_table, outcome

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class FLService:
    """Per-device training jobs of the learning classes, on the cached FL table."""

    def __init__(self, cfg: FLConfig, class_names: list[str], n_devices: int,
                 seed: int | None) -> None:
        self.cfg = cfg
        self.learning_class = np.array([c in cfg.classes for c in class_names], dtype=bool)
        self.seed = 0 if seed is None else int(seed)
        rng = np.random.default_rng([self.seed, 0xF1])
        # Jobs start staggered: a device is somewhere in its current job at round 0.
        self.job_round = rng.integers(0, cfg.job_rounds, n_devices).astype(np.int64)
        if self.active and n_devices:
            # Train (or fetch from the cache) now: a setup cost of the run, not of a round.
            fl_table(cfg, self.seed)

    @property
    def active(self) -> bool:
        return bool(self.learning_class.any())

    def measure(self, cls: IntArray, device: IntArray, learning_lu: FloatArray,
                units: FloatArray, rate_mbps: FloatArray, data_mbit: FloatArray,
                work_gflop: FloatArray, round_s: float,
                task_rate_hz: FloatArray | None = None) -> dict[str, FloatArray]:
        """Per request (n,): FL measures (NaN for non-learning requests) and ``is_fl``.

        ``accuracy_trials``: how many predictions an accuracy figure rests on -- the 360
        held-out digits for a learning request, the round's tasks (rate x round) otherwise.

        ``units`` (n, 4) received per resource. A learning request that got no learning
        units trains nothing this round: it is not advanced and keeps NaN measures
        (its accuracy stays the class curve's, which gives 0 for no units).
        """
        n = cls.size
        is_fl = self.learning_class[cls] & (units[:, 3] > 0) if n else np.zeros(0, bool)
        rows = np.flatnonzero(is_fl)
        out: dict[str, FloatArray] = {"is_fl": is_fl.astype(np.float64)}
        if task_rate_hz is not None:
            out["accuracy_trials"] = np.maximum(task_rate_hz * round_s, 1.0)
        if not rows.size:
            return out
        t = fl_table(self.cfg, self.seed)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(learning_lu[rows] > 0, units[rows, 3] / learning_lu[rows], 1.0)
            # One nominal client epoch = one task's work on the compute bought; one model
            # upload = one task's data on the bandwidth bought (inf when none was bought).
            comp_s = np.where(units[rows, 2] > 0, work_gflop[rows] * round_s / units[rows, 2], np.inf)
            tx_s = np.where(data_mbit[rows] > 0, data_mbit[rows] / rate_mbps[rows], 0.0)
        d = device[rows]
        steps = self.cfg.rounds_per_step
        r = (self.job_round[d] + steps - 1) % self.cfg.job_rounds
        self.job_round[d] = (self.job_round[d] + steps) % self.cfg.job_rounds
        res = outcome(t, rho, r, comp_s, np.nan_to_num(tx_s, nan=np.inf))
        for k, v in res.items():
            col = np.full(n, np.nan)
            col[rows] = v
            out[k] = col
        trials = out.get("accuracy_trials", np.full(n, np.nan)).copy()
        trials[rows] = t.fed.y_test.size
        out["accuracy_trials"] = trials
        return out
