"""Per-request records in `request_batches`: the three `store.requests` modes on a real
SQLite file, the blob's format, and what a deleted or truncated run leaves behind.

The per-request values themselves are checked against the store's class tables in
tests/cli/test_export.py (test_requests_one_row_each_agree_with_the_stores_class_tables).
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from agents.model import EdgeMarketModel
from agents.scenario import small
from ledger.store import RunStore
from ledger.store.request_batches import REQUEST_COLUMNS, read_requests


def _run(store: RunStore, mode: str, rounds: int = 2, **extra) -> int:
    sc = small("smart_city", devices__count=30, snapshot_every=0, curves_every=0,
               store__requests=mode, **extra)
    run_id = store.create_run("smart_city", sc.model_dump(mode="json"), 7)
    model = EdgeMarketModel(sc, seed=7)
    for _ in range(rounds):
        store.record_round(run_id, model.step())
    store.finish_run(run_id)
    return run_id


def test_all_sample_and_none_on_one_store(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = RunStore(f"sqlite:///{path}")
    full = _run(store, "all")
    part = _run(store, "sample", store__request_devices=10)
    none = _run(store, "none")
    raw = sqlite3.connect(path)
    batches = dict(raw.execute("select run_id, count(*) from request_batches group by run_id").fetchall())
    assert batches == {full: 2, part: 2}  # one row per round; none stores no row

    a = read_requests(store.engine, full)
    n_req = [r for (r,) in raw.execute(f"select n_requests from rounds where run_id = {full} order by round")]
    assert a.groupby("round").size().tolist() == n_req and list(a.columns) == list(REQUEST_COLUMNS)
    stored_n = [r for (r,) in raw.execute(f"select n_requests from request_batches where run_id = {full} order by round")]
    assert stored_n == n_req

    # sample: the requests of devices whose id is a multiple of ceil(30 / 10) = 3, and the
    # very same rows as in the full run (the store mode does not change the simulation).
    b = read_requests(store.engine, part)
    assert len(b) > 0 and (b["device"] % 3 == 0).all()
    assert set(b["device"]) <= set(a["device"])
    expect = a[a["device"] % 3 == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(b.reset_index(drop=True), expect)

    c = read_requests(store.engine, none)
    assert len(c) == 0 and list(c.columns) == list(REQUEST_COLUMNS)
    store.close()


def test_blob_is_a_zstd_arrow_stream_and_goes_with_its_run(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = RunStore(f"sqlite:///{path}")
    run_id = _run(store, "all", rounds=3)
    raw = sqlite3.connect(path)
    enc, data = raw.execute("select encoding, data from request_batches where run_id = ? and round = 1",
                            (run_id,)).fetchone()
    assert enc == "arrow-ipc-zstd"
    # Read with plain pyarrow, not the module's decoder: any Arrow tool can read a batch.
    reader = pa.ipc.open_stream(pa.BufferReader(data))
    table = reader.read_all()
    cls_type = table.schema.field("service_class").type
    assert pa.types.is_dictionary(cls_type) and pa.types.is_large_string(cls_type.value_type)
    assert table.column("qoais_overall_score").type == pa.float64()
    served = table.column("served").to_pylist()
    lat = table.column("latency_ms").to_pylist()
    assert all(math.isnan(x) for x, s in zip(lat, served, strict=True) if not s)

    store.truncate_after(run_id, 2)  # a resumed run recomputes rounds after 2
    assert [r for (r,) in raw.execute("select round from request_batches order by round")] == [1, 2]
    store.delete_run(run_id)
    assert raw.execute("select count(*) from request_batches").fetchone()[0] == 0
    store.close()


def test_store_requests_rejects_an_unknown_mode() -> None:
    from agents.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"store\.requests"):
        small("smart_city", store__requests="some")
