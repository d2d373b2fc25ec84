"""Market page: price trajectories against the equilibrium, the order book (supply and demand
curves) at a round, efficiency against the optimum, and two runs side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import labels, plots
from app.ui.data import run_query, runs_table
from app.ui.page import entry_guard, fmt, pct, require_run, run_caption, run_label
from app.ui.store import RunRef, ref_for

ORDER_BOOK_NOTE = (
    "**What this curve is.** The round's order book, pooled over all its markets (one per "
    "cell or zone, and the cloud's): every ask at its price from the cheapest (supply), every "
    "bid from the highest (demand). Bundle bids enter as their per-resource parts, priced by "
    "the engine's value-share rule, as the per-resource auctions saw them. The × marks the "
    "round's clearing point: traded volume and clearing price (the volume-weighted mean when "
    "several markets each clear at their own price, so it need not sit on the pooled "
    "crossing). Curves keep at most `curve_steps` points per side (scenario setting)."
)

SUPPLY_DEMAND_NOTE = (
    "**What this curve is.** The store keeps the executed trades of each round, not the order "
    "book, so these are the *realised* curves: the round's trades for the resource grouped by "
    "unit price, cumulated by descending price (served demand) and by ascending price (supply "
    "sold). The × marks the round's clearing point: traded volume and clearing price, which is "
    "the volume-weighted mean price when the round clears several markets (one per cell or "
    "zone, each at its own price). The dotted segment is the demand left unmet. With a single "
    "uniform-price market every trade pays the clearing price and both steps lie on it. "
    "(This run stored no order-book curves for this round.)"
)


def prices_tab(run: RunRef) -> None:
    prices = run_query("price_series", run)
    st.plotly_chart(plots.price_trajectories(prices), width="stretch", key="prices")
    if prices["eq_price"].isna().all():
        st.caption("No equilibrium prices were computed for this run (`eq_price_*` are empty): "
                   "the reference line is omitted.")
    else:
        st.caption("Dashed: the competitive-equilibrium price of each round's market.")


def supply_demand_tab(run: RunRef, first: int, last: int) -> None:
    c1, c2 = st.columns([3, 2])
    rnd = c1.slider("Round", min_value=first, max_value=last, value=last, key="sd_round") if last > first else first
    resource = c2.radio("Resource", labels.RESOURCES, horizontal=True, key="sd_resource",
                        format_func=lambda r: f"{r} ({labels.RESOURCE_UNITS[r]})")
    market = run_query("round_market", run, rnd)
    res_i = labels.RESOURCES.index(resource)
    row = market.iloc[res_i]
    curve = run_query("order_curve", run, rnd, res_i)
    if len(curve):
        st.plotly_chart(plots.order_book(curve, row, resource, rnd), width="stretch",
                        key="supply_demand")
        st.markdown(ORDER_BOOK_NOTE)
    else:  # runs stored without curves (curves_every: 0, or before the store kept them)
        steps = run_query("trade_steps", run, rnd, res_i)
        st.plotly_chart(plots.supply_demand(steps, row, resource, rnd), width="stretch",
                        key="supply_demand")
        st.markdown(SUPPLY_DEMAND_NOTE)
    unit = labels.RESOURCE_UNITS
    table = market.assign(unit=[unit[r] for r in market["resource"]])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "price": st.column_config.NumberColumn("clearing price (cr/unit)", format="%.4g"),
        "eq_price": st.column_config.NumberColumn("equilibrium price (cr/unit)", format="%.4g"),
        "volume": st.column_config.NumberColumn("volume (units)", format="%.4g"),
        "unmet": st.column_config.NumberColumn("unmet demand (units)", format="%.4g"),
    })
    venues_table(run, rnd, resource)


VENUE_NOTE = (
    "Each venue's clearing price is the mechanism's uniform price there (= its volume-weighted "
    "trade price). Dual: the Walrasian price of the venue's welfare LP on the orders as bid and "
    "asked (what the equilibrium mechanism would charge); true-cost dual: the same LP on true "
    "values and costs. The pooled prices above weight price and dual alike, by units traded "
    "per venue; the cloud is its own venue. See docs/internals.md, \"Prices per venue\"."
)


def venues_table(run: RunRef, rnd: int, resource: str) -> None:
    """The chosen round and resource, venue by venue: price next to its duals."""
    vp = run_query("venue_prices_at", run, rnd)
    if vp.empty:
        return  # runs stored before the store kept venues (migration 0008)
    st.subheader("Prices per venue")
    vp = vp[vp["resource"] == resource].drop(columns=["round", "resource"])
    st.dataframe(vp, hide_index=True, width="stretch", column_config={
        "price": st.column_config.NumberColumn("clearing price (cr/unit)", format="%.4g"),
        "dual": st.column_config.NumberColumn("LP dual (cr/unit)", format="%.4g"),
        "dual_true": st.column_config.NumberColumn("LP dual, true costs (cr/unit)", format="%.4g"),
        "volume": st.column_config.NumberColumn("traded (units)", format="%.4g"),
        "supply": st.column_config.NumberColumn("offered (units)", format="%.4g"),
    })
    st.caption(VENUE_NOTE)


def efficiency_tab(run: RunRef) -> None:
    rounds = run_query("round_series", run)
    st.plotly_chart(plots.efficiency(rounds), width="stretch", key="efficiency")
    st.caption("Efficiency = realised welfare / optimal welfare of the same round's orders "
               "(the optimum is the welfare-maximising allocation, computed per round). "
               "The axis widens to show values below 0: there the trades destroyed welfare.")
    honest = rounds.dropna(subset=["allocative_efficiency"]) \
        if "allocative_efficiency" in rounds else rounds.iloc[:0]
    if len(honest):
        st.subheader("Honest welfare")
        st.line_chart(honest.set_index("round")[["allocative_efficiency"]])
        st.line_chart(honest.set_index("round")[["allocative_welfare", "delivered_welfare",
                                                 "pool_optimum"]])
        st.caption("Allocative efficiency = (true value of completed bundles − sellers' true "
                   "costs) / the pool-wide optimum on true costs (edge, brokers and cloud "
                   "together). Delivered welfare counts value only for requests whose SLA "
                   "was met (credits). See docs/internals.md, \"Welfare\".")


def _default_other(runs: pd.DataFrame, info: dict) -> int | None:
    """A run to compare with: same scenario and another mechanism if any, else the next one."""
    others = runs[runs["id"] != info["id"]]
    if others.empty:
        return None
    same = others[(others["scenario"] == info["scenario"]) & (others["mechanism"] != info["mechanism"])]
    return int((same if len(same) else others).iloc[0]["id"])


def compare_tab(run: RunRef, info: dict) -> None:
    runs = runs_table()
    default = _default_other(runs, info)
    if default is None:
        st.info("Only one run is stored. Run the same scenario with another mechanism on the "
                "**Run** page to compare them here.")
        return
    ids = [int(i) for i in runs["id"] if int(i) != run.id]
    names = {int(r.id): f"#{r.id} {r.scenario} · {r.mechanism or '?'} · seed {r.seed}" for r in runs.itertuples()}
    other_id = st.selectbox("Compare with", ids, index=ids.index(default), format_func=names.__getitem__,
                            key="compare_with")
    other = ref_for(other_id)
    if other is None:
        st.warning("That run is no longer in the store.")
        return
    other_info = run_query("run_info", other)
    la, lb = run_label(info), run_label(other_info)
    table = pd.DataFrame([
        {"run": la, **_summary_row(run_query("run_overview", run))},
        {"run": lb, **_summary_row(run_query("run_overview", other))},
    ]).set_index("run").T
    st.dataframe(table, width="stretch")
    st.plotly_chart(plots.compare_prices(run_query("price_series", run), run_query("price_series", other), la, lb),
                    width="stretch", key="compare_prices")
    # Compare on welfare (credits, one scale), not efficiency: each run's efficiency is
    # measured against its own optimum, so two runs can both show ~100 % with very
    # different welfare.
    st.plotly_chart(plots.compare_welfare(run_query("round_series", run), run_query("round_series", other),
                                          la, lb), width="stretch", key="compare_welfare")
    st.caption(labels.EFFICIENCY_NOTE)


def _summary_row(ov: dict) -> dict[str, str]:
    row = {"rounds": fmt(ov["rounds"], "{:,.0f}"), "trades": fmt(ov["trades"], "{:,.0f}"),
           "welfare (credits)": fmt(ov["welfare"], "{:,.1f}"), "efficiency": pct(ov["efficiency"]),
           "SLA satisfied": pct(ov["sla_rate"]), "QoAIS": fmt(ov["qoais"], "{:.3f}")}
    for r in labels.RESOURCES:
        row[f"mean price {r} (cr/{labels.RESOURCE_UNITS[r]})"] = fmt(ov[f"mean_price_{r}"], "{:.4g}")
        row[f"volume {r} ({labels.RESOURCE_UNITS[r]})"] = fmt(ov[f"volume_{r}"], "{:,.4g}")
    return row


entry_guard()
st.title("💹 Market")
run, info = require_run()
run_caption(info)
span = run_query("round_range", run)
if span is None:
    st.info(labels.NO_ROUNDS)
    st.stop()
ov = run_query("run_overview", run)
cols = st.columns(4)
cols[0].metric("Efficiency", pct(ov["efficiency"]), help="Realised welfare / optimal welfare over the run")
cols[1].metric("Welfare (credits)", fmt(ov["welfare"], "{:,.0f}"), help="Total realised welfare over the run")
cols[2].metric("Trades", f"{ov['trades']:,}")
cols[3].metric("Compute price (cr/GFLOP)", fmt(ov["mean_price_computation"], "{:.3g}"),
               help="Mean clearing price of computation over the run")
t1, t2, t3, t4 = st.tabs(["Prices", "Supply & demand", "Efficiency", "Compare runs"])
with t1:
    prices_tab(run)
with t2:
    supply_demand_tab(run, *span)
with t3:
    efficiency_tab(run)
with t4:
    compare_tab(run, info)
