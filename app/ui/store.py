"""The run store behind the app and the run selection shared by every page.

The store URL comes from `--db URL` after `--` on the `streamlit run` line, else the
`EDGEMARKET_DB` environment variable, else the project's default SQLite file. The engine
is opened once per URL (`st.cache_resource`).

The selected run lives in `st.session_state["run_id"]`, a plain (non-widget) key, so it
survives page switches whatever happens to widget state; the sidebar picker (key
`run_picker`) is set from it before it is drawn and writes back to it when changed.
Pages that choose a run (the Run page after a run) call `select_run`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine

from ledger.store import default_db_url, open_engine
from ledger.store import queries as q

RUN_KEY = "run_id"
PICKER_KEY = "run_picker"


def db_url(argv: list[str] | None = None) -> str:
    """The store URL: `--db URL` in the script's argv, else $EDGEMARKET_DB, else the default."""
    args = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--db" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--db="):
            return arg.split("=", 1)[1]
    return os.environ.get("EDGEMARKET_DB") or default_db_url()


@st.cache_resource(show_spinner=False)
def engine_for(url: str) -> Engine:
    """One engine per store URL for the whole server (schema migrated on first open)."""
    return open_engine(url)


def engine() -> Engine:
    return engine_for(db_url())


@dataclass(frozen=True)
class RunRef:
    """A stored run as the pages see it: store URL, id and a data version stamp."""

    url: str
    id: int
    stamp: str


def select_run(run_id: int) -> None:
    """Make `run_id` the selected run (the sidebar shows it from the next rerun on)."""
    st.session_state[RUN_KEY] = int(run_id)


def picker_changed() -> None:
    """`on_change` of the sidebar picker: its value becomes the selected run."""
    st.session_state[RUN_KEY] = st.session_state[PICKER_KEY]


def selected_run() -> RunRef | None:
    """The run selected in the sidebar, or None when the store has none."""
    run_id = st.session_state.get(RUN_KEY)
    if run_id is None:
        return None
    url = db_url()
    stamp = q.run_stamp(engine(), int(run_id))
    return None if stamp == "missing" else RunRef(url, int(run_id), stamp)


def ref_for(run_id: int) -> RunRef | None:
    """A `RunRef` for another run of the same store (e.g. the comparison run)."""
    stamp = q.run_stamp(engine(), int(run_id))
    return None if stamp == "missing" else RunRef(db_url(), int(run_id), stamp)
