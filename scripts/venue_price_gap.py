"""The run summary's final/equilibrium price ratio, pooled two ways, on one run.

For every round of a scenario run (default: smart_city, seed 0, as `edgemarket run`):
- ``old``: the round's volume-weighted trade price over all trades against the LP duals
  weighted by supply over all venues, the cloud included (the averaging before issue 11);
- ``pooled``: the summary's figures, price and dual both weighted by units traded per
  venue over the same venues (agents/marketplace_prices.py);
- ``pooled_true``: the same pooled price against the true-cost duals, same weights.
Prints one JSON line: per ratio, the last round's and the mean over rounds, per resource.

    .venv/bin/python scripts/venue_price_gap.py [--scenario smart_city] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.model import EdgeMarketModel
from agents.scenario import load_scenario
from market.resources import RESOURCE_NAMES


def _a(rows: list) -> np.ndarray:
    return np.array([[np.nan if x is None else x for x in r] for r in rows], float).reshape(-1, 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="smart_city")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    model = EdgeMarketModel(sc, seed=args.seed)
    ratios = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(sc.rounds):
            rr = model.step()
            vp = rr.info["venue_prices"]
            p, d, dt = _a(vp["price"]), _a(vp["dual"]), _a(vp["dual_true"])
            v, s = _a(vp["volume"]), _a(vp["supply"])
            ok = np.isfinite(d) & (s > 0)
            old_eq = np.where(ok, d * s, 0).sum(0) / np.where(ok, s, 0).sum(0)
            pooled = np.array(rr.info["pooled_prices"])
            okt = (v > 0) & np.isfinite(p) & np.isfinite(dt)
            w = np.where(okt, v, 0)
            true_eq = (w * np.nan_to_num(dt)).sum(0) / w.sum(0)
            ratios.append((np.asarray(rr.clearing.prices) / old_eq,
                           pooled / np.array(rr.info["equilibrium_prices"]), pooled / true_eq))
    r = np.array(ratios)
    out = {"scenario": args.scenario, "seed": args.seed, "rounds": len(ratios)}
    for i, name in enumerate(("old", "pooled", "pooled_true")):
        out[name] = {"last": dict(zip(RESOURCE_NAMES, np.round(r[-1, i], 3).tolist(), strict=True)),
                     "mean": dict(zip(RESOURCE_NAMES, np.round(np.nanmean(r[:, i], 0), 3).tolist(),
                                      strict=True))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
