"""bench/bench_fl_cost.py as a user runs it: bad input is one line and exit 2; a short run
ends with the JSON line the README's benchmark table reads."""

from __future__ import annotations

import json
import subprocess

import pytest
from bench_run import run_bench


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_bench("bench_fl_cost.py", *args, timeout=600)


@pytest.mark.parametrize(("args", "field"), [
    (["--rounds", "0"], "--rounds"), (["--rounds", "x"], "--rounds"),
    (["--repeat", "-1"], "--repeat")])
def test_bad_input_is_one_line_and_exit_2(args: list[str], field: str) -> None:
    r = bench(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in r.stderr


def test_a_short_run_reports_the_growth() -> None:
    r = bench("--rounds", "3", "--repeat", "1")
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["name"] == "fl_cost_default_run" and line["rounds"] == 3
    assert line["growth"] == pytest.approx(line["ours_s"] / line["baseline_s"], rel=1e-2)
    assert 0 < line["sla_rate"] <= 1 and 0 < line["baseline_sla_rate"] <= 1
