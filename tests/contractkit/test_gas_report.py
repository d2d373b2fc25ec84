"""Gas statistics, the snapshot file and the regression check (pure Python)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ledger.chain.gas_report import GasRecorder, compare, load_snapshot, table, write_snapshot


def test_stats_match_numpy() -> None:
    rng = np.random.default_rng(7)
    rec = GasRecorder(enabled=True)
    samples = {("Token", "transfer"): rng.integers(21_000, 60_000, 41).tolist(),
               ("Token", "approve"): rng.integers(40_000, 50_000, 10).tolist()}  # fmt: skip
    for (contract, method), gas in samples.items():
        for g in gas:
            rec.record(contract, method, g)
    stats = rec.stats()
    for (contract, method), gas in samples.items():
        s = stats[f"{contract}.{method}"]
        assert s["calls"] == len(gas)
        assert (s["min"], s["max"]) == (np.min(gas), np.max(gas))
        assert s["median"] == np.median(gas)  # even count: mean of the middle two
        assert s["mean"] == pytest.approx(np.mean(gas), abs=0.05)
    assert list(stats) == ["Token.approve", "Token.transfer"]
    text = table(stats)
    assert (
        "Token.transfer" in text.splitlines()[3]
        and f"{int(np.max(samples[('Token', 'transfer')])):,}" in text
    )


def test_disabled_recorder_records_nothing() -> None:
    rec = GasRecorder()
    rec.record("A", "f", 1)
    assert rec.stats() == {}


def _stats(median: float, lo: float | None = None, hi: float | None = None) -> dict[str, float]:
    return {"calls": 3, "min": lo or median, "mean": median, "median": median, "max": hi or median}


def test_check_tolerance_boundary() -> None:
    base = {"C.f": _stats(10_000)}
    assert compare(base, {"C.f": _stats(10_100)}, 1.0) == ([], [])  # exactly +1 %: allowed
    regressions, _ = compare(base, {"C.f": _stats(10_101)}, 1.0)
    assert len(regressions) == 3 and "C.f: min gas 10,000 -> 10,101" in regressions[0]
    assert compare(base, {"C.f": _stats(9_000)}, 0.0) == ([], [])  # cheaper is fine


def test_check_each_statistic_and_notes(tmp_path: Path) -> None:
    base = {"C.f": _stats(100, 50, 200), "C.gone": _stats(1)}
    path = write_snapshot(tmp_path / "snap.json", base)
    assert load_snapshot(path) == base
    regressions, notes = compare(
        load_snapshot(path), {"C.f": _stats(100, 50, 260), "C.new": _stats(1)}, 5
    )
    assert regressions == ["C.f: max gas 200 -> 260 (+30.00 %, tolerance 5 %)"]
    assert notes == [
        "C.gone: in the snapshot, not called in this run",
        "C.new: new (not in the snapshot)",
    ]
