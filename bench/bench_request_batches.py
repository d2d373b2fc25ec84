"""Benchmark: storing every request of a metro round -- one compressed blob vs a SQL row each.

Ours: `ledger.store.request_batches` -- a round's per-request records (agents.request_records:
~6,000 requests x 49 columns on scenarios/metro.yaml) encoded as one Arrow IPC stream with
zstd buffers and inserted as one `request_batches` row of a SQLite run store.
Baseline: the obvious layout, one SQL row per request in a 49-column table, inserted with
one executemany per round (the store's fast positional path) in the same SQLite file.
Both are timed (best of 3) on the same rounds' records, taken with ``store.requests: all``.

Also reported: ``encode_share_of_step`` = our CPU time per round over the model's
``step()`` CPU time per round (what storing every request adds to a metro round, in the
store's writer), ``blob_kb_per_round`` and ``requests_per_round``. Last line: JSON.

    .venv/bin/python bench/bench_request_batches.py [--quick] [--seed N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_time, parser, report

from agents.model import EdgeMarketModel
from agents.scenario import load_scenario
from ledger.chain.paths import data_dir
from ledger.store import RunStore
from ledger.store.request_batches import REQUEST_COLUMNS, RequestBatchBlock, encode
from ledger.store.run_store import write_pending


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    rounds = 2 if args.quick else 5
    sc = load_scenario("metro", {"store.requests": "all"})
    model = EdgeMarketModel(sc, seed=args.seed)
    model.step()  # warm up (first-round allocations)
    records, step_cpu = [], 0.0
    for _ in range(rounds):
        c0 = time.process_time()
        rr = model.step()
        step_cpu += time.process_time() - c0
        records.append((int(rr.round), rr.info["requests"]))
    encode(records[0][1])  # first-call imports out of the timing

    path = data_dir("bench") / "request_batches.db"
    path.unlink(missing_ok=True)
    store = RunStore(f"sqlite:///{path}")
    run_id = store.create_run("metro", {}, args.seed)
    cols = ", ".join(f'"{c}"' for c in ("run_id", *REQUEST_COLUMNS))
    with store.engine.begin() as c:
        c.exec_driver_sql(f"CREATE TABLE request_rows ({cols})")

    def ours() -> None:
        with store.engine.begin() as c:
            c.exec_driver_sql("DELETE FROM request_batches")
        write_pending(store.engine, {"request_batches": [RequestBatchBlock(run_id, r, rec)
                                                         for r, rec in records]})

    def baseline() -> None:
        with store.engine.begin() as c:
            c.exec_driver_sql("DELETE FROM request_rows")
            for r, rec in records:
                col = rec.columns()
                n = len(rec)
                values = [[run_id] * n, [r] * n, *([str(x) for x in v] if k == "service_class"
                                                   else list(v.tolist()) for k, v in col.items())]
                c.exec_driver_sql(f"INSERT INTO request_rows VALUES ({', '.join('?' * len(values))})",
                                  list(zip(*values, strict=True)))

    ours_s, _ = best_time(ours, repeat=3)
    base_s, _ = best_time(baseline, repeat=3)
    c0 = time.process_time()
    blobs = [encode(rec) for _, rec in records]
    enc_cpu = time.process_time() - c0
    n_req = sum(len(rec) for _, rec in records) / rounds
    print(f"ours: {rounds} metro rounds of ~{n_req:,.0f} requests as blobs in {ours_s:.3f} s; "
          f"one row per request: {base_s:.3f} s", flush=True)
    store.close()
    report("request_batches", ours_s, base_s, "storing every request costs < 5 % of a metro round "
           "and beats a SQL row per request", requests_per_round=round(n_req),
           rounds=rounds, encode_share_of_step=round(enc_cpu / step_cpu, 4),
           encode_ms_per_round=round(enc_cpu / rounds * 1e3, 2),
           step_ms_per_round=round(step_cpu / rounds * 1e3, 1),
           blob_kb_per_round=round(sum(len(b) for b in blobs) / rounds / 1e3, 1))
    path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
