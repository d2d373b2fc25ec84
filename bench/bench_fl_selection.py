"""Benchmark: client selection for FedAvg -- importance sampling (IS) against random.

Reproduces the *direction* of source 001 Table 2 (non-IID MNIST/LEAF: data/comm/compute
aware IS up to 4x faster than FedAvg's random selection; 10th-percentile client accuracy
70.8 % -> 90.8 %) on what ships offline: sklearn's digits split over K clients non-IID
(Dirichlet alpha), softmax regression, FedAvg (agents.fl). Clients differ in compute speed
and link (log-normal), so a round lasts as long as its slowest participant.

Per seed (a new split, new client speeds) each strategy -- random (FedAvg), fastest-first,
importance (P(k) ~ n_k L_k / t_k) -- trains the same federation for R rounds. Measured:

- time to target: wall time (sum of round times, in nominal-client units) until the
  global held-out accuracy first reaches ``--target`` (censored at the run's total time if
  never: reported as the count of seeds that reached it);
- p10: the 10th percentile over clients of the final model's accuracy on each client's
  own held-out data.

Ratios per seed (random / IS time; IS - random p10) with mean and 95 % t-intervals over
seeds. Last line: JSON with ``ours_s`` = mean IS time to target, ``baseline_s`` = mean
random time to target, ``ratio`` = baseline / ours (units, not seconds: simulated time).

    .venv/bin/python bench/bench_fl_selection.py [--quick] [--seed N] [--seeds N]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy: single-threaded BLAS on a shared machine

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import parser, report  # noqa: E402
from scipy import stats  # noqa: E402

from agents.fl.data import make_federation  # noqa: E402
from agents.fl.selection import STRATEGIES  # noqa: E402
from agents.fl.trajectory import train  # noqa: E402


def mean_ci(x: np.ndarray) -> list[float]:
    """[mean, low, high] of a 95 % Student-t interval over the samples."""
    x = np.asarray(x, dtype=np.float64)
    m = float(x.mean())
    if x.size < 2:
        return [m, m, m]
    h = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return [round(m, 4), round(m - h, 4), round(m + h, 4)]


def time_to(acc: np.ndarray, round_time: np.ndarray, target: float) -> tuple[float, bool]:
    t = np.cumsum(round_time)
    hit = np.flatnonzero(acc >= target)
    return (float(t[hit[0]]), True) if hit.size else (float(t[-1]), False)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--participants", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--alpha", type=float, default=0.2)
    p.add_argument("--target", type=float, default=0.85)
    a = p.parse_args()
    seeds = a.seeds or (4 if a.quick else 10)
    rounds = a.rounds or (60 if a.quick else 150)
    res: dict[str, dict[str, list[float]]] = {s: {"t": [], "ok": [], "p10": [], "acc": []} for s in STRATEGIES}
    for i in range(seeds):
        seed = a.seed + i
        fed = make_federation(a.clients, a.alpha, seed, speed_sigma=1.0, link_sigma=0.5)
        for s in STRATEGIES:
            tr = train(fed, np.array([a.epochs]), np.array([a.participants]), s, rounds, seed + 1000)
            t, ok = time_to(tr.test_acc[0], tr.round_time[0], a.target)
            r = res[s]
            r["t"].append(t)
            r["ok"].append(ok)
            r["p10"].append(float(np.percentile(tr.client_acc[0, -1], 10)))
            r["acc"].append(float(tr.test_acc[0, -1]))
    t_rand, t_is = np.array(res["random"]["t"]), np.array(res["importance"]["t"])
    p_rand, p_is = np.array(res["random"]["p10"]), np.array(res["importance"]["p10"])
    summary = {s: {"time_to_target": mean_ci(np.array(r["t"])), "reached": int(sum(r["ok"])),
                   "p10_client_acc": mean_ci(np.array(r["p10"])),
                   "final_acc": mean_ci(np.array(r["acc"]))} for s, r in res.items()}
    report("fl_selection", float(t_is.mean()), float(t_rand.mean()),
           "001 Table 2 direction: IS faster than random (up to 4x), p10 70.8 % -> 90.8 %",
           unit="simulated time (nominal-client units), not seconds",
           speedup_random_over_is=mean_ci(t_rand / t_is),
           p10_gain_is_minus_random=mean_ci(p_is - p_rand),
           seeds=seeds, rounds=rounds, clients=a.clients, participants=a.participants,
           epochs=a.epochs, alpha=a.alpha, accuracy_target=a.target, strategies=summary)


if __name__ == "__main__":
    main()
