"""Benchmark: `edgemarket market clear --json` of a file with a `market` column, 100,000
markets of 10 orders each (5 bids, 5 asks on one random resource), in one call.

Ours: the whole CLI call, in process and warm (imports and compiled kernels loaded by a
call on a small file first): the vectorized reader (market/csvfast.py), one flat clearing
pass, the JSON text formatted from the flat arrays (uniform_markets_json), written to a
buffer. Baseline, in the same run: the previous CLI path for the same file and output,
i.e. the row-by-row reader (``read_orders_rows``), the per-market dict report
(``uniform_markets_report``; mcafee: ``clear_markets_report``) and ``json.dumps``.
Both outputs must be identical (``identical``). Also reported: the parts of ours
(``read_s``, ``json_s`` incl. clearing, ``flat_clear_s`` the clearing pass alone) and the
one-market-at-a-time path (``Mechanism.clear`` + LP per market, timed on
``--baseline-markets`` markets and scaled linearly: ``one_at_a_time_s``).
Target: the CLI call in seconds (``ours_s`` <= 10 on a quiet machine).

    .venv/bin/python bench/bench_clear_markets.py [--quick] [--markets 100000]
"""

from __future__ import annotations

import contextlib
import io
import json
import math
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
from app.commands.market_many import uniform_markets_json, uniform_markets_report
from market.batch import clear_uniform_flat
from market.csvio import read_orders_csv, read_orders_rows
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
    p.add_argument("--baseline-markets", type=int, default=1_000)
    p.add_argument("--mechanism", default="uniform")
    args = p.parse_args()
    n = 20_000 if args.quick and args.markets == 100_000 else args.markets
    params = {"k": 0.5} if args.mechanism == "uniform" else {"unit": 1.0}
    cli = ["market", "clear", "--mechanism", args.mechanism, "--json", "--orders"]

    def run_cli(path: Path) -> str:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            cli_main([*cli, str(path)])
        return buf.getvalue()

    with tempfile.TemporaryDirectory() as tmp:
        f, small = Path(tmp) / "orders.csv", Path(tmp) / "small.csv"
        write_orders(f, n, args.seed)
        write_orders(small, 5_000, args.seed + 1)  # > FAST_MIN_BYTES: warms the fast reader
        run_cli(small)
        ours_s, out = best_time(lambda: run_cli(f), repeat=1 if args.quick else 2)

        def previous() -> str:
            book = read_orders_rows(f)
            doc = uniform_markets_report(book, 0.5) if args.mechanism == "uniform" else \
                clear_markets_report(book, args.mechanism, params)
            return json.dumps(doc, allow_nan=False) + "\n"

        base_s, base_out = best_time(previous, repeat=1)
        identical = out == base_out
        del base_out
        read_s, book = best_time(lambda: read_orders_csv(f), repeat=1)
        json_s, _ = best_time(lambda: uniform_markets_json(book, 0.5), repeat=1) \
            if args.mechanism == "uniform" else (math.nan, None)
        ids = np.asarray(book.bid_market), np.asarray(book.ask_market)
        bo, ao = np.argsort(ids[0], kind="stable"), np.argsort(ids[1], kind="stable")
        flat_args = (np.bincount(ids[0], minlength=n).astype(np.int64),
                     np.bincount(ids[1], minlength=n).astype(np.int64),
                     book.market.bids.take(bo), book.market.asks.take(ao), 0.5)
        clear_s, _ = best_time(lambda: clear_uniform_flat(*flat_args), repeat=3)
        sub = [m for _, m in book.markets()[: args.baseline_markets]]
        mech = get_mechanism(args.mechanism, **params)
        t0 = time.perf_counter()
        for m in sub:
            mech.clear(m)
        one_s = (time.perf_counter() - t0) * n / len(sub)
    report("clear_markets_cli", ours_s, base_s, "ours_s <= 10 (CLI call in seconds)",
           markets=n, orders=10 * n, identical=identical, output_mb=round(len(out) / 2**20, 1),
           read_s=round(read_s, 3), json_s=round(json_s, 3), flat_clear_s=round(clear_s, 3),
           one_at_a_time_s=round(one_s, 1), baseline_markets=len(sub),
           baseline="previous CLI path: row-by-row CSV reader + per-market dict report + "
                    "json.dumps", mechanism=args.mechanism)


if __name__ == "__main__":
    main()
