"""`edgemarket market ...`: clear, equilibrium, demo, and every kind of bad input.

Most cases run the real entry point in-process (`app.cli.main`, which maps UserError to
one line and exit 2); a few run the installed `edgemarket` script in a subprocess to prove
there is no traceback end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import run

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).parent / "edgemarket"

ORDERS = """side,resource,agent,quantity,price
bid,communication,alice,2,10
bid,communication,bob,2,6
ask,communication,node1,1,1
ask,communication,node2,2,5
ask,communication,node3,1,8
bid,computation,carol,100,0.05
ask,compute,node1,150,0.02
"""

BUYERS = """agent,value,max_bundles,communication,computation
alice,20,2,2,100
bob,5,1,1,50
"""

SELLERS = """agent,resource,capacity,cost
node1,communication,3,1.0
node2,computation,400,0.03
"""


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_clear_uniform_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["market", "clear", "--orders", str(write(tmp_path, ORDERS)),
                          "--mechanism", "uniform", "--k", "0.5", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    comm = doc["resources"]["communication"]
    # units: bids 10 10 6 6, asks 1 5 5 8 -> 3 units; Walrasian interval
    # [max(a_3, b_4), min(b_3, a_4)] = [max(5, 6), min(6, 8)] = {6}
    assert comm["price"] == 6.0 and comm["quantity"] == 3
    assert {t["buyer"] for t in comm["trades"]} == {"alice", "bob"}
    assert comm["welfare"] == pytest.approx(10 + 10 + 6 - 1 - 5 - 5)
    assert comm["buyer_payments"] == comm["seller_revenue"] == pytest.approx(18.0)
    assert comm["platform_surplus"] == 0
    comp = doc["resources"]["computation"]
    # 100 units bid at 0.05 against 150 offered at 0.02: the partly filled ask sets 0.02
    assert comp["quantity"] == 100 and comp["price"] == pytest.approx(0.02)
    assert set(doc["resources"]) == {"communication", "computation"}
    assert doc["efficiency"] == pytest.approx(1.0)


def test_clear_mcafee_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, ORDERS)
    code, out, _ = run(["market", "clear", "--orders", str(f), "--mechanism", "mcafee", "--json"],
                       capsys)
    assert code == 0
    comm = json.loads(out)["resources"]["communication"]
    # k = 3, p0 = (b4 + a4)/2 = (6 + 8)/2 = 7 > b3 = 6 -> 2 units, buyers 6, sellers 5
    assert comm["quantity"] == 2 and comm["price"] == 6 and comm["seller_price"] == 5
    assert comm["platform_surplus"] == pytest.approx(2.0)
    code, out, _ = run(["market", "clear", "--orders", str(f), "--mechanism", "mcafee"], capsys)
    assert code == 0 and "communication" in out and "efficiency" in out


def test_equilibrium_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["market", "equilibrium", "--buyers", str(write(tmp_path, BUYERS, "b.csv")),
                          "--sellers", str(write(tmp_path, SELLERS, "s.csv")), "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["prices"]) == {"communication", "caching", "computation", "learning"}
    assert doc["prices"]["caching"] is None  # nobody trades or offers it
    buyers = {b["agent"]: b for b in doc["allocations"]["buyers"]}
    # 3 comm units: alice (value 20 for 2 comm + 100 GFLOP) gets 1.5 bundles, bob none
    assert buyers["alice"]["bundles"] == pytest.approx(1.5)
    assert buyers["alice"]["payment"] <= buyers["alice"]["value"] + 1e-9
    assert doc["efficiency"] == pytest.approx(1.0)
    assert doc["welfare"] == pytest.approx(doc["optimal_welfare"])
    sellers = doc["allocations"]["sellers"]
    assert sellers[0]["sold"] == pytest.approx(3.0)
    code, out, _ = run(["market", "equilibrium", "--buyers", str(tmp_path / "b.csv"),
                        "--sellers", str(tmp_path / "s.csv")], capsys)
    assert code == 0 and "equilibrium prices" in out


def test_demo_compares_every_mechanism(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["market", "demo", "--seed", "1", "--buyers", "40", "--sellers", "8",
                        "--rounds", "5", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert [r["mechanism"] for r in doc["results"]] == [
        "equilibrium", "mcafee", "posted", "tatonnement", "uniform"]
    eq = doc["results"][0]
    assert eq["efficiency"] == pytest.approx(1.0)
    assert all(r["welfare"] <= eq["welfare"] + 1e-6 for r in doc["results"])
    code, out, _ = run(["market", "demo", "--buyers", "20", "--sellers", "5"], capsys)
    assert code == 0 and "tatonnement" in out


BAD_ORDERS = [
    ("nan price", "side,resource,agent,quantity,price\nbid,comm,a,1,nan\n", "row 2", "price", "NaN"),
    ("negative qty", "side,resource,agent,quantity,price\nbid,comm,a,1,1\nask,comm,b,-3,1\n",
     "row 3", "quantity", ">= 0"),
    ("text price", "side,resource,agent,quantity,price\nbid,comm,a,1,cheap\n", "row 2", "price",
     "not a number"),
    ("text qty", "side,resource,agent,quantity,price\nbid,comm,a,lots,1\n", "row 2", "quantity",
     "not a number"),
    ("inf price", "side,resource,agent,quantity,price\nbid,comm,a,1,inf\n", "row 2", "price",
     "infinite"),
    ("unknown resource", "side,resource,agent,quantity,price\nbid,comm,a,1,1\nask,gpu,b,1,1\n",
     "row 3", "resource", "unknown resource"),
    ("unknown side", "side,resource,agent,quantity,price\noffer,comm,a,1,1\n", "row 2", "side",
     "unknown side"),
    ("duplicate header", "side,resource,agent,quantity,price,price\nbid,comm,a,1,1,1\n", "row 1",
     "price", "duplicate"),
    ("missing column", "side,resource,agent,quantity\nbid,comm,a,1\n", "row 1", "price",
     "missing column"),
    ("unknown column", "side,resource,agent,quantity,price,colour\nbid,comm,a,1,1,red\n", "row 1",
     "colour", "unknown column"),
    ("short row", "side,resource,agent,quantity,price\nbid,comm,a,1\n", "row 2", "price",
     "value missing"),
    ("empty agent", "side,resource,agent,quantity,price\nbid,comm, ,1,1\n", "row 2", "agent",
     "empty agent"),
    ("blank lines keep row numbers", "side,resource,agent,quantity,price\n\nbid,comm,a,1,1\n\n"
     "ask,comm,b,x,1\n", "row 5", "quantity", "not a number"),
]


@pytest.mark.parametrize(("label", "text", "row", "column", "reason"), BAD_ORDERS,
                         ids=[b[0] for b in BAD_ORDERS])
def test_clear_bad_input_names_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    label: str, text: str, row: str, column: str, reason: str,
) -> None:
    code, out, err = run(["market", "clear", "--orders", str(write(tmp_path, text)), "--json"],
                         capsys)
    assert code == 2, label
    line = err.strip()
    assert "\n" not in line and "Traceback" not in err
    assert f"{row}" in line and f"column '{column}'" in line and reason in line, line
    assert out == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty file"), ("side,resource,agent,quantity,price\n", "no data rows"),
     ("\n\n", "empty file")],
)
def test_clear_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           text: str, reason: str) -> None:
    code, _, err = run(["market", "clear", "--orders", str(write(tmp_path, text))], capsys)
    assert code == 2 and reason in err and "Traceback" not in err


def test_clear_missing_file_and_bad_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["market", "clear", "--orders", str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and "no such file" in err
    f = write(tmp_path, ORDERS)
    code, _, err = run(["market", "clear", "--orders", str(f), "--mechanism", "vickrey"], capsys)
    assert code == 2 and "--mechanism" in err and "uniform or mcafee" in err
    code, _, err = run(["market", "clear", "--orders", str(f), "--k", "1.5"], capsys)
    assert code == 2 and "--k" in err


def test_size_and_row_limits(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    import market.csvio as csvio

    f = write(tmp_path, ORDERS)
    monkeypatch.setattr(csvio, "MAX_FILE_BYTES", 50)
    code, _, err = run(["market", "clear", "--orders", str(f)], capsys)
    assert code == 2 and "limit" in err
    monkeypatch.setattr(csvio, "MAX_FILE_BYTES", 10**9)
    monkeypatch.setattr(csvio, "MAX_ROWS", 3)
    code, _, err = run(["market", "clear", "--orders", str(f)], capsys)
    assert code == 2 and "more than 3 data rows" in err and "row 5" in err


@pytest.mark.parametrize(
    ("buyers", "sellers", "where"),
    [
        ("agent,value,max_bundles,communication\na,nan,1,1\n", SELLERS, ("row 2", "value")),
        ("agent,value,max_bundles,communication\na,1,1,-1\n", SELLERS, ("row 2", "communication")),
        ("agent,value,max_bundles,gpu\na,1,1,1\n", SELLERS, ("row 1", "gpu")),
        ("agent,value,max_bundles\na,1,1\n", SELLERS, ("row 1", "no demand column")),
        (BUYERS, "agent,resource,capacity,cost\nn,communication,3,x\n", ("row 2", "cost")),
        (BUYERS, "agent,resource,capacity\nn,communication,3\n", ("row 1", "cost")),
        (BUYERS, "agent,resource,capacity,cost\nn,warp,3,1\n", ("row 2", "resource")),
    ],
)
def test_equilibrium_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               buyers: str, sellers: str, where: tuple[str, str]) -> None:
    code, _, err = run(["market", "equilibrium", "--buyers", str(write(tmp_path, buyers, "b.csv")),
                        "--sellers", str(write(tmp_path, sellers, "s.csv"))], capsys)
    assert code == 2 and "Traceback" not in err
    assert all(w in err for w in where), err


def test_real_subprocess_end_to_end(tmp_path: Path) -> None:
    exe = str(EXE) if EXE.exists() else None
    cmd = [exe] if exe else [sys.executable, "-m", "app.cli"]
    good = subprocess.run([*cmd, "market", "clear", "--orders", str(write(tmp_path, ORDERS)),
                           "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["resources"]["communication"]["price"] == 6.0
    bad = subprocess.run([*cmd, "market", "clear", "--orders",
                          str(write(tmp_path, "side,resource,agent,quantity,price\nbid,comm,a,1,-2\n",
                                    "bad.csv"))],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "row 2" in bad.stderr and "column 'price'" in bad.stderr
