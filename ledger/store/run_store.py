"""`RunStore`: the write and read API of the run store.

Writes are batched: round results are buffered in memory as row tuples and flushed with
one executemany per table every `flush_every` rounds (and at the end), so storing never
dominates a run. Reads aggregate in SQL and return small pandas frames for the front ends.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import queue
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ledger import faults
from ledger.store.database import open_engine
from ledger.store.models import (
    RESOURCE_SUFFIXES,
    AgentAccount,
    Evaluation,
    OrderCurveRow,
    QoAISIndicatorRow,
    QoAISRow,
    RequestBatch,
    RoundRow,
    Run,
    Settlement,
    Snapshot,
    TradeRow,
    TrainingPoint,
    VenuePriceRow,
)
from ledger.store.venue_rows import VENUE_PRICE_COLUMNS, venue_price_rows

QOAIS_FIELDS = (
    "n_requests", "n_served", "sla_rate", "performance", "connection", "data", "computation",
    "security", "orchestration", "overall", "latency_ms_mean", "latency_ms_p95", "reliability",
    "accuracy",
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _num(x: Any) -> float | None:
    """A float for SQL, with NaN (no trade) stored as NULL."""
    v = float(x)
    return None if math.isnan(v) else v


def _nullable(a: Any) -> list[float | None]:
    """Floats for SQL with NaN as NULL (vectorized check, then a list)."""
    arr = np.asarray(a, dtype=float)
    out: list[float | None] = arr.tolist()
    if np.isnan(arr).any():
        for i in np.flatnonzero(np.isnan(arr)).tolist():
            out[i] = None
    return out


@cache
def code_version() -> str:
    """The package version plus the git commit when run from a checkout."""
    from importlib.metadata import version

    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=__file__.rsplit("/ledger/", 1)[0],
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version('edgemarket')}+{sha}" if sha else version("edgemarket")


_COLUMNS = {
    "rounds": (
        "run_id", "round",
        *(f"price_{s}" for s in RESOURCE_SUFFIXES), *(f"eq_price_{s}" for s in RESOURCE_SUFFIXES),
        *(f"volume_{s}" for s in RESOURCE_SUFFIXES), *(f"unmet_{s}" for s in RESOURCE_SUFFIXES),
        "welfare", "optimal_welfare", "efficiency", "buyer_payments", "seller_revenue",
        "platform_surplus", "n_trades", "n_requests", "n_served", "sla_rate", "qoais_overall",
        "handovers", "wall_ms",
        "allocative_efficiency", "allocative_welfare", "delivered_welfare", "pool_optimum",
    ),
    "trades": ("run_id", "round", "idx", "buyer", "seller", "resource", "quantity", "price",
               "seller_price"),
    "qoais": ("run_id", "round", "service_class", *QOAIS_FIELDS),
    "snapshots": ("run_id", "round", "agent_id", "kind", "x_m", "y_m", "attached", "utilization"),
    "order_curves": ("run_id", "round", "resource", "side", "step", "quantity", "price"),
    "qoais_indicators": ("run_id", "round", "service_class", "indicator", "dimension", "value"),
    "venue_prices": VENUE_PRICE_COLUMNS,
    "request_batches": ("run_id", "round", "n_requests", "encoding", "data"),
}
def qoais_indicator_rows(run_id: int, rr: Any) -> list[tuple]:
    """(run, round, class, indicator, dimension, mean) rows from ``rr.info["qoais_indicators"]``."""
    from agents.qoais import INDICATORS  # the model's indicator list names the columns

    per_class = (getattr(rr, "info", None) or {}).get("qoais_indicators") or {}
    return [(run_id, int(rr.round), cls, name, dim, float(v))
            for cls, values in per_class.items()
            for (dim, name, _u, _n), v in zip(INDICATORS, values, strict=True) if v is not None]


_TABLES = {"rounds": RoundRow, "trades": TradeRow, "qoais": QoAISRow, "snapshots": Snapshot,
           "order_curves": OrderCurveRow, "qoais_indicators": QoAISIndicatorRow,
           "venue_prices": VenuePriceRow, "request_batches": RequestBatch}



class _Columns:
    """A block of rows kept as columns: arrays, or scalars repeated (None: 0..n-1)."""

    __slots__ = ("cols", "n")

    def __init__(self, n: int, cols: tuple[Any, ...]) -> None:
        self.n, self.cols = n, cols

    def rows(self) -> Iterable[tuple]:
        cols = []
        for c in self.cols:
            if c is None:
                cols.append(range(self.n))
            elif isinstance(c, np.ndarray):
                cols.append(c.tolist())
            else:
                cols.append(itertools.repeat(c, self.n))
        return zip(*cols, strict=False)  # repeated scalars are endless; arrays set the length


def _rows(blocks: list[Any]) -> list[tuple]:
    out: list[tuple] = []
    for b in blocks:
        if isinstance(b, tuple):
            out.append(b)
        else:  # _Columns, request_batches.RequestBatchBlock: rows made in the writer
            out.extend(b.rows())
    return out


def write_pending(engine: Engine, pending: dict[str, list[Any]]) -> None:
    """One transaction, one executemany per table (positional tuples on SQLite: ~2.5x faster)."""
    fast = engine.dialect.name == "sqlite"
    with engine.begin() as c:
        for name in _COLUMNS:
            blocks = pending.get(name)
            if not blocks:
                continue
            rows = _rows(blocks)
            cols = _COLUMNS[name]
            if fast:
                sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                c.exec_driver_sql(sql, rows)
            else:
                c.execute(insert(_TABLES[name]), [dict(zip(cols, r, strict=True)) for r in rows])
        for rid in {r[0] for r in pending.get("rounds", [])}:
            stored = select(func.count()).select_from(RoundRow).where(RoundRow.run_id == rid).scalar_subquery()
            c.execute(update(Run).where(Run.id == rid).values(rounds_done=stored))
        for rnd in sorted({r[1] for r in pending.get("rounds", [])}):
            faults.point("flush", rnd)  # crash tests: die with this transaction open


class ThreadWriter:
    """Writes batches in order on one background thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runstore-writer")
        self._inflight: list[Future[None]] = []

    def submit(self, pending: dict[str, list[Any]]) -> None:
        done = [f for f in self._inflight if f.done()]
        for f in done:  # surface an earlier failure now rather than at the end
            self._inflight.remove(f)
            f.result()
        self._inflight.append(self._pool.submit(write_pending, self.engine, pending))

    def sync(self) -> None:
        while self._inflight:
            self._inflight.pop(0).result()

    def idle(self) -> bool:
        """Never: a writing thread competes with the simulation for the GIL, so batches
        stay at ``flush_every`` rounds."""
        return False

    def close(self) -> None:
        self.sync()
        self._pool.shutdown()


def _writer_process(url: str, inbox: Any, acks: Any) -> None:  # pragma: no cover - child process
    engine = open_engine(url, migrate=False)
    while (item := inbox.get()) is not None:
        batch_id, pending = item
        try:
            write_pending(engine, pending)
            acks.put((batch_id, None))
        except Exception as exc:
            acks.put((batch_id, f"{type(exc).__name__}: {exc}"))
    engine.dispose()
    # Everything is written and acknowledged: leave without the interpreter's teardown of
    # numpy, SQLAlchemy and pyarrow, which took ~0.7 s that the run's close() waited for.
    acks.close()
    acks.join_thread()
    os._exit(0)


class ProcessWriter:
    """Writes batches in order in a child process, so writing never holds this process's GIL."""

    def __init__(self, url: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._inbox = ctx.Queue(maxsize=4)  # bounded: a slow disk slows the run, not memory
        self._acks = ctx.Queue()
        self._proc = ctx.Process(target=_writer_process, args=(url, self._inbox, self._acks),
                                 daemon=True, name="runstore-writer")
        self._proc.start()
        self._sent = 0
        self._acked = 0

    def submit(self, pending: dict[str, list[Any]]) -> None:
        self._sent += 1
        self._inbox.put((self._sent, pending))

    def idle(self) -> bool:
        """Whether every batch sent has been written (acks drained without waiting)."""
        while self._acked < self._sent:
            try:
                batch_id, error = self._acks.get_nowait()
            except queue.Empty:
                return False
            self._acked = batch_id
            if error:
                raise RuntimeError(f"run-store write failed: {error}")
        return True

    def sync(self) -> None:
        while self._acked < self._sent:
            try:
                batch_id, error = self._acks.get(timeout=5.0)
            except queue.Empty:
                if not self._proc.is_alive():
                    raise RuntimeError("the run-store writer process died") from None
                continue
            self._acked = batch_id
            if error:
                raise RuntimeError(f"run-store write failed: {error}")

    def close(self) -> None:
        try:
            self.sync()
        finally:
            self._inbox.put(None)
            self._proc.join(timeout=30)
            if self._proc.is_alive():
                self._proc.kill()


class RunStore:
    """A run store at a SQLAlchemy URL (default: `data/edgemarket.db`)."""

    def __init__(self, url: str | None = None, *, flush_every: int = 20, engine: Engine | None = None,
                 writer: str = "thread"):
        self.engine = engine or open_engine(url)
        self.url = self.engine.url.render_as_string(hide_password=True)
        self.flush_every = flush_every
        self._pending: dict[str, list[tuple]] = {}
        self._pending_rounds = 0
        # One writer keeps writes ordered while they overlap the next rounds' compute: a
        # thread by default, a process (its own GIL) for big runs on a SQLite file.
        self._writer: ThreadWriter | ProcessWriter = (
            ProcessWriter(self.engine.url.render_as_string(hide_password=False))
            if writer == "process" else ThreadWriter(self.engine))

    def set_writer(self, kind: str) -> None:
        """Switch to a "thread" or "process" writer (after writing what is queued)."""
        self.flush()
        self._writer.close()
        self._writer = (ProcessWriter(self.engine.url.render_as_string(hide_password=False))
                        if kind == "process" else ThreadWriter(self.engine))

    def close(self) -> None:
        """Write what is buffered, stop the writer and release connections."""
        self.flush()
        self._writer.close()
        self.engine.dispose()

    # ------------------------------------------------------------------ runs
    def create_run(
        self, scenario: str, scenario_json: dict, seed: int, *, mechanism: str = "",
        rounds_planned: int = 0, chain: str = "none", label: str = "",
        code: str | None = None,
    ) -> int:
        """Insert a run in status *running* and return its id."""
        with Session(self.engine) as s, s.begin():
            run = Run(
                scenario=scenario, scenario_json=scenario_json, seed=int(seed),
                code_version=code or code_version(), mechanism=mechanism,
                rounds_planned=rounds_planned, chain=chain, label=label, created_at=_now(),
                status="running",
            )
            s.add(run)
            s.flush()
            return run.id

    def finish_run(self, run_id: int, *, status: str = "done", summary: dict | None = None,
                   wall_s: float | None = None, error: str | None = None) -> None:
        """Flush buffered rows and mark the run finished (or failed)."""
        self.flush()
        values: dict[str, Any] = {"status": status, "finished_at": _now()}
        if summary is not None:
            values["summary"] = summary
        if wall_s is not None:
            values["wall_s"] = wall_s
        if error is not None:
            values["error"] = error
        with self.engine.begin() as c:
            c.execute(update(Run).where(Run.id == run_id).values(**values))

    def set_chain_info(self, run_id: int, info: dict) -> None:
        """Remember where a run settles: contract addresses, first block, state file."""
        with self.engine.begin() as c:
            c.execute(update(Run).where(Run.id == run_id).values(chain_info=info))

    def mark_status(self, run_id: int, status: str) -> None:
        with self.engine.begin() as c:
            c.execute(update(Run).where(Run.id == run_id).values(status=status))

    def get_run(self, run_id: int) -> Run | None:
        with Session(self.engine, expire_on_commit=False) as s:
            return s.get(Run, run_id)

    def list_runs(self, limit: int | None = 50) -> list[Run]:
        """Runs, newest first: the newest ``limit`` (None: all)."""
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))

    def delete_run(self, run_id: int) -> None:
        with self.engine.begin() as c:
            for table in (TradeRow, QoAISRow, Snapshot, OrderCurveRow, Settlement, AgentAccount,
                          QoAISIndicatorRow, VenuePriceRow, RequestBatch, RoundRow):
                c.execute(delete(table).where(table.run_id == run_id))
            c.execute(delete(Run).where(Run.id == run_id))

    def rounds_stored(self, run_id: int) -> int:
        """How many rounds of a run are stored (a resumed run continues after them)."""
        self.flush()
        with self.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(RoundRow).where(RoundRow.run_id == run_id)).scalar_one())

    def last_round(self, run_id: int) -> int | None:
        """The number of the last stored round of a run, or None."""
        self.flush()
        with self.engine.connect() as c:
            r = c.execute(select(func.max(RoundRow.round)).where(RoundRow.run_id == run_id)).scalar()
        return None if r is None else int(r)

    def round_numbers(self, run_id: int) -> list[int]:
        """The numbers of a run's stored rounds, in order."""
        self.flush()
        with self.engine.connect() as c:
            q = select(RoundRow.round).where(RoundRow.run_id == run_id).order_by(RoundRow.round)
            return [int(r) for r in c.execute(q).scalars()]

    def truncate_after(self, run_id: int, last_round: int) -> None:
        """Drop rows of rounds after `last_round` (a resumed run recomputes them)."""
        with self.engine.begin() as c:
            for table in (TradeRow, QoAISRow, Snapshot, OrderCurveRow, QoAISIndicatorRow,
                          VenuePriceRow, RequestBatch, RoundRow):
                c.execute(delete(table).where(table.run_id == run_id, table.round > last_round))

    # ---------------------------------------------------------------- rounds
    def record_round(self, run_id: int, rr: Any, *, eq_prices: Sequence[float] | None = None,
                     wall_ms: float = 0.0) -> None:
        """Buffer one `agents.results.RoundResult`; flush every `flush_every` rounds."""
        cl = rr.clearing
        prices = np.asarray(cl.prices, dtype=float)
        eq = [math.nan] * 4 if eq_prices is None else list(eq_prices)
        qs = list(rr.qoais)
        n_req = sum(int(q.n_requests) for q in qs)
        n_served = sum(int(q.n_served) for q in qs)
        sla = sum(q.sla_rate * q.n_requests for q in qs) / n_req if n_req else 0.0
        overall = sum(q.overall * q.n_requests for q in qs) / n_req if n_req else 0.0
        t = cl.trades
        self._buffer("rounds", [(
            run_id, int(rr.round), *(_num(p) for p in prices), *(_num(p) for p in eq),
            *(float(v) for v in cl.volume), *(float(v) for v in cl.unmet_demand),
            float(cl.welfare), _num(rr.optimal_welfare), _num(rr.efficiency),
            float(cl.buyer_payments), float(cl.seller_revenue), float(cl.platform_surplus),
            len(t.buyer), n_req, n_served, float(sla), float(overall),
            int(getattr(rr, "handovers", 0)), float(wall_ms),
            *(_num(getattr(rr, f, math.nan)) for f in (
                "allocative_efficiency", "allocative_welfare", "delivered_welfare",
                "pool_optimum")),
        )])
        n = len(t.buyer)
        if n:
            # Kept as arrays: the writer (thread or process) turns them into rows.
            self._buffer("trades", [_Columns(n, (run_id, int(rr.round), None, t.buyer, t.seller,
                                                 t.resource, t.quantity, t.price,
                                                 getattr(t, "seller_price", t.price)))])
        self._buffer("qoais", [
            (run_id, int(rr.round), q.service_class, *(float(getattr(q, f)) for f in QOAIS_FIELDS))
            for q in qs
        ])
        self._buffer("qoais_indicators", qoais_indicator_rows(run_id, rr))
        self._buffer("venue_prices", venue_price_rows(run_id, rr))
        records = (getattr(rr, "info", None) or {}).get("requests")
        if records is not None:
            from ledger.store.request_batches import RequestBatchBlock  # pyarrow: load when used

            self._buffer("request_batches", [RequestBatchBlock(run_id, int(rr.round), records)])
        snap = getattr(rr, "snapshot", None)
        if snap is not None:
            m = len(snap.agent_id)
            self._buffer("snapshots", list(zip(
                [run_id] * m, [int(rr.round)] * m, np.asarray(snap.agent_id).tolist(),
                [str(k) for k in np.asarray(snap.kind).tolist()], _nullable(snap.x_m), _nullable(snap.y_m), np.asarray(snap.attached).tolist(),
                np.asarray(snap.utilization, float).tolist(), strict=True,
            )))
        curves = getattr(rr, "curves", None)
        if curves is not None and len(curves):
            # Points come grouped by (resource, side); step counts within each group.
            group = curves.resource.astype(np.int64) * 2 + curves.side
            start = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
            step = np.arange(group.size) - np.repeat(start, np.diff(np.r_[start, group.size]))
            self._buffer("order_curves", [_Columns(group.size, (
                run_id, int(rr.round), curves.resource.astype(np.int64),
                curves.side.astype(np.int64), step, curves.quantity, curves.price))])
        self._pending_rounds += 1
        # A process writer that has caught up takes what is buffered at once: batches then
        # follow its pace, and what is left to write when the run ends is small (with fixed
        # batches of 20 rounds the run waited ~2.3 s for the last one at 10,000 devices).
        if self._pending_rounds >= self.flush_every or self._writer.idle():
            self._submit()

    def _buffer(self, table: str, rows: list[tuple]) -> None:
        self._pending.setdefault(table, []).extend(rows)

    def flush(self) -> None:
        """Hand every buffered row to the writer and wait until it is written."""
        self._submit()
        self.sync()

    def _submit(self) -> None:
        """Queue the buffered rows for the writer (writes overlap the simulation)."""
        if not self._pending:
            return
        pending, self._pending, self._pending_rounds = self._pending, {}, 0
        self._writer.submit(pending)

    def sync(self) -> None:
        """Wait for queued writes; re-raise a write error in the caller's thread."""
        self._writer.sync()

    # -------------------------------------------------------------- accounts
    def record_accounts(self, run_id: int, rows: Iterable[tuple[int, str, str, int]]) -> None:
        """Store (agent_id, kind, address, initial_base) for every participant of a run."""
        cols = ("run_id", "agent_id", "kind", "address", "initial_base")
        with self.engine.begin() as c:
            c.execute(delete(AgentAccount).where(AgentAccount.run_id == run_id))
            c.execute(insert(AgentAccount), [dict(zip(cols, (run_id, *r), strict=True)) for r in rows])

    def accounts(self, run_id: int) -> list[AgentAccount]:
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(select(AgentAccount).where(AgentAccount.run_id == run_id)))

    # ---------------------------------------------------- settlement outbox
    def add_pending_settlement(self, run_id: int, rnd: int, payload: dict, *, n_trades: int,
                               netted_base: int) -> None:
        """Record a round's settlement as *pending* before anything is sent to the chain."""
        with self.engine.begin() as c:
            c.execute(delete(Settlement).where(Settlement.run_id == run_id, Settlement.round == rnd,
                                               Settlement.status == "pending"))
            c.execute(insert(Settlement).values(
                run_id=run_id, round=rnd, status="pending", payload=payload, n_trades=n_trades,
                netted_base=netted_base, created_at=_now(),
            ))

    def confirm_settlement(self, run_id: int, rnd: int, *, tx_hash: str, block: int, gas_used: int) -> None:
        """Mark a round's settlement *confirmed* with its receipt."""
        with self.engine.begin() as c:
            c.execute(update(Settlement).where(Settlement.run_id == run_id, Settlement.round == rnd).values(
                status="confirmed", tx_hash=tx_hash, block=block, gas_used=gas_used, confirmed_at=_now(),
            ))

    def settlements(self, run_id: int, status: str | None = None) -> list[Settlement]:
        with Session(self.engine, expire_on_commit=False) as s:
            q = select(Settlement).where(Settlement.run_id == run_id)
            if status:
                q = q.where(Settlement.status == status)
            return list(s.scalars(q.order_by(Settlement.round)))

    # ------------------------------------------------------------- learning
    def record_training(self, session: str, scenario: str, rows: Iterable[tuple[int, str, float | None, int, float]]) -> None:
        """Store training-curve points (iteration, policy, reward_mean, env_steps, time_s)."""
        now = _now()
        cols = ("session", "scenario", "iteration", "policy", "reward_mean", "env_steps", "time_s", "created_at")
        data = [dict(zip(cols, (session, scenario, *r, now), strict=True)) for r in rows]
        if data:
            with self.engine.begin() as c:
                c.execute(insert(TrainingPoint), data)

    def record_evaluation(self, session: str, rows: Iterable[dict]) -> None:
        """Store evaluation rows (see `Evaluation` for the fields)."""
        now = _now()
        data = [{**r, "session": session, "created_at": now} for r in rows]
        if data:
            with self.engine.begin() as c:
                c.execute(insert(Evaluation), data)
