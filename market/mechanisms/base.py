"""The one interface every clearing mechanism implements, in the style of scikit-learn.

Parameters are keyword arguments of ``__init__`` stored under the same attribute names, so
``get_params()`` can read them back and ``repr`` shows them; ``clear(market)`` returns a
:class:`~market.result.ClearingResult`; ``reset()`` forgets state kept across rounds.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from market.matching import match_rows
from market.orders import Market, Trades
from market.result import ClearingResult
from market.welfare import Fills

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class Mechanism(ABC):
    """A market-clearing mechanism: Market in, ClearingResult out."""

    #: Registry name, set by :func:`market.mechanisms.register_mechanism`.
    name: ClassVar[str] = ""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as passed (or defaulted)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> Mechanism:
        """Change parameters (validated by re-running ``__init__``); returns self."""
        unknown = set(params) - set(self._param_names())
        if unknown:
            raise ValueError(f"unknown parameter(s) {sorted(unknown)} for {type(self).__name__}")
        merged = {**self.get_params(), **params}
        self.__init__(**merged)  # type: ignore[misc]
        return self

    @abstractmethod
    def clear(self, market: Market) -> ClearingResult:
        """Clear one round of ``market``."""

    #: True when :meth:`clear_many` clears several markets in one vectorized pass. Such a
    #: mechanism must be stateless: one instance then stands for every venue's instance.
    batched: ClassVar[bool] = False

    def clear_many(self, markets: Sequence[Market]) -> list[ClearingResult]:
        """Clear each of several independent markets; results as ``[clear(m) for m in
        markets]`` (the default does exactly that; batched mechanisms vectorize it)."""
        return [self.clear(m) for m in markets]

    def reset(self) -> None:
        """Forget any state kept across calls to ``clear`` (stateless by default)."""
        return None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def resource_trades(
    market: Market,
    resource: int,
    bid_rows: IntArray,
    bid_qty: FloatArray,
    ask_rows: IntArray,
    ask_qty: FloatArray,
    price: float,
    seller_price: float | None = None,
    total: float | None = None,
    fills: Fills | None = None,
    bid_cum: FloatArray | None = None,
    ask_cum: FloatArray | None = None,
) -> Trades:
    """Trades of one resource: match ranked bids to ranked asks (rows into the market).

    Every trade is at the buyer's unit ``price``; sellers receive ``seller_price``
    (default: the same). ``total`` caps the matched units (default: all that match).
    The units each bid got and each ask sold are added to ``fills``. ``bid_cum`` /
    ``ask_cum``: cumulative quantities, if already known.
    """
    mt = match_rows(
        bid_qty, ask_qty, bid_rows, ask_rows, market.bids.agent, market.asks.agent, total,
        buy_cum=bid_cum, sell_cum=ask_cum, takes=fills is not None,
    )
    bi, ai = mt.buy_row, mt.sell_row
    t = mt.quantity.size
    p = np.full(t, price)
    if fills is not None:
        fills.add(resource, bid_rows, mt.buy_take, ask_rows, mt.sell_take)
    if bi.dtype == np.int64 and ai.dtype == np.int64:  # columns built here: no re-validation
        return Trades._trusted(
            mt.buyer, mt.seller, np.full(t, resource, np.int8),
            mt.quantity, p, bi, ai, p if seller_price is None else np.full(t, seller_price))
    return Trades(
        buyer=mt.buyer,
        seller=mt.seller,
        resource=np.full(t, resource, np.int8),
        quantity=mt.quantity,
        price=p,
        bid_index=bi,
        ask_index=ai,
        seller_price=p if seller_price is None else np.full(t, seller_price),
    )
