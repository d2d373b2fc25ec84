"""The edgemarket Streamlit app: a multipage front end over the run store.

Start it with `edgemarket app [--db URL]` (or `streamlit run app/streamlit_app.py -- --db URL`).
The sidebar holds the run picker shared by every page; each page reads the store through
`ledger.store.queries` (cached per run) and never runs simulation logic itself.
"""

from __future__ import annotations

import streamlit as st

from app.ui.page import mark_entry
from app.ui.sidebar import run_picker

st.set_page_config(page_title="edgemarket", page_icon="📡", layout="wide")
run_picker()
mark_entry()
page = st.navigation([
    st.Page("views/run.py", title="Run", icon="▶️", default=True),
    st.Page("views/market.py", title="Market", icon="💹"),
    st.Page("views/qoais.py", title="QoAIS", icon="🎯"),
    st.Page("views/agents.py", title="Agents", icon="🗺️"),
    st.Page("views/ledger.py", title="Ledger", icon="⛓️"),
    st.Page("views/learning.py", title="Learning", icon="🧠"),
])
page.run()
