"""The sidebar every page shares: the picker of stored runs (its value is the selected run)."""

from __future__ import annotations

import streamlit as st

from app.ui.data import runs_table
from app.ui.store import PICKER_KEY, RUN_KEY, db_url, picker_changed


def run_picker() -> None:
    """Sidebar select box of stored runs (newest first), bound to the selected run."""
    runs = runs_table()
    st.sidebar.markdown("### 📡 edgemarket")
    if runs.empty:
        st.session_state.pop(RUN_KEY, None)
        st.sidebar.caption("No stored runs yet: start one on the **Run** page.")
    else:
        labels = {
            int(r.id): f"#{r.id} {r.scenario} · {r.mechanism or '?'} · seed {r.seed} ({r.status})"
            for r in runs.itertuples(index=False)
        }
        if st.session_state.get(RUN_KEY) not in labels:
            st.session_state[RUN_KEY] = next(iter(labels))
        st.session_state[PICKER_KEY] = st.session_state[RUN_KEY]
        st.sidebar.selectbox("Run", options=list(labels), format_func=labels.__getitem__, key=PICKER_KEY,
                             on_change=picker_changed, help="The run every page shows. Newest first.")
    st.sidebar.caption(f"Store: `{db_url()}`")
