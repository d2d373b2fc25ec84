"""QoAIS page: the six quality-of-AI-service dimensions per service class (radar), SLA
satisfaction over rounds, the distributions of latency, reliability and accuracy, every
indicator of each dimension, and federated-learning curves per client-selection strategy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agents.fl.config import FLConfig
from agents.fl.curves import selection_curves
from agents.qoais import INDICATOR_NAMES, INDICATORS
from app.ui import labels, plots
from app.ui.data import run_query
from app.ui.html_table import html_table
from app.ui.page import entry_guard, fmt, pct, require_run, run_caption

entry_guard()
st.title("🎯 QoAIS")
run, info = require_run()
run_caption(info)
span = run_query("round_range", run)
series = run_query("qoais_series", run)
if span is None or series.empty:
    st.info("This run has no QoAIS rows yet. " + labels.NO_ROUNDS)
    st.stop()

ov = run_query("run_overview", run)
cols = st.columns(4)
cols[0].metric("SLA satisfied", pct(ov["sla_rate"]), help="Share of requests meeting their SLA, all classes")
cols[1].metric("QoAIS (overall)", fmt(ov["qoais"], "{:.3f}"), help="Request-weighted overall score in [0, 1]")
cols[2].metric("Requests", f"{ov['requests']:,}")
cols[3].metric("Served", pct(ov["served"] / ov["requests"]) if ov["requests"] else "–")

first, last = span
window = (st.slider("Rounds in the radar", min_value=first, max_value=last, value=(first, last), key="qoais_window")
          if last > first else (first, last))
profile = run_query("qoais_profile", run, window[0], window[1])
left, right = st.columns([1, 1])
left.plotly_chart(plots.qoais_radar(profile), width="stretch", key="radar")
right.plotly_chart(plots.sla_over_rounds(series, run_query("round_series", run)), width="stretch", key="sla")
st.plotly_chart(plots.qoais_distributions(series), width="stretch", key="distributions")
st.caption("One sample per service class and round (the per-round class means and p95 latency).")
st.markdown("**Scores per service class** (request-weighted over the chosen rounds)")
# HTML, not st.dataframe: it fits the page, so no column scrolls out of view (app/ui/html_table.py).
# One column per class (few), one row per score: the long dimension names go down, not across.
scores = (*labels.QOAIS_DIMENSIONS, "overall", "sla_rate")
by_class = profile.set_index("service_class")
score_rows = by_class[list(scores)].T.astype(object).rename(index=labels.QOAIS_LABELS)
counts = by_class[["n_requests", "n_served"]].T.rename(index={"n_requests": "Requests", "n_served": "Served"})
table = pd.concat([score_rows, counts.map(lambda n: f"{int(n):,}")])
st.markdown(html_table(table, index="Score", formats=dict.fromkeys(table.columns, "{:.2f}"),
                       bars=list(table.columns)), unsafe_allow_html=True)
st.caption("Each dimension is a score in [0, 1] (1 = requirement fully met); the dimensions follow "
           "the QoAIS indicator set: performance, connection, data, computation, security, orchestration.")

# --- the 29 indicators of 004 Table 3, per dimension (docs/qoais.md) --------------------
st.subheader("Indicators per dimension (004 Table 3)")
indicators = run_query("qoais_indicators", run, window[0], window[1])
if indicators.empty:
    st.info("This run stores no per-indicator scores (it was recorded before they existed).")
else:
    order = list(INDICATOR_NAMES)
    tabs = st.tabs([labels.QOAIS_LABELS[d] for d in labels.QOAIS_DIMENSIONS])
    for tab, dim in zip(tabs, labels.QOAIS_DIMENSIONS, strict=True):
        with tab:
            st.plotly_chart(plots.qoais_indicator_bars(indicators, dim, order), width="stretch",
                            key=f"indicators_{dim}")
            rows = indicators[indicators["dimension"] == dim]
            table = rows.pivot(index="indicator", columns="service_class", values="value")
            table = table.reindex([n for n in order if n in table.index])
            st.markdown(html_table(table, index="Indicator", formats=dict.fromkeys(table.columns, "{:.2f}"),
                                   bars=list(table.columns)), unsafe_allow_html=True)
            absent = [i[1] for i in INDICATORS if i[0] == dim and i[1] not in set(rows["indicator"])]
            if absent:
                st.caption("Not measured in this run: " + ", ".join(absent)
                           + " (N/A, or FL-only and no learning request was served).")

# --- federated learning: accuracy against wall time per client-selection strategy -------
st.subheader("Federated learning: client selection")
sc_json = (info or {}).get("scenario_json") or {}
try:
    fl_cfg = FLConfig(**(sc_json.get("fl") or {}))
except ValueError:
    fl_cfg = FLConfig()
curves = selection_curves(fl_cfg, int((info or {}).get("seed") or 0))
st.plotly_chart(plots.fl_curves(pd.DataFrame(
    [{"strategy": s, "time": t, "accuracy": a} for s, (ts, acs) in curves.items()
     for t, a in zip(ts, acs, strict=True)])), width="stretch", key="fl_curves")
st.caption(f"The run's federation (Dirichlet alpha = {fl_cfg.alpha}, {fl_cfg.clients} clients, "
           f"{fl_cfg.participants} per round, {fl_cfg.max_epochs} local epochs), trained with "
           "each strategy; a round lasts as long as its slowest participant. "
           "bench/bench_fl_selection.py repeats this over seeds with confidence intervals.")
