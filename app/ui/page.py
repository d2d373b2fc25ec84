"""Small building blocks every page uses: the entry-script guard, the selected run (or a
hint to make one) and a header naming it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.ui import labels
from app.ui.data import run_query
from app.ui.store import RunRef, selected_run

ENTRY_FLAG = "_entry_ran"


def mark_entry() -> None:
    """Called by the entry script before it runs the page: the page then knows it ran."""
    st.session_state[ENTRY_FLAG] = True


def entry_guard() -> None:
    """Draw the shared sidebar when the entry script did not run before this page.

    Pages are normally run by the entry script's `st.navigation`, which draws the run
    picker first; a page run on its own (e.g. `streamlit run app/views/market.py`) draws it
    itself.
    """
    if st.session_state.pop(ENTRY_FLAG, False):
        return
    from app.ui.sidebar import run_picker

    st.set_page_config(page_title="edgemarket", page_icon="📡", layout="wide")
    run_picker()


def require_run() -> tuple[RunRef, dict[str, Any]]:
    """The selected run and its row; shows how to get one and stops the page if none."""
    run = selected_run()
    if run is None:
        st.info(labels.NO_RUN)
        st.stop()
    info = run_query("run_info", run)
    return run, info


def run_caption(info: dict[str, Any]) -> None:
    """One line naming the run: id, scenario, mechanism, seed, rounds, chain, status."""
    st.caption(
        f"Run **#{info['id']}** · scenario `{info['scenario']}` · mechanism `{info['mechanism'] or '?'}` · "
        f"seed {info['seed']} · {info['rounds_done']}/{info['rounds_planned']} rounds · "
        f"chain `{info['chain']}` · {info['status']}"
    )


def run_label(info: dict[str, Any]) -> str:
    """A short label of a run for legends and pickers."""
    return f"#{info['id']} {info['scenario']} · {info['mechanism'] or '?'} · seed {info['seed']}"


def fmt(value: Any, pattern: str = "{:,.3g}", missing: str = "–") -> str:
    """Format a number for a metric; None / NaN become `missing`."""
    if value is None:
        return missing
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return missing if f != f else pattern.format(f)


def pct(value: Any) -> str:
    return fmt(None if value is None else 100 * float(value), "{:.1f} %")
