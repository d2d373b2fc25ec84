"""Benchmark: `edgemarket market clear` of a file with a `market` column, 100,000 markets of
10 orders each (5 bids, 5 asks on one random resource), cleared in one batched call.

Ours: the CLI's report for the file (uniform: ``uniform_markets_report``, one flat
batched pass; mcafee: ``clear_markets_report``, one ``clear_many`` call over per-market
objects), with the per-market JSON documents, timed apart from reading the CSV;
the whole CLI run (read, clear, JSON to /dev/null) is reported as ``cli_s`` and the
clearing pass alone (``clear_uniform_flat`` on all markets, warm) as ``flat_clear_s``.
Baseline: the same markets cleared one at a time through the single-market path
(``mechanism.clear(m)`` with its LP optimum), timed on ``--baseline-markets`` of them and
scaled linearly (stated as ``baseline_markets``). Target: the whole CLI run "in seconds"
(``cli_s``), and ours >= 10x the one-at-a-time baseline.

    .venv/bin/python bench/bench_clear_markets.py [--quick] [--markets 100000]
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import best_time, parser, report

from app.cli import main as cli_main
from app.commands.market import clear_markets_report
from app.commands.market_many import uniform_markets_report
from market.batch import clear_uniform_flat
from market.csvio import read_orders_csv
from market.mechanisms import get_mechanism
from market.resources import RESOURCE_NAMES


def write_orders(path: Path, n_markets: int, seed: int) -> None:
    """n_markets x (5 bids + 5 asks) on one random resource per market."""
    rng = np.random.default_rng(seed)
    m = np.repeat(np.arange(n_markets), 10)
    side = np.tile(np.array(["bid"] * 5 + ["ask"] * 5), n_markets)
    res = np.repeat(rng.integers(0, 4, n_markets), 10)
    qty = rng.integers(1, 10, m.size)
    price = np.where(side == "bid", rng.uniform(0.5, 1.5, m.size), rng.uniform(0.2, 1.2, m.size))
    names = np.array(RESOURCE_NAMES)[res]
    agent = np.char.add(np.where(side == "bid", "b", "s"), (np.arange(m.size) % 5000).astype(str))
    with path.open("w") as fh:
        fh.write("market,side,resource,agent,quantity,price\n")
        for row in zip(m.tolist(), side.tolist(), names.tolist(), agent.tolist(), qty.tolist(),
                       np.round(price, 6).tolist(), strict=True):
            fh.write("m{},{},{},{},{},{!r}\n".format(*row))


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--markets", type=int, default=100_000)
    p.add_argument("--baseline-markets", type=int, default=2_000)
    p.add_argument("--mechanism", default="uniform")
    args = p.parse_args()
    n = 20_000 if args.quick and args.markets == 100_000 else args.markets
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "orders.csv"
        write_orders(f, n, args.seed)
        t0 = time.perf_counter()
        book = read_orders_csv(f)
        read_s = time.perf_counter() - t0
        params = {"k": 0.5} if args.mechanism == "uniform" else {"unit": 1.0}
        # The clearing pass alone (uniform), warm: compiled kernels loaded by a first call.
        ids = np.asarray(book.bid_market), np.asarray(book.ask_market)
        bo, ao = np.argsort(ids[0], kind="stable"), np.argsort(ids[1], kind="stable")
        flat_args = (np.bincount(ids[0], minlength=n).astype(np.int64),
                     np.bincount(ids[1], minlength=n).astype(np.int64),
                     book.market.bids.take(bo), book.market.asks.take(ao), 0.5)
        clear_uniform_flat(*flat_args)
        clear_s, _ = best_time(lambda: clear_uniform_flat(*flat_args), repeat=3)
        t0 = time.perf_counter()
        doc = uniform_markets_report(book, 0.5) if args.mechanism == "uniform" else \
            clear_markets_report(book, args.mechanism, params)
        ours_s = time.perf_counter() - t0
        n_trades = sum(len(r["trades"]) for d in doc["markets"].values()
                       for r in d["resources"].values())
        # The one-at-a-time baseline on a subset (fresh markets: no memo carried over).
        sub = [m for _, m in read_orders_csv(f).markets()[: args.baseline_markets]]
        mech = get_mechanism(args.mechanism, **params)
        t0 = time.perf_counter()
        for m in sub:
            mech.clear(m)
        base_s = (time.perf_counter() - t0) * n / len(sub)
        t0 = time.perf_counter()
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            cli_main(["market", "clear", "--orders", str(f), "--mechanism", args.mechanism,
                      "--json"])
        cli_s = time.perf_counter() - t0
    report("clear_markets_batched", ours_s, base_s, ">= 10", markets=n, orders=10 * n,
           n_trades=n_trades, read_csv_s=round(read_s, 3), cli_s=round(cli_s, 3),
           flat_clear_s=round(clear_s, 3),
           baseline_markets=len(sub), baseline="one market at a time (Mechanism.clear + LP)",
           mechanism=args.mechanism)


if __name__ == "__main__":
    main()
