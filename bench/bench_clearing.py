"""Benchmark: uniform-price clearing of 1,000,000 bids and 1,000,000 asks on one resource.

Ours: ``get_mechanism("uniform").clear(market)`` on a fresh Market (full ClearingResult:
prices, trades, fills, welfare, optimal welfare, budget balance).
Baseline: a straightforward pure-Python sort-and-match (``sorted`` + a two-pointer loop
producing the same trades list and the same Walrasian k-price) on the same orders as Python lists; target ratio >= 50.
Floor: numpy sorting the same 2,000,000 prices once (no matching at all); we aim to be
within 3x of it (``floor_ratio`` = ours / floor). ``kernels``: whether the compiled kernels
of :mod:`market.kernels` ran (``EDGEMARKET_KERNELS=0`` times the numpy reference instead).

    .venv/bin/python bench/bench_clearing.py [--quick] [--n 1000000]

``--quick`` times ours 5 times (15 in full mode; 2 untimed warm-up calls first) and the baseline once on ``--baseline-n`` orders per side
(default 250,000), scaling the baseline time by n log n to the full size (stated in the
output as ``baseline_n`` and ``baseline_scaled``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_time, parser, report

from market import matching
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market


def make_orders(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Bid/ask prices and integer quantities on one resource, crossing near the middle."""
    rng = np.random.default_rng(seed)
    bp = rng.uniform(0.5, 1.5, n)
    bq = rng.integers(1, 10, n).astype(np.float64)
    ap = rng.uniform(0.2, 1.2, n)
    aq = rng.integers(1, 10, n).astype(np.float64)
    return bp, bq, ap, aq


def baseline(
    bp: list[float], bq: list[float], ap: list[float], aq: list[float], k: float = 0.5
) -> tuple[float, float, list[tuple[int, int, float]]]:
    """Pure Python: sort both sides, walk them with two pointers, emit (bid, ask, qty)."""
    bids = sorted(range(len(bp)), key=lambda i: -bp[i])
    asks = sorted(range(len(ap)), key=ap.__getitem__)
    trades: list[tuple[int, int, float]] = []
    i = j = 0
    rb = bq[bids[0]] if bids else 0.0
    ra = aq[asks[0]] if asks else 0.0
    last_b = last_a = math.nan
    volume = 0.0
    while i < len(bids) and j < len(asks):
        b, a = bids[i], asks[j]
        if bp[b] < ap[a]:
            break
        q = min(rb, ra)
        if q > 0:
            trades.append((b, a, q))
            volume += q
            last_b, last_a = bp[b], ap[a]
        rb -= q
        ra -= q
        if rb <= 0:
            i += 1
            rb = bq[bids[i]] if i < len(bids) else 0.0
        if ra <= 0:
            j += 1
            ra = aq[asks[j]] if j < len(asks) else 0.0
    # The Walrasian interval [max(a_q, b_{q+1}), min(b_q, a_{q+1})]: the first units
    # beyond the volume are where the walk stopped (the rest of a partly filled order).
    nxt_b = bp[bids[i]] if i < len(bids) else math.nan
    nxt_a = ap[asks[j]] if j < len(asks) else math.nan
    lo = last_a if math.isnan(nxt_b) else max(last_a, nxt_b)
    hi = last_b if math.isnan(nxt_a) else min(last_b, nxt_a)
    return k * hi + (1 - k) * lo, volume, trades


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--n", type=int, default=1_000_000, help="orders per side")
    p.add_argument("--baseline-n", type=int, default=250_000, help="baseline size in --quick")
    args = p.parse_args()
    n = args.n
    bp, bq, ap, aq = make_orders(n, args.seed)
    bids = Bids.single(np.arange(n), 0, bq, bp)
    asks = Asks.single(np.arange(n, 2 * n), 0, aq, ap)
    mech = get_mechanism("uniform", k=0.5)

    ours_s, res = best_time(
        lambda: mech.clear(Market(bids, asks)), repeat=5 if args.quick else 15, warmup=2
    )
    prices = np.concatenate([bp, ap])
    floor_s, _ = best_time(lambda: np.sort(prices), repeat=5 if args.quick else 15, warmup=1)

    bn = min(args.baseline_n, n) if args.quick else n
    lists = [x[:bn].tolist() for x in (bp, bq, ap, aq)]
    base_s, (b_price, b_volume, _trades) = best_time(
        lambda: baseline(*lists), repeat=1 if args.quick else 2
    )
    scaled = bn != n
    if scaled:  # n log n scaling of the baseline to the full size
        base_s *= (n * math.log(n)) / (bn * math.log(bn))
    else:  # same orders: the two must agree
        assert abs(b_price - float(res.prices[0])) <= 1e-9, (b_price, res.prices[0])
        assert abs(b_volume - float(res.volume[0])) <= 1e-6 * max(1.0, b_volume)
    report(
        "clearing_uniform_1resource",
        ours_s,
        base_s,
        ">= 50",
        n_bids=n,
        n_asks=n,
        n_trades=len(res.trades),
        price=float(res.prices[0]),
        efficiency=float(res.efficiency),
        baseline_n=bn,
        baseline_scaled=scaled,
        floor_s=round(floor_s, 6),
        floor_ratio=round(ours_s / floor_s, 2),
        floor_target="<= 3",
        kernels=matching.KERNELS,
    )


if __name__ == "__main__":
    main()
