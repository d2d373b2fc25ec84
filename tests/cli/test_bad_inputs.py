"""Bad user input: exit 2, one line naming the field, no traceback, nothing written.

Each case runs the real CLI in a scratch folder with `--db` pointing there; the store file
must not exist afterwards (or, where the case is about the store, must be left untouched).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ["run", "smart_city", "--rounds", "1", "--chain", "none", "--quiet",
       "--set=devices.count=5", "--set=nodes.count=2"]

# (id, argv with {d} for the scratch folder, text the one error line must contain)
CASES = [
    ("nan_budget", [*RUN, "--set=devices.budget_credits=nan"], "devices.budget_credits"),
    ("inf_area", [*RUN, "--set=area.width_m=inf"], "area.width_m"),
    ("huge_area", [*RUN, "--set=area.height_m=1e308"], "area.height_m"),
    ("huge_duration", [*RUN, "--set=round_duration_s=1e300"], "round_duration_s"),
    ("negative_power", [*RUN, "--set=devices.tx_power_w=-1"], "devices.tx_power_w"),
    ("inf_power", [*RUN, "--set=devices.tx_power_w=inf"], "devices.tx_power_w"),
    ("seed_negative", [*RUN, "--seed", "-1"], "--seed"),
    ("seed_too_big", [*RUN, "--seed", str(2**64)], "--seed"),
    ("db_not_sqlite", [*RUN, "--db", "sqlite:///{d}/notes.txt"], "is not a SQLite file"),
    ("db_parent_is_file", [*RUN, "--db", "sqlite:///{d}/notes.txt/runs.db"], "is a file, not a folder"),
    ("yaml_binary", ["run", "{d}/binary.yaml", "--chain", "none", "--quiet"], "not a text (UTF-8) YAML"),
    ("yaml_folder", ["run", "{d}/folder.yaml", "--chain", "none", "--quiet"], "folder.yaml"),
    ("json_folder_missing", [*RUN, "--summary-out", "{d}/missing/out.json"], "--summary-out"),
    ("chain_bad", [*RUN[:-3], "--quiet", "--chain", "ftp://example"], "--chain"),
    ("csv_1e308", ["market", "clear", "--orders", "{d}/orders.csv"], "column 'quantity'"),
    ("runs_show_no_store", ["runs", "show", "1"], "--db"),
]


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("not a database, just some notes\n" * 10)
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "orders.csv").write_text(
        "side,resource,agent,quantity,price\nbid,compute,1,1e308,2\nask,compute,2,1,0.5\n")
    return tmp_path


def _run_cli(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The real CLI entry point, in this process (a subprocess per case costs ~5 s)."""
    from app.cli import main

    monkeypatch.chdir(cwd)
    with pytest.raises(SystemExit) as exit_:  # any other exception would be a traceback
        main(args)
    return int(exit_.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(("argv", "needle"), [pytest.param(a, n, id=i) for i, a, n in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
        argv: list[str], needle: str, scratch: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(d=scratch) for a in argv]
    db = scratch / "runs.db"
    if "--db" not in args and args[0] in ("run", "runs"):
        args += ["--db", f"sqlite:///{db}"]
    before = (scratch / "notes.txt").read_bytes()
    code, err = _run_cli(args, scratch, monkeypatch, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert not db.exists()  # no store created, so nothing half-written
    assert (scratch / "notes.txt").read_bytes() == before
    assert not (scratch / "missing").exists()


def test_a_real_process_prints_no_traceback(scratch: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "app.cli", *RUN, "--seed", "-5", "--db",
                          f"sqlite:///{scratch / 'runs.db'}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "error: --seed: must be in 0..9223372036854775807, got -5"]


def test_runs_list_without_a_store_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    out = subprocess.run([sys.executable, "-m", "app.cli", "runs", "list", "--db", f"sqlite:///{db}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "no runs" in out.stdout
    assert list(tmp_path.iterdir()) == []
