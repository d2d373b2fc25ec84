"""Experiment: what brokers add. Each ready scenario run with its brokers and with none
(``devices.broker_fraction: 0``), same seed: served requests, delivered welfare (value of
SLA-met requests minus true costs, agents.honest_welfare), and the brokers' share of trades.

Prints one JSON line: per scenario ``with`` / ``without`` figures and the ratios
``served_ratio`` and ``delivered_ratio`` (with / without; the named baseline is the run
without brokers). ``--quick``: the small versions (agents.scenario.small) for 6 rounds.
``--node-capacity``: the same with scarcer edge nodes (both arms), where node prices rise
above the brokers' costs.

    .venv/bin/python bench/bench_brokers.py [--quick] [--rounds 20] [--seed 0]
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import parser

from agents.model import EdgeMarketModel
from agents.scenario import load_scenario, small

SCENARIOS = ("smart_city", "factory", "highway", "metro", "codesign_cell")


def run(name: str, brokers: bool, rounds: int, seed: int, quick: bool,
        overrides: dict[str, float] | None = None) -> dict[str, float]:
    extra = dict(overrides or {})
    if not brokers:
        extra["devices.broker_fraction"] = 0.0
    sc = small(name, **{k.replace(".", "__"): v for k, v in extra.items()}) if quick \
        else load_scenario(name, extra or None)
    model = EdgeMarketModel(sc, seed=seed)
    served = requests = trades = broker_trades = 0
    delivered = 0.0
    for _ in range(rounds):
        rr = model.step()
        served += rr.n_served
        requests += rr.n_requests
        trades += len(rr.clearing.trades)
        broker_trades += int(rr.info.get("broker_trades", 0))
        if np.isfinite(rr.delivered_welfare):
            delivered += rr.delivered_welfare
    return {"served": served, "requests": requests, "delivered_welfare": round(delivered, 3),
            "trades": trades, "broker_trades": broker_trades,
            "broker_share": round(broker_trades / trades, 5) if trades else 0.0,
            "brokers": int(model.devices.is_broker.sum())}


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--node-capacity", default="",
                   help="scarce edge: e.g. computation_gflop=2000,caching_gb=20 (both arms)")
    args = p.parse_args()
    over = {f"nodes.capacity.{k}": float(v) for k, v in
            (kv.split("=") for kv in args.node_capacity.split(",") if kv)}
    rounds = 6 if args.quick else args.rounds
    t0 = time.perf_counter()
    out = {}
    for name in args.scenarios.split(","):
        w = run(name, True, rounds, args.seed, args.quick, over)
        wo = run(name, False, rounds, args.seed, args.quick, over)
        out[name] = {"with": w, "without": wo,
                     "served_ratio": round(w["served"] / wo["served"], 4) if wo["served"] else None,
                     "delivered_ratio": round(w["delivered_welfare"] / wo["delivered_welfare"], 4)
                     if wo["delivered_welfare"] else None}
    print(json.dumps({"name": "brokers_with_without", "baseline": "same scenario without brokers",
                      "node_capacity": over,
                      "rounds": rounds, "quick": args.quick, "scenarios": out,
                      "seconds": round(time.perf_counter() - t0, 1),
                      "python": platform.python_version()}), flush=True)


if __name__ == "__main__":
    main()
