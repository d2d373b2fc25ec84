"""Learning page: training curves per policy and the evaluation of learned pricing against
rule-based strategies and the equilibrium. Not tied to the selected run."""

from __future__ import annotations

import streamlit as st

from app.ui import labels, plots
from app.ui.data import learning_query
from app.ui.page import entry_guard

entry_guard()
st.title("🧠 Learning")
sessions = learning_query("training_sessions")
evals = learning_query("evaluation_sessions")
if sessions.empty and evals.empty:
    st.info(labels.NO_LEARNING)
    st.stop()

st.subheader("Training curves")
if sessions.empty:
    st.info("No training sessions stored yet (`edgemarket train`).")
else:
    c1, c2 = st.columns([3, 1])
    session = c1.selectbox("Training session", list(sessions["session"]), key="train_session",
                           format_func=lambda s: f"{s} ({sessions.set_index('session').loc[s, 'scenario']})")
    x = c2.radio("x axis", ["iteration", "env_steps", "time_s"], horizontal=True, key="train_x",
                 format_func={"iteration": "iteration", "env_steps": "env steps", "time_s": "time (s)"}.get)
    points = learning_query("training_curves", session)
    row = sessions.set_index("session").loc[session]
    cols = st.columns(4)
    cols[0].metric("Policies", int(row["policies"]))
    cols[1].metric("Iterations", int(row["iterations"]))
    cols[2].metric("Env steps", f"{int(row['env_steps']):,}")
    last = points.sort_values("iteration").groupby("policy")["reward_mean"].last()
    cols[3].metric("Best final reward", f"{last.max():.3g}" if last.notna().any() else "–")
    st.plotly_chart(plots.training_curves(points, x), width="stretch", key="training")

st.subheader("Evaluation: learned vs rule-based pricing vs equilibrium")
if evals.empty:
    st.info("No evaluations stored yet: evaluate trained policies to compare them with the "
            "rule-based strategies and the equilibrium.")
else:
    options = ["(all sessions)", *evals["session"]]
    chosen = st.selectbox("Evaluation session", options, index=1, key="eval_session")
    session_arg = None if chosen == options[0] else chosen
    summary = learning_query("evaluation_summary", session_arg)
    if session_arg is not None and session_arg.startswith("bench-"):
        st.caption("Learned-pricing benchmark session (`edgemarket evaluate --benchmark`): the "
                   "welfare share is the delivered-welfare ratio (SLA-met value − true costs over "
                   "the per-round oracle, not the equilibrium's welfare), the `dual_error` column "
                   "of the price table is the dual-tracking error mean |p − λ*|/λ*, QoAIS is not "
                   "measured (0). docs/learning.md, \"Benchmark\".")
    for scenario, part in summary.groupby("scenario", sort=True):
        st.markdown(f"**Scenario `{scenario}`**")
        st.plotly_chart(plots.evaluation_bars(part), width="stretch", key=f"eval_{scenario}")
    st.dataframe(summary, hide_index=True, width="stretch", column_config={
        "welfare": st.column_config.NumberColumn("welfare (credits)", format="%.2f"),
        "welfare_share": st.column_config.NumberColumn("welfare share of equilibrium", format="%.3f"),
        "welfare_share_min": None, "welfare_share_max": None,
        "provider_profit": st.column_config.NumberColumn("provider profit (credits)", format="%.2f"),
        "qoais": st.column_config.NumberColumn("QoAIS", format="%.3f"),
        "sla_rate": st.column_config.NumberColumn("SLA rate", format="%.3f"),
    })
    prices = learning_query("evaluation_prices", session_arg)
    if len(prices):
        st.markdown("Mean clearing price per resource (credits per unit):")
        st.dataframe(prices.pivot(index="pricing", columns="resource", values="price"), width="stretch")
