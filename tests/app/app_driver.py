"""Where the app and its pages are, and how a test opens one page with AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
PAGES = {
    "run": "pages/run.py", "market": "pages/market.py", "qoais": "pages/qoais.py",
    "agents": "pages/agents.py", "ledger": "pages/ledger.py", "learning": "pages/learning.py",
}


def open_page(page: str = "run", timeout_s: float = 60) -> AppTest:
    """Run the app once, then switch to `page` and run it (the store comes from $EDGEMARKET_DB)."""
    at = AppTest.from_file(str(APP), default_timeout=timeout_s)
    at.run()
    if page != "run":
        at.switch_page(PAGES[page]).run()
    return at


def chart_specs(at: AppTest) -> list[dict]:
    """The Plotly figure specs (JSON) of every chart on the page."""
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def trace_names(at: AppTest) -> set[str]:
    return {str(t.get("name")) for spec in chart_specs(at) for t in spec.get("data", [])}


def texts(at: AppTest, kind: str) -> str:
    """All messages of one element kind (info, error, warning, success, caption, markdown)."""
    return "\n".join(str(e.value) for e in getattr(at, kind))
