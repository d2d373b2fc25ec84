"""QoAIS page: the six quality-of-AI-service dimensions per service class (radar), SLA
satisfaction over rounds, and the distributions of latency, reliability and accuracy."""

from __future__ import annotations

import streamlit as st

from app.ui import labels, plots
from app.ui.data import run_query
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
st.dataframe(
    profile, hide_index=True, width="stretch",
    column_config={d: st.column_config.ProgressColumn(labels.QOAIS_LABELS[d], min_value=0, max_value=1, format="%.2f")
                   for d in (*labels.QOAIS_DIMENSIONS, "overall", "sla_rate")},
)
st.caption("Each dimension is a score in [0, 1] (1 = requirement fully met); the dimensions follow "
           "the QoAIS indicator set: performance, connection, data, computation, security, orchestration.")
