"""Ledger page: settled rounds (tx hash, block, gas, netted volume), balances, incentives
and slashes, reconciliation with the chain, and a trade's Merkle inclusion check."""

from __future__ import annotations

import streamlit as st

from app.ui import chain, labels, plots
from app.ui.data import run_query
from app.ui.page import fmt, require_run, run_caption
from app.ui.store import RunRef


def settlements_section(run: RunRef, info: dict) -> bool:
    """Metrics, gas chart and table of the settlement outbox; False when there is none."""
    totals = run_query("settlement_totals", run)
    if not totals["settlements"]:
        st.info(labels.NO_CHAIN_RUN if info["chain"] in ("", "none") else
                "No settlements are stored for this run yet.")
        return False
    cols = st.columns(5)
    cols[0].metric("Settled rounds", f"{totals['confirmed']:,}")
    cols[1].metric("Pending", f"{totals['pending']:,}", help="Recorded before sending, not confirmed yet")
    cols[2].metric("Gas used", f"{totals['gas_used']:,}")
    cols[3].metric("Netted volume", f"{fmt(totals['netted_credits'], '{:,.2f}')} cr")
    cols[4].metric("Last block", fmt(totals["last_block"], "{:.0f}"))
    table = run_query("settlements", run)
    st.plotly_chart(plots.gas_per_round(table), width="stretch", key="gas")
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "netted_credits": st.column_config.NumberColumn("netted (credits)", format="%.4f"),
        "gas_used": st.column_config.NumberColumn("gas used", format="%d"),
    })
    return True


def balances_section(run: RunRef) -> None:
    bal = run_query("account_balances", run)
    if bal.empty:
        st.info("No trades or accounts in this run yet.")
        return
    st.plotly_chart(plots.balance_histogram(bal), width="stretch", key="balances")
    st.caption("Balances = initial balance (accounts table, when the run had a chain) + net trade "
               "flows (sold − bought, credits) over the run, largest |net| first.")
    st.dataframe(bal.head(500), hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(c.replace("_", " "), format="%.4f")
        for c in ("initial_credits", "sold_credits", "bought_credits", "net_credits", "balance_credits")})
    inc = run_query("incentives_and_slashes", run)
    if inc.empty:
        st.caption("No incentives or slashes in the settlement payloads of this run.")
    else:
        c1, c2 = st.columns(2)
        paid = inc[inc["kind"] == "incentive"]["amount_credits"].sum()
        slashed = inc[inc["kind"] == "slash"]["amount_credits"].sum()
        c1.metric("Incentives paid", f"{fmt(paid, '{:,.4f}')} cr")
        c2.metric("Slashed", f"{fmt(slashed, '{:,.4f}')} cr")
        st.dataframe(inc.groupby(["kind", "account"], as_index=False)["amount_credits"].sum()
                     .sort_values("amount_credits", ascending=False), hide_index=True, width="stretch")


def reconcile_section(run: RunRef) -> None:
    st.markdown("Compare every confirmed settlement and account balance of this run with the chain.")
    if st.button("Reconcile with the chain", key="reconcile"):
        with st.spinner("Reconciling…"):
            try:
                result = chain.reconcile(run.url, run.id)
            except chain.ChainUnavailable as exc:
                st.info(f"Reconciliation is not available: {exc}")
                return
            except Exception as exc:  # chain errors are shown, not raised into the page
                st.error(f"Reconciliation failed: {exc}")
                return
        (st.success if chain.is_ok(result) else st.warning)(
            "Store and chain agree." if chain.is_ok(result) else "Store and chain differ (details below).")
        st.json(chain.as_dict(result), expanded=False)


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
        st.write(f"Trade {idx} of round {rnd}: agent {trade['buyer']} buys {fmt(trade['quantity'], '{:.4g}')} "
                 f"{labels.RESOURCE_UNITS[res]} of {res} from agent {trade['seller']} at "
                 f"{fmt(trade['price'], '{:.4g}')} credits/{labels.RESOURCE_UNITS[res]}.")
    if st.button("Verify the Merkle proof on chain", key="verify"):
        try:
            result = chain.verify_trade(run.url, run.id, rnd, idx)
        except chain.ChainUnavailable as exc:
            st.info(f"The inclusion check is not available: {exc}")
            return
        except Exception as exc:
            st.error(f"The inclusion check failed: {exc}")
            return
        if chain.is_ok(result):
            st.success("The trade is included in the Merkle root settled on chain for this round.")
        else:
            st.error("The proof does not match the root on chain.")
        st.json(chain.as_dict(result), expanded=False)


st.title("⛓️ Ledger")
run, info = require_run()
run_caption(info)
settled = settlements_section(run, info)
t1, t2, t3 = st.tabs(["Balances, incentives, slashes", "Reconciliation", "Trade inclusion"])
with t1:
    balances_section(run)
with t2:
    if settled:
        reconcile_section(run)
    else:
        st.info("Nothing to reconcile: this run has no settlements.")
with t3:
    inclusion_section(run)
