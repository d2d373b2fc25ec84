"""The examples/ notebooks run end to end (nbclient, a real kernel) on small settings.

Each must execute without an error cell and draw its plots; the data they write goes to a
temporary data folder (EDGEMARKET_DATA), not into the checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
PLOT = "application/vnd.plotly.v1+json"


def execute(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict]:
    for k, v in {"PYTHONPATH": str(ROOT), "EDGEMARKET_DATA": str(tmp_path), **env}.items():
        monkeypatch.setenv(k, v)  # the kernel inherits this process's environment
    nb = nbformat.read(ROOT / "examples" / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "examples")}})
    client.execute()  # raises CellExecutionError on the first failing cell
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def plots(outputs: list[dict]) -> int:
    return sum(PLOT in o.get("data", {}) or "plotly" in str(o.get("data", {}).get("text/html", ""))
               for o in outputs)


def test_mechanism_comparison_notebook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outputs = execute("mechanism_comparison.ipynb", {
        "EDGEMARKET_NB_MECHANISMS": "uniform,mcafee", "EDGEMARKET_NB_SEEDS": "2",
        "EDGEMARKET_NB_ROUNDS": "2", "EDGEMARKET_NB_DEVICES": "12"}, monkeypatch, tmp_path)
    assert plots(outputs) == 2
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "4 run, 0 reused, 0 failed" in text
    assert (tmp_path / "examples" / "mechanisms.db").exists()


def test_qoais_deep_dive_notebook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outputs = execute("qoais_deep_dive.ipynb", {"EDGEMARKET_NB_ROUNDS": "3", "EDGEMARKET_NB_DEVICES": "20"},
                      monkeypatch, tmp_path)
    assert plots(outputs) == 5
    text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "qoais_performance_score" in text and "qoais_connection_reliability" in text
    assert "qoais_overall_score" in text and "latency_ms" in text  # the per-request section
