"""What the chain must hold for a stored run, recomputed from the stored trades alone.

`edgemarket ledger reconcile` used to compare the chain with the payloads that were sent,
so a round that was never sent, or a stored trade that no longer matches, went unnoticed.
This module rebuilds every number from the run store's own rows instead:

- balances: each account's initial deposit, plus per stored round the netted trades
  (buyers pay ``quantity * price``, sellers get ``quantity * seller_price``), less the
  incentive fee (``fee_rate`` of every positive net receipt), quantized to base units by
  the project's zero-sum rule (:func:`ledger.units.balance_batch`), plus SLA compensation
  (each attested violation pays ``min(amount, the node's remaining stake)``; an account
  without a stake pays nothing);
- per round: the trade count and the Merkle root of the stored trades, the fee.

The attested violations are the one input taken from the outbox: they are stored nowhere
else. :func:`audit_rounds` then checks, per round, that the store, the outbox and the
chain's ``RoundSettled`` events agree, and names every round that does not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ledger.units import balance_batch, to_base

if TYPE_CHECKING:
    from ledger.chain.session import ChainSession
    from ledger.store import RunStore


@dataclass
class RoundExpectation:
    """One stored round as the chain must have it."""

    round: int
    trade_count: int
    fee: int
    deltas: dict[int, int]
    trades: Any = field(repr=False, default=None)
    problem: str | None = None  # the stored trades do not balance with the stored surplus


def _trades_by_round(store: RunStore, run_id: int) -> dict[int, list[tuple[int, int, int, float, float, float]]]:
    from ledger.store import TradeRow

    t = TradeRow
    q = (select(t.round, t.buyer, t.seller, t.resource, t.quantity, t.price, t.seller_price)
         .where(t.run_id == run_id).order_by(t.round, t.idx))
    out: dict[int, list[tuple[int, int, int, float, float, float]]] = defaultdict(list)
    with store.engine.connect() as c:
        for rnd, b, s, r, qty, p, sp in c.execute(q):
            out[int(rnd)].append((int(b), int(s), int(r), float(qty), float(p),
                                  float(p if sp is None else sp)))
    return out


def _net(trades: list[tuple[int, int, int, float, float, float]]) -> dict[int, float]:
    """Credits per agent, summed in the order the model sums them (all purchases in trade
    order, then all sales), so the floats match to the last bit."""
    net: dict[int, float] = {}
    for b, _s, _r, q, p, _sp in trades:
        net[b] = net.get(b, 0.0) + (-q) * p
    for _b, s, _r, q, _p, sp in trades:
        net[s] = net.get(s, 0.0) + q * sp
    return net


def _with_fee(net: dict[int, float], surplus: float, rate: float) -> tuple[dict[int, float], float]:
    if rate <= 0:
        return net, surplus
    fees = 0.0
    out: dict[int, float] = {}
    for agent, v in net.items():
        if v > 0:
            fees += v * rate
            v -= v * rate
        out[agent] = v
    return out, surplus + fees


def expected_rounds(store: RunStore, run_id: int) -> list[RoundExpectation]:
    """Every stored round's netted deltas, fee and trades, from the round and trade rows."""
    from ledger.store import RoundRow

    run = store.get_run(run_id)
    info = (run.chain_info or {}) if run is not None else {}
    rate = float(info.get("fee_rate", 0.0))
    trades = _trades_by_round(store, run_id)
    with store.engine.connect() as c:
        rows = c.execute(select(RoundRow.round, RoundRow.platform_surplus, RoundRow.n_trades)
                         .where(RoundRow.run_id == run_id).order_by(RoundRow.round)).all()
    out = []
    for rnd, surplus, _n in rows:
        tr = trades.get(int(rnd), [])
        net, fee = _with_fee(_net(tr), float(surplus), rate)
        problem = None
        try:
            deltas, fee_base = balance_batch(net, fee)
        except ValueError as exc:  # an altered trade: keep going, name the round
            problem = f"round {int(rnd)}: stored trades do not balance ({exc})"
            deltas, fee_base = {k: to_base(v) for k, v in net.items()}, to_base(fee)
        out.append(RoundExpectation(int(rnd), len(tr), fee_base, {k: v for k, v in deltas.items() if v}, tr,
                                    problem))
    return out


def expected_balances(store: RunStore, run_id: int,
                      rounds: list[RoundExpectation] | None = None) -> dict[int | str, int]:
    """Escrow balance per account (agent id, or lower-case address for a compensated
    buyer named only by address) in base units, from the stored rows."""
    run = store.get_run(run_id)
    info = (run.chain_info or {}) if run is not None else {}
    stake0 = int(info.get("stake_base", 0))
    accounts = store.accounts(run_id)
    bal: dict[int | str, int] = {a.agent_id: int(a.initial_base) for a in accounts}
    by_address = {a.address.lower(): a.agent_id for a in accounts}
    stakes = {a.address.lower(): stake0 for a in accounts if a.kind == "node"}
    rounds = expected_rounds(store, run_id) if rounds is None else rounds
    violations = {s.round: s.payload.get("violations", []) for s in store.settlements(run_id)}
    for er in rounds:
        for agent, d in er.deltas.items():
            bal[agent] = bal.get(agent, 0) + d
        for node, buyer, amount in violations.get(er.round, []):
            left = stakes.get(node.lower(), 0)
            paid = min(int(amount), left)
            if node.lower() in stakes:
                stakes[node.lower()] = left - paid
            key: int | str = by_address.get(buyer.lower(), buyer.lower())
            bal[key] = bal.get(key, 0) + paid
    return bal


def trades_root(trades: list[tuple[int, int, int, float, float, float]]) -> bytes:
    """The Merkle root of stored trades (buyer, seller, resource, quantity, price)."""
    from types import SimpleNamespace

    import numpy as np

    from ledger.chain.encoding import trade_leaves
    from ledger.chain.merkle import TradeTree

    if not trades:
        return TradeTree.of([]).root
    cols = list(zip(*trades, strict=True))
    ns = SimpleNamespace(buyer=np.array(cols[0]), seller=np.array(cols[1]), resource=np.array(cols[2]),
                         quantity=np.array(cols[3]), price=np.array(cols[4]))
    return TradeTree.of(trade_leaves(ns)).root


def audit_rounds(store: RunStore, run_id: int, session: ChainSession, *, from_block: int = 0,
                 rounds: list[RoundExpectation] | None = None) -> list[str]:
    """Per-round problems (each line names its round): stored vs outbox vs chain.

    Checks the number of rounds, one confirmed settlement per stored round, exactly one
    ``RoundSettled`` event per round, and the event's trade count, Merkle root and fee
    against the ones recomputed from the stored trades.
    """
    rounds = expected_rounds(store, run_id) if rounds is None else rounds
    settled = {s.round: s for s in store.settlements(run_id)}
    events: dict[int, list[Any]] = defaultdict(list)
    for ev in session.events_since(from_block):
        if ev.contract == "MarketSettlement" and ev.name == "RoundSettled" and ev.args["runId"] == run_id:
            events[int(ev.args["round"])].append(ev.args)
    problems = []
    run = store.get_run(run_id)
    if run is not None and run.status == "done" and len(rounds) != run.rounds_planned:
        problems.append(f"run {run_id}: {len(rounds)} rounds stored, {run.rounds_planned} planned")
    stored = {er.round for er in rounds}
    for er in rounds:
        if er.problem:
            problems.append(er.problem)
        s = settled.get(er.round)
        evs = events.get(er.round, [])
        if s is None:
            problems.append(f"round {er.round}: no settlement in the store's outbox")
        elif s.status != "confirmed":
            problems.append(f"round {er.round}: settlement {s.status}, not confirmed")
        if len(evs) != 1:
            problems.append(f"round {er.round}: settled {len(evs)} times on chain, expected once")
            continue
        ev = evs[0]
        if int(ev["tradeCount"]) != er.trade_count:
            problems.append(f"round {er.round}: {er.trade_count} trades stored, {ev['tradeCount']} on chain")
        root = trades_root(er.trades)
        if bytes(ev["tradesRoot"]) != root:
            problems.append(f"round {er.round}: Merkle root of the stored trades {root.hex()[:12]}... "
                            f"!= on chain {bytes(ev['tradesRoot']).hex()[:12]}...")
        if int(ev["fee"]) != er.fee:
            problems.append(f"round {er.round}: fee {er.fee} recomputed, {ev['fee']} on chain")
    for rnd in sorted(set(events) - stored):
        problems.append(f"round {rnd}: settled on chain but not stored")
    return problems
