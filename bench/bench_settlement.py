"""Settlement cost and speed: netted round batches vs one ERC-20 transfer per trade.

On a fresh local Anvil, 200 participants (160 devices buying, 40 edge nodes selling) trade
1,000 times per round. We settle each round as one netted batch (per-account deltas, fee,
prices, Merkle root of the trades, contributions, violations) and compare, in the same run,
with the baseline of one ERC-20 ``transfer`` per trade sent through the same fast path
(local signing, preset nonces, pipelined sends).

Reported (final JSON line):
- gas: amortized gas per trade of the batches vs the baseline's gas per transfer
  (target <= 2,000 gas/trade and >= 20x less);
- speed: end-to-end settled trades/s, from a round's trades in Python (netting, Merkle tree,
  encoding, signing, sending) to confirmed receipts, pipelined over the rounds, vs the
  baseline's trades/s (target >= 5,000 trades/s). ``ours_s``/``baseline_s`` are seconds per
  1,000 trades; ``ratio`` = baseline / ours.
- event style: gas of logging 200 deltas as one packed event vs one event per account.

    .venv/bin/python bench/bench_settlement.py [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.chain.abi import ContractABI
from ledger.chain.accounts import agent_address
from ledger.chain.anvil import AnvilProcess
from ledger.chain.compiler import load_artifacts
from ledger.chain.encoding import net_trades
from ledger.chain.paths import CONTRACTS_TEST
from ledger.chain.session import ChainSession
from ledger.chain.tx import Sender, TxRequest, hexint
from ledger.units import to_base_array

try:
    from bench._common import parser, report
except ImportError:  # pragma: no cover - the helper is optional
    import argparse
    import json

    def parser(description: str) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(description=description)
        p.add_argument("--quick", action="store_true")
        p.add_argument("--seed", type=int, default=0)
        return p

    def report(name: str, ours_s: float, baseline_s: float, target: str, **extra: Any) -> dict[str, Any]:
        line = {"name": name, "ours_s": ours_s, "baseline_s": baseline_s,
                "ratio": baseline_s / ours_s, "target": target, **extra}  # fmt: skip
        print(json.dumps(line), flush=True)
        return line


N_DEVICES, N_NODES = 160, 40
DEVICES = np.arange(0, N_DEVICES)
NODES = np.arange(1000, 1000 + N_NODES)
TRADES_PER_ROUND = 1000
PLATFORM_CUT = 0.02
BASE_PRICES = np.array([0.05, 0.20, 0.002, 1.5])  # credits per unit (Mbps, GB, GFLOP, LU)


def make_round(rng: np.random.Generator, n: int = TRADES_PER_ROUND) -> SimpleNamespace:
    """One round's trades, shaped like ``market.orders.Trades``."""
    resource = rng.integers(0, 4, n)
    price = np.round(BASE_PRICES[resource] * rng.uniform(0.8, 1.2, n), 6)
    return SimpleNamespace(
        buyer=rng.choice(DEVICES, n),
        seller=rng.choice(NODES, n),
        resource=resource,
        quantity=np.round(rng.uniform(0.5, 20.0, n), 3),
        price=price,
        seller_price=price * (1 - PLATFORM_CUT),
    )


def round_inputs(tr: SimpleNamespace, rng: np.random.Generator) -> dict[str, Any]:
    """Netting, clearing prices, contributions and violations of a round (all numpy)."""
    net, fee = net_trades(tr)
    sellers, inv = np.unique(tr.seller, return_inverse=True)
    work = np.bincount(inv, weights=tr.quantity)
    prices = np.array([np.median(tr.price[tr.resource == r]) if np.any(tr.resource == r) else np.nan for r in range(4)])
    violations = [(int(rng.choice(NODES)), int(rng.choice(DEVICES)), 0.25) for _ in range(2)]
    return {
        "net_credits": net,
        "prices": prices,
        "trades": tr,
        "contributions": dict(zip(sellers.tolist(), work.tolist(), strict=True)),
        "violations": violations,
        "fee_credits": fee,
    }


def settle_batches(session: ChainSession, rounds: list[SimpleNamespace], run_id: int, seed: int) -> tuple[float, list]:
    """Pipelined end to end: Python trades -> netted batches -> confirmed receipts."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    pending = [session.submit_round(run_id, i, **round_inputs(tr, rng)) for i, tr in enumerate(rounds)]
    receipts = session.wait_rounds(pending)
    return time.perf_counter() - t0, receipts


def settle_sequential(session: ChainSession, rounds: list[SimpleNamespace], run_id: int, seed: int) -> float:
    """One round at a time, waiting for each receipt (latency view)."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for i, tr in enumerate(rounds):
        session.settle_round(run_id, i, **round_inputs(tr, rng))
    return time.perf_counter() - t0


class TransferBaseline:
    """One ERC-20 transfer per trade, each signed by its buyer, through the same fast path."""

    def __init__(self, session: ChainSession) -> None:
        from eth_utils import keccak

        self.session = session
        self.keys = {int(d): "0x" + keccak(text=f"edgemarket/bench/buyer/{int(d)}").hex() for d in DEVICES}
        self.senders = {d: Sender(session.rpc, k) for d, k in self.keys.items()}
        rpc = session.rpc
        rpc.batch([("anvil_setBalance", [s.address, hex(10**22)]) for s in self.senders.values()])
        for s in self.senders.values():
            s.refresh_fees()
        mints = [session._req("token", "mint", s.address, 10**15, gas=100_000) for s in self.senders.values()]
        # minting is the treasury's role (a separate key from the operator's on a local Anvil)
        session.treasury_sender.transact_many(mints)
        # sellers already hold credits, so transfers are the common nonzero -> nonzero case
        session.treasury_sender.transact_many(
            [session._req("token", "mint", agent_address(int(n)), 10**6, gas=100_000) for n in NODES]
        )
        self.token_abi: ContractABI = session.contracts["EdgeCredit"]
        assert session.deployment is not None
        self.token = session.deployment.token

    def run(self, tr: SimpleNamespace) -> tuple[float, list[int]]:
        """Settle ``tr`` as one transfer per trade; (seconds, gas used per transfer)."""
        t0 = time.perf_counter()
        amounts = to_base_array(np.asarray(tr.quantity) * np.asarray(tr.price))
        raws, hashes = [], []
        for b, s, amount in zip(tr.buyer.tolist(), tr.seller.tolist(), amounts, strict=True):
            sender = self.senders[b]
            data = self.token_abi.encode("transfer", agent_address(s), amount)
            h, raw = sender.sign(TxRequest(self.token, data, 80_000), sender.nonce)
            sender.nonce += 1
            raws.append(raw)
            hashes.append(h)
        rpc = self.session.rpc
        for i in range(0, len(raws), 250):
            for r in rpc.batch([("eth_sendRawTransaction", [raw]) for raw in raws[i : i + 250]]):
                if not isinstance(r, str):
                    raise RuntimeError(f"baseline send failed: {r}")
        receipts = self.session.sender.wait(hashes, timeout=600)
        elapsed = time.perf_counter() - t0
        gas = [hexint(r["gasUsed"]) for r in receipts]
        if any(hexint(r["status"]) != 1 for r in receipts):
            raise RuntimeError("a baseline transfer reverted")
        return elapsed, gas


def event_style_gas(session: ChainSession, deltas: list[int]) -> dict[str, float]:
    """Gas per account of logging deltas as one packed event vs one event per account."""
    probe = CONTRACTS_TEST / "EventCostProbe.sol"
    art = load_artifacts([probe])["EventCostProbe"]
    abi = ContractABI(art.abi, "EventCostProbe")
    address = session.sender.transact(TxRequest(None, abi.encode_constructor(art.bytecode), 1_000_000))[
        "contractAddress"
    ]
    key = b"\x01" * 32
    gas = {}
    for fn in ("emitNothing", "emitPacked", "emitPerAccount"):
        r = session.sender.transact(TxRequest(address, abi.encode(fn, key, deltas), 3_000_000))
        gas[fn] = hexint(r["gasUsed"])
    n = len(deltas)
    return {
        "event_packed_gas_per_account": round((gas["emitPacked"] - gas["emitNothing"]) / n, 1),
        "event_per_account_gas_per_account": round((gas["emitPerAccount"] - gas["emitNothing"]) / n, 1),
    }


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    n_rounds = 4 if args.quick else 20
    rng = np.random.default_rng(args.seed)
    with AnvilProcess(gas_limit=100_000_000) as node:
        session = ChainSession(anvil=node)
        session.deploy()
        participants = [int(x) for x in np.concatenate([DEVICES, NODES])]
        session.register_participants(participants, 1e6, node_ids=[int(n) for n in NODES], stakes=1e3)

        # warm-up round: first writes (new incentive slots, round storage layout) are paid once
        session.settle_round(0, 0, **round_inputs(make_round(rng), rng))

        rounds = [make_round(rng) for _ in range(n_rounds)]
        seq_s = settle_sequential(session, rounds[: max(1, n_rounds // 4)], run_id=1, seed=args.seed)
        n_seq = max(1, n_rounds // 4)
        ours_s, receipts = settle_batches(session, rounds, run_id=2, seed=args.seed)
        trades = sum(r.trade_count for r in receipts)
        gas = sum(r.gas_used for r in receipts)
        gas_per_trade = gas / trades
        accounts = float(np.mean([r.accounts for r in receipts]))

        baseline = TransferBaseline(session)
        base_rounds = rounds[:1] if args.quick else rounds[:2]
        base_s, base_gas = 0.0, []
        for tr in base_rounds:
            s, g = baseline.run(tr)
            base_s += s
            base_gas += g
        base_trades = sum(len(tr.buyer) for tr in base_rounds)
        base_gas_per_trade = float(np.mean(base_gas))

        events = event_style_gas(session, session_deltas(receipts[-1]))
        session.close()

    ours_per_k = ours_s / trades * 1000
    base_per_k = base_s / base_trades * 1000
    report(
        "settlement",
        ours_per_k,
        base_per_k,
        "<= 2000 gas/trade and >= 20x less gas than one ERC-20 transfer per trade; >= 5000 settled trades/s",
        unit="seconds per 1000 trades (end to end, pipelined)",
        rounds=n_rounds,
        trades_per_round=TRADES_PER_ROUND,
        participants=len(participants),
        accounts_per_batch=accounts,
        gas_per_trade=round(gas_per_trade, 1),
        gas_per_round=int(gas / len(receipts)),
        baseline_gas_per_trade=round(base_gas_per_trade, 1),
        gas_ratio=round(base_gas_per_trade / gas_per_trade, 2),
        trades_per_s=round(trades / ours_s, 1),
        trades_per_s_sequential=round(n_seq * TRADES_PER_ROUND / seq_s, 1),
        baseline_trades_per_s=round(base_trades / base_s, 1),
        throughput_ratio=round((trades / ours_s) / (base_trades / base_s), 2),
        gas_target_met=bool(gas_per_trade <= 2000 and base_gas_per_trade / gas_per_trade >= 20),
        speed_target_met=bool(trades / ours_s >= 5000),
        **events,
    )


def session_deltas(receipt: Any) -> list[int]:
    """Packed deltas of a settled round, as its ``RoundSettled`` event logs them."""
    from ledger.chain.encoding import pack_delta

    return sorted(pack_delta(i, receipt.deltas[a]) for a, i in receipt.indices.items())


if __name__ == "__main__":
    main()
