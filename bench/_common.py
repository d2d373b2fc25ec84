"""Shared helpers for the benchmarks: timing, argument parsing, the final JSON line.

Every benchmark times ours against a baseline in the same run and ends with one JSON line
holding at least ``name``, ``ours_s``, ``baseline_s``, ``ratio`` (baseline / ours) and
``target``, so scripts can collect results with ``tail -n 1``. Import this module before numpy.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

# Single-threaded BLAS: the baselines are single-threaded Python, and on a shared machine
# BLAS worker threads contending for cores make timings erratic. Must precede numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def best_time(fn: Callable[[], Any], repeat: int = 3, warmup: int = 0) -> tuple[float, Any]:
    """Minimum wall time of ``repeat`` calls (GC off while timing) and the last result.

    ``warmup`` untimed calls first (fresh memory pages make first calls of array code slow).
    """
    best = float("inf")
    result: Any = None
    for _ in range(warmup):
        result = fn()
    for _ in range(max(1, repeat)):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - t0)
        finally:
            gc.enable()
    return best, result


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the common ``--quick`` and ``--seed`` flags."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smaller/fewer runs, under 60 s")
    p.add_argument("--seed", type=int, default=0)
    return p


def report(name: str, ours_s: float, baseline_s: float, target: str, **extra: Any) -> dict[str, Any]:
    """Print the final JSON line (ratio = baseline_s / ours_s) and return it."""
    line: dict[str, Any] = {
        "name": name,
        "ours_s": round(ours_s, 6),
        "baseline_s": round(baseline_s, 6),
        "ratio": round(baseline_s / ours_s, 2) if ours_s > 0 else None,
        "target": target,
        **extra,
        "python": platform.python_version(),
    }
    print(json.dumps(line), flush=True)
    return line
