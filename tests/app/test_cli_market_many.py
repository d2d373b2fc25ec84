"""`edgemarket market clear` with a `market` column: every market id clears on its own,
all in one batched call; --json prints {"markets": {id: <the single-market document>}}."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_run import run

from market.batch import single_resource_optima
from market.generate import random_market
from market.lp import solve_welfare_lp

ROWS = [  # market, side, resource, agent, quantity, price (markets interleaved)
    ("north", "bid", "communication", "alice", 2, 10),
    ("south", "bid", "computation", "carol", 100, 0.05),
    ("north", "bid", "communication", "bob", 2, 6),
    ("south", "ask", "compute", "node1", 150, 0.02),
    ("north", "ask", "communication", "node1", 1, 1),
    ("east", "ask", "caching", "node9", 4, 1.0),
    ("north", "ask", "communication", "node2", 2, 5),
    ("north", "ask", "communication", "node3", 1, 8),
    ("east", "bid", "caching", "dave", 1, 3.0),
    ("east", "bid", "caching", "erin", 5, 0.5),
]


SUMS = ("welfare", "optimal_welfare", "efficiency", "buyer_payments", "seller_revenue",
        "platform_surplus", "quantity")


def _rounded(doc: dict) -> list[float]:
    out = [doc[k] for k in SUMS if k in doc]
    for r in doc["resources"].values():
        out += [r[k] for k in SUMS if k in r]
    return out


def _exact(doc: dict) -> dict:
    d = {k: v for k, v in doc.items() if k not in SUMS}
    d["resources"] = {n: {k: v for k, v in r.items() if k not in SUMS}
                      for n, r in doc["resources"].items()}
    return d


def write(path: Path, rows: list[tuple], with_market: bool = True) -> Path:
    head = "market,side,resource,agent,quantity,price" if with_market else \
        "side,resource,agent,quantity,price"
    lines = [head] + [",".join(str(x) for x in (r if with_market else r[1:])) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("mechanism", ["uniform", "mcafee"])
def test_each_market_equals_clearing_it_alone(tmp_path: Path, mechanism: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["market", "clear", "--orders", str(write(tmp_path / "all.csv", ROWS)),
                          "--mechanism", mechanism, "--json"], capsys)
    assert code == 0, err
    docs = json.loads(out)["markets"]
    assert list(docs) == ["north", "south", "east"]  # order of first appearance
    for mid, doc in docs.items():
        alone = write(tmp_path / f"{mid}.csv", [r for r in ROWS if r[0] == mid], False)
        code, out, err = run(["market", "clear", "--orders", str(alone), "--mechanism",
                              mechanism, "--json"], capsys)
        assert code == 0, err
        want = json.loads(out)
        # Sums (welfare, optimum, payments, volumes) may add the same terms in another
        # order: equal to rounding. Everything else exactly.
        assert _rounded(doc) == pytest.approx(_rounded(want), rel=1e-12, abs=1e-12), mid
        assert _exact(doc) == _exact(want), mid
    if mechanism == "uniform":  # by hand: north is test_cli_market's book (6.0, 3 units)
        comm = docs["north"]["resources"]["communication"]
        assert comm["price"] == 6.0 and comm["quantity"] == 3


def test_empty_market_id_is_one_line_naming_row_and_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [*ROWS[:3], ("  ", "ask", "compute", "x", 1, 1)]
    code, _, err = run(["market", "clear", "--orders", str(write(tmp_path / "f.csv", rows))],
                       capsys)
    assert code == 2 and "Traceback" not in err
    line = err.strip()
    assert "\n" not in line and "market" in line and "row 5" in line and "empty market id" in line


def test_table_output_lists_markets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["market", "clear", "--orders", str(write(tmp_path / "f.csv", ROWS))],
                         capsys)
    assert code == 0, err
    assert "3 markets" in out and "north" in out and "total welfare" in out


def test_single_resource_optima_equal_the_lp() -> None:
    ms = [random_market(30, 6, seed, bundles=False) for seed in range(12)]
    got = single_resource_optima(ms)
    want = np.array([solve_welfare_lp(m).welfare for m in ms])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="single-resource"):
        single_resource_optima([random_market(5, 2, 0)])


def test_flat_uniform_report_equals_the_per_market_path(tmp_path: Path) -> None:
    """Random markets (ties, excess supply and demand, empty sides): the flat report
    equals clearing the markets as objects one call (clear_markets_report)."""
    from app.commands.market import clear_markets_report
    from app.commands.market_many import uniform_markets_report
    from market.csvio import read_orders_csv

    rng = np.random.default_rng(3)
    rows = []
    for m in range(40):
        for _ in range(int(rng.integers(1, 12))):
            rows.append((f"m{m}", str(rng.choice(["bid", "ask"])), int(rng.integers(0, 4)),
                         f"a{int(rng.integers(0, 30))}", int(rng.integers(1, 5)),
                         float(rng.integers(1, 6))))
    book = read_orders_csv(write(tmp_path / "r.csv", rows))
    flat = uniform_markets_report(book, 0.3)["markets"]
    objs = clear_markets_report(read_orders_csv(tmp_path / "r.csv"), "uniform", {"k": 0.3})
    assert list(flat) == list(objs["markets"])
    for mid, doc in objs["markets"].items():
        assert _exact(flat[mid]) == _exact(doc), mid
        assert _rounded(flat[mid]) == pytest.approx(_rounded(doc), rel=1e-12, abs=1e-12), mid
