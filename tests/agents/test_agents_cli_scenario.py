"""`edgemarket scenario ...` as a user runs it: a subprocess, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from app.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_list_and_show_json() -> None:
    out = cli("scenario", "list", "--json")
    assert out.returncode == 0, out.stderr
    names = {r["name"] for r in json.loads(out.stdout)}
    assert {"smart_city", "factory", "highway"} <= names
    out = cli("scenario", "show", "smart_city", "--json", "--set", "devices.count=50")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["devices"]["count"] == 50
    assert data["service_classes"]["xr"]["latency_budget_ms"] == 20.0


@pytest.mark.parametrize(("content", "args", "expect"), [
    (None, ["--set", "devices.count=-5"], "devices.count: Input should be greater than or equal to 0"),
    ("devices:\n  count: 10\n  colour: red\n", [], "devices.colour: unknown key"),
    ("devices:\n  count: ten\n", [], "devices.count: Input should be a valid integer"),
    ("nodes:\n  capacity: {computation_gflop: -1}\n", [], "nodes.capacity.computation_gflop"),
    ("market:\n  mechanism: vickrey\n", [], "market.mechanism: unknown mechanism 'vickrey'"),
    ("nodes:\n  strategy: {name: oracle}\n", [], "nodes.strategy.name: unknown node strategy"),
    ("devices: [1, 2\n", [], "invalid YAML"),
])
def test_bad_scenarios_exit_2_with_field_path(tmp_path: Path, content: str | None,
                                              args: list[str], expect: str) -> None:
    if content is None:
        target = "smart_city"
    else:
        target = str(tmp_path / "bad.yaml")
        Path(target).write_text(content)
    out = cli("scenario", "show", target, *args)
    assert out.returncode == 2
    assert expect in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert out.stderr.strip().count("\n") == 0  # one line
