"""`market clear --json` with a market column writes the JSON text straight from the flat
arrays (app.commands.market_many.uniform_markets_json): it must be, character for
character, the standard library's json.dumps of the dict report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.commands.market_many import uniform_markets_json, uniform_markets_report
from market.csvio import read_orders_rows


def _book(tmp_path: Path, seed: int):
    """Random markets: 1-3 resources each, some one-sided, some that do not cross, prices
    with long and short decimal texts, agents with non-ASCII and quoted labels."""
    rng = np.random.default_rng(seed)
    lines = ["market,side,resource,agent,quantity,price"]
    names = ["ü-node", 'say "hi"', "b1", "s1", "s2", "b2"]
    for m in range(300):
        kind = m % 5  # 0: bids only, 1: asks only, 2: no crossing, else random
        for _ in range(int(rng.integers(1, 9))):
            side = "bid" if kind == 0 else "ask" if kind == 1 else rng.choice(["bid", "ask"])
            p = rng.uniform(0, 2) if kind != 2 else (0.1 if side == "bid" else 5.0)
            p = round(p, int(rng.integers(0, 8)))
            label = names[int(rng.integers(0, len(names)))].replace('"', '""')
            lines.append(f'mk {m},{side},{int(rng.integers(0, 3))},"{label}",'
                         f"{int(rng.integers(1, 6))},{p!r}")
    f = tmp_path / "o.csv"
    f.write_text("\n".join(lines) + "\n")
    return read_orders_rows(f)


@pytest.mark.parametrize("seed,k", [(0, 0.5), (1, 0.0), (2, 1.0), (3, 0.3)])
def test_json_text_is_json_dumps_of_the_report(tmp_path: Path, seed: int, k: float) -> None:
    book = _book(tmp_path, seed)
    want = json.dumps(uniform_markets_report(book, k), allow_nan=False)
    got = uniform_markets_json(book, k)
    assert got == want
    doc = json.loads(got)["markets"]
    assert len(doc) == 300 and any(d["resources"] and not any(
        r["trades"] for r in d["resources"].values()) for d in doc.values())


def test_table_rows_are_the_reports_figures(tmp_path: Path) -> None:
    from app.commands.market_many import uniform_markets_table

    book = _book(tmp_path, 4)
    docs = uniform_markets_report(book, 0.5)["markets"]
    rows, n, total = uniform_markets_table(book, 0.5, 40)
    assert n == len(docs) and total == sum(d["welfare"] for d in docs.values())
    want = [(mid, sum(len(r["trades"]) for r in d["resources"].values()), d["welfare"],
             d["optimal_welfare"], d["efficiency"], d["buyer_payments"], d["seller_revenue"])
            for mid, d in list(docs.items())[:40]]
    assert rows == want
