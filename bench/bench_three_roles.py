"""Benchmark: nodes, buyers and brokers trained together, each learned role against the rule
it could have followed instead, on held-out seeds.

1. **training**: PPO (RLlib new API stack), ``policy: per-role`` (a ``node``, a ``device``
   and a ``broker`` module), on the small default scenario with 30 % of devices drawn as
   brokers and nodes scarce in computation and caching (so that brokers sell): every edge node, the first ``--devices`` devices (bid shading and the broker
   switch) and the first ``--brokers`` brokers of each world (asks over true cost) learn
   together, ``--worlds`` copies of the world per env step, for ``--iterations`` iterations or
   ``--train-seconds`` (``--checkpoint DIR`` loads a training instead);
2. **evaluation** (:mod:`agents.learning.roles`) on held-out seeds 10000.. (``--seeds``):
   the trained policies act (their means); then the devices are switched to *truthful*
   (shade 0, never a broker), then the brokers to *ask at true cost*, one role at a time,
   with everything else the same; and the same training's untrained (initial) policies
   (the checkpoint of 0 iterations, same seed) in place of the trained ones, role by role.

Prints the table and one JSON line: ``device_gain`` / ``broker_gain`` (learned − baseline
reward per agent and round, mean over seeds, ``*_ci`` the 95 % CI), each role's learned and
baseline figures, the other roles' reward change and the delivered-welfare change each
switch causes, ``*_vs_untrained`` (trained − untrained reward per agent and round, with its
CI: what training added), the training's first and last mean episode return per module,
``seeds``.

    PYTHONPATH=. .venv/bin/python bench/bench_three_roles.py --quick   # ~1-2 min, 2 cores
    PYTHONPATH=. .venv/bin/python bench/bench_three_roles.py           # ~10 min of training
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import parser  # noqa: E402

from agents.learning.benchmark import HELDOUT_SEED0  # noqa: E402

#: 30 % of devices are drawn as brokers (the scenario's default draws 10 %), so every world
#: has brokers for the broker slots, and nodes with less computation and caching, so that
#: brokers sell: with the default capacities a broker almost never trades (docs/learning.md).
OVERRIDES: dict[str, Any] = {"devices.broker_fraction": 0.3,
                             "nodes.capacity.computation_gflop": 2000,
                             "nodes.capacity.caching_gb": 20}


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--seeds", type=int, default=None, help="held-out seeds (default 10; quick 3)")
    p.add_argument("--iterations", type=int, default=None)
    p.add_argument("--train-seconds", type=float, default=None)
    p.add_argument("--worlds", type=int, default=None, help="worlds per env step (training)")
    p.add_argument("--devices", type=int, default=8, help="learning devices per world")
    p.add_argument("--brokers", type=int, default=4, help="learning broker slots per world")
    p.add_argument("--checkpoint", default=None, help="evaluate this training, do not train")
    p.add_argument("--out", default=None, help="training output folder")
    args = p.parse_args()
    quick = args.quick
    seeds = list(range(HELDOUT_SEED0, HELDOUT_SEED0 + (args.seeds or (3 if quick else 10))))
    worlds = args.worlds or (2 if quick else 16)
    learning = {"devices": args.devices, "brokers": args.brokers,
                "episode_rounds": 5 if quick else 25}

    from agents.learning.policy_strategy import read_policy_meta
    from agents.learning.roles import evaluate_roles, trained_vs_untrained
    from agents.learning.spaces import env_config
    from agents.learning.training import TrainSpec, train

    t0 = time.perf_counter()
    curve: list[dict[str, Any]] = []
    spec = TrainSpec(
        scenario="smart_city", small=True, overrides=OVERRIDES, policy="per-role",
        learning={**learning, "worlds": worlds}, seed=args.seed,
        iterations=args.iterations or (2 if quick else 10_000),
        time_budget_s=args.train_seconds or (None if quick else 600.0),
        train_batch_size=20 if quick else 200, minibatch_size=10 if quick else 100,
        num_epochs=2 if quick else 4, record=False,
        out=args.out or str(ROOT / "data" / "policies" / "bench_three_roles"))
    train_s = 0.0
    if args.checkpoint:  # a training of this spec (same seed and settings)
        checkpoint = args.checkpoint
    else:
        res = train(spec)
        checkpoint = res.checkpoint
        curve = [{"iteration": pt.iteration, **pt.rewards} for pt in res.curve]
        train_s = time.perf_counter() - t0
    # The same build saved before any iteration: the initial policies (RLlib seeds the
    # module weights from the spec's seed, so these are the training's starting point).
    untrained = train(replace(spec, iterations=0, time_budget_s=None,
                              out=f"{Path(checkpoint).resolve()}_untrained")).checkpoint
    meta = read_policy_meta(checkpoint)
    cfg = env_config("smart_city", small=True, overrides=OVERRIDES, seed=0,
                     learning={**meta["learning"], "worlds": 4}, unified=meta["unified"])
    t1 = time.perf_counter()
    results, gains = evaluate_roles(cfg, checkpoint, meta["agent_modules"], seeds)
    before, _ = evaluate_roles(cfg, untrained, meta["agent_modules"], seeds)
    added = trained_vs_untrained(results, before)
    eval_s = time.perf_counter() - t1

    print("| role | baseline | learned | baseline | gain [95 % CI] | others' change | "
          "welfare change / round |")
    print("|---|---|---|---|---|---|---|")
    line: dict[str, Any] = {"name": "three_roles", "seeds": len(seeds),
                            "heldout_seeds": [seeds[0], seeds[-1]], "checkpoint": checkpoint,
                            "train_s": round(train_s, 1), "eval_s": round(eval_s, 1)}
    for g in gains:
        others = ", ".join(f"{k} {v:+.4f}" for k, v in g.others.items())
        print(f"| {g.role} | {g.baseline} | {g.learned:.4f} | {g.baseline_value:.4f} | "
              f"{g.gain:+.4f} [{g.ci_low:+.4f}, {g.ci_high:+.4f}] | {others} | "
              f"{g.welfare_change:+.2f} |")
        line.update({f"{g.role}_gain": round(g.gain, 5),
                     f"{g.role}_ci": [round(g.ci_low, 5), round(g.ci_high, 5)],
                     f"{g.role}_learned": round(g.learned, 5),
                     f"{g.role}_baseline": round(g.baseline_value, 5),
                     f"{g.role}_others_change": {k: round(v, 5) for k, v in g.others.items()},
                     f"{g.role}_welfare_change": round(g.welfare_change, 3)})
    for role, (mean, lo, hi) in added.items():
        print(f"trained - untrained, {role}: {mean:+.4f} [{lo:+.4f}, {hi:+.4f}]")
        line[f"{role}_vs_untrained"] = [round(mean, 5), round(lo, 5), round(hi, 5)]
    if curve:
        line["iterations"] = len(curve)
        line["curve_first"], line["curve_last"] = curve[0], curve[-1]
    print(json.dumps(line))


if __name__ == "__main__":
    main()
