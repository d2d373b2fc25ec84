"""Where the app and its pages are, and how a test opens one page with AppTest and reads it."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from app.ui.store import RUN_KEY

PAGES = {
    "run": "views/run.py", "market": "views/market.py", "qoais": "views/qoais.py",
    "agents": "views/agents.py", "ledger": "views/ledger.py", "learning": "views/learning.py",
}
APP = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")


def open_page(page: str = "run", run_id: int | None = None, timeout_s: float = 60) -> AppTest:
    """Run the app once (with `run_id` selected, if given), then switch to `page` and run it.

    The store comes from $EDGEMARKET_DB (the `app_at` fixture sets it)."""
    at = AppTest.from_file(APP, default_timeout=timeout_s)
    if run_id is not None:
        at.session_state[RUN_KEY] = run_id
    at.run()
    if page != "run":
        at.switch_page(PAGES[page]).run()
    return at


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    """The Plotly figure specs (JSON) of every chart on the page, in page order."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart_titles(at: AppTest) -> list[str]:
    return [str(s.get("layout", {}).get("title", {}).get("text", "")) for s in chart_specs(at)]


def chart(at: AppTest, title_part: str) -> dict[str, Any]:
    """The first chart whose title contains `title_part`."""
    for spec in chart_specs(at):
        if title_part in str(spec.get("layout", {}).get("title", {}).get("text", "")):
            return spec
    raise AssertionError(f"no chart titled like {title_part!r}; titles: {chart_titles(at)}")


def values(data: Any) -> list[float]:
    """A trace's x or y values: a list, or plotly's typed-array encoding of a numpy array
    (``{"dtype": ..., "bdata": base64}``)."""
    if isinstance(data, dict) and "bdata" in data:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def trace_names(spec: dict[str, Any]) -> list[str]:
    return [str(t.get("name")) for t in spec.get("data", [])]


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label -> displayed value."""
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest, kind: str) -> str:
    """All messages of one element kind (info, error, warning, success, caption, markdown)."""
    return "\n".join(str(e.value) for e in getattr(at, kind))


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
