"""One writer per run and serialized migrations, with real processes on a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import inspect

from ledger.store import RunStore
from ledger.store.locks import run_lock

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set=devices.count=10", "--set=nodes.count=2", "--set=snapshot_every=0"]


def _cli(*args: str, **kw) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_second_writer_of_a_run_is_refused_with_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore(url)
    run_id = store.create_run("smart_city", {}, 1, rounds_planned=3)
    store.mark_status(run_id, "failed")
    holder = subprocess.Popen(  # another process holds the run's lock, as a running writer does
        [sys.executable, "-c", "import sys, time; from ledger.store.locks import run_lock; "
         f"l = run_lock({url!r}, {run_id}); assert l.acquire(); print('held', flush=True); time.sleep(60)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        p = _cli("run", "--resume", str(run_id), "--db", url, "--chain", "none", "--quiet")
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "--resume" in lines[0] and "another process" in lines[0]
        assert f"pid {holder.pid}" in lines[0]
        assert store.get_run(run_id).status == "failed"  # untouched
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its holder (here: killed): the run can be taken now.
    lock = run_lock(url, run_id)
    assert lock.acquire()
    lock.release()
    store.close()


def test_processes_opening_fresh_stores_at_once_all_succeed(tmp_path: Path) -> None:
    """Three processes open each of three fresh stores at the same instant (a shared start time)."""
    urls = [f"sqlite:///{tmp_path / f'fresh-{i}.db'}" for i in range(3)]
    code = ("import sys, time; from ledger.store import open_engine; t = float(sys.argv[1]); "
            "time.sleep(max(0.0, t - time.time())); [open_engine(u).dispose() for u in sys.argv[2:]]")
    start = time.time() + 8  # after every interpreter has imported SQLAlchemy and Alembic
    procs = [subprocess.Popen([sys.executable, "-c", code, str(start), *urls], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(errors)[-2000:]
    for u in urls:
        store = RunStore(u)
        assert "alembic_version" in inspect(store.engine).get_table_names()
        store.close()
