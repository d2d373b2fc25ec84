"""Reconcile an expected ledger with the chain, to the base unit.

Three views of every escrow balance are compared:

1. ``expected``: what the caller's own ledger says (e.g. the run store's rows),
2. ``from_events``: rebuilt from the settlement contract's events alone
   (``AccountOpened`` index -> address, ``Deposited`` +, ``Withdrawn`` -, ``RoundSettled``
   packed deltas, ``Compensated`` +),
3. ``on_chain``: the contract's ``balanceOf`` now.

They must agree for every account that appears in any of them. The report lists every
disagreement with all three numbers, and :meth:`ReconcileReport.diff` prints a table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.chain.accounts import agent_address
from ledger.chain.encoding import unpack_delta
from ledger.units import from_base_decimal

if TYPE_CHECKING:
    from ledger.chain.session import ChainEvent, ChainSession


@dataclass(frozen=True)
class Mismatch:
    """One account whose three balances (base units) do not all agree."""

    address: str
    agent_id: int | None
    expected: int | None
    from_events: int
    on_chain: int

    @property
    def label(self) -> str:
        """``agent 7 (0x...)`` or the address."""
        return (
            f"agent {self.agent_id} ({self.address})" if self.agent_id is not None else self.address
        )


@dataclass
class ReconcileReport:
    """Outcome of :func:`reconcile`."""

    accounts: int
    rounds: int
    events: int
    mismatches: list[Mismatch] = field(default_factory=list)
    total_expected: int = 0
    total_from_events: int = 0
    total_on_chain: int = 0
    contract_total: int = 0

    @property
    def ok(self) -> bool:
        """True when all three views agree for every account and the contract's total."""
        return not self.mismatches and self.total_from_events == self.contract_total

    def diff(self) -> str:
        """A readable table of the disagreements (empty-ish summary when ``ok``)."""
        head = f"{self.accounts} accounts, {self.rounds} settled rounds, {self.events} events: " + (
            "all balances agree to the base unit"
            if self.ok
            else f"{len(self.mismatches)} mismatching"
        )
        lines = [head]
        if self.total_from_events != self.contract_total:
            lines.append(
                f"  contract totalBalances {self.contract_total} != sum rebuilt from events {self.total_from_events}"
            )
        if self.mismatches:
            lines.append(f"  {'account':<58} {'expected':>18} {'from events':>18} {'on chain':>18}")
            for m in self.mismatches:
                exp = "-" if m.expected is None else str(m.expected)
                lines.append(f"  {m.label:<58} {exp:>18} {m.from_events:>18} {m.on_chain:>18}")
            lines.append("  (base units; 1 credit = 1,000,000)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.diff()


def rebuild_balances(
    events: list[ChainEvent], resolve: Callable[[list[int]], Mapping[int, str]] | None = None
) -> tuple[dict[str, int], int]:
    """Escrow balances (lower-case address -> base units) from settlement events alone.

    Args:
        events: the settlement's events from its deployment on, in chain order.
        resolve: index -> address lookup for accounts opened before the first event given
            (only needed when ``events`` start after the deployment).

    Returns ``(balances, rounds settled)``.
    """
    address_at: dict[int, str] = {}
    for ev in events:
        if ev.contract == "MarketSettlement" and ev.name == "AccountOpened":
            address_at[ev.args["index"]] = ev.args["account"].lower()
    balances: dict[str, int] = defaultdict(int)
    rounds = 0
    for ev in events:
        if ev.contract != "MarketSettlement":
            continue
        if ev.name == "Deposited":
            balances[ev.args["account"].lower()] += ev.args["amount"]
        elif ev.name == "Withdrawn":
            balances[ev.args["account"].lower()] -= ev.args["amount"]
        elif ev.name == "RoundSettled":
            rounds += 1
            pairs = [unpack_delta(e) for e in ev.args["deltas"]]
            unknown = [i for i, _ in pairs if i not in address_at]
            if unknown:
                if resolve is None:
                    raise ValueError(f"account indices {unknown[:5]} not opened in these events")
                address_at.update({i: a.lower() for i, a in resolve(unknown).items()})
            for index, delta in pairs:
                balances[address_at[index]] += delta
        elif ev.name == "Compensated":
            balances[ev.args["buyer"].lower()] += ev.args["amount"]
    return dict(balances), rounds


def reconcile(
    expected: Mapping[int | str, int],
    chain_session: ChainSession,
    *,
    from_block: int = 0,
) -> ReconcileReport:
    """Compare ``expected`` escrow balances with the chain's events and state.

    Args:
        expected: account -> balance in base units; an account is an agent id (int) or an
            address (str). Accounts absent from ``expected`` but present on chain are
            reported with ``expected=None`` when their balance is not zero.
        chain_session: an attached :class:`~ledger.chain.session.ChainSession`.
        from_block: first block to read events from (the deployment block or earlier).
    """
    session = chain_session
    exp: dict[str, int] = {}
    ids: dict[str, int] = {}
    for account, value in expected.items():
        if isinstance(account, str):
            addr = account.lower()
        else:
            addr = agent_address(int(account)).lower()
            ids[addr] = int(account)
        exp[addr] = exp.get(addr, 0) + int(value)

    events = session.events_since(from_block)
    rebuilt, rounds = rebuild_balances(events, session.accounts_at)
    accounts = sorted(set(exp) | set(rebuilt))
    on_chain_by_addr = (
        {a.lower(): v for a, v in session.balances_of(accounts).items()} if accounts else {}
    )

    mismatches = []
    for addr in accounts:
        e = exp.get(addr)
        r = rebuilt.get(addr, 0)
        c = on_chain_by_addr.get(addr, 0)
        expected_value = e if e is not None else (0 if r == 0 and c == 0 else None)
        if expected_value is None or not (expected_value == r == c):
            aid = ids.get(addr, session.book.agent_id(addr))
            mismatches.append(Mismatch(addr, aid, e, r, c))
    contract_total = int(session.call("settlement", "totalBalances"))
    return ReconcileReport(
        accounts=len(accounts),
        rounds=rounds,
        events=len(events),
        mismatches=mismatches,
        total_expected=sum(exp.values()),
        total_from_events=sum(rebuilt.values()),
        total_on_chain=sum(on_chain_by_addr.values()),
        contract_total=contract_total,
    )


def credits(base_units: int) -> str:
    """Base units as an exact credit string (``1.500000``), for reports."""
    return f"{from_base_decimal(base_units):.6f}"
