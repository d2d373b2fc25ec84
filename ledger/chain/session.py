"""The high-level chain API: one object to deploy, fund, settle, query and verify.

>>> with ChainSession() as chain:                   # starts (and later stops) a local Anvil
...     chain.deploy()
...     chain.register_participants([1, 2, 3], budgets_credits=100.0, node_ids=[3], stakes=50.0)
...     r = chain.settle_round(run_id=1, round=0, net_credits={1: -2.5, 3: 2.4},
...                            prices=[0.1, nan, 0.02, nan], trades=trades,
...                            contributions={3: 12.0}, violations=[], fee_credits=0.1)
...     chain.balances([1, 3]), chain.verify_trade(1, 0, trade_index=0)

Money in: float credits (converted exactly with :mod:`ledger.units`); money out: integer
base units. Agents are addressed by id (:func:`ledger.chain.accounts.agent_address`); the
operator's key is the only one that signs. Settlement is idempotent per (run, round): a
round that is already on chain with the same content returns its original receipt, with
different content raises :class:`SettlementConflict`.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
from eth_account import Account

from ledger.chain.accounts import AddressBook, agent_address
from ledger.chain.anvil import AnvilProcess
from ledger.chain.deploy import (
    DEFAULT_EXIT_DELAY_S,
    DEFAULT_MIN_STAKE,
    ContractSet,
    Deployment,
    deploy_contracts,
)
from ledger.chain.encoding import (
    RoundBatch,
    TradesLike,
    build_batch,
    decode_prices,
    trade_leaves,
    unpack_delta,
)
from ledger.chain.errors import ChainError, ContractRevert, RpcError
from ledger.chain.merkle import TradeTree
from ledger.chain.roles import role_keys
from ledger.chain.rpc import RpcClient
from ledger.chain.tx import Sender, SentTx, TxRequest, hexint
from ledger.units import to_base

_CHUNK = 200  # accounts per depositFor / registerFor transaction


class SettlementConflict(ChainError):
    """The round is already settled on chain with different content."""


@dataclass(frozen=True)
class SettlementReceipt:
    """What settling one round produced.

    Attributes:
        run_id, round: the round's identity; ``key`` = ``keccak256(abi.encode(run_id, round))``.
        tx_hash, block, gas_used: the settling transaction (the original one when
            ``already_settled``).
        trades_root, trade_count, accounts: Merkle root, number of trades, accounts netted.
        fee: platform fee in base units.
        deltas: agent id -> balance change in base units (sums to ``-fee``).
        indices: agent id -> escrow account index used in the batch.
        already_settled: the round was found on chain (an idempotent re-send).
    """

    run_id: int
    round: int
    key: bytes
    tx_hash: str
    block: int
    gas_used: int
    trades_root: bytes
    trade_count: int
    accounts: int
    fee: int
    deltas: dict[int, int] = field(repr=False)
    already_settled: bool = False
    indices: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def gas_per_trade(self) -> float:
        """Gas used per trade (``inf`` for a round without trades)."""
        return self.gas_used / self.trade_count if self.trade_count else float("inf")


@dataclass
class PendingSettlement:
    """A settlement sent but not yet confirmed (see :meth:`ChainSession.submit_round`)."""

    batch: RoundBatch
    sent: SentTx


@dataclass(frozen=True)
class ChainEvent:
    """One decoded log of the project's contracts."""

    contract: str
    name: str
    args: dict[str, Any]
    block: int
    tx_hash: str
    log_index: int


class ChainSession:
    """Deploy or attach to the settlement contracts and drive them from Python.

    Args:
        rpc_url: an external JSON-RPC endpoint; ``None`` uses ``anvil``.
        anvil: a running (or startable) :class:`AnvilProcess`; when both are ``None`` the
            session starts its own in-memory Anvil and stops it on :meth:`close`.
        private_key: the operator's key; defaults to Anvil's first development key (required
            with ``rpc_url`` unless that node uses Anvil's development mnemonic). On a local
            Anvil without ``private_key``, admin/treasury/operator are dev accounts #0/#1/#2
            (:mod:`ledger.chain.roles`).
        treasury_key, admin_key: keys of the treasury and admin roles (default: the operator's).
        deployment: addresses to attach to (otherwise call :meth:`deploy` or :meth:`attach`).
        contracts: compiled contracts (compiled and cached on first use when omitted).
        poll_latency: seconds between receipt polls.
        keep_trees: how many rounds' Merkle trees to keep for :meth:`verify_trade`.
    """

    def __init__(
        self,
        rpc_url: str | None = None,
        anvil: AnvilProcess | None = None,
        *,
        private_key: str | None = None,
        deployment: Deployment | Mapping[str, Any] | None = None,
        contracts: ContractSet | None = None,
        poll_latency: float = 0.002,
        keep_trees: int = 256,
        treasury_key: str | None = None,
        admin_key: str | None = None,
    ) -> None:
        self._owned_anvil: AnvilProcess | None = None
        keys = role_keys(private_key, local=rpc_url is None, treasury_key=treasury_key,
                         admin_key=admin_key)
        if rpc_url is None:
            if anvil is None:
                anvil = self._owned_anvil = AnvilProcess()
            anvil.start()
            rpc_url = anvil.rpc_url
        self.anvil = anvil
        self.rpc_url = rpc_url
        try:
            self.contracts = contracts or ContractSet()
            self.rpc = RpcClient(rpc_url)
            self.sender = Sender(
                self.rpc, keys.operator, decoder=self.contracts.decoder, poll_latency=poll_latency
            )
            # The treasury funds and registers; the admin deploys and grants (same key: same Sender).
            self.treasury_sender = self._role_sender(keys.treasury, poll_latency)
            self.admin_sender = self._role_sender(keys.admin, poll_latency)
        except BaseException:
            self.close()
            raise
        self.book = AddressBook()
        self._indices: dict[int, int] = {}
        self._address_at: dict[int, str] = {}
        self._trees: OrderedDict[tuple[int, int], TradeTree] = OrderedDict()
        self._keep_trees = keep_trees
        self.deployment: Deployment | None = None
        if deployment is not None:
            self.attach(deployment)

    def _role_sender(self, key: str | None, poll_latency: float) -> Sender:
        """A sender for another role's key; the operator's own Sender when it is the same key
        (one Sender per account, so that one local nonce counter serves it)."""
        if key is None or Account.from_key(key).address == self.sender.address:
            return self.sender
        return Sender(self.rpc, key, decoder=self.contracts.decoder, poll_latency=poll_latency)

    # ------------------------------------------------------------------ lifecycle

    @property
    def operator(self) -> str:
        """The operator's address (the only signer)."""
        return self.sender.address

    def deploy(
        self,
        *,
        exit_delay_s: int = DEFAULT_EXIT_DELAY_S,
        min_stake_credits: float | None = None,
        admin: str | None = None,
        treasury: str | None = None,
        operator: str | None = None,
    ) -> Deployment:
        """Deploy and wire the four contracts; the session attaches to them.

        The admin key deploys; each role goes to this session's key for it unless an address
        is given (another admin gets the role by the two-step hand-over, see
        :func:`ledger.chain.deploy.accept_admin`).
        """
        min_stake = DEFAULT_MIN_STAKE if min_stake_credits is None else to_base(min_stake_credits)
        self.deployment = deploy_contracts(
            self.admin_sender, self.contracts, exit_delay_s=exit_delay_s, min_stake=min_stake,
            admin=admin or self.admin_sender.address,
            treasury=treasury or self.treasury_sender.address,
            operator=operator or self.sender.address,
        )
        return self.deployment

    def attach(self, addresses: Deployment | Mapping[str, Any]) -> Deployment:
        """Use contracts deployed earlier (checks that code exists at each address)."""
        dep = (
            addresses
            if isinstance(addresses, Deployment)
            else Deployment.from_dict(dict(addresses))
        )
        codes = self.rpc.batch(
            [
                ("eth_getCode", [a, "latest"])
                for a in (dep.token, dep.settlement, dep.incentives, dep.stakes)
            ]
        )
        for name, code in zip(("token", "settlement", "incentives", "stakes"), codes, strict=True):
            if isinstance(code, RpcError) or code in (None, "0x", ""):
                raise ChainError(f"no contract code at {name} address {getattr(dep, name)}")
        self.deployment = dep
        return dep

    def _dep(self) -> Deployment:
        if self.deployment is None:
            raise ChainError("no contracts: call deploy() or attach(addresses) first")
        return self.deployment

    def close(self) -> None:
        """Close the RPC connection and stop the Anvil this session started (if any)."""
        with contextlib.suppress(Exception):
            self.rpc.close()
        if self._owned_anvil is not None:
            self._owned_anvil.stop()
            self._owned_anvil = None

    def __enter__(self) -> ChainSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ low level

    def address(self, agent_id: int) -> str:
        """Address of agent ``agent_id``."""
        return self.book.address(agent_id)

    def call(self, contract: str, fn: str, *args: Any, block: str | int = "latest") -> Any:
        """Read a view function: ``call("settlement", "totalBalances")``."""
        name, address = self._contract(contract)
        abi = self.contracts[name].fn(fn)
        return abi.decode_output(self.sender.call(address, abi.encode(*args), block))

    def transact(self, contract: str, fn: str, *args: Any, gas: int = 300_000) -> dict[str, Any]:
        """Send one operator transaction and wait (raises :class:`ContractRevert`)."""
        name, address = self._contract(contract)
        return self.sender.transact(TxRequest(address, self.contracts[name].encode(fn, *args), gas))

    def _contract(self, contract: str) -> tuple[str, str]:
        dep = self._dep()
        table = {
            "token": ("EdgeCredit", dep.token),
            "settlement": ("MarketSettlement", dep.settlement),
            "incentives": ("ContributionIncentives", dep.incentives),
            "stakes": ("StakeRegistry", dep.stakes),
        }
        try:
            return table[contract]
        except KeyError:
            raise ChainError(f"unknown contract {contract!r}: use one of {sorted(table)}") from None

    def _req(self, contract: str, fn: str, *args: Any, gas: int = 300_000) -> TxRequest:
        name, address = self._contract(contract)
        return TxRequest(address, self.contracts[name].encode(fn, *args), gas)

    def block_number(self) -> int:
        """The latest block number."""
        return hexint(self.rpc.call("eth_blockNumber"))

    def snapshot(self) -> str:
        """``evm_snapshot`` (Anvil): an id to :meth:`revert` to."""
        return str(self.rpc.call("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """``evm_revert`` to a snapshot and resynchronize the local nonce."""
        if not self.rpc.call("evm_revert", snapshot_id):
            raise ChainError(f"evm_revert({snapshot_id}) failed")
        self.forget_local_state()

    def forget_local_state(self) -> None:
        """Re-read nonces and drop cached proofs and addresses: the chain was reverted under
        this session (by :meth:`revert`, or by another client such as the pytest plugin)."""
        for s in {id(x): x for x in (self.sender, self.treasury_sender, self.admin_sender)}.values():
            s.resync_nonce()
        self._trees.clear()
        self._indices.clear()
        self._address_at.clear()

    # ------------------------------------------------------------------ funding

    def register_participants(
        self,
        agent_ids: Sequence[int],
        budgets_credits: float | Sequence[float] | Mapping[int, float],
        node_ids: Sequence[int] = (),
        stakes: float | Sequence[float] | Mapping[int, float] = 0.0,
    ) -> list[dict[str, Any]]:
        """Mint credits and fund the agents' escrow balances; register edge nodes with stakes.

        Funding is one mint plus one ``depositFor`` per 200 agents; nodes are registered with
        ``registerFor`` (the treasury is their stake's controller); the treasury signs. Nodes already registered
        are skipped, so a resumed run can call this again for its nodes; deposits are not
        deduplicated (each call funds again).

        Returns:
            The receipts of the funding transactions.
        """
        agents = [int(a) for a in agent_ids]
        budgets = _per_agent(agents, budgets_credits, "budgets_credits")
        nodes = [int(n) for n in node_ids]
        node_stakes = _per_agent(nodes, stakes, "stakes")
        if nodes:
            infos = self._batch_calls("stakes", "nodeInfo", [(self.address(n),) for n in nodes])
            keep = [i for i, info in enumerate(infos) if int(info[0], 16) == 0]
            nodes = [nodes[i] for i in keep]
            node_stakes = [node_stakes[i] for i in keep]
        total_budget, total_stake = sum(budgets), sum(node_stakes)
        dep = self._dep()
        reqs: list[TxRequest] = []
        if total_budget + total_stake:
            reqs.append(
                self._req("token", "mint", self.treasury_sender.address, total_budget + total_stake,
                          gas=120_000)
            )
        if total_budget:
            reqs.append(self._req("token", "approve", dep.settlement, total_budget, gas=80_000))
            for lo, hi in _funded_chunks(budgets, _CHUNK):
                chunk = agents[lo:hi]
                reqs.append(
                    self._req(
                        "settlement",
                        "depositFor",
                        [self.address(a) for a in chunk],
                        budgets[lo:hi],
                        gas=150_000 + 80_000 * len(chunk),
                    )
                )
        if nodes and total_stake:
            reqs.append(self._req("token", "approve", dep.stakes, total_stake, gas=80_000))
            for i in range(0, len(nodes), _CHUNK):
                chunk = nodes[i : i + _CHUNK]
                reqs.append(
                    self._req(
                        "stakes",
                        "registerFor",
                        [self.address(n) for n in chunk],
                        node_stakes[i : i + _CHUNK],
                        gas=120_000 + 70_000 * len(chunk),
                    )
                )
        receipts = self.treasury_sender.transact_many(reqs) if reqs else []
        self.account_indices(agents)
        return receipts

    def account_indices(self, agent_ids: Iterable[int]) -> dict[int, int]:
        """Escrow account index per agent (0 when no account is open); cached once known."""
        ids = [int(a) for a in agent_ids]
        unknown = list(dict.fromkeys(a for a in ids if a not in self._indices))
        for i in range(0, len(unknown), 1000):
            chunk = unknown[i : i + 1000]
            found = self.call("settlement", "indicesOf", [self.address(a) for a in chunk])
            for a, idx in zip(chunk, found, strict=True):
                if idx:
                    self._indices[a] = int(idx)
                    self._address_at[int(idx)] = self.address(a)
        return {a: self._indices.get(a, 0) for a in ids}

    def accounts_at(self, indices: Iterable[int]) -> dict[int, str]:
        """Address of each escrow account index (cached)."""
        idx = [int(i) for i in indices]
        unknown = list(dict.fromkeys(i for i in idx if i not in self._address_at))
        if unknown:
            found = self._batch_calls("settlement", "accountAt", [(i,) for i in unknown])
            self._address_at.update(zip(unknown, found, strict=True))
        return {i: self._address_at[i] for i in idx}

    # ------------------------------------------------------------------ settlement

    def submit_round(
        self,
        run_id: int,
        round: int,
        net_credits: Mapping[int, float],
        prices: Sequence[float] | np.ndarray,
        trades: TradesLike | None,
        contributions: Mapping[int, float] | None = None,
        violations: Sequence[tuple[int, int, float]] = (),
        fee_credits: float = 0.0,
    ) -> PendingSettlement:
        """Build, sign and send one round's settlement without waiting (pipelining).

        Confirm with :meth:`wait_rounds`. Arguments as in :meth:`settle_round`.
        """
        batch = self.build_batch(
            run_id, round, net_credits, prices, trades, contributions, violations, fee_credits
        )
        return self.submit_batch(batch)

    def submit_batch(self, batch: RoundBatch) -> PendingSettlement:
        """Send a batch built earlier (e.g. one re-sent from a store's outbox) without waiting."""
        for aid in batch.deltas_by_agent:
            self.book.address(aid)
        self._remember_tree(batch.run_id, batch.round, batch.tree)
        req = self._req("settlement", "settleRound", batch.as_abi_tuple(), gas=batch.gas_limit())
        (sent,) = self.sender.send([req])
        return PendingSettlement(batch, sent)

    def build_batch(
        self,
        run_id: int,
        round: int,
        net_credits: Mapping[int, float],
        prices: Sequence[float] | np.ndarray,
        trades: TradesLike | None,
        contributions: Mapping[int, float] | None = None,
        violations: Sequence[tuple[int, int, float]] = (),
        fee_credits: float = 0.0,
    ) -> RoundBatch:
        """The round's batch (as :func:`ledger.chain.encoding.build_batch`), with the agents'
        escrow account indices filled in from the chain (cached)."""
        return build_batch(
            run_id,
            round,
            net_credits,
            prices,
            trades,
            contributions,
            violations,
            fee_credits,
            index_of=self.account_indices(net_credits),
        )

    def wait_rounds(
        self, pending: Sequence[PendingSettlement], timeout: float = 120.0
    ) -> list[SettlementReceipt]:
        """Wait for submitted rounds; idempotent replays resolve to the original receipt."""
        receipts = self.sender.wait([p.sent for p in pending], timeout)
        return [self._settled(p, r) for p, r in zip(pending, receipts, strict=True)]

    def settle_round(
        self,
        run_id: int,
        round: int,
        net_credits: Mapping[int, float],
        prices: Sequence[float] | np.ndarray,
        trades: TradesLike | None,
        contributions: Mapping[int, float] | None = None,
        violations: Sequence[tuple[int, int, float]] = (),
        fee_credits: float = 0.0,
    ) -> SettlementReceipt:
        """Settle one market round on chain and wait for it.

        Args:
            run_id: simulation run id (uint64).
            round: round number within the run (uint64).
            net_credits: agent id -> credits received (+) or paid (-) this round; with the fee
                they must sum to zero (rounding residue is assigned by :func:`balance_batch`).
            prices: (4,) clearing prices in credits per unit, ``nan`` where nothing traded.
            trades: the round's trades (``market.orders.Trades`` or any object with
                ``buyer, seller, resource, quantity, price`` arrays); their Merkle root goes
                on chain.
            contributions: provider agent id -> work units delivered (attested for rewards).
            violations: (node id, buyer id, credits at stake) SLA violations to compensate.
            fee_credits: platform fee in credits (to the incentives pool).

        Returns:
            The :class:`SettlementReceipt` (``already_settled`` when the identical round was
            on chain already).

        Raises:
            BatchError: inputs that cannot form a valid batch (named field).
            ContractRevert: the contract refused it (e.g. ``InsufficientBalance``).
            SettlementConflict: the round is on chain with different content.
        """
        pending = self.submit_round(
            run_id, round, net_credits, prices, trades, contributions, violations, fee_credits
        )
        return self.wait_rounds([pending])[0]

    def _settled(self, p: PendingSettlement, receipt: dict[str, Any]) -> SettlementReceipt:
        b = p.batch
        if hexint(receipt["status"]) != 1:
            revert = self.sender.replay_revert(p.sent, receipt)
            if revert.name == "RoundAlreadySettled":
                return self._existing(b)
            raise revert
        return SettlementReceipt(
            run_id=b.run_id,
            round=b.round,
            key=self._round_key(b.run_id, b.round),
            tx_hash=p.sent.tx_hash,
            block=hexint(receipt["blockNumber"]),
            gas_used=hexint(receipt["gasUsed"]),
            trades_root=b.trades_root,
            trade_count=b.trade_count,
            accounts=len(b.deltas),
            fee=b.fee,
            deltas=dict(b.deltas_by_agent),
            indices=dict(b.index_by_agent),
        )

    def _existing(self, b: RoundBatch) -> SettlementReceipt:
        """The receipt of a round already on chain, checked against ``b``."""
        key = self._round_key(b.run_id, b.round)
        logs = self._logs(
            self._dep().settlement,
            [self.contracts["MarketSettlement"].events["RoundSettled"].topic, key],
        )
        if not logs:
            raise ChainError(
                f"round {b.run_id}/{b.round} is settled but its RoundSettled event was not found"
            )
        ev = logs[0]
        args = ev.args
        if (
            args["tradesRoot"] != b.trades_root
            or list(args["deltas"]) != b.deltas
            or args["fee"] != b.fee
        ):
            raise SettlementConflict(
                f"round {b.run_id}/{b.round} is already settled with different content "
                f"(root {args['tradesRoot'].hex()[:12]}... vs {b.trades_root.hex()[:12]}..., "
                f"{len(args['deltas'])} vs {len(b.deltas)} accounts, fee {args['fee']} vs {b.fee})"
            )
        differs = self._sent_differs(b, ev)
        if differs:
            raise SettlementConflict(
                f"round {b.run_id}/{b.round} is already settled with different content "
                f"({', '.join(differs)} differ)"
            )
        receipt = self.rpc.call("eth_getTransactionReceipt", ev.tx_hash)
        return SettlementReceipt(
            run_id=b.run_id,
            round=b.round,
            key=key,
            tx_hash=ev.tx_hash,
            block=ev.block,
            gas_used=hexint(receipt["gasUsed"]) if receipt else 0,
            trades_root=b.trades_root,
            trade_count=b.trade_count,
            accounts=len(b.deltas),
            fee=b.fee,
            deltas=dict(b.deltas_by_agent),
            indices=dict(b.index_by_agent),
            already_settled=True,
        )

    def _sent_differs(self, b: RoundBatch, ev: ChainEvent) -> list[str]:
        """Fields of ``b`` that differ from the batch that settled the round: prices from its
        event; contributions and violations from the settling transaction's own input."""
        from eth_abi import decode as abi_decode

        out = []
        if [int(p) for p in ev.args["prices"]] != [int(p) for p in b.prices]:
            out.append("prices")
        tx = self.rpc.call("eth_getTransactionByHash", ev.tx_hash)
        fn = self.contracts["MarketSettlement"].fn("settleRound")
        data = bytes.fromhex(str(tx["input"])[2:]) if tx else b""
        if data[:4] != fn.selector:
            return [*out, "contributions", "violations"]  # not a plain settleRound call: unknown
        (sent,) = abi_decode(list(fn.inputs), data[4:])
        if [int(c) for c in sent[7]] != [int(c) for c in b.contributions]:
            out.append("contributions")
        norm = [(str(n).lower(), str(u).lower(), int(a)) for n, u, a in sent[8]]
        if norm != [(n.lower(), u.lower(), int(a)) for n, u, a in b.violations]:
            out.append("violations")
        return out

    @staticmethod
    def _round_key(run_id: int, round_: int) -> bytes:
        from eth_utils import keccak

        return keccak(int(run_id).to_bytes(32, "big") + int(round_).to_bytes(32, "big"))

    def _remember_tree(self, run_id: int, round_: int, tree: TradeTree | None) -> None:
        if tree is None or self._keep_trees <= 0:
            return
        self._trees[(run_id, round_)] = tree
        self._trees.move_to_end((run_id, round_))
        while len(self._trees) > self._keep_trees:
            self._trees.popitem(last=False)

    def is_settled(self, run_id: int, round: int) -> bool:
        """Whether the round is on chain."""
        return bool(self.call("settlement", "isSettled", run_id, round))

    def round_info(self, run_id: int, round: int) -> dict[str, Any]:
        """The stored record of a settled round (prices in credits per unit)."""
        root, prices, block, trade_count, accounts, fee = self.call(
            "settlement", "getRound", run_id, round
        )
        return {
            "trades_root": root,
            "prices": decode_prices(prices),
            "block": block,
            "trade_count": trade_count,
            "accounts": accounts,
            "fee": fee,
        }

    def verify_trade(
        self, run_id: int, round: int, trade_index: int, trades: TradesLike | None = None
    ) -> bool:
        """Prove on chain that trade ``trade_index`` of the round is in its settled root.

        Uses the round's tree kept by this session, or rebuilds it from ``trades`` (needed
        for rounds settled by another process). Returns the contract's ``verifyTrade``.
        """
        tree = (
            TradeTree.of(trade_leaves(trades))
            if trades is not None
            else self._trees.get((run_id, round))
        )
        if tree is None:
            raise ChainError(f"no trades kept for round {run_id}/{round}: pass trades=")
        leaf = tree.values[trade_index]
        proof = tree.proof(trade_index)
        return bool(self.call("settlement", "verifyTrade", run_id, round, *leaf, proof))

    # ------------------------------------------------------------------ queries

    def balances(self, agent_ids: Iterable[int]) -> dict[int, int]:
        """Escrow balances in base units, by agent id."""
        ids = [int(a) for a in agent_ids]
        out: dict[int, int] = {}
        for i in range(0, len(ids), 1000):
            chunk = ids[i : i + 1000]
            values = self.call("settlement", "balancesOf", [self.address(a) for a in chunk])
            out.update(zip(chunk, values, strict=True))
        return out

    def balances_of(self, addresses: Sequence[str]) -> dict[str, int]:
        """Escrow balances in base units, by address."""
        out: dict[str, int] = {}
        for i in range(0, len(addresses), 1000):
            chunk = list(addresses[i : i + 1000])
            out.update(zip(chunk, self.call("settlement", "balancesOf", chunk), strict=True))
        return out

    def rewards_owed(self, agent_ids: Iterable[int]) -> dict[int, int]:
        """Accrued, unclaimed rewards in base units, by agent id."""
        ids = [int(a) for a in agent_ids]
        values = self._batch_calls("incentives", "owed", [(self.address(a),) for a in ids])
        return dict(zip(ids, values, strict=True))

    def stakes_of(self, node_ids: Iterable[int]) -> dict[int, int]:
        """Current node stakes in base units, by node id."""
        ids = [int(n) for n in node_ids]
        values = self._batch_calls("stakes", "stakeOf", [(self.address(n),) for n in ids])
        return dict(zip(ids, values, strict=True))

    def claim_rewards(self, agent_ids: Iterable[int]) -> dict[int, int]:
        """Pay out the accrued rewards of ``agent_ids`` (to their own addresses); by agent id."""
        owed = {a: v for a, v in self.rewards_owed(agent_ids).items() if v > 0}
        reqs = [self._req("incentives", "claimFor", self.address(a), gas=120_000) for a in owed]
        self.sender.transact_many(reqs)
        return owed

    def request_exit(self, node_ids: Iterable[int]) -> None:
        """Start the exit of nodes registered by the treasury (unlocks after the delay)."""
        self.treasury_sender.transact_many(
            [self._req("stakes", "requestExit", self.address(n), gas=100_000) for n in node_ids]
        )

    def withdraw_stakes(self, node_ids: Iterable[int]) -> None:
        """Withdraw exited nodes' stakes back to the treasury (after the delay)."""
        self.treasury_sender.transact_many(
            [self._req("stakes", "withdrawStake", self.address(n), gas=150_000) for n in node_ids]
        )

    def _batch_calls(
        self, contract: str, fn: str, arg_lists: Sequence[tuple[Any, ...]]
    ) -> list[Any]:
        name, address = self._contract(contract)
        abi = self.contracts[name].fn(fn)
        calls = [
            ("eth_call", [{"to": address, "data": "0x" + abi.encode(*args).hex()}, "latest"])
            for args in arg_lists
        ]
        out = []
        for i in range(0, len(calls), 500):
            for r in self.rpc.batch(calls[i : i + 500]):
                if isinstance(r, RpcError):
                    revert = self.contracts.decoder.from_rpc_error(r)
                    raise revert if revert is not None else r
                out.append(abi.decode_output(bytes.fromhex(r[2:])))
        return out

    # ------------------------------------------------------------------ events

    def events_since(self, block: int = 0, to_block: int | str = "latest") -> list[ChainEvent]:
        """Every decoded event of the four contracts from ``block`` on, in chain order."""
        dep = self._dep()
        return self._logs(
            [dep.token, dep.settlement, dep.incentives, dep.stakes], None, block, to_block
        )

    def _logs(
        self,
        address: str | list[str],
        topics: list[Any] | None,
        from_block: int = 0,
        to_block: int | str = "latest",
    ) -> list[ChainEvent]:
        dep = self._dep()
        names = {
            dep.token.lower(): "EdgeCredit",
            dep.settlement.lower(): "MarketSettlement",
            dep.incentives.lower(): "ContributionIncentives",
            dep.stakes.lower(): "StakeRegistry",
        }
        flt: dict[str, Any] = {
            "address": address,
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block) if isinstance(to_block, int) else to_block,
        }
        if topics:
            flt["topics"] = ["0x" + t.hex() if isinstance(t, bytes) else t for t in topics]
        out: list[ChainEvent] = []
        for log in self.rpc.call("eth_getLogs", flt):
            contract = names.get(log["address"].lower(), "?")
            abi = self.contracts.abis.get(contract)
            topic_bytes = [bytes.fromhex(t[2:]) for t in log["topics"]]
            ev = abi.events_by_topic.get(topic_bytes[0]) if abi and topic_bytes else None
            if ev is None:
                continue
            out.append(
                ChainEvent(
                    contract=contract,
                    name=ev.name,
                    args=ev.decode(topic_bytes, bytes.fromhex(log["data"][2:])),
                    block=hexint(log["blockNumber"]),
                    tx_hash=log["transactionHash"],
                    log_index=hexint(log["logIndex"]),
                )
            )
        return out

    def round_deltas(self, event: ChainEvent) -> dict[str, int]:
        """Address (lower-case) -> delta (base units) of a ``RoundSettled`` event."""
        if event.name != "RoundSettled":
            raise ValueError(f"not a RoundSettled event: {event.name}")
        pairs = [unpack_delta(e) for e in event.args["deltas"]]
        addresses = self.accounts_at(i for i, _ in pairs)
        return {addresses[i].lower(): d for i, d in pairs}


def _funded_chunks(amounts: Sequence[int], size: int) -> list[tuple[int, int]]:
    """[lo, hi) slices of about `size` accounts, each moving a non-zero total.

    ``depositFor`` reverts with ``ZeroAmount`` on a zero total, yet a zero deposit is how a
    seller's escrow account is opened: a chunk of zeros is merged into its neighbour.
    """
    bounds = [(i, min(i + size, len(amounts))) for i in range(0, len(amounts), size)]
    merged: list[tuple[int, int]] = []
    for lo, hi in bounds:
        if merged and (sum(amounts[lo:hi]) == 0 or sum(amounts[merged[-1][0]:merged[-1][1]]) == 0):
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _per_agent(
    ids: Sequence[int], value: float | Sequence[float] | Mapping[int, float], what: str
) -> list[int]:
    """Base units per id from a scalar, a sequence aligned with ``ids`` or a mapping."""
    if isinstance(value, Mapping):
        missing = [i for i in ids if i not in value]
        if missing:
            raise ValueError(f"{what}: no value for ids {missing[:5]}")
        out = [to_base(value[i]) for i in ids]
    elif isinstance(value, int | float | np.floating | np.integer):
        out = [to_base(float(value))] * len(ids)
    else:
        seq = list(value)
        if len(seq) != len(ids):
            raise ValueError(f"{what}: {len(seq)} values for {len(ids)} ids")
        out = [to_base(float(v)) for v in seq]
    if any(v < 0 for v in out):
        raise ValueError(f"{what}: values must be non-negative")
    return out


__all__ = [
    "ChainEvent",
    "ChainSession",
    "ContractRevert",
    "PendingSettlement",
    "SettlementConflict",
    "SettlementReceipt",
    "agent_address",
]
