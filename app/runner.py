"""Run a scenario end to end: the Mesa model, the run store and (optionally) the chain.

This is the one Python API behind `edgemarket run`, the Streamlit Run page and the Ray
sweeps, so none of them re-implements the loop. A run is deterministic by seed; a run
that stopped part-way can be resumed by replaying its seed up to the last stored round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from app.errors import UserError
from ledger import faults
from ledger.store import RunStore

Progress = Callable[[int, int], None]


@dataclass
class RunSummary:
    """What a finished run reports: the CLI table, `--json` and the app all show this."""

    run_id: int
    scenario: str
    seed: int
    mechanism: str
    rounds: int
    final_prices: dict[str, float | None]
    equilibrium_prices: dict[str, float | None]
    efficiency_mean: float | None  # None when the scenario skips the optimum (market.optimum_every: 0)
    efficiency_final: float | None
    welfare_total: float
    optimal_welfare_total: float
    trades: int
    requests: int
    served: int
    sla_rate: float
    qoais: dict[str, dict[str, float]]
    handovers: int
    wall_s: float
    chain: dict[str, Any] = field(default_factory=dict)
    # Honest welfare (agents.honest_welfare, docs/internals.md): mean allocative efficiency
    # over rounds with a pool-wide optimum (None if none), delivered welfare summed.
    allocative_efficiency_mean: float | None = None
    delivered_welfare_total: float | None = None
    # The cloud venue(s) alone, last round: clearing price and LP dual per resource.
    cloud_prices: dict[str, float | None] = field(default_factory=dict)
    cloud_equilibrium_prices: dict[str, float | None] = field(default_factory=dict)
    # Last round, each venue (edge cells/zones/pool, then the cloud): clearing price beside
    # its LP duals (agents.marketplace_prices.venue_summary defines the fields).
    venue_prices: list[dict[str, Any]] = field(default_factory=list)
    # Brokers (agents.brokers, agents.relay_market): trades whose seller is a broker device
    # over all trades of the run, and the credits buyers paid them over all credits paid
    # (None when nothing traded).
    broker_trade_share: float | None = None
    broker_value_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def deterministic_dict(self) -> dict[str, Any]:
        """The summary without wall-clock fields (what the same seed must reproduce)."""
        d = self.to_dict()
        d.pop("wall_s")
        d.pop("run_id")
        d["chain"] = {k: v for k, v in d["chain"].items() if k not in ("wall_s", "rpc_url")}
        return d


def _clean(x: float) -> float | None:
    x = float(x)
    return None if np.isnan(x) else round(x, 9)


class _Aggregate:
    """Running totals over rounds for the summary (kept small: no per-round lists)."""

    def __init__(self) -> None:
        self.rounds = 0
        self.eff_rounds = 0  # rounds whose optimum was computed (scenario market.optimum_every)
        self.eff_sum = 0.0
        self.eff_last = 0.0
        self.welfare = 0.0
        self.welfare_opt_rounds = 0.0  # welfare over the rounds with a computed optimum
        self.optimal = 0.0
        self.trades = 0
        self.handovers = 0
        self.last_prices: np.ndarray | None = None
        self.last_eq: np.ndarray | None = None
        self.cls: dict[str, dict[str, float]] = {}
        self.alloc_sum, self.alloc_rounds = 0.0, 0
        self.last_cloud: tuple[Any, Any] = (None, None)
        self.delivered, self.delivered_rounds = 0.0, 0
        self.last_venues: dict[str, Any] | None = None
        self.broker_trades, self.broker_value, self.trade_value = 0, 0.0, 0.0

    def add(self, rr: Any, eq_prices: np.ndarray | None) -> None:
        self.rounds += 1
        if np.isfinite(rr.efficiency):
            self.eff_rounds += 1
            self.eff_sum += float(rr.efficiency)
            self.eff_last = float(rr.efficiency)
            self.welfare_opt_rounds += float(rr.clearing.welfare)
            self.optimal += float(rr.optimal_welfare)
        self.welfare += float(rr.clearing.welfare)
        alloc = float(getattr(rr, "allocative_efficiency", np.nan))
        if np.isfinite(alloc):
            self.alloc_sum += alloc
            self.alloc_rounds += 1
        delivered = float(getattr(rr, "delivered_welfare", np.nan))
        if np.isfinite(delivered):
            self.delivered += delivered
            self.delivered_rounds += 1
        self.trades += len(rr.clearing.trades.buyer)
        info = getattr(rr, "info", {})
        self.broker_trades += int(info.get("broker_trades", 0))
        self.broker_value += float(info.get("broker_value", 0.0))
        self.trade_value += float(info.get("trade_value", 0.0))
        self.handovers += int(getattr(rr, "handovers", 0))
        # Final prices: the venues' clearing prices pooled with the same weights (units
        # traded per venue) and over the same venues as the equilibrium duals beside them.
        pooled = getattr(rr, "info", {}).get("pooled_prices")
        self.last_prices = np.asarray(rr.clearing.prices if pooled is None else pooled,
                                      dtype=float)
        self.last_cloud = (getattr(rr, "info", {}).get("cloud_prices"),
                           getattr(rr, "info", {}).get("cloud_equilibrium"))
        self.last_eq = eq_prices
        self.last_venues = getattr(rr, "info", {}).get("venue_prices")
        for q in rr.qoais:
            c = self.cls.setdefault(q.service_class, {"n_requests": 0.0, "n_served": 0.0, "sla_met": 0.0,
                                                      "overall_w": 0.0, "latency_w": 0.0, "served_w": 0.0})
            c["n_requests"] += q.n_requests
            c["n_served"] += q.n_served
            c["sla_met"] += q.sla_rate * q.n_requests
            c["overall_w"] += q.overall * q.n_requests
            c["latency_w"] += q.latency_ms_mean * q.n_served
            c["served_w"] += q.n_served

    def summary(self, run_id: int, scenario: str, seed: int, mechanism: str, wall_s: float,
                names: tuple[str, ...]) -> RunSummary:
        qoais = {}
        req = served = met = 0.0
        for name, c in sorted(self.cls.items()):
            n = c["n_requests"]
            req += n
            served += c["n_served"]
            met += c["sla_met"]
            qoais[name] = {
                "requests": int(n),
                "served": int(c["n_served"]),
                "sla_rate": round(c["sla_met"] / n, 9) if n else 0.0,
                "qoais": round(c["overall_w"] / n, 9) if n else 0.0,
                "latency_ms": round(c["latency_w"] / c["served_w"], 6) if c["served_w"] else 0.0,
            }
        prices = self.last_prices if self.last_prices is not None else np.full(len(names), np.nan)
        eq = self.last_eq if self.last_eq is not None else np.full(len(names), np.nan)
        return RunSummary(
            run_id=run_id, scenario=scenario, seed=seed, mechanism=mechanism, rounds=self.rounds,
            final_prices={n: _clean(p) for n, p in zip(names, prices, strict=True)},
            equilibrium_prices={n: _clean(p) for n, p in zip(names, eq, strict=True)},
            efficiency_mean=round(self.eff_sum / self.eff_rounds, 9) if self.eff_rounds else None,
            efficiency_final=round(self.eff_last, 9) if self.eff_rounds else None,
            welfare_total=round(self.welfare, 6), optimal_welfare_total=round(self.optimal, 6),
            trades=self.trades, requests=int(req), served=int(served),
            sla_rate=round(met / req, 9) if req else 0.0, qoais=qoais, handovers=self.handovers,
            wall_s=round(wall_s, 3),
            allocative_efficiency_mean=round(self.alloc_sum / self.alloc_rounds, 9)
            if self.alloc_rounds else None,
            delivered_welfare_total=round(self.delivered, 6) if self.delivered_rounds else None,
            cloud_prices={} if self.last_cloud[0] is None else {
                n: _clean(p) for n, p in zip(names, self.last_cloud[0], strict=True)},
            cloud_equilibrium_prices={} if self.last_cloud[1] is None else {
                n: _clean(p) for n, p in zip(names, self.last_cloud[1], strict=True)},
            venue_prices=_venue_summary(self.last_venues, names),
            broker_trade_share=round(self.broker_trades / self.trades, 9) if self.trades else None,
            broker_value_share=round(self.broker_value / self.trade_value, 9)
            if self.trade_value > 0 else None,
        )


def _venue_summary(vp: dict[str, Any] | None, names: tuple[str, ...]) -> list[dict[str, Any]]:
    from agents.marketplace_prices import venue_summary  # the model's import, kept lazy

    return venue_summary(vp, names)


PROCESS_WRITER_DEVICES = 2000


def participants(model: Any, rounds: int) -> dict[str, Any]:
    """Who settles on chain: every device, node and the cloud, with escrow funding.

    Devices are funded with their starting budget plus every refill the run can bring, so
    the market can never overdraw them; sellers start at zero; nodes also stake.
    """
    sc = model.scenario
    dev, nodes = model.devices, model.nodes
    ids = [*dev.uid.tolist(), *nodes.uid.tolist()]
    kinds = ["device"] * len(dev.uid) + ["node"] * len(nodes.uid)
    funding = dev.budget_credits + sc.devices.budget_refill_credits_per_round * rounds
    budgets = [*funding.tolist(), *([0.0] * len(nodes.uid))]
    if getattr(model, "cloud_agent", None) is not None:
        ids.append(int(model.cloud_agent.unique_id))
        kinds.append("cloud")
        budgets.append(0.0)
    return {"agent_id": ids, "kind": kinds, "budget_credits": budgets,
            "node_ids": nodes.uid.tolist(), "stake_credits": sc.settlement.node_stake_credits,
            "fee_rate": sc.settlement.incentive_fee_rate, "claim_rewards": sc.settlement.claim_rewards}


def _load(scenario: Any, overrides: dict[str, Any] | None) -> Any:
    from agents.scenario import Scenario, ScenarioError, load_scenario
    from app.plugins import load_plugins

    load_plugins()  # user strategies/mechanisms named by the scenario
    if isinstance(scenario, Scenario):
        if overrides:
            raise UserError("overrides need a scenario name or path, not a Scenario object")
        return scenario
    from app.input_checks import check_scenario_numbers

    try:
        scen = load_scenario(scenario, overrides or None)
    except ScenarioError as exc:
        raise UserError(str(exc)) from None
    except UnicodeDecodeError:
        raise UserError("not a text (UTF-8) YAML file", where=f"scenario {scenario}") from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", where=f"scenario {scenario}") from None
    check_scenario_numbers(scen.model_dump(mode="json"))
    return scen


def _scenario_name(scenario: Any, obj: Any) -> str:
    if isinstance(scenario, str):
        return scenario
    return getattr(obj, "name", "scenario")


def _lock_run(store: RunStore, run_id: int) -> Any:
    """Become the one writer of run `run_id`, or refuse (exit 2) while another process is."""
    from ledger.store.locks import run_lock

    lock = run_lock(store.engine.url.render_as_string(hide_password=False), run_id)
    if not lock.acquire():
        pid = lock.holder()
        raise UserError(f"run {run_id} is being written by another process{f' (pid {pid})' if pid else ''}; "
                        "wait for it to finish or stop it", where="--resume")
    return lock


def resume_point(store: RunStore, run_id: int, chain: str) -> int:
    """How many stored rounds a resumed run keeps (it replays the seed past them).

    Stored rounds are kept up to the first one without a settlement in the outbox: that
    round and the ones after it are dropped and recomputed, so none is left unsettled.
    """
    numbers = store.round_numbers(run_id)
    keep = len(numbers)
    if chain != "none":
        have = {s.round for s in store.settlements(run_id)}
        keep = next((i for i, n in enumerate(numbers) if n not in have), keep)
    store.truncate_after(run_id, numbers[keep - 1] if keep else -1)
    return keep


def run_simulation(
    scenario: Any = "smart_city",
    *,
    overrides: dict[str, Any] | None = None,
    seed: int = 0,
    rounds: int | None = None,
    db_url: str | None = None,
    store: RunStore | None = None,
    chain: str = "none",
    progress: Progress | None = None,
    label: str = "",
    resume_run_id: int | None = None,
    key_file: str | None = None,
) -> RunSummary:
    """Simulate `scenario` for `rounds` rounds, store every round and settle it when `chain` is set.

    `chain` is "none", "anvil" (a local Anvil started and stopped here) or a JSON-RPC URL;
    a URL needs an operator key (`key_file` or EDGEMARKET_OPERATOR_KEY, see
    :mod:`ledger.chain.operator_key`), checked before anything is stored.
    With `resume_run_id`, the stored run's scenario and seed are replayed up to its last
    stored round and the run continues from there.
    """
    from agents.model import EdgeMarketModel
    from ledger.chain.operator_key import OperatorKeyError, check_target, resolve
    from market.resources import RESOURCE_NAMES

    if resume_run_id is None:
        from app.input_checks import check_seed

        check_seed(seed)
        try:  # a bad --chain or a missing key: refused before a run row exists
            check_target(chain)
            operator_key = resolve(chain, key_file)
        except OperatorKeyError as exc:
            raise UserError(str(exc)) from None
        scen = _load(scenario, overrides)  # a bad scenario: refused before the store is opened
    own_store = store is None
    store = store or RunStore(db_url)
    if resume_run_id is not None:
        run = store.get_run(resume_run_id)
        if run is None:
            raise UserError(f"no run with id {resume_run_id} in {store.url}", where="--resume")
        if run.status == "done":
            raise UserError(f"run {resume_run_id} already finished", where="--resume")
        lock = _lock_run(store, resume_run_id)
        run = store.get_run(resume_run_id)  # as the lock holder left it
        if run is None or run.status == "done":
            lock.release()
            raise UserError(f"run {resume_run_id} already finished", where="--resume")
        from agents.scenario import Scenario

        scen = Scenario.model_validate(run.scenario_json)
        name, seed, n_rounds, chain = run.scenario, run.seed, run.rounds_planned, run.chain
        try:
            operator_key = resolve(chain, key_file)
        except OperatorKeyError as exc:
            lock.release()
            raise UserError(str(exc)) from None
        run_id = resume_run_id
        start = resume_point(store, run_id, chain)
        store.mark_status(run_id, "running")
    else:
        name = _scenario_name(scenario, scen)
        n_rounds = int(rounds if rounds is not None else scen.rounds)
        if n_rounds < 1:
            raise UserError("must be at least 1", where="rounds")
        run_id = store.create_run(
            name, scen.model_dump(mode="json"), seed, mechanism=scen.market.mechanism,
            rounds_planned=n_rounds, chain=chain, label=label,
        )
        lock = _lock_run(store, run_id)
        start = 0

    if own_store and scen.devices.count >= PROCESS_WRITER_DEVICES:
        store.set_writer("process")  # big runs: write from a process of its own, off this GIL
    settler = None
    t0 = time.perf_counter()
    try:
        model = EdgeMarketModel(scen, seed=seed)
        if chain != "none":
            from ledger.chain.errors import ChainError
            from ledger.settle import RunSettler

            try:
                settler = RunSettler.open(chain, store, run_id, participants(model, n_rounds),
                                          private_key=operator_key)
            except (ChainError, OSError) as exc:
                from ledger.chain.errors import ContractRevert
                from ledger.chain.rpc import ReplyLost

                # Only a chain that did not answer may answer later: then, and only then, resuming helps.
                transient = (isinstance(exc, OSError | ReplyLost) or "connection" in str(exc).lower()) \
                    and not isinstance(exc, ContractRevert)
                hint = (f"; `edgemarket run --resume {run_id} --db {store.url}` retries" if transient else "")
                first = (str(exc).strip().splitlines() or [""])[0]
                raise UserError(f"cannot settle on {chain!r}: {first} (the run is stored as failed{hint})",
                                where="--chain") from None
        agg = _Aggregate()
        for r in range(n_rounds):
            t_round = time.perf_counter()
            rr = model.step()
            eq = rr.info.get("equilibrium_prices")
            eq_arr = None if eq is None else np.asarray(eq, dtype=float)
            agg.add(rr, eq_arr)
            if r < start:  # replaying a resumed run: already stored (and settled or pending)
                continue
            # The outbox row goes first: a stored round always has its settlement recorded.
            batch = settler.prepare(rr) if settler is not None else None
            store.record_round(run_id, rr, eq_prices=eq_arr,
                               wall_ms=(time.perf_counter() - t_round) * 1e3)
            faults.point("before_send", r, before=store.flush)
            if batch is not None:
                settler.send(batch)
            if progress is not None:
                progress(r + 1, n_rounds)
        store.flush()
        chain_info = settler.finish(store.round_numbers(run_id)) if settler is not None else {}
        wall = time.perf_counter() - t0
        summary = agg.summary(run_id, name, seed, scen.market.mechanism, wall, RESOURCE_NAMES)
        summary.chain = chain_info
        store.finish_run(run_id, status="done", summary=summary.to_dict(), wall_s=wall)
        return summary
    except BaseException as exc:
        # Keep what was stored; the run stays resumable ("interrupted"/"failed").
        if isinstance(exc, KeyboardInterrupt):
            exc.run_id, exc.db_url = run_id, store.url  # type: ignore[attr-defined]  # for the CLI hint
        try:
            store.flush()
        finally:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            # One line, bounded: a driver error can carry kilobytes of SQL.
            msg = (str(exc).strip().splitlines() or [""])[0]
            store.finish_run(run_id, status=status, wall_s=time.perf_counter() - t0,
                             error=f"{type(exc).__name__}: {msg[:500]}")
        raise
    finally:
        lock.release()
        if settler is not None:
            settler.close()
        if own_store:
            store.close()
