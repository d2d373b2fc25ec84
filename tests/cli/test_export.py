"""`edgemarket runs export`, `runs list --json` and `load_run` on real runs in real SQLite files.

Exported numbers are checked against other tables of the store and against raw sqlite3
reads (not against the exporter's own output): trade quantities per resource must add up
to the rounds' volumes, trade values to the buyers' payments, requests per round to the
rounds' request counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from app.runner import run_simulation

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"devices.count": 30, "nodes.count": 3, "snapshot_every": 0}


def edgemarket(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Three runs without a chain: (1) seed 4, (2) seed 5 same scenario, (3) 31 devices."""
    path = tmp_path_factory.mktemp("export") / "runs.db"
    url = f"sqlite:///{path}"
    run_simulation("smart_city", overrides=SMALL, seed=4, rounds=3, db_url=url)
    run_simulation("smart_city", overrides=SMALL, seed=5, rounds=3, db_url=url)
    run_simulation("smart_city", overrides={**SMALL, "devices.count": 31}, seed=4, rounds=3, db_url=url)
    return url, path


def test_export_parquet_tables_agree_with_the_store(store: tuple[str, Path], tmp_path: Path) -> None:
    url, path = store
    out = tmp_path / "run1"
    r = edgemarket("runs", "export", "1", "--db", url, "--out", str(out))
    assert r.returncode == 0, r.stderr
    names = {"rounds", "prices", "trades", "requests", "settlements", "snapshots", "order_curves", "accounts",
             "requests_by_class", "qoais_indicators", "venue_prices"}
    assert {p.name for p in out.iterdir()} == {f"{n}.parquet" for n in names} | {"manifest.json"}
    t = {n: pd.read_parquet(out / f"{n}.parquet", engine="pyarrow") for n in names}

    raw = sqlite3.connect(path)
    count = lambda table: raw.execute(f"select count(*) from {table} where run_id = 1").fetchone()[0]  # noqa: E731
    assert len(t["trades"]) == count("trades") > 0
    assert len(t["rounds"]) == count("rounds") == 3
    assert len(t["order_curves"]) == count("order_curves") > 0
    assert len(t["requests_by_class"]) == count("qoais") > 0
    assert len(t["qoais_indicators"]) == count("qoais_indicators") > 0
    assert len(t["requests"]) == t["rounds"]["n_requests"].sum() > 0  # one row per request

    # Names, not indices.
    assert set(t["trades"]["resource"]) <= {"communication", "caching", "computation", "learning"}
    assert set(t["order_curves"]["side"]) == {"demand", "supply"}
    # No chain and no snapshots: kinds come from the rebuilt model; every buyer is a device.
    assert set(t["trades"]["buyer_kind"]) == {"device"}
    assert t["trades"]["seller_kind"].notna().all()
    assert set(t["trades"]["seller_kind"]) <= {"node", "cloud", "device"}

    # Cross-table identities: the trades add up to what the rounds table recorded.
    vol = t["trades"].groupby("resource")["quantity"].sum()
    for res in vol.index:
        assert vol[res] == pytest.approx(t["rounds"][f"volume_{res}"].sum(), rel=1e-9)
    # Every venue's traded units add up to the round's volume (no direct trades here).
    vv = t["venue_prices"].groupby("resource")["volume"].sum()
    for res in vv.index:
        assert vv[res] == pytest.approx(t["rounds"][f"volume_{res}"].sum(), rel=1e-9)
    paid = t["trades"].groupby("round")["value_credits"].sum()
    assert paid.to_numpy() == pytest.approx(t["rounds"].set_index("round").loc[paid.index, "buyer_payments"].to_numpy(), rel=1e-9)
    per_round = t["requests_by_class"].groupby("round")["n_requests"].sum()
    assert per_round.tolist() == t["rounds"]["n_requests"].tolist()

    # Every QoAIS column of the store's qoais table is exported as qoais_<dimension>_<indicator>.
    store_cols = [row[1] for row in raw.execute("pragma table_info(qoais)")]
    indicator_cols = [c for c in store_cols if c not in ("run_id", "round", "service_class",
                                                         "n_requests", "n_served", "sla_rate")]
    q_cols = [c for c in t["requests_by_class"].columns if c.startswith("qoais_")]
    assert len(q_cols) == len(indicator_cols)
    dims = ("performance", "connection", "data", "computation", "security", "orchestration", "overall")
    assert all(c.split("_")[1] in dims for c in q_cols), q_cols
    for d in dims[:-1]:
        assert f"qoais_{d}_score" in q_cols
        assert t["requests_by_class"][f"qoais_{d}_score"].between(0, 1).all()
    # The long indicator table names dimension and indicator, and links to the request columns.
    qi = t["qoais_indicators"]
    assert set(qi["dimension"]) <= set(dims[:-1]) and qi["indicator"].str.contains(" ").any()
    assert set(qi["column"]) <= set(t["requests"].columns)


def test_export_csv_equals_parquet(store: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = store
    assert edgemarket("runs", "export", "2", "--db", url, "--out", str(tmp_path / "p")).returncode == 0
    assert edgemarket("runs", "export", "2", "--db", url, "--format", "csv", "--out", str(tmp_path / "c")).returncode == 0
    for name in ("trades", "requests", "rounds", "qoais_indicators"):
        p = pd.read_parquet(tmp_path / "p" / f"{name}.parquet")
        c = pd.read_csv(tmp_path / "c" / f"{name}.csv")
        assert list(p.columns) == list(c.columns)
        num = p.select_dtypes("number").columns
        assert c[num].to_numpy() == pytest.approx(p[num].to_numpy(), rel=1e-12, nan_ok=True)


def test_manifest_resolves_the_scenario_and_hashes_it(store: tuple[str, Path], tmp_path: Path) -> None:
    import pyarrow

    from agents.scenario import load_scenario

    url, _ = store
    m = {}
    for rid in (1, 2, 3):
        assert edgemarket("runs", "export", str(rid), "--db", url, "--out", str(tmp_path / str(rid))).returncode == 0
        m[rid] = json.loads((tmp_path / str(rid) / "manifest.json").read_text())
    # Every default is there: the manifest's scenario is the full resolved model.
    assert m[1]["scenario"] == load_scenario("smart_city", dict(SMALL)).model_dump(mode="json")
    canonical = json.dumps(m[1]["scenario"], sort_keys=True, separators=(",", ":"))
    assert m[1]["scenario_hash"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert m[1]["scenario_hash"] == m[2]["scenario_hash"]  # same scenario, other seed
    assert m[1]["scenario_hash"] != m[3]["scenario_hash"]  # one more device
    assert (m[1]["seed"], m[2]["seed"], m[1]["mechanism"]) == (4, 5, "uniform")
    assert m[1]["packages"]["pyarrow"] == pyarrow.__version__
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert m[1]["export_git_commit"] == head and head.startswith(m[1]["git_commit"])
    assert m[1]["chain"]["chain_id"] is None  # not settled


def test_export_bad_input_is_one_line_exit_2(store: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = store
    for args, field in ((("99",), "RUN_ID"), (("1", "--format", "xlsx"), "--format")):
        r = edgemarket("runs", "export", *args, "--db", url, "--out", str(tmp_path / "x"))
        assert r.returncode == 2 and field in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_runs_list_json_and_80_columns(store: tuple[str, Path]) -> None:
    url, _ = store
    r = edgemarket("runs", "list", "--db", url, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["id"] for x in rows] == [3, 2, 1]
    assert rows[0]["seed"] == 4 and rows[0]["status"] == "done" and rows[0]["rounds_done"] == 3
    table = edgemarket("runs", "list", "--db", url)  # COLUMNS=200: the table itself must stay narrow
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert len(lines) == 4 and max(len(x) for x in lines) <= 80
    assert "…" not in table.stdout  # nothing of these runs needed cutting


def test_load_run_gives_dataframes(store: tuple[str, Path]) -> None:
    from ledger.store.export import ExportError, RunTables, load_run

    url, path = store
    run = load_run(url, 3)
    assert isinstance(run, RunTables)
    for name in RunTables.TABLES:
        assert isinstance(getattr(run, name), pd.DataFrame), name
    raw = sqlite3.connect(path)
    total = raw.execute("select sum(quantity * price) from trades where run_id = 3").fetchone()[0]
    assert run.trades["value_credits"].sum() == pytest.approx(total, rel=1e-9)
    assert run.manifest["scenario"]["devices"]["count"] == 31
    with pytest.raises(ExportError, match="RUN_ID"):
        load_run(url, 42)


@pytest.mark.chain
def test_manifest_of_a_settled_run_names_chain_and_contracts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chain.db'}"
    run_simulation("smart_city", overrides=SMALL, seed=1, rounds=2, db_url=url, chain="anvil")
    out = tmp_path / "out"
    r = edgemarket("runs", "export", "1", "--db", url, "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["run_id"] == 1
    m = json.loads((out / "manifest.json").read_text())
    assert m["chain"]["chain_id"] == 31337  # Anvil's default chain id
    addrs = m["chain"]["contracts"]
    assert set(addrs) == {"token", "settlement", "incentives", "stakes"}
    assert len({a.lower() for a in addrs.values()}) == 4
    assert all(a.startswith("0x") and len(a) == 42 for a in addrs.values())
    st = pd.read_parquet(out / "settlements.parquet")
    assert len(st) == 2 and (st["status"] == "confirmed").all() and st["tx_hash"].str.len().eq(66).all()
    acc = pd.read_parquet(out / "accounts.parquet")
    assert (acc["address"].str.len() == 42).all() and set(acc["kind"]) >= {"device", "node"}
    Path(m["chain"]["state_file"]).unlink(missing_ok=True)


def test_requests_one_row_each_agree_with_the_stores_class_tables(store: tuple[str, Path]) -> None:
    """Per-request rows re-aggregated with pandas must give what the model aggregated per
    class with bincounts (the qoais and qoais_indicators tables, read with raw sqlite3),
    and their payments and trades what the rounds and trades tables hold."""
    from agents.qoais import INDICATORS, TIMEOUT_MS
    from agents.scenario import load_scenario
    from ledger.store.export import load_run

    url, path = store
    req = load_run(url, 1).requests
    raw = sqlite3.connect(path)
    cls = pd.read_sql("select * from qoais where run_id = 1", raw).set_index(["round", "service_class"])
    g = req.groupby(["round", "service_class"])
    assert g.size().to_dict() == cls["n_requests"].to_dict()
    assert g["served"].sum().to_dict() == cls["n_served"].to_dict()
    assert g["sla_met"].mean().to_numpy() == pytest.approx(cls.loc[g.size().index, "sla_rate"].to_numpy())
    served = req[req["served"]]
    gs = served.groupby(["round", "service_class"])
    for d in ("performance", "connection", "data", "computation", "security", "orchestration"):
        assert gs[f"qoais_{d}_score"].mean().to_numpy() == pytest.approx(cls.loc[gs.size().index, d].to_numpy())
    done = served[served["latency_ms"] < TIMEOUT_MS].groupby(["round", "service_class"])["latency_ms"].mean()
    assert done.to_numpy() == pytest.approx(cls.loc[done.index, "latency_ms_mean"].to_numpy())
    assert req.loc[~req["served"], [c for c in req.columns if c.startswith("qoais_")]].isna().all().all()

    # Overall score: the dimension scores weighted by the scenario's class weights.
    sc = load_scenario("smart_city", dict(SMALL))
    dims = [f"qoais_{d}_score" for d in ("performance", "connection", "data", "computation", "security", "orchestration")]
    w = {name: [x / sum(c.weights.as_list()) for x in c.weights.as_list()]  # normalized to sum 1
         for name, c in sc.service_classes.items()}
    expect = [min(1.0, sum(a * b for a, b in zip(row[dims], w[row["service_class"]], strict=True)))
              for _, row in served.iterrows()]
    assert served["qoais_overall_score"].to_numpy() == pytest.approx(expect)

    # Every indicator column: its class mean over served requests (where it applies) is the
    # qoais_indicators row of the same (round, class, indicator).
    qi = pd.read_sql("select round, service_class, indicator, value from qoais_indicators where run_id = 1", raw)
    from agents.request_records import indicator_column

    col = {name: indicator_column(dim, name) for dim, name, _u, _n in INDICATORS}
    means = served.groupby(["round", "service_class"])[list(col.values())].mean()
    got = [means.loc[(r, c), col[i]] for r, c, i in qi[["round", "service_class", "indicator"]].itertuples(index=False)]
    assert got == pytest.approx(qi["value"].tolist())
    assert len(qi) == means.notna().sum().sum()  # and no indicator mean is missing from the table

    # Money and trades: per round, payments sum to the buyers' payments, trade counts to the trades.
    rounds = pd.read_sql("select round, buyer_payments, n_trades from rounds where run_id = 1", raw).set_index("round")
    per = req.groupby("round")
    assert per["payment_credits"].sum().to_numpy() == pytest.approx(rounds["buyer_payments"].to_numpy(), rel=1e-9)
    assert per["n_trades"].sum().tolist() == rounds["n_trades"].tolist()
    # The provider sold to that request's device in that round.
    trades = pd.read_sql("select round, buyer, seller from trades where run_id = 1", raw)
    sold = set(trades.itertuples(index=False, name=None))
    assert all((r, d, p) in sold for r, d, p in served[["round", "device", "provider"]].itertuples(index=False))
