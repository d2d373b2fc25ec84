"""The CLI behaves the same everywhere: --json, --mechanism with params, did-you-mean,
prompts, emoji-free labels, units, the README's plug-in example, lazy start-up.

Every case drives the real entry point in a subprocess on a real SQLite file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set", "devices.count=20", "--set", "nodes.count=2", "--set", "snapshot_every=0"]


def edgemarket(*args: str, cwd: Path = ROOT, stdin: str | None = None, env: dict[str, str] | None = None,
               flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, *flags, "-m", "app.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, input=stdin, env=full)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'runs.db'}"
    r = edgemarket("run", "--rounds", "2", "--chain", "none", "--db", url, "--mechanism", "uniform",
                   "--set", "market.params.k=0.9", "--json", *SMALL)
    assert r.returncode == 0, r.stderr
    return url


def test_run_json_is_one_document_and_mechanism_keeps_params(db: str) -> None:
    from ledger.store import RunStore

    run = RunStore(db).get_run(1)
    assert run is not None and run.scenario_json["market"] == {**run.scenario_json["market"],
                                                              "mechanism": "uniform", "params": {"k": 0.9}}
    # --set before or after --mechanism: the same scenario
    shown = [edgemarket("scenario", "show", "smart_city", "--json", *a) for a in (
        ("--set", "market.mechanism=uniform", "--set", "market.params.k=0.25"),
        ("--set", "market.params.k=0.25", "--set", "market.mechanism=uniform"))]
    assert [json.loads(s.stdout)["market"]["params"] for s in shown] == [{"k": 0.25}] * 2


@pytest.mark.parametrize(("mechanism", "param", "why"), [
    ("uniform", "k=7", "k must be a number in [0, 1]"),
    ("uniform", "kk=0.9", "unexpected keyword argument 'kk'"),
    ("mcafee", "k=0.9", "unexpected keyword argument 'k'"),  # validated against the final mechanism
])
def test_bad_mechanism_params_are_rejected(db: str, mechanism: str, param: str, why: str) -> None:
    r = edgemarket("run", "--rounds", "1", "--chain", "none", "--db", db, "--mechanism", mechanism,
                   "--set", f"market.params.{param}", *SMALL)
    assert r.returncode == 2 and why in r.stderr and "market" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(("args", "suggestion"), [
    (("run", "smart_cty"), "'smart_city'"),
    (("run", "--mechanism", "unifrom"), "'uniform'"),
    (("run", "--set", "nodes.strategy.name=fixed_markp"), "'fixed_markup'"),
    (("scenario", "show", "factroy"), "'factory'"),
    (("rnus",), "'runs'"),
])
def test_did_you_mean(args: tuple[str, ...], suggestion: str) -> None:
    r = edgemarket(*args, "--chain", "none") if args[0] == "run" else edgemarket(*args)
    assert r.returncode == 2
    assert re.search(rf"[Dd]id you mean {suggestion}", r.stderr), r.stderr


def test_json_flag_means_json_on_stdout_everywhere(db: str) -> None:
    for args in (("runs", "list", "--db", db), ("runs", "show", "1", "--db", db), ("scenario", "list"),
                 ("scenario", "show", "factory")):
        r = edgemarket(*args, "--json")
        assert r.returncode == 0, (args, r.stderr)
        json.loads(r.stdout)  # the whole of stdout is one document


def test_answering_no_exits_zero_and_keeps_the_run(db: str) -> None:
    r = edgemarket("runs", "delete", "1", "--db", db, stdin="n\n")
    assert r.returncode == 0 and "nothing deleted" in r.stdout
    assert edgemarket("runs", "show", "1", "--db", db).returncode == 0
    r = edgemarket("runs", "prune", "--keep", "0", "--db", db, stdin="n\n")
    assert r.returncode == 0 and "nothing deleted" in r.stdout


def test_summary_tables_print_units(db: str) -> None:
    r = edgemarket("runs", "show", "1", "--db", db)
    assert r.returncode == 0
    for unit in ("credits/unit", "Mbps·round", "GB·round", "GFLOP", "LU", "latency (ms)", "credits", " s"):
        assert unit in r.stdout, unit


def test_negative_efficiency_is_explained() -> None:
    from rich.console import Console

    from app.commands.run import print_summary

    s = {"run_id": 1, "scenario": "x", "seed": 0, "mechanism": "m", "rounds": 1, "efficiency_mean": -0.775,
         "efficiency_final": -0.5, "welfare_total": -3.0, "optimal_welfare_total": 4.0, "trades": 1,
         "served": 1, "requests": 1, "sla_rate": 1.0, "handovers": 0, "wall_s": 0.1,
         "final_prices": {}, "equilibrium_prices": {}, "qoais": {}}
    con = Console(record=True, width=200)
    print_summary(s, con)
    assert "destroyed welfare" in con.export_text()
    s.update(efficiency_mean=0.9, efficiency_final=0.8)
    con = Console(record=True, width=200)
    print_summary(s, con)
    assert "destroyed welfare" not in con.export_text()


def test_sweep_labels_print_without_emoji(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    r = edgemarket("sweep", "factory", "--grid", "market.mechanism=uniform", "--seeds", "1", "--rounds", "1",
                   "--serial", "--db", url, "--set", "devices.count=10", "--set", "nodes.count=2",
                   "--set", "snapshot_every=0")
    assert r.returncode == 0, r.stderr
    assert "sweep:factory:market.mechanism=uniform:seed=0" in r.stderr
    assert "\N{FACTORY}" not in r.stderr


def test_readme_plugin_example_works_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(# my_plugins\.py\n.*?)```", readme, re.S)
    command = re.search(r"```bash\n(EDGEMARKET_PLUGINS=my_plugins edgemarket run [^\n]*)\n```", readme)
    assert code and command
    (tmp_path / "my_plugins.py").write_text(code.group(1))
    env_part, _, rest = command.group(1).partition(" edgemarket ")
    key, value = env_part.split("=")
    # -P: like the `edgemarket` console script, the current folder is not on sys.path
    r = edgemarket(*rest.split(), "--rounds", "1", "--chain", "none", "--db", f"sqlite:///{tmp_path / 'p.db'}",
                   "--quiet", *SMALL, cwd=tmp_path, env={key: value}, flags=("-P",))
    assert r.returncode == 0, r.stderr


def test_help_imports_no_command_module() -> None:
    code = ("import sys; from app.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('app.commands.run', 'app.runner', 'sqlalchemy', 'pandas', 'numpy', "
            "'agents.model', 'market') if m in sys.modules]\nprint('HEAVY', heavy)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "HEAVY []" in r.stdout, r.stdout[-500:]
    assert "runs" in r.stdout and "--data-dir" in r.stdout
