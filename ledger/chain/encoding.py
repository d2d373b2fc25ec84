"""Turn one market round (Python floats, agent ids, numpy trades) into a settlement batch.

The batch is what ``MarketSettlement.settleRound`` takes: netted per-account deltas in base
units (summing to minus the fee, exactly), the fee, the four clearing prices, the Merkle
root of the trades and their count, contributions and violations, all packed as the
contract documents:

- delta entry:        ``index << 72 | negative << 64 | magnitude`` (uint64 base units), where
  ``index`` is the account's escrow index (opened at its first deposit)
- contribution entry: ``uint160(account) << 96 | uint96 workUnits`` (1e-6 work units)

Delta entries are sorted by account index, contribution entries by address, as the
contracts require.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ledger.chain.accounts import agent_address
from ledger.chain.merkle import TradeLeaf, TradeTree
from ledger.units import BASE_UNITS_PER_CREDIT, balance_batch, to_base, to_base_array

N_RESOURCES = 4
NO_PRICE = 2**64 - 1
"""Recorded price of a resource that did not trade (``nan`` off chain)."""
QUANTITY_SCALE = 10**6
"""Trade quantities and work units go on chain in 1e-6 units."""
UINT64_MAX = 2**64 - 1
UINT96_MAX = 2**96 - 1
_NEGATIVE = 1 << 64


class TradesLike(Protocol):
    """What settlement needs of ``market.orders.Trades`` (columnar numpy arrays)."""

    buyer: Any
    seller: Any
    resource: Any
    quantity: Any
    price: Any


class BatchError(ValueError):
    """A round's inputs cannot form a valid batch (message names the field)."""


def pack_delta(index: int, delta: int) -> int:
    """A delta entry: ``index << 72 | negative << 64 | |delta|`` (sign-magnitude, 64-bit)."""
    if index <= 0:
        raise BatchError(f"account index must be positive, got {index}")
    magnitude = abs(delta)
    if magnitude > UINT64_MAX:
        raise BatchError(f"delta {delta} base units does not fit 64 bits")
    return (index << 72) | (_NEGATIVE if delta < 0 else 0) | magnitude


def unpack_delta(entry: int) -> tuple[int, int]:
    """(account index, signed delta in base units) of a delta entry."""
    magnitude = entry & UINT64_MAX
    return entry >> 72, -magnitude if entry & _NEGATIVE else magnitude


def pack_entry(address: str, value: int) -> int:
    """An address entry (contributions): the address in the top 160 bits, ``value`` (uint96) below."""
    if not 0 <= value <= UINT96_MAX:
        raise BatchError(f"value {value} does not fit uint96")
    return (int(address, 16) << 96) | value


def unpack_entry(entry: int) -> tuple[str, int]:
    """(lower-case hex address, value) of an address entry."""
    return "0x" + format(entry >> 96, "040x"), entry & UINT96_MAX


def _sorted_unique(packed: list[int], shift: int, what: str) -> list[int]:
    packed.sort()
    for a, b in itertools.pairwise(packed):
        if a >> shift == b >> shift:
            raise BatchError(f"{what}: duplicate account")
    return packed


def encode_prices(prices: Sequence[float] | np.ndarray) -> list[int]:
    """Four clearing prices (credits per unit, ``nan`` = no trade) -> uint64 base units."""
    arr = np.asarray(prices, dtype=np.float64).reshape(-1)
    if arr.shape != (N_RESOURCES,):
        raise BatchError(f"prices: expected {N_RESOURCES} values, got {arr.shape[0]}")
    out = []
    for i, p in enumerate(arr):
        if math.isnan(p):
            out.append(NO_PRICE)
            continue
        if p < 0 or not math.isfinite(p):
            raise BatchError(f"prices[{i}]: must be a finite non-negative number, got {p}")
        base = to_base(float(p))
        if base >= NO_PRICE:
            raise BatchError(f"prices[{i}]: {p} credits per unit is too large")
        out.append(base)
    return out


def decode_prices(values: Sequence[int]) -> np.ndarray:
    """uint64 base units -> credits per unit (``nan`` for ``NO_PRICE``)."""
    return np.array([np.nan if v == NO_PRICE else v / BASE_UNITS_PER_CREDIT for v in values])


def trade_leaves(trades: TradesLike | None) -> list[TradeLeaf]:
    """Merkle leaves of ``trades`` in their order (addresses, 1e-6 quantities, base-unit prices)."""
    if trades is None:
        return []
    buyers = np.asarray(trades.buyer, dtype=np.int64)
    n = buyers.shape[0]
    if n == 0:
        return []
    sellers = np.asarray(trades.seller, dtype=np.int64)
    resources = np.asarray(trades.resource, dtype=np.int64)
    quantity = np.asarray(trades.quantity, dtype=np.float64)
    price = np.asarray(trades.price, dtype=np.float64)
    if np.any((resources < 0) | (resources >= N_RESOURCES)):
        raise BatchError("trades.resource: values must be 0..3")
    if np.any(quantity < 0) or np.any(price < 0):
        raise BatchError("trades: quantities and prices must be non-negative")
    qs = to_base_array(quantity, QUANTITY_SCALE)
    ps = to_base_array(price)
    ids = np.unique(np.concatenate([buyers, sellers]))
    addr = {int(i): agent_address(int(i)) for i in ids.tolist()}
    return [
        (addr[b], addr[s], r, q, p)
        for b, s, r, q, p in zip(
            buyers.tolist(), sellers.tolist(), resources.tolist(), qs, ps, strict=True
        )
    ]


@dataclass
class RoundBatch:
    """A settlement batch ready to encode, plus what the caller needs afterwards."""

    run_id: int
    round: int
    trades_root: bytes
    trade_count: int
    fee: int
    prices: list[int]
    deltas: list[int]
    contributions: list[int]
    violations: list[tuple[str, str, int]]
    deltas_by_agent: dict[int, int] = field(default_factory=dict)
    index_by_agent: dict[int, int] = field(default_factory=dict)
    tree: TradeTree | None = None

    def as_abi_tuple(self) -> tuple[Any, ...]:
        """The ``RoundBatch`` struct as ``eth_abi`` encodes it."""
        return (
            self.run_id,
            self.round,
            self.trades_root,
            self.trade_count,
            self.fee,
            self.prices,
            self.deltas,
            self.contributions,
            self.violations,
        )

    def gas_limit(self) -> int:
        """A safe gas limit: ~2k gas per account when 4 accounts share a storage word, up to
        ~6k when they do not; a first reward accrual or a buyer's new account costs ~22-50k."""
        return (
            250_000
            + 12_000 * len(self.deltas)
            + 30_000 * len(self.contributions)
            + 120_000 * len(self.violations)
            + 8 * 32 * (len(self.deltas) + len(self.contributions))
        )


def build_batch(
    run_id: int,
    round_: int,
    net_credits: Mapping[int, float],
    prices: Sequence[float] | np.ndarray,
    trades: TradesLike | None,
    contributions: Mapping[int, float] | None = None,
    violations: Sequence[tuple[int, int, float]] = (),
    fee_credits: float = 0.0,
    *,
    index_of: Mapping[int, int] | None = None,
    keep_tree: bool = True,
) -> RoundBatch:
    """Net, quantize, hash and pack one round (see the module docs for units).

    Args:
        index_of: agent id -> escrow account index (``MarketSettlement.indicesOf``); every
            agent with a non-zero delta needs one (an account opens at its first deposit).

    Raises:
        BatchError: naming the field, for inputs the contract would reject (negative fee,
            unbalanced credits, out-of-range values, unknown resources).
    """
    if run_id < 0 or run_id >= 2**64 or round_ < 0 or round_ >= 2**64:
        raise BatchError("run_id and round must be in 0..2**64-1")
    try:
        deltas_by_agent, fee = balance_batch(
            {int(k): v for k, v in net_credits.items()}, fee_credits
        )
    except ValueError as exc:
        raise BatchError(f"net_credits: {exc}") from exc
    deltas_by_agent = {k: v for k, v in deltas_by_agent.items() if v != 0}
    if index_of is None and deltas_by_agent:
        raise BatchError(
            "index_of is required: pass index_of=session.account_indices(net_credits) "
            "(or use ChainSession.build_batch)"
        )
    index_of = index_of or {}
    missing = [k for k in deltas_by_agent if index_of.get(k, 0) <= 0]
    if missing:
        raise BatchError(
            f"net_credits: agents {sorted(missing)[:10]} have no escrow account (fund them first)"
        )
    deltas = _sorted_unique(
        [pack_delta(index_of[k], v) for k, v in deltas_by_agent.items()], 72, "net_credits"
    )

    leaves = trade_leaves(trades)
    tree = TradeTree.of(leaves)

    contrib: list[int] = []
    if contributions:
        ids = list(contributions)
        units = to_base_array([float(contributions[i]) for i in ids], QUANTITY_SCALE)
        for i, u in zip(ids, units, strict=True):
            if u < 0:
                raise BatchError(f"contributions[{i}]: work units must be non-negative")
        contrib = _sorted_unique(
            [pack_entry(agent_address(int(i)), u) for i, u in zip(ids, units, strict=True) if u],
            96,
            "contributions",
        )

    viol = []
    for j, (node, buyer, credits) in enumerate(violations):
        amount = to_base(credits)
        if amount < 0:
            raise BatchError(f"violations[{j}]: credits at stake must be non-negative")
        viol.append((agent_address(int(node)), agent_address(int(buyer)), amount))

    return RoundBatch(
        run_id=int(run_id),
        round=int(round_),
        trades_root=tree.root,
        trade_count=len(leaves),
        fee=fee,
        prices=encode_prices(prices),
        deltas=deltas,
        contributions=contrib,
        violations=viol,
        deltas_by_agent=deltas_by_agent,
        index_by_agent={k: index_of[k] for k in deltas_by_agent},
        tree=tree if keep_tree else None,
    )


def net_trades(trades: TradesLike) -> tuple[dict[int, float], float]:
    """Net a round's trades per agent (numpy): buyers pay ``price``, sellers get ``seller_price``.

    Returns ``(net_credits, fee_credits)`` where the fee is the platform's surplus (what
    buyers paid minus what sellers received), so ``sum(net) + fee == 0`` up to float error.
    """
    buyer = np.asarray(trades.buyer, dtype=np.int64)
    seller = np.asarray(trades.seller, dtype=np.int64)
    q = np.asarray(trades.quantity, dtype=np.float64)
    pay = q * np.asarray(trades.price, dtype=np.float64)
    seller_price = getattr(trades, "seller_price", None)
    get = q * np.asarray(
        seller_price if seller_price is not None else trades.price, dtype=np.float64
    )
    ids, inv = np.unique(np.concatenate([buyer, seller]), return_inverse=True)
    n = buyer.shape[0]
    net = np.bincount(inv[n:], weights=get, minlength=ids.shape[0]) - np.bincount(
        inv[:n], weights=pay, minlength=ids.shape[0]
    )
    fee = float(pay.sum() - get.sum())
    return dict(zip(ids.tolist(), net.tolist(), strict=True)), fee
