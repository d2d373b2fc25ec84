"""Reading orders from CSV files, validated so every mistake names its row and column.

Three layouts (header names are case-insensitive; extra whitespace is ignored):

- orders:  ``side`` (bid/ask, also buy/sell), ``resource``, ``agent``, ``quantity``, ``price``,
  and optionally ``market`` (a free-form market id: rows with different ids are
  independent markets, see :meth:`OrderFile.markets`)
- buyers:  ``agent``, ``value``, ``max_bundles``, and one demand column per resource, named
  by the resource (communication, caching, computation, learning; missing ones are 0)
- sellers: ``agent``, ``resource``, ``capacity``, ``cost``

Resources are given by name, alias (comm, cache, compute, knowledge, ...) or index 0-3.
Agents are free-form labels, mapped to integer ids in order of first appearance (shared
across the files read through one :class:`AgentIndex`).

Limits, to refuse files no sane market round has: at most ``MAX_FILE_BYTES`` (200 MiB) and
``MAX_ROWS`` (5,000,000) data rows. Errors are :class:`OrderFileError` (a ValueError) with
``row`` = the row as a spreadsheet numbers it (the file's line: the header is row 1) and
``column``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES, RESOURCE_NAMES, Resource

MAX_FILE_BYTES = 200 * 2**20
MAX_ROWS = 5_000_000

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_SIDES = {"bid": 0, "buy": 0, "ask": 1, "sell": 1}


class OrderFileError(ValueError):
    """A problem in an order file, located by file, row and column."""

    def __init__(
        self, message: str, *, path: str | Path, row: int | None = None, column: str | None = None
    ) -> None:
        self.path, self.row, self.column, self.reason = str(path), row, column, message
        where = [self.path]
        if row is not None:
            where.append(f"row {row}" + (" (header)" if row == 1 else ""))
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass
class AgentIndex:
    """Agent labels <-> integer ids (ids in order of first appearance)."""

    labels: list[str] = field(default_factory=list)
    _ids: dict[str, int] = field(default_factory=dict)

    def encode(self, values: Sequence[str]) -> IntArray:
        """Ids for ``values``, adding new labels."""
        out = np.empty(len(values), np.int64)
        ids, labels = self._ids, self.labels
        for i, v in enumerate(values):  # parsing, not clearing: one dict lookup per row
            j = ids.get(v)
            if j is None:
                j = ids[v] = len(labels)
                labels.append(v)
            out[i] = j
        return out

    def label(self, agent_id: int) -> str:
        """The label of an id."""
        return self.labels[agent_id]


@dataclass(frozen=True)
class Table:
    """A CSV file's columns (as strings), keyed by lower-case header name."""

    path: str
    columns: dict[str, list[str]]
    n_rows: int
    lines: list[int]  # file row (line number) of each data row

    def row(self, i: int) -> int:
        """The file row of data row ``i`` (0-based)."""
        return self.lines[i]


def read_table(
    path: str | Path, required: Sequence[str], optional: Sequence[str] = ()
) -> Table:
    """Read and structurally validate a CSV file (size, header, field counts)."""
    p = Path(path)
    if not p.is_file():
        raise OrderFileError("no such file", path=path)
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise OrderFileError(
            f"file is {size / 2**20:.0f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit",
            path=path,
        )
    if size == 0:
        raise OrderFileError("empty file (expected a header row)", path=path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = csv.reader(fh)
            header = next(rows, None)
            if header is None or not any(h.strip() for h in header):
                raise OrderFileError("empty file (expected a header row)", path=path)
            names = [h.strip().lower() for h in header]
            seen: set[str] = set()
            for name in names:
                if not name:
                    raise OrderFileError("empty column name in the header", path=path, row=1)
                if name in seen:
                    raise OrderFileError("duplicate column", path=path, row=1, column=name)
                seen.add(name)
            for name in required:
                if name not in seen:
                    raise OrderFileError(
                        f"missing column (expected {', '.join(required)})",
                        path=path, row=1, column=name,
                    )
            allowed = set(required) | set(optional)
            for name in names:
                if name not in allowed:
                    raise OrderFileError(
                        f"unknown column (expected {', '.join([*required, *optional])})",
                        path=path, row=1, column=name,
                    )
            cols: list[list[str]] = [[] for _ in names]
            lines: list[int] = []
            width = len(names)
            for fields in rows:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # blank line
                line = rows.line_num
                lines.append(line)
                if len(lines) > MAX_ROWS:
                    raise OrderFileError(f"more than {MAX_ROWS:,} data rows", path=path, row=line)
                if len(fields) != width:
                    short = len(fields) < width
                    raise OrderFileError(
                        f"expected {width} fields, got {len(fields)}"
                        + (" (value missing)" if short else " (extra field after the last column)"),
                        path=path, row=line, column=names[len(fields) if short else -1],
                    )
                for c, v in zip(cols, fields, strict=True):
                    c.append(v)
    except UnicodeDecodeError as exc:
        raise OrderFileError(f"not UTF-8 text ({exc.reason})", path=path) from None
    except csv.Error as exc:
        raise OrderFileError(f"malformed CSV ({exc})", path=path) from None
    if not lines:
        raise OrderFileError("no data rows after the header", path=path)
    return Table(str(path), dict(zip(names, cols, strict=True)), len(lines), lines)


MAX_VALUE = 1e12  # quantities, prices, values, capacities, costs


def numbers(table: Table, column: str, *, positive: bool = False) -> FloatArray:
    """A column as finite floats >= 0 (> 0 with ``positive``), else the first bad row."""
    values = table.columns[column]
    try:
        arr = np.array(values, dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):
            try:
                float(v)
            except ValueError:
                shown = v if len(v) <= 40 else v[:37] + "..."
                raise OrderFileError(
                    f"not a number: {shown!r}", path=table.path, row=table.row(i), column=column
                ) from None
        raise  # pragma: no cover - numpy and float() disagree
    # Above MAX_VALUE, products (quantity x price, welfare) overflow to inf downstream.
    bad = ~np.isfinite(arr) | (arr <= 0 if positive else arr < 0) | (np.abs(arr) > MAX_VALUE)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        x = float(arr[i])
        if math.isnan(x):
            why = "is NaN"
        elif math.isinf(x):
            why = "is infinite"
        elif abs(x) > MAX_VALUE:
            why = f"is {values[i].strip()}, above the limit {MAX_VALUE:g}"
        else:
            why = f"is {values[i].strip()}, must be {'> 0' if positive else '>= 0'}"
        raise OrderFileError(why, path=table.path, row=table.row(i), column=column)
    return arr


def resources(table: Table, column: str = "resource") -> NDArray[np.int8]:
    """A column of resource names/aliases/indices as resource indices."""
    values = table.columns[column]
    uniq, inv = np.unique(np.array([v.strip().lower() for v in values]), return_inverse=True)
    codes = np.empty(uniq.size, np.int8)
    for k, u in enumerate(uniq.tolist()):
        try:
            codes[k] = int(Resource.parse(u))
        except ValueError:
            i = int(np.flatnonzero(inv == k)[0])
            raise OrderFileError(
                f"unknown resource {values[i]!r} (expected {', '.join(RESOURCE_NAMES)} or 0-3)",
                path=table.path, row=table.row(i), column=column,
            ) from None
    return codes[inv]


def labels(table: Table, column: str = "agent") -> list[str]:
    """A column of agent labels, stripped; empty labels are errors."""
    out = [v.strip() for v in table.columns[column]]
    for i, v in enumerate(out):
        if not v:
            raise OrderFileError("empty agent", path=table.path, row=table.row(i), column=column)
    return out


@dataclass(frozen=True)
class OrderFile:
    """Orders read from a file: the market and the agents' labels.

    With a ``market`` column, ``market_ids`` lists the ids in order of first appearance
    and ``bid_market`` / ``ask_market`` give each bid's and ask's position in that list;
    ``market`` then holds every row together (use :meth:`markets`).
    """

    market: Market
    agents: AgentIndex
    bid_rows: IntArray  # file row (line) of each bid
    ask_rows: IntArray
    market_ids: list[str] | None = None
    bid_market: IntArray | None = None
    ask_market: IntArray | None = None

    def markets(self) -> list[tuple[str, Market]]:
        """(id, Market) per market id, in order of first appearance; one ("", market)
        without a ``market`` column. Rows keep their file order within each market."""
        if self.market_ids is None or self.bid_market is None or self.ask_market is None:
            return [("", self.market)]
        n = len(self.market_ids)
        bo = np.argsort(self.bid_market, kind="stable")
        ao = np.argsort(self.ask_market, kind="stable")
        b_cut = np.searchsorted(self.bid_market[bo], np.arange(n + 1))
        a_cut = np.searchsorted(self.ask_market[ao], np.arange(n + 1))
        bids, asks = self.market.bids, self.market.asks
        return [(mid, Market(bids.take(bo[b_cut[i]:b_cut[i + 1]]),
                             asks.take(ao[a_cut[i]:a_cut[i + 1]])))
                for i, mid in enumerate(self.market_ids)]


def read_orders_csv(path: str | Path, agents: AgentIndex | None = None) -> OrderFile:
    """Single-resource bids and asks from one file (columns side, resource, agent,
    quantity, price, and optionally market).

    Files of ``market.csvfast.FAST_MIN_BYTES`` and more are first tried with the vectorized
    reader (pyarrow), which gives the same result for every file it accepts and declines
    (None) anything not plainly well-formed; those are read here, row by row."""
    from market.csvfast import FAST_MIN_BYTES, read_orders_fast

    try:
        big = Path(path).stat().st_size >= FAST_MIN_BYTES
    except OSError:
        big = False
    if big:
        fast = read_orders_fast(path, agents, MAX_FILE_BYTES, MAX_ROWS, MAX_VALUE)
        if fast is not None:
            return fast
    return read_orders_rows(path, agents)


def read_orders_rows(path: str | Path, agents: AgentIndex | None = None) -> OrderFile:
    """:func:`read_orders_csv` row by row (the reader that explains every bad file)."""
    t = read_table(path, ["side", "resource", "agent", "quantity", "price"], optional=["market"])
    raw_side = [v.strip().lower() for v in t.columns["side"]]
    side = np.empty(t.n_rows, np.int8)
    for i, v in enumerate(raw_side):
        s = _SIDES.get(v)
        if s is None:
            raise OrderFileError(
                f"unknown side {t.columns['side'][i]!r} (expected bid or ask)",
                path=path, row=t.row(i), column="side",
            )
        side[i] = s
    res = resources(t)
    qty = numbers(t, "quantity")
    price = numbers(t, "price")
    index = agents or AgentIndex()
    agent = index.encode(labels(t))
    b, a = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
    bids = Bids.single(agent[b], res[b].astype(np.int64), qty[b], price[b])
    asks = Asks(agent[a], res[a], qty[a], price[a])
    lines = np.asarray(t.lines, dtype=np.int64)
    if "market" not in t.columns:
        return OrderFile(Market(bids, asks), index, lines[b], lines[a])
    ids = [v.strip() for v in t.columns["market"]]
    code: dict[str, int] = {}
    mkt = np.empty(t.n_rows, np.int64)
    for i, v in enumerate(ids):
        if not v:
            raise OrderFileError("empty market id", path=path, row=t.row(i), column="market")
        mkt[i] = code.setdefault(v, len(code))
    return OrderFile(Market(bids, asks), index, lines[b], lines[a], list(code), mkt[b], mkt[a])


def read_buyers_csv(path: str | Path, agents: AgentIndex | None = None) -> tuple[Bids, AgentIndex]:
    """Leontief bundle bids (columns agent, value, max_bundles, one per resource name)."""
    t = read_table(path, ["agent", "value", "max_bundles"], optional=RESOURCE_NAMES)
    present = [r for r in RESOURCE_NAMES if r in t.columns]
    if not present:
        raise OrderFileError(
            f"no demand column (expected at least one of {', '.join(RESOURCE_NAMES)})",
            path=path, row=1,
        )
    demand = np.zeros((t.n_rows, N_RESOURCES))
    for name in present:
        demand[:, RESOURCE_NAMES.index(name)] = numbers(t, name)
    value = numbers(t, "value")
    max_bundles = numbers(t, "max_bundles")
    index = agents or AgentIndex()
    return Bids.bundles(index.encode(labels(t)), demand, value, max_bundles), index


def read_sellers_csv(path: str | Path, agents: AgentIndex | None = None) -> tuple[Asks, AgentIndex]:
    """Asks (columns agent, resource, capacity, cost)."""
    t = read_table(path, ["agent", "resource", "capacity", "cost"])
    res = resources(t)
    cap = numbers(t, "capacity")
    cost = numbers(t, "cost")
    index = agents or AgentIndex()
    return Asks(index.encode(labels(t)), res, cap, cost), index
