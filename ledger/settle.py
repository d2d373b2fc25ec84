"""Settle a simulation run on chain through the run store's outbox, losing nothing.

For every round: build the netted batch, write it to the store as *pending*, send it, and
after the receipt mark it *confirmed* with tx hash, block and gas. The embedded Anvil keeps
its chain in a per-run state file under `data/chain/runs/`, dumped after funding, every
`DUMP_EVERY` rounds and at the end.

If the chain stops answering (Anvil killed), the settler restarts it from the state file
(bounded retries, with a message) and re-sends, in round order, every stored round the
chain lacks -- pending ones and confirmed ones newer than the last dump alike, from the
exact payloads in the outbox. The contract's replay guard makes a re-send of a round that
did land harmless. A run whose process died is resumed the same way
(`edgemarket run --resume RUN_ID`).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ledger import faults
from ledger.chain.anvil import AnvilError, AnvilProcess
from ledger.chain.deploy import Deployment
from ledger.chain.encoding import RoundBatch
from ledger.chain.errors import ChainError
from ledger.chain.reconcile import ReconcileReport, reconcile
from ledger.chain.session import ChainSession, PendingSettlement
from ledger.store import RunStore
from ledger.units import to_base

RESTART_TRIES = 3
RESTART_WAIT_S = 1.0
DUMP_EVERY = 10  # rounds between state dumps (a dump of a 400-device chain takes ~0.1-0.3 s)


def batch_to_payload(b: RoundBatch, contributors: list[int] | None = None) -> dict[str, Any]:
    """A JSON-able copy of a batch: exactly what was (or will be) sent for the round.

    `contributors` (agent ids with attested work units) lets the run pay their rewards.
    """
    return {
        "contributors": sorted(int(a) for a in (contributors or [])),
        "run_id": b.run_id, "round": b.round, "trades_root": b.trades_root.hex(),
        "trade_count": b.trade_count, "fee": b.fee, "prices": list(b.prices),
        "deltas": list(b.deltas), "contributions": list(b.contributions),
        "violations": [list(v) for v in b.violations],
        "deltas_by_agent": {str(k): v for k, v in b.deltas_by_agent.items()},
    }


def payload_to_batch(p: dict[str, Any]) -> RoundBatch:
    """Inverse of :func:`batch_to_payload` (without the Merkle tree)."""
    return RoundBatch(
        run_id=int(p["run_id"]), round=int(p["round"]), trades_root=bytes.fromhex(p["trades_root"]),
        trade_count=int(p["trade_count"]), fee=int(p["fee"]), prices=[int(x) for x in p["prices"]],
        deltas=[int(x) for x in p["deltas"]], contributions=[int(x) for x in p["contributions"]],
        violations=[(str(a), str(b), int(c)) for a, b, c in p["violations"]],
        deltas_by_agent={int(k): int(v) for k, v in p["deltas_by_agent"].items()},
    )


def with_incentive_fee(net_credits: dict[int, float], surplus: float, rate: float) -> tuple[dict[int, float], float]:
    """Take `rate` of every positive net receipt into the incentive pool.

    The pool for the round is the mechanism's platform surplus plus those fees; the
    contract shares it among providers in proportion to their attested work units.
    Returns the adjusted net credits (still summing to minus the pool) and the pool.
    """
    if rate <= 0:
        return net_credits, surplus
    fees = 0.0
    out: dict[int, float] = {}
    for agent, v in net_credits.items():
        if v > 0:
            f = v * rate
            fees += f
            v -= f
        out[agent] = v
    return out, surplus + fees


def _good_copy(anvil: AnvilProcess) -> Any:
    return anvil.state_path.with_name(anvil.state_path.name + ".good")  # type: ignore[union-attr]


def _dump(anvil: AnvilProcess) -> None:
    """Dump the chain (atomically) and keep a copy that only this code writes.

    Anvil also writes the state file itself when it stops; killed during that write (a
    SIGTERM dump that outlasts its timeout on a loaded machine), the file is left cut short
    and the next start has no contracts. The copy is always a complete dump.
    """
    import os
    import shutil

    anvil.dump_state()
    good = _good_copy(anvil)
    tmp = good.with_name(good.name + ".tmp")
    shutil.copyfile(anvil.state_path, tmp)  # type: ignore[arg-type]
    os.replace(tmp, good)


def _restore_good_state(anvil: AnvilProcess) -> bool:
    """Restart `anvil` from the last complete dump; False when there is none."""
    import shutil

    good = _good_copy(anvil)
    if not good.exists():
        return False
    anvil.kill()  # no exit dump over the file we are about to restore
    shutil.copyfile(good, anvil.state_path)  # type: ignore[arg-type]
    anvil.start()
    return True


def _say(msg: str) -> None:
    print(f"[chain] {msg}", file=sys.stderr, flush=True)


@dataclass
class SettleStats:
    """What this process did for the summary (the settled totals come from the store)."""

    restarts: int = 0
    resent: int = 0
    wall_s: float = 0.0


class RunSettler:
    """Settles one run's rounds on a chain (see the module docstring for the guarantees)."""

    def __init__(self, store: RunStore, run_id: int, session: ChainSession, anvil: AnvilProcess | None,
                 *, from_block: int, log: Callable[[str], None] = _say) -> None:
        self.store = store
        self.run_id = run_id
        self.session = session
        self.anvil = anvil
        self.from_block = from_block
        self.log = log
        self.stats = SettleStats()
        self._inflight: list[PendingSettlement] = []
        self._since_dump = 0
        info = (store.get_run(run_id).chain_info or {})
        self.fee_rate = float(info.get("fee_rate", 0.0))
        self.claim = bool(info.get("claim_rewards", False))

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, target: str, store: RunStore, run_id: int, participants: dict[str, Any],
             *, private_key: str | None = None) -> RunSettler:
        """Start (or reach) the chain for a run: deploy and fund on first use, else attach and catch up."""
        run = store.get_run(run_id)
        info = dict(run.chain_info or {}) if run is not None else {}
        anvil = None
        if target == "anvil":
            # One chain per run; the name is unique across stores (run ids are per store).
            state = info.get("state_file") or f"runs/run-{run_id}-{uuid.uuid4().hex[:8]}.state.json"
            anvil = AnvilProcess(state_path=state, dump_on_parent_death=False)
            try:
                anvil.start()
            except AnvilError:
                if not info.get("deployment") or not _restore_good_state(anvil):
                    raise
                _say(f"{anvil.state_path} is unreadable (a dump cut short); restarted from the "
                     "last complete dump, re-sending what it lacks")
            session = ChainSession(anvil=anvil)
        else:
            session = ChainSession(rpc_url=target, private_key=private_key)
        try:
            if info.get("deployment"):
                try:
                    session.attach(Deployment.from_dict(info["deployment"]))
                except ChainError:
                    if anvil is None or not _restore_good_state(anvil):
                        raise
                    _say(f"{anvil.state_path} lacks the run's contracts (a dump cut short); "
                         "restarted from the last complete dump, re-sending what it lacks")
                    session.rpc.close()
                    from ledger.chain.rpc import RpcClient

                    session.rpc = RpcClient(anvil.rpc_url)
                    session.sender.rpc = session.rpc
                    session.sender.resync_nonce()
                    session.attach(Deployment.from_dict(info["deployment"]))
                self = cls(store, run_id, session, anvil, from_block=int(info.get("from_block", 0)))
                self.catch_up()
                return self
            from_block = session.block_number()
            dep = session.deploy()
            ids = [int(a) for a in participants["agent_id"]]
            budgets = [float(b) for b in participants["budget_credits"]]
            nodes = [int(a) for a in participants["node_ids"]]
            stakes = float(participants.get("stake_credits", 0.0))
            session.register_participants(ids, budgets, node_ids=nodes, stakes=stakes)
            store.record_accounts(run_id, [
                (aid, kind, session.address(aid), to_base(b))
                for aid, kind, b in zip(ids, participants["kind"], budgets, strict=True)
            ])
            if anvil is not None:
                # Dump the funded chain before the run points at it: a kill between recording
                # the deployment and the first dump would leave a run whose chain has no code.
                _dump(anvil)
            store.set_chain_info(run_id, {
                "deployment": dep.as_dict(), "from_block": from_block, "target": target,
                "state_file": str(anvil.state_path) if anvil else None, "stake_base": to_base(stakes),
                "fee_rate": float(participants.get("fee_rate", 0.0)),
                "claim_rewards": bool(participants.get("claim_rewards", False)),
            })
            self = cls(store, run_id, session, anvil, from_block=from_block)
            faults.point("after_deploy")
            return self
        except BaseException:
            session.close()
            if anvil is not None:
                anvil.stop()
            raise

    @classmethod
    def reopen(cls, store: RunStore, run_id: int, rpc_url: str | None = None) -> RunSettler:
        """Reach a finished run's chain again (its Anvil state file, or `rpc_url`) to inspect it."""
        run = store.get_run(run_id)
        if run is None:
            raise LookupError(f"no run with id {run_id}")
        info = run.chain_info or {}
        if not info.get("deployment"):
            raise LookupError(f"run {run_id} was not settled on a chain (--chain none)")
        anvil = None
        if rpc_url is None and info.get("target") == "anvil":
            anvil = AnvilProcess(state_path=info["state_file"], dump_on_parent_death=False)
            anvil.start()
            session = ChainSession(anvil=anvil)
        else:
            session = ChainSession(rpc_url=rpc_url or info["target"])
        try:
            session.attach(Deployment.from_dict(info["deployment"]))
        except BaseException:
            session.close()
            if anvil is not None:
                anvil.stop()
            raise
        return cls(store, run_id, session, anvil, from_block=int(info.get("from_block", 0)))

    # ------------------------------------------------------------------ settling
    def settle(self, rr: Any) -> None:
        """Record the round as pending, send it, and confirm the previous one (pipelined)."""
        batch = self.prepare(rr)
        if batch is not None:
            self.send(batch)

    def prepare(self, rr: Any) -> RoundBatch | None:
        """Write the round's settlement to the outbox as *pending*; the batch to send.

        Called before the round's rows are stored, so no stored round can lack its outbox
        row. None when the round is already confirmed with this very content (a replay).
        """
        existing = {s.round: s for s in self.store.settlements(self.run_id)}
        prior = existing.get(int(rr.round))
        net, fee = with_incentive_fee(rr.net_credits, float(rr.clearing.platform_surplus), self.fee_rate)
        batch = self.session.build_batch(
            self.run_id, int(rr.round), net, np.asarray(rr.clearing.prices, float),
            rr.clearing.trades, rr.contributions, rr.violations, fee,
        )
        payload = batch_to_payload(batch, [a for a, w in rr.contributions.items() if w > 0])
        if prior is not None and prior.status == "confirmed":
            if prior.payload != payload:
                raise ChainError(f"round {rr.round} of run {self.run_id} was settled with other content")
            return None
        if prior is not None and prior.payload == payload:
            return batch  # pending from before a crash: same content, the row stays
        self.store.add_pending_settlement(
            self.run_id, int(rr.round), payload, n_trades=batch.trade_count,
            netted_base=sum(v for v in batch.deltas_by_agent.values() if v > 0),
        )
        return batch

    def send(self, batch: RoundBatch) -> None:
        """Send a prepared round and confirm the one before it (pipelined)."""
        for attempt in range(RESTART_TRIES + 1):
            try:
                self._confirm_inflight()
                self._inflight.append(self.session.submit_batch(batch))
                faults.point("after_send", batch.round)
                return
            except (OSError, ChainError) as exc:
                if not self._is_down(exc) or attempt == RESTART_TRIES:
                    raise
                self._recover(attempt + 1, exc)

    def _confirm_inflight(self) -> None:
        if not self._inflight:
            return
        pending, self._inflight = self._inflight, []
        t = time.perf_counter()
        receipts = self.session.wait_rounds(pending)
        self._since_dump += len(receipts)
        if self._since_dump >= DUMP_EVERY:
            self._persist()
        for r in receipts:
            self.store.confirm_settlement(self.run_id, r.round, tx_hash=r.tx_hash, block=r.block,
                                          gas_used=r.gas_used)
        self.stats.wall_s += time.perf_counter() - t

    def _persist(self) -> None:
        if self.anvil is not None:
            _dump(self.anvil)
        self._since_dump = 0

    # ------------------------------------------------------------------ faults
    def _is_down(self, exc: BaseException) -> bool:
        if self.anvil is None:
            return isinstance(exc, OSError)
        return not self.anvil.running or isinstance(exc, OSError)

    def _recover(self, attempt: int, exc: BaseException) -> None:
        if self.anvil is None:
            raise ChainError(f"chain at {self.session.rpc_url} is not answering: {exc}") from exc
        self.log(f"chain stopped answering ({type(exc).__name__}); restarting Anvil from "
                 f"{self.anvil.state_path} (try {attempt}/{RESTART_TRIES})")
        time.sleep(RESTART_WAIT_S * attempt)
        self._inflight = []
        self.anvil.restart(kill=True)
        self.session.rpc.close()
        from ledger.chain.rpc import RpcClient

        self.session.rpc = RpcClient(self.anvil.rpc_url)
        # every role's sender (operator, treasury, admin: separate keys on a local Anvil)
        for sender in {id(x): x for x in (self.session.sender, self.session.treasury_sender,
                                          self.session.admin_sender)}.values():
            sender.rpc = self.session.rpc
            sender.resync_nonce()
        self.stats.restarts += 1
        self.catch_up()

    def catch_up(self) -> None:
        """Re-send, in round order, every stored settlement the chain does not hold."""
        for s in self.store.settlements(self.run_id):
            if self.session.is_settled(self.run_id, s.round):
                if s.status == "pending":  # landed before the crash: confirm from the chain
                    self._inflight.append(self.session.submit_batch(payload_to_batch(s.payload)))
                continue
            self.log(f"re-sending round {s.round} ({s.status} in the store, missing on chain)")
            self._inflight.append(self.session.submit_batch(payload_to_batch(s.payload)))
            self.stats.resent += 1
        self._confirm_inflight()

    # ------------------------------------------------------------------ end
    def expected_balances(self) -> dict[int | str, int]:
        """Escrow balances the store implies, to the base unit.

        Initial deposits, plus every confirmed round's netted deltas, plus SLA compensation
        credited to buyers: each violation pays min(amount, the node's remaining stake), as
        the settlement contract does; a participant that never staked (a broker device, any
        node when the stake is 0) pays nothing.
        """
        accounts = self.store.accounts(self.run_id)
        bal: dict[int | str, int] = {a.agent_id: int(a.initial_base) for a in accounts}
        run = self.store.get_run(self.run_id)
        stake0 = int((run.chain_info or {}).get("stake_base", 0)) if run else 0
        staked = {a.address.lower() for a in accounts if a.kind == "node"}
        stakes: dict[str, int] = {}
        for s in self.store.settlements(self.run_id, "confirmed"):
            for k, v in s.payload["deltas_by_agent"].items():
                bal[int(k)] = bal.get(int(k), 0) + int(v)
            for node, buyer, amount in s.payload["violations"]:
                left = stakes.get(node.lower(), stake0 if node.lower() in staked else 0)
                paid = min(int(amount), left)
                stakes[node.lower()] = left - paid
                bal[buyer.lower()] = bal.get(buyer.lower(), 0) + paid
        return bal

    def _pay_rewards(self) -> int:
        """Claim every contributor's accrued rewards (pull payments, once each); base units."""
        if not self.claim:
            return 0
        ids = sorted({int(k) for s in self.store.settlements(self.run_id, "confirmed")
                      for k in s.payload.get("contributors", [])})
        if not ids:
            return 0
        half = len(ids) // 2  # two claim batches, so a crash test can die between them
        paid = sum(self.session.claim_rewards(ids[:half]).values()) if half else 0
        faults.point("claims")
        return paid + sum(self.session.claim_rewards(ids[half:]).values())

    def reconcile(self) -> ReconcileReport:
        """Chain balances vs the ones recomputed from the stored trades (:mod:`ledger.audit`)."""
        from ledger.audit import expected_balances

        return reconcile(expected_balances(self.store, self.run_id), self.session, from_block=self.from_block)

    def audit_rounds(self) -> list[str]:
        """Per-round disagreements between store, outbox and chain (see :mod:`ledger.audit`)."""
        from ledger.audit import audit_rounds

        return audit_rounds(self.store, self.run_id, self.session, from_block=self.from_block)

    def unsettled(self, rounds: list[int]) -> list[int]:
        """The rounds among `rounds` without a confirmed settlement in the store."""
        done = {s.round for s in self.store.settlements(self.run_id, "confirmed")}
        return [r for r in rounds if r not in done]

    def finish(self, rounds: list[int] | None = None) -> dict[str, Any]:
        """Confirm what is in flight, reconcile, and report totals for the summary.

        With `rounds` (the stored round numbers), a round without a confirmed settlement
        fails the run: it is never marked done with a round missing on chain.
        """
        for attempt in range(RESTART_TRIES + 1):
            try:
                self._confirm_inflight()
                break
            except (OSError, ChainError) as exc:
                if not self._is_down(exc) or attempt == RESTART_TRIES:
                    raise
                self._recover(attempt + 1, exc)
        if rounds is not None and (missing := self.unsettled(rounds)):
            raise ChainError(f"rounds {missing[:10]} of run {self.run_id} are not settled on chain")
        paid = self._pay_rewards()
        self._persist()
        report = self.reconcile()
        st = self.stats
        done = self.store.settlements(self.run_id, "confirmed")
        gas = sum(int(x.gas_used or 0) for x in done)
        trades = sum(int(x.n_trades) for x in done)
        return {
            "settlement_transactions": len(done), "rounds_settled": len(done),
            "trades_settled": trades, "gas_used": gas,
            "gas_per_trade": round(gas / trades, 1) if trades else 0.0,
            "incentive_pool_credits": sum(int(x.payload["fee"]) for x in done) / 1e6,
            "incentives_paid_credits": paid / 1e6,
            "anvil_restarts": st.restarts,
            "rounds_resent": st.resent, "reconciled": report.ok,
            "reconcile": str(report).splitlines()[0] if str(report) else "",
            "rpc_url": self.session.rpc_url, "wall_s": round(st.wall_s, 3),
        }

    def close(self) -> None:
        self.session.close()
        if self.anvil is not None:
            self.anvil.stop()
