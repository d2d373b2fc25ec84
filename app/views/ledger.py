"""Ledger page: settled rounds (tx hash, block, gas, netted volume), escrow balances,
incentives and slashes, reconciliation with the chain, and a trade's Merkle inclusion check."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import chain, labels, plots
from app.ui.data import run_query
from app.ui.page import entry_guard, fmt, require_run, run_caption
from app.ui.store import RunRef

FLOWS_AUTO_TRADES = 250_000   # above this, per-agent trade flows are computed on request


def settlements_section(run: RunRef, info: dict) -> bool:
    """Metrics, gas chart and table of the settlement outbox; False when there is none."""
    totals = run_query("settlement_totals", run)
    if not totals["settlements"]:
        st.info(labels.NO_CHAIN_RUN if info["chain"] in ("", "none") else
                "No settlements are stored for this run yet.")
        return False
    cols = st.columns(5)
    cols[0].metric("Settled rounds", f"{totals['confirmed']:,}", help="Confirmed on chain (receipt stored)")
    cols[1].metric("Pending", f"{totals['pending']:,}", help="Recorded before sending, not confirmed yet")
    cols[2].metric("Gas used", f"{totals['gas_used']:,}")
    cols[3].metric("Netted volume (credits)", fmt(totals["netted_credits"], "{:,.2f}"),
                   help="Sum over rounds of the positive netted deltas: credits that changed hands on chain")
    cols[4].metric("Last block", fmt(totals["last_block"], "{:.0f}"))
    table = run_query("settlements", run)
    st.plotly_chart(plots.gas_per_round(table), width="stretch", key="gas")
    st.dataframe(table, hide_index=True, width="stretch", height=250, column_config={
        "netted_credits": st.column_config.NumberColumn("netted (credits)", format="%.4f"),
        "gas_used": st.column_config.NumberColumn("gas used", format="%d"),
        "tx_hash": st.column_config.TextColumn("tx hash"),
    })
    return True


def balances_section(run: RunRef, settled: bool, trades: int) -> None:
    """Escrow balances from the settlements when the run has them, else trade flows."""
    if settled:
        bal = run_query("account_balances", run)
        st.plotly_chart(plots.balance_histogram(bal), width="stretch", key="balances")
        st.caption("Escrow balances the store implies: initial deposit (accounts table) + the netted "
                   "deltas of every confirmed settlement (payloads), in credits; what reconciliation "
                   "checks against the chain. Largest |net| first.")
        st.dataframe(bal.head(1000), hide_index=True, width="stretch", column_config={
            c: st.column_config.NumberColumn(c.replace("_", " "), format="%.6f")
            for c in ("initial_credits", "net_credits", "balance_credits")})
        return
    key = f"flows_{run.id}"
    if trades > FLOWS_AUTO_TRADES and not st.session_state.get(key):
        st.info(f"This run has {trades:,} trades. Per-agent flows are aggregated over all of them "
                "(a few seconds at this size).")
        if not st.button("Compute per-agent flows", key="flows_button"):
            return
        st.session_state[key] = True
    flows = run_query("trade_flows", run).sort_values("net_credits", key=abs, ascending=False)
    st.plotly_chart(plots.balance_histogram(flows.assign(kind="agent")), width="stretch", key="flows")
    st.caption("Without a chain there are no escrow balances: these are each agent's trade flows over "
               "the run (sold − bought, at the trade price, credits).")
    st.dataframe(flows.head(1000), hide_index=True, width="stretch")


def incentives_section(run: RunRef) -> None:
    inc = run_query("incentives_and_slashes", run)
    fees, contrib, viol = inc["fees"], inc["contributions"], inc["violations"]
    cols = st.columns(3)
    cols[0].metric("Incentives pool funded (credits)", fmt(fees["fee_credits"].sum(), "{:,.4f}"),
                   help="Platform fees of the settled rounds, paid into the incentives contract")
    cols[1].metric("Work units attested", fmt(contrib["work_units"].sum(), "{:,.2f}"),
                   help="Provider contributions in the settlements; rewards are paid pro rata from the pool")
    cols[2].metric("Slashed (credits)", fmt(viol["amount_credits"].sum(), "{:,.4f}"),
                   help="SLA violations: taken from the node's stake to compensate the buyer")
    left, right = st.columns(2)
    left.markdown("**Contributions per provider**")
    left.dataframe(contrib, hide_index=True, width="stretch")
    right.markdown("**Slashes (SLA violations)**")
    if viol.empty:
        right.caption("No SLA violation was settled in this run.")
    else:
        right.dataframe(viol[["round", "node_id", "buyer_id", "amount_credits"]], hide_index=True, width="stretch")


def reconcile_section(run: RunRef) -> None:
    st.markdown("Compare the escrow balances the store implies with the chain's events and state, "
                "to the base unit. A run settled on the embedded Anvil is checked on a copy of its "
                "chain state, started for the check and stopped after it.")
    if not st.button("Reconcile with the chain", key="reconcile"):
        return
    with st.spinner("Starting the chain and reconciling…"):
        try:
            report = chain.reconcile(run.url, run.id)
        except chain.ChainUnavailable as exc:
            st.info(f"Reconciliation is not available: {exc}.")
            return
        except Exception as exc:  # a chain error is shown, not raised into the page
            st.error(f"Reconciliation failed: {type(exc).__name__}: {exc}")
            return
    summary = chain.report_summary(report)
    if summary["ok"]:
        st.success(f"Store and chain agree: {summary['accounts']:,} accounts, {summary['rounds']:,} rounds, "
                   f"{summary['events']:,} events.")
    else:
        st.error(f"Store and chain differ on {summary['mismatches']:,} accounts.")
        st.dataframe(pd.DataFrame(chain.mismatch_rows(report)), hide_index=True, width="stretch")
    st.json(summary, expanded=False)


def inclusion_section(run: RunRef) -> None:
    rounds = run_query("settled_rounds", run)
    if not rounds:
        st.info("No confirmed settlement yet: nothing to prove against the chain.")
        return
    c1, c2 = st.columns(2)
    rnd = c1.selectbox("Round", rounds, index=len(rounds) - 1, key="proof_round")
    n = run_query("trade_count", run, rnd)
    if n == 0:
        st.info(f"Round {rnd} has no trades.")
        return
    idx = int(c2.number_input(f"Trade index (0-{n - 1})", min_value=0, max_value=n - 1, value=0, key="proof_idx"))
    trade = run_query("trade_at", run, rnd, idx)
    if trade:
        res = labels.RESOURCES[int(trade["resource"])]
        unit = labels.RESOURCE_UNITS[res]
        st.write(f"Trade {idx} of round {rnd}: agent {trade['buyer']} buys {fmt(trade['quantity'], '{:.4g}')} "
                 f"{unit} of {res} from agent {trade['seller']} at {fmt(trade['price'], '{:.4g}')} credits/{unit}.")
    if st.button("Verify the Merkle proof on chain", key="verify"):
        with st.spinner("Starting the chain and verifying…"):
            try:
                ok = chain.verify_trade(run.url, run.id, rnd, idx)
            except chain.ChainUnavailable as exc:
                st.info(f"The inclusion check is not available: {exc}.")
                return
            except Exception as exc:
                st.error(f"The inclusion check failed: {type(exc).__name__}: {exc}")
                return
        if ok:
            st.success("Included: the settlement contract verified this trade's Merkle proof against the "
                       "root settled for the round.")
        else:
            st.error("Not included: the proof does not match the root settled on chain.")


entry_guard()
st.title("⛓️ Ledger")
run, info = require_run()
run_caption(info)
settled = settlements_section(run, info)
trades = int(run_query("run_overview", run)["trades"])
tabs = st.tabs(["Balances", "Incentives and slashes", "Reconciliation", "Trade inclusion"])
with tabs[0]:
    if trades or settled:
        balances_section(run, settled, trades)
    else:
        st.info("No trades in this run yet.")
with tabs[1]:
    if settled:
        incentives_section(run)
    else:
        st.info("Incentives and slashes are paid through settlements: this run has none.")
with tabs[2]:
    if settled:
        reconcile_section(run)
    else:
        st.info("Nothing to reconcile: this run has no settlements.")
with tabs[3]:
    inclusion_section(run)
