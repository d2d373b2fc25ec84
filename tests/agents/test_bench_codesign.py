"""bench/bench_codesign.py as a user runs it: bad input is one line and exit 2; a small run
ends with the JSON line the benchmark table reads."""

from __future__ import annotations

import json
import subprocess

import pytest
from bench_run import run_bench


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_bench("bench_codesign.py", *args, timeout=300)


@pytest.mark.parametrize(("args", "field"), [
    (["--seeds", "3"], "--seeds"),
    (["--users", "10,x"], "--users"),
    (["--users", "0,10"], "--users"),
    (["--users", "10,500"], "--users"),
    (["--device-gflops", "-1"], "--device-gflops"),
    (["--edge-gflops", "0"], "--edge-gflops"),
    (["--units", "2"], "--units"),
    (["--split-points", "0"], "--split-points"),
    (["--seeds", "ten"], "--seeds"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], field: str) -> None:
    r = bench(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.slow  # ~7 s on the shared machine (a subprocess that builds the edge table)
def test_small_run_prints_the_json_line() -> None:
    r = bench("--seeds", "10", "--users", "5,10", "--units", "100", "--split-points", "11")
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("name", "ours_s", "baseline_s", "ratio", "target", "ci_low", "ci_high",
                "weak_quartile_ratio", "seeds"):
        assert key in line
    assert line["seeds"] == 10
    assert line["users"] == 60  # the scenario's user count is always in the sweep
    assert [row["users"] for row in line["sweep"]] == [5, 10, 60]
    assert line["ci_low"] <= line["ratio"] <= line["ci_high"]
    for row in line["sweep"]:
        assert 0 <= row["satisfied_fair"] <= 1 and 0 <= row["satisfied_joint"] <= 1
