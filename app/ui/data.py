"""Cached access to `ledger.store.queries` for the pages.

Each query result is cached with `st.cache_data`, keyed by the store URL, the run id and
the run's data stamp (rounds done and status), so a finished run is read once and a run
that is still writing is re-read when it advances.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.ui.store import RunRef, db_url, engine_for
from ledger.store import queries as q


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(name: str, url: str, stamp: str, args: tuple[Any, ...]) -> Any:
    """Run `queries.<name>(engine, *args)`; `stamp` only keys the cache."""
    return getattr(q, name)(engine_for(url), *args)


def run_query(name: str, run: RunRef, *args: Any) -> Any:
    """A query about one run: `queries.<name>(engine, run.id, *args)`, cached."""
    return _cached(name, run.url, run.stamp, (run.id, *args))


def learning_query(name: str, *args: Any) -> Any:
    """A query over the training/evaluation tables, cached until they change."""
    url = db_url()
    return _cached(name, url, q.learning_stamp(engine_for(url)), args)


def runs_table(limit: int = 200) -> pd.DataFrame:
    """Stored runs, newest first (not cached: cheap, and it must show new runs at once)."""
    return q.list_runs(engine_for(db_url()), limit)
