"""The vectorized order-file reader (market/csvfast.py) gives exactly what the row-by-row
reader gives on every file it accepts, and declines (None) every file that is not plainly
well-formed, so the row-by-row reader's error names the row and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from market import csvfast, csvio
from market.csvio import AgentIndex, OrderFileError, read_orders_csv

LIMITS = (csvio.MAX_FILE_BYTES, csvio.MAX_ROWS, csvio.MAX_VALUE)

# Header in another order, capitals and spaces; a UTF-8 BOM; CRLF line ends; quoted fields
# (one with a comma); padded labels that strip to the same agent / market; side and
# resource spellings the reader accepts (BUY, sell, aliases, an index).
TRICKY = ("\ufeff Market ,SIDE,resource,agent,quantity, Price\r\n"
          'north,bid,communication,alice,2,10\r\n'
          '"south, 2",BUY,compute, carol ,100,0.05\r\n'
          'north , bid ,COMM,bob,2,6.25e-1\r\n'
          '"south, 2",sell,2,node1,150,0.02\r\n'
          'north,ask,0,"node1",1,1\r\n'
          'east,Ask,cache,node9,4,1.0\r\n'
          'east,bid,caching,alice,5,0.5\r\n'
          'north,ask,communication,carol,0,0\r\n')


def _same(a: csvio.OrderFile, b: csvio.OrderFile) -> None:
    for side in ("bids", "asks"):
        x, y = getattr(a.market, side), getattr(b.market, side)
        for f in ("agent", "resource", "quantity" if side == "asks" else "demand",
                  "price" if side == "asks" else "value"):
            np.testing.assert_array_equal(getattr(x, f), getattr(y, f))
            assert getattr(x, f).dtype == getattr(y, f).dtype
    assert a.agents.labels == b.agents.labels
    np.testing.assert_array_equal(a.bid_rows, b.bid_rows)
    np.testing.assert_array_equal(a.ask_rows, b.ask_rows)
    assert a.market_ids == b.market_ids
    for f in ("bid_market", "ask_market"):
        if getattr(a, f) is None:
            assert getattr(b, f) is None
        else:
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def _slow(path: Path, agents: AgentIndex | None = None) -> csvio.OrderFile:
    return csvio.read_orders_rows(path, agents)


def test_tricky_file_reads_the_same(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_bytes(TRICKY.encode())
    fast = csvfast.read_orders_fast(f, None, *LIMITS)
    assert fast is not None
    _same(fast, _slow(f))
    assert fast.market_ids == ["north", "south, 2", "east"]
    # a shared AgentIndex is extended the same way (existing labels keep their ids)
    pre_a, pre_b = AgentIndex(), AgentIndex()
    pre_a.encode(["node9", "zed"])
    pre_b.encode(["node9", "zed"])
    _same(csvfast.read_orders_fast(f, pre_a, *LIMITS), _slow(f, pre_b))
    # without the market column, and without a final line break
    g = tmp_path / "p.csv"
    g.write_text("side,resource,agent,quantity,price\nbid,comm,a,1,2\nask,comm,b,1,1")
    _same(csvfast.read_orders_fast(g, None, *LIMITS), _slow(g))


@pytest.mark.parametrize("body", [
    "north,bid,comm,a,1,2\n\nnorth,ask,comm,b,1,1\n",  # blank line: rows would shift
    'north,bid,comm,"a\nb",1,2\n',  # line break inside a value
    "north,bid,comm,a,nan,2\n", "north,bid,comm,a,1,inf\n", "north,bid,comm,a,-1,2\n",
    "north,bid,comm,a,1,2e12\n", "north,bid,comm,a,1,\n", "north,bid,comm,a,1_0,2\n",
    "north,offer,comm,a,1,2\n", "north,bid,gpu,a,1,2\n", "north,bid,comm, ,1,2\n",
    " ,bid,comm,a,1,2\n", "north,bid,comm,a,1,2,3\n", "north,bid,comm,a,1\n",
])
def test_declines_what_is_not_plainly_well_formed(tmp_path: Path, body: str) -> None:
    f = tmp_path / "o.csv"
    f.write_text("market,side,resource,agent,quantity,price\n" + body)
    assert csvfast.read_orders_fast(f, None, *LIMITS) is None


def test_large_files_take_the_fast_path_and_errors_keep_their_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 40_000  # > FAST_MIN_BYTES of text
    rows = [f"m{i // 10},{'bid' if i % 10 < 5 else 'ask'},{('comm', 'cache')[i % 2]},"
            f"a{i % 997},{int(q)},{p!r}" for i, (q, p) in
            enumerate(zip(rng.integers(1, 10, n), rng.uniform(0, 2, n).round(6).tolist(),
                          strict=True))]
    text = "market,side,resource,agent,quantity,price\n" + "\n".join(rows) + "\n"
    f = tmp_path / "big.csv"
    f.write_text(text)
    assert f.stat().st_size >= csvfast.FAST_MIN_BYTES
    fast = read_orders_csv(f)
    assert fast.market_ids is not None and len(fast.market_ids) == n // 10
    _same(fast, csvio.read_orders_rows(f))
    bad = text.replace(rows[12345], rows[12345].rsplit(",", 1)[0] + ",oops")
    f.write_text(bad)
    with pytest.raises(OrderFileError) as e:
        read_orders_csv(f)
    assert (e.value.row, e.value.column) == (12347, "price")
