"""A vectorized reader for large order files (pyarrow.csv), used by
:func:`market.csvio.read_orders_csv` for files of ``FAST_MIN_BYTES`` and more.

It returns exactly what the row-by-row reader returns for the same file (the same arrays,
agent ids in order of first appearance, market ids likewise, file rows), or None whenever
the file is anything but plainly well-formed: then the row-by-row reader reads it and
reports the first problem with its row and column. So errors keep one wording, and this
module only has to recognise good files, never to explain bad ones.

What "plainly well-formed" means here: a header naming exactly the expected columns (any
case and surrounding spaces), no blank lines and no line breaks inside quoted values (the
file has one ``\\n`` per data row, so data row i is file row i + 2), every quantity and
price a finite number in [0, MAX_VALUE], every side, resource, agent and market id one the
row-by-row reader accepts. Sides, resources, agents and market ids are decided on their
distinct raw values with the same Python code (``str.strip``, ``str.lower``,
``Resource.parse``), so the two readers cannot disagree on them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from market.orders import Asks, Bids, Market
from market.resources import Resource

if TYPE_CHECKING:  # csvio imports this module lazily; no import cycle at run time
    from market.csvio import AgentIndex, OrderFile

#: Below this size the row-by-row reader is as fast (and pyarrow's import is not paid).
FAST_MIN_BYTES = 1 << 20

_REQUIRED = ("side", "resource", "agent", "quantity", "price")
_SIDES = {"bid": 0, "buy": 0, "ask": 1, "sell": 1}


def _header(p: Path) -> list[str] | None:
    with p.open("rb") as fh:
        line = fh.readline(1 << 16)
    try:
        fields = next(csv.reader([line.decode("utf-8-sig")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    names = [h.strip().lower() for h in fields]
    want = set(_REQUIRED) | ({"market"} if "market" in names else set())
    return names if len(names) == len(set(names)) == len(want) and set(names) == want else None


def _codes(col: Any, decide: Any) -> tuple[np.ndarray, list[Any]] | None:
    """(index per row into the distinct raw values, decide(raw) per distinct raw value,
    in order of first appearance); None if decide refuses one (returns None)."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(col.combine_chunks())
    out = [decide(v) for v in enc.dictionary.to_pylist()]
    if any(v is None for v in out):
        return None
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), out


def _first_ids(stripped: list[str]) -> tuple[np.ndarray, list[str]]:
    """Ids of distinct raw values (listed in first-appearance order) for their stripped
    forms, numbered in order of first appearance of the stripped form."""
    code: dict[str, int] = {}
    ids = np.array([code.setdefault(s, len(code)) for s in stripped], np.int64)
    return ids, list(code)


def read_orders_fast(path: str | Path, agents: AgentIndex | None,
                     max_bytes: int, max_rows: int, max_value: float) -> OrderFile | None:
    """The :class:`market.csvio.OrderFile` of a plainly well-formed orders file, else None
    (see the module doc). ``agents`` is only extended when the file is accepted."""
    from market.csvio import AgentIndex, OrderFile

    p = Path(path)
    try:
        if not p.is_file() or not 0 < p.stat().st_size <= max_bytes:
            return None
        names = _header(p)
        if names is None:
            return None
        import pyarrow as pa
        import pyarrow.csv as pacsv

        types = {n: pa.float64() if n in ("quantity", "price") else pa.string() for n in names}
        table = pacsv.read_csv(
            p, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[],
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False))
        n = table.num_rows
        if n == 0 or n > max_rows:
            return None
        with p.open("rb") as fh:
            data = fh.read()
        # one line break per row (the last one optional): no blank lines and no breaks
        # inside values, so data row i is file row i + 2
        breaks, ends = data.count(b"\n"), data.endswith(b"\n")
        if breaks != n + (1 if ends else 0):
            return None
    except Exception:  # unreadable, or not what pyarrow parses: the row-by-row reader says why
        return None
    qty = table.column("quantity").to_numpy()
    price = table.column("price").to_numpy()
    for arr in (qty, price):
        if not (np.isfinite(arr).all() and (arr >= 0).all() and (arr <= max_value).all()):
            return None
    side_c = _codes(table.column("side"), lambda v: _SIDES.get(v.strip().lower()))
    res_c = _codes(table.column("resource"), _resource)
    ag_c = _codes(table.column("agent"), lambda v: v.strip() or None)
    if side_c is None or res_c is None or ag_c is None:
        return None
    mk_c = None
    if "market" in names:
        mk_c = _codes(table.column("market"), lambda v: v.strip() or None)
        if mk_c is None:
            return None
    side = np.asarray(side_c[1], np.int8)[side_c[0]]
    res = np.asarray(res_c[1], np.int8)[res_c[0]]
    index = agents or AgentIndex()
    agent = index.encode(ag_c[1])[ag_c[0]]
    b, a = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
    bids = Bids.single(agent[b], res[b].astype(np.int64), qty[b], price[b])
    asks = Asks(agent[a], res[a], qty[a], price[a])
    lines = np.arange(2, n + 2, dtype=np.int64)
    if mk_c is None:
        return OrderFile(Market(bids, asks), index, lines[b], lines[a])
    ids, market_ids = _first_ids(mk_c[1])
    mkt = ids[mk_c[0]]
    return OrderFile(Market(bids, asks), index, lines[b], lines[a], market_ids, mkt[b], mkt[a])


def _resource(v: str) -> int | None:
    try:
        return int(Resource.parse(v.strip().lower()))
    except ValueError:
        return None
