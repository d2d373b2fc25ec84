"""The run store on real databases: what a run writes, determinism, resume, migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.runner import run_simulation
from ledger.store import QoAISRow, RoundRow, RunStore, Snapshot, TradeRow

SMALL = {"devices.count": 40, "nodes.count": 4, "snapshot_every": 2}


def _count(store: RunStore, table, run_id: int) -> int:
    with store.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table).where(table.run_id == run_id)).scalar_one()


def _rounds(store: RunStore, run_id: int) -> list[tuple]:
    cols = [c for c in RoundRow.__table__.columns if c.name not in ("run_id", "wall_ms")]
    with store.engine.connect() as c:
        return [tuple(r) for r in c.execute(select(*cols).where(RoundRow.run_id == run_id).order_by(RoundRow.round))]


def test_a_run_stores_every_round_trade_and_class(sqlite_url: str) -> None:
    store = RunStore(sqlite_url, flush_every=3)
    s = run_simulation("smart_city", overrides=SMALL, seed=3, rounds=5, store=store)
    assert _count(store, RoundRow, s.run_id) == 5
    assert _count(store, TradeRow, s.run_id) == s.trades > 0
    n_classes = len(s.qoais)
    assert n_classes >= 1
    assert _count(store, QoAISRow, s.run_id) == 5 * n_classes
    assert _count(store, Snapshot, s.run_id) > 0
    run = store.get_run(s.run_id)
    assert run is not None and run.status == "done" and run.rounds_done == 5
    assert run.summary is not None and run.summary["trades"] == s.trades
    # The store is a real file that a second connection sees.
    assert RunStore(sqlite_url).get_run(s.run_id).status == "done"


def test_same_seed_same_summary_and_rows(sqlite_url: str) -> None:
    store = RunStore(sqlite_url)
    a = run_simulation("smart_city", overrides=SMALL, seed=11, rounds=4, store=store)
    b = run_simulation("smart_city", overrides=SMALL, seed=11, rounds=4, store=store)
    c = run_simulation("smart_city", overrides=SMALL, seed=12, rounds=4, store=store)
    assert a.deterministic_dict() == b.deterministic_dict()
    assert _rounds(store, a.run_id) == _rounds(store, b.run_id)
    assert a.deterministic_dict() != c.deterministic_dict()


class _Crash(Exception):
    pass


def test_resume_finishes_a_crashed_run_identically(sqlite_url: str) -> None:
    store = RunStore(sqlite_url, flush_every=1)
    ref = run_simulation("smart_city", overrides=SMALL, seed=5, rounds=6, store=store)

    def crash_after_three(done: int, total: int) -> None:
        if done == 3:
            raise _Crash

    with pytest.raises(_Crash):
        run_simulation("smart_city", overrides=SMALL, seed=5, rounds=6, store=store, progress=crash_after_three)
    crashed = store.list_runs(1)[0]
    assert crashed.status == "failed" and crashed.rounds_done == 3
    resumed = run_simulation(store=store, resume_run_id=crashed.id)
    assert resumed.run_id == crashed.id
    assert resumed.deterministic_dict() == ref.deterministic_dict()
    assert _rounds(store, crashed.id) == _rounds(store, ref.run_id)
    assert _count(store, TradeRow, crashed.id) == _count(store, TradeRow, ref.run_id)


def _head() -> str:
    from alembic.script import ScriptDirectory

    from ledger.store.database import MIGRATIONS_DIR, alembic_config

    cfg = alembic_config("sqlite://")
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_schema_is_managed_by_alembic(sqlite_url: str) -> None:
    store = RunStore(sqlite_url)
    with store.engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar_one() == _head()
    RunStore(sqlite_url)  # re-opening an up-to-date store is a no-op


def test_an_old_store_is_migrated_on_open_and_keeps_its_runs(sqlite_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from ledger.store.database import alembic_config

    command.upgrade(alembic_config(sqlite_url), "0001")
    with create_engine(sqlite_url).begin() as c:
        c.execute(text("insert into runs (scenario, scenario_json, seed, code_version, mechanism, rounds_planned,"
                       " rounds_done, status, chain, label, created_at, wall_s)"
                       " values ('old', '{}', 1, 'v0', 'uniform', 3, 3, 'done', 'none', '', '2026-01-01', 1.0)"))
    store = RunStore(sqlite_url)
    run = store.get_run(1)
    assert run is not None and run.scenario == "old" and run.chain_info is None
    store.set_chain_info(1, {"deployment": {"token": "0x0"}})
    assert store.get_run(1).chain_info == {"deployment": {"token": "0x0"}}


def test_postgresql_store(postgres_url: str) -> None:
    store = RunStore(postgres_url)
    s = run_simulation("smart_city", overrides=SMALL, seed=2, rounds=3, store=store)
    assert _count(store, RoundRow, s.run_id) == 3
    assert _count(store, TradeRow, s.run_id) == s.trades
    assert store.get_run(s.run_id).status == "done"
    store.engine.dispose()


def test_migrations_build_exactly_the_models_schema(sqlite_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ledger.store import Base

    store = RunStore(sqlite_url)
    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []


def test_process_writer_stores_the_same_rows(tmp_path) -> None:
    a = RunStore(f"sqlite:///{tmp_path / 'a.db'}")
    b = RunStore(f"sqlite:///{tmp_path / 'b.db'}", writer="process", flush_every=2)
    sa = run_simulation("smart_city", overrides=SMALL, seed=21, rounds=5, store=a)
    sb = run_simulation("smart_city", overrides=SMALL, seed=21, rounds=5, store=b)
    b.close()
    b = RunStore(f"sqlite:///{tmp_path / 'b.db'}")
    assert _rounds(a, sa.run_id) == _rounds(b, sb.run_id)
    cols = [c for c in TradeRow.__table__.columns]
    with a.engine.connect() as ca, b.engine.connect() as cb:
        ta = ca.execute(select(*cols).order_by(TradeRow.round, TradeRow.idx)).all()
        tb = cb.execute(select(*cols).order_by(TradeRow.round, TradeRow.idx)).all()
    assert ta == tb and len(ta) == sa.trades
    # Per-request records are encoded in the writer process too, to the same rows.
    from ledger.store.request_batches import read_requests

    ra, rb = read_requests(a.engine, sa.run_id), read_requests(b.engine, sb.run_id)
    assert len(ra) == sa.requests and ra.equals(rb)


def test_order_curves_are_stored_read_back_and_deleted_with_the_run(sqlite_url: str) -> None:
    from agents.model import EdgeMarketModel
    from agents.scenario import small
    from ledger.store import OrderCurveRow
    from ledger.store.queries import curve_rounds, order_curve

    store = RunStore(sqlite_url, flush_every=2)
    s = run_simulation("smart_city", overrides={**SMALL, "curves_every": 2}, seed=3, rounds=5,
                       store=store)
    assert curve_rounds(store.engine, s.run_id) == 2  # rounds 2 and 4
    # What was stored is what the model reported for that round.
    model = EdgeMarketModel(small("smart_city", curves_every=2, snapshot_every=2), seed=3)
    rr = [model.step() for _ in range(4)][-1]
    for r in range(4):
        got = order_curve(store.engine, s.run_id, 4, r)
        for side, name in ((0, "demand"), (1, "supply")):
            k = (rr.curves.resource == r) & (rr.curves.side == side)
            part = got[got["side"] == name]
            assert part["quantity"].tolist() == rr.curves.quantity[k].tolist()
            assert part["price"].tolist() == rr.curves.price[k].tolist()
    assert order_curve(store.engine, s.run_id, 3, 0).empty
    store.delete_run(s.run_id)
    assert _count(store, OrderCurveRow, s.run_id) == 0


def test_a_caught_up_process_writer_takes_each_round_at_once(tmp_path) -> None:
    """With a process writer that has nothing left to write, a round is handed over when it
    is recorded, not after ``flush_every`` rounds: a reader sees it once the writer syncs,
    while the run is still open (so little is left to write when a run ends)."""
    from agents.model import EdgeMarketModel
    from agents.scenario import small

    url = f"sqlite:///{tmp_path / 'p.db'}"
    store = RunStore(url, writer="process", flush_every=1000)
    model = EdgeMarketModel(small("smart_city"), seed=4)
    run_id = store.create_run("smart_city", {}, 4, rounds_planned=3)
    reader = RunStore(url)
    try:
        for n in (1, 2, 3):
            store.record_round(run_id, model.step())
            assert store._pending_rounds == 0  # handed to the idle writer, not buffered
            store.sync()
            assert _count(reader, RoundRow, run_id) == n
    finally:
        store.close()
        reader.close()
