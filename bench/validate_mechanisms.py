"""Validation of the market mechanisms against published results; one JSON line.

- McAfee (1992) Table I: gains-from-trade shares for n = 2, 3, 5, 10, 25, 100 unit buyers
  and sellers, values and costs U(1, 1000), plain Monte Carlo (ratio of means, with its
  standard error); passes when every share is within 1 percentage point.
- McAfee on every market: k or k - 1 units, individually rational, weakly budget balanced.
- Misreport search (unit traders, every report on a grid): none profitable for McAfee;
  the k-DA's profitable ones by side for k = 0, 0.5, 1 (theory: sellers only at k = 0,
  buyers only at k = 1).
- Tatonnement in scarce markets (>= 2 resources above 90 % utilization at the optimum):
  mean |p - l*| / l* against the LP duals, per seed.

    .venv/bin/python bench/validate_mechanisms.py [--quick] [--seed 0]

``--quick``: a quarter of the draws and fewer markets (under a minute on a quiet core).
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

from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market
from market.validation import (
    MCAFEE_TABLE_I,
    mcafee_gft_share,
    mcafee_violations,
    misreport_search,
    scarce_market,
    tatonnement_tracking,
)

DRAWS = {2: 100_000, 3: 50_000, 5: 20_000, 10: 8_000, 25: 2_000, 100: 400}


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    scale = 4 if args.quick else 1
    t0 = time.perf_counter()
    table = {}
    for n, want in MCAFEE_TABLE_I.items():
        s = mcafee_gft_share(n, DRAWS[n] // scale, seed=args.seed + n)
        table[str(n)] = {"share": round(s.share, 5), "se": round(s.se, 5), "published": want,
                         "draws": s.draws, "within_1pp": abs(s.share - want) < 0.01}
    violations = sum(len(mcafee_violations(n, 2000 // scale, seed=args.seed + 50 + n))
                     for n in (1, 2, 3, 5, 10))
    rng = np.random.default_rng(args.seed)
    n_markets = 10 // scale + 1
    books = []
    for _ in range(n_markets):
        v, c = rng.integers(1, 100, 5).astype(float), rng.integers(1, 100, 5).astype(float)
        books.append(Market(Bids.single(np.arange(5), 0, np.ones(5), v),
                            Asks.single(5 + np.arange(5), 0, np.ones(5), c)))
    misreports: dict[str, dict[str, int]] = {}
    for label, mech in (("mcafee", get_mechanism("mcafee")),
                        ("kda_k0", get_mechanism("uniform", k=0.0)),
                        ("kda_k0.5", get_mechanism("uniform", k=0.5)),
                        ("kda_k1", get_mechanism("uniform", k=1.0))):
        devs = [d for m in books for d in misreport_search(m, mech)]
        misreports[label] = {"buyer": sum(d.side == "buyer" for d in devs),
                             "seller": sum(d.side == "seller" for d in devs)}
    gaps, scarce = [], []
    for seed in range(args.seed, args.seed + (2 if args.quick else 5)):
        tr = tatonnement_tracking(scarce_market(seed), rounds=300)
        gaps.append(round(tr.mean_rel_gap, 4))
        scarce.append(tr.scarce_resources)
    line = {
        "name": "validate_mechanisms",
        "mcafee_table_i": table,
        "mcafee_table_i_pass": all(v["within_1pp"] for v in table.values()),
        "mcafee_property_violations": violations,
        "misreport_markets": n_markets,
        "profitable_misreports": misreports,
        "tatonnement_mean_rel_gap": gaps,
        "tatonnement_mean_rel_gap_mean": round(float(np.mean(gaps)), 4),
        "tatonnement_scarce_resources": scarce,
        "seconds": round(time.perf_counter() - t0, 1),
        "python": platform.python_version(),
    }
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
