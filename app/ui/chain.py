"""The Ledger page's bridge to the chain layer, imported lazily.

Both checks reach the chain a run was settled on, from what the store recorded in
`runs.chain_info` (deployment addresses, first block, target, Anvil state file):

- target "anvil": a local Anvil is started from a *copy* of the run's state file (the run's
  own file is never touched) and stopped afterwards; nothing runs until a check is asked for;
- otherwise the target is a JSON-RPC URL, reached as is.

`reconcile` compares the store's expected escrow balances with the chain's events and state
(`ledger.settle.RunSettler.reconcile`, i.e. `ledger.chain.reconcile`); `verify_trade`
rebuilds a round's Merkle tree from the stored trades and asks the settlement contract to
verify one trade's proof (`ChainSession.verify_trade`). Whatever is missing (chain layer not
importable, run without chain, state file gone) is reported as `ChainUnavailable`, which
the page shows as an info box.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from app.ui.store import engine_for
from ledger.store import RunStore
from ledger.store import queries as q


class ChainUnavailable(RuntimeError):
    """The chain (or the chain layer) needed for a check cannot be reached."""


@dataclass
class RunChain:
    """An attached chain session for one run (and the Anvil started for it, if any)."""

    store: RunStore
    run_id: int
    session: Any
    anvil: Any
    from_block: int


def _chain_modules() -> SimpleNamespace:
    try:
        from ledger.chain.anvil import AnvilProcess
        from ledger.chain.deploy import Deployment
        from ledger.chain.session import ChainSession
    except ImportError as exc:
        raise ChainUnavailable(f"the chain layer cannot be imported ({exc})") from exc
    return SimpleNamespace(AnvilProcess=AnvilProcess, Deployment=Deployment, ChainSession=ChainSession)


@contextlib.contextmanager
def run_chain(db_url: str, run_id: int) -> Iterator[RunChain]:
    """Attach to the chain of a settled run; start (and always stop) a local Anvil if needed."""
    store = RunStore(engine=engine_for(db_url))
    run = store.get_run(run_id)
    info = dict(getattr(run, "chain_info", None) or {}) if run is not None else {}
    if not info.get("deployment"):
        raise ChainUnavailable("this run recorded no chain deployment (it was run without a chain)")
    if run is not None and run.status == "running":
        raise ChainUnavailable("the run is still in progress; check it once it has finished")
    m = _chain_modules()
    target = str(info.get("target") or "anvil")
    tmp: Path | None = None
    anvil = session = None
    try:
        if target == "anvil":
            state = Path(str(info.get("state_file") or ""))
            if not state.is_file():
                raise ChainUnavailable(f"the run's chain state file is gone ({state or 'not recorded'})")
            tmp = Path(tempfile.mkdtemp(prefix=f"run{run_id}-", dir=state.parent))
            shutil.copy2(state, tmp / state.name)
            anvil = m.AnvilProcess(state_path=tmp / state.name)
            anvil.start()
            session = m.ChainSession(anvil=anvil)
        else:
            session = m.ChainSession(rpc_url=target)
        session.attach(m.Deployment.from_dict(info["deployment"]))
        yield RunChain(store, run_id, session, anvil, int(info.get("from_block", 0)))
    finally:
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()
        if anvil is not None:
            with contextlib.suppress(Exception):
                anvil.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def reconcile(db_url: str, run_id: int) -> Any:
    """The `ReconcileReport` of a run: store-expected balances vs chain events vs chain state."""
    try:
        from ledger.settle import RunSettler
    except ImportError as exc:
        raise ChainUnavailable(f"the settlement layer cannot be imported ({exc})") from exc
    with run_chain(db_url, run_id) as rc:
        settler = RunSettler(rc.store, run_id, rc.session, None, from_block=rc.from_block, log=lambda _msg: None)
        return settler.reconcile()


def verify_trade(db_url: str, run_id: int, rnd: int, idx: int) -> bool:
    """Whether trade `idx` of round `rnd` is in the Merkle root settled on chain for the round."""
    trades = q.round_trades(engine_for(db_url), run_id, rnd)
    if not 0 <= idx < len(trades):
        raise ChainUnavailable(f"round {rnd} has no trade {idx}")
    cols = SimpleNamespace(**{c: trades[c].to_numpy() for c in ("buyer", "seller", "resource", "quantity", "price")})
    with run_chain(db_url, run_id) as rc:
        return bool(rc.session.verify_trade(run_id, rnd, idx, trades=cols))


def report_summary(report: Any) -> dict[str, Any]:
    """Headline numbers of a `ReconcileReport` (credits), for metrics and JSON."""
    base = 10**6
    return {
        "ok": bool(getattr(report, "ok", False)),
        "accounts": getattr(report, "accounts", 0), "rounds": getattr(report, "rounds", 0),
        "events": getattr(report, "events", 0), "mismatches": len(getattr(report, "mismatches", []) or []),
        "expected_credits": getattr(report, "total_expected", 0) / base,
        "from_events_credits": getattr(report, "total_from_events", 0) / base,
        "on_chain_credits": getattr(report, "total_on_chain", 0) / base,
        "contract_total_credits": getattr(report, "contract_total", 0) / base,
    }


def mismatch_rows(report: Any) -> list[dict[str, Any]]:
    """One row per disagreeing account (base units)."""
    return [{"account": m.address, "agent": m.agent_id, "expected": m.expected, "from events": m.from_events,
             "on chain": m.on_chain} for m in getattr(report, "mismatches", []) or []]
