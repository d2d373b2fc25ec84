"""Per-request records in the store: one `request_batches` row per round, one blob each.

A round of a 10,000-device run has thousands of requests with ~50 fields each; a SQL row
per request would cost more than the round itself to insert. Instead each round's
records (agents.request_records) are encoded as one Arrow IPC stream with zstd-compressed
buffers -- columnar, typed, readable by any Arrow tool -- and stored as one row
(run_id, round, n_requests, encoding, data). The encoding runs in the store's writer
(thread or process), not in the simulation's round.

`read_requests(bind, run_id)` decodes a run's batches back into one pandas DataFrame
with a leading ``round`` column (the export's ``requests`` table).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import select

from agents.request_records import QOAIS_COLUMNS, RequestRecords
from ledger.store.models import RequestBatch
from ledger.store.queries import Bind, _connect

#: The `encoding` of the blobs this module writes.
ENCODING = "arrow-ipc-zstd"

#: Columns of the export's per-request table, in order (see agents.request_records).
REQUEST_COLUMNS: tuple[str, ...] = (
    "round", "request", "device", "service_class", "provider", "n_sellers", "n_trades",
    "served", "sla_met", "latency_ms", "reliability", "value_credits", "payment_credits",
    *QOAIS_COLUMNS,
)


def encode(records: RequestRecords) -> bytes:
    """The Arrow IPC stream (zstd buffers) of one round's records."""
    batch = pa.RecordBatch.from_pydict(records.columns())
    sink = pa.BufferOutputStream()
    # zstd level 1: as small as the default level 3 on these columns (765 kB per metro
    # round either way, measured) at two thirds of the time.
    codec = pa.Codec("zstd", compression_level=1)
    with pa.ipc.new_stream(sink, batch.schema,
                           options=pa.ipc.IpcWriteOptions(compression=codec)) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def decode(data: bytes, encoding: str = ENCODING) -> pa.Table:
    """One stored blob back as an Arrow table."""
    if encoding != ENCODING:
        raise ValueError(f"request_batches: unknown encoding {encoding!r}")
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


class RequestBatchBlock:
    """A pending `request_batches` row, encoded when the writer turns it into a row."""

    __slots__ = ("records", "round", "run_id")

    def __init__(self, run_id: int, rnd: int, records: RequestRecords) -> None:
        self.run_id, self.round, self.records = run_id, rnd, records

    def rows(self) -> list[tuple[Any, ...]]:
        return [(self.run_id, self.round, len(self.records), ENCODING, encode(self.records))]


def read_requests(bind: Bind, run_id: int) -> pd.DataFrame:
    """Every stored request of a run, one row each, in round then request order."""
    b = RequestBatch
    stmt = select(b.round, b.encoding, b.data).where(b.run_id == run_id).order_by(b.round)
    tables = []
    with _connect(bind) as conn:
        for rnd, enc, data in conn.execute(stmt):
            t = decode(data, enc)
            tables.append(t.add_column(0, "round", pa.array([int(rnd)] * t.num_rows, pa.int64())))
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=_EMPTY_DTYPES.get(c, "float64")) for c in REQUEST_COLUMNS})
    return pa.concat_tables(tables).to_pandas()


_EMPTY_DTYPES = {"round": "int64", "request": "int64", "device": "int64", "service_class": "object",
                 "provider": "int64", "n_sellers": "int64", "n_trades": "int64", "served": "bool",
                 "sla_met": "bool"}
