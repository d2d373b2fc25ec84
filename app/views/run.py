"""Run page: run a scenario with adjusted parameters (progress bar), or pick a stored run;
then a first look at the selected run."""

from __future__ import annotations

import streamlit as st

from app.errors import UserError
from app.ui import labels, plots
from app.ui.clone import CLONE_KEY, clone_values
from app.ui.data import run_query, runs_table
from app.ui.page import entry_guard, fmt, pct, run_caption
from app.ui.run_form import (
    RunnerMissing,
    build_overrides,
    defaults_for,
    mechanisms,
    start_run,
    strategies,
)
from app.ui.scenarios import scenario_names
from app.ui.store import db_url, select_run, selected_run


def _choice(options: list[str], value: str) -> tuple[list[str], int | None]:
    """Options including `value` (first when new) and its index (None when no options)."""
    opts = options if value in options or not value else [value, *options]
    return opts, (opts.index(value) if value in opts else 0) if opts else None


def run_form() -> None:
    """Scenario picker and parameter form; on submit, run it and select the new run."""
    names = scenario_names()
    if not names:
        st.warning("No scenario files found in `scenarios/*.yaml`.")
        return
    scenario = st.selectbox("Scenario", names, key="form_scenario",
                            index=names.index("smart_city") if "smart_city" in names else 0)
    d = defaults_for(scenario)
    clone = st.session_state.get(CLONE_KEY)
    if clone and clone.get("scenario") == scenario:  # "Clone this run" filled the form
        for k in ("devices", "nodes", "rounds", "seed", "mechanism", "device_strategy", "node_strategy",
                  "snapshot_every", "snapshot_devices"):
            if clone.get(k) not in (None, ""):
                setattr(d, k, type(getattr(d, k))(clone[k]))
        st.info(f"Form filled from run #{clone['run_id']}: submit it unchanged to run it again.")
    with st.form("run_form"):
        c1, c2, c3, c4 = st.columns(4)
        devices = c1.number_input("Devices", min_value=1, max_value=100_000, value=d.devices, step=10)
        nodes = c2.number_input("Edge nodes", min_value=1, max_value=1_000, value=d.nodes, step=1)
        rounds = c3.number_input("Rounds", min_value=1, max_value=10_000, value=d.rounds, step=10)
        seed = c4.number_input("Seed", min_value=0, value=d.seed, step=1)
        c1, c2, c3, c4 = st.columns(4)
        mech_opts, mech_i = _choice(mechanisms(), d.mechanism)
        mechanism = c1.selectbox("Mechanism", mech_opts, index=mech_i)
        dev_opts, dev_i = _choice(strategies("device"), d.device_strategy)
        device_strategy = c2.selectbox("Device bidding strategy", dev_opts, index=dev_i)
        node_opts, node_i = _choice(strategies("node"), d.node_strategy)
        node_strategy = c3.selectbox("Node pricing strategy", node_opts, index=node_i)
        chain = c4.toggle("Settle on a local chain (Anvil)", value=False,
                          help="Starts a local Anvil for the run and settles every round on chain.")
        c1, c2, _, _ = st.columns(4)
        snapshot_every = c1.number_input(
            "Snapshot every (rounds)", min_value=0, max_value=10_000, value=d.snapshot_every, step=1,
            help="Rounds between agent snapshots for the Agents page's map (0: none).")
        snapshot_devices = c2.number_input(
            "Devices per snapshot", min_value=0, max_value=100_000, value=d.snapshot_devices, step=50,
            help="Devices recorded in each snapshot (a fixed random sample; set it to the device "
                 "count to map every device).")
        advanced = st.text_area(
            "Advanced overrides", key="form_advanced", height=80,
            placeholder="one `field.path = value` per line, e.g.\nmarket.params.k = 0.5\nsnapshot_every = 5",
            help="Any scenario field, validated by the runner like the fields above.")
        submitted = st.form_submit_button("Run", type="primary")
    if not submitted:
        return
    # Overrides are what differs from the file; a cloned run's strategies count as changed.
    if clone and clone.get("scenario") == scenario:
        d = defaults_for(scenario)
    try:
        overrides = build_overrides(d, {"devices": int(devices), "nodes": int(nodes), "mechanism": mechanism,
                                        "device_strategy": device_strategy, "node_strategy": node_strategy,
                                        "snapshot_every": int(snapshot_every),
                                        "snapshot_devices": int(snapshot_devices)},
                                    advanced)
    except ValueError as exc:
        st.error(str(exc))
        return
    bar = st.progress(0.0, text="starting…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(1, total)), text=f"round {done} / {total}")

    try:
        summary = start_run(scenario, overrides, seed=int(seed), rounds=int(rounds), db_url=db_url(),
                            chain=chain, progress=progress)
    except (UserError, ValueError) as exc:
        bar.empty()
        st.error(f"Invalid parameters: {exc}")
        return
    except RunnerMissing as exc:
        bar.empty()
        st.info(f"Cannot run yet: {exc}. Pick a stored run in the sidebar, or use `edgemarket run`.")
        return
    st.session_state.pop(CLONE_KEY, None)
    st.session_state["last_summary"] = summary.to_dict() if hasattr(summary, "to_dict") else {}
    select_run(summary.run_id)
    st.rerun()


def _clone(info: dict) -> None:
    """Button callback (runs before the next draw, so it may set the form's widget state)."""
    values = clone_values(info, scenario_names())
    values["run_id"] = info["id"]
    st.session_state[CLONE_KEY] = values
    st.session_state["form_scenario"] = values["scenario"]
    st.session_state["form_advanced"] = values["advanced"]


def stored_runs() -> None:
    """The stored runs; selecting a row makes it the run every page shows."""
    runs = runs_table()
    if runs.empty:
        st.info("No stored runs yet. Run a scenario above (or `edgemarket run` in a shell).")
        return
    event = st.dataframe(
        runs, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="runs_table", column_config={"wall_s": st.column_config.NumberColumn("wall (s)", format="%.1f")},
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        rid = int(runs.iloc[rows[0]]["id"])
        current = selected_run()
        if current is None or current.id != rid:
            select_run(rid)
            st.rerun()


def overview() -> None:
    """Headline metrics and two charts of the selected run."""
    run = selected_run()
    if run is None:
        return
    info = run_query("run_info", run)
    st.subheader(f"Run #{run.id}")
    run_caption(info)
    if info.get("error"):
        st.error(f"The run failed: {info['error']}")
    ov = run_query("run_overview", run)
    if not ov["rounds"]:
        st.info("This run has no stored rounds yet.")
        return
    st.button("Clone this run", key="clone_run", on_click=_clone, args=(info,),
              help="Fill the form above with this run's scenario, parameters and seed.")
    cols = st.columns(5)
    cols[0].metric("Rounds", f"{ov['rounds']:,}")
    cols[1].metric("Trades", f"{ov['trades']:,}")
    cols[2].metric("Efficiency", pct(ov["efficiency"]), help="Realised welfare / optimal welfare over the run")
    cols[3].metric("SLA satisfied", pct(ov["sla_rate"]), help="Share of requests meeting their QoAIS SLA")
    cols[4].metric("Welfare (credits)", fmt(ov["welfare"], "{:,.0f}"), help="Total realised welfare over the run")
    st.plotly_chart(plots.price_trajectories(run_query("price_series", run)), width="stretch", key="run_prices")
    st.plotly_chart(plots.efficiency(run_query("round_series", run)), width="stretch", key="run_efficiency")
    st.caption(labels.EFFICIENCY_NOTE)


entry_guard()
st.title("▶️ Run")
st.markdown("Run a scenario with adjusted parameters, or pick a stored run (table below or sidebar).")
run_form()
if summary := st.session_state.pop("last_summary", None):
    st.success(f"Run #{summary.get('run_id', '?')} finished: {summary.get('rounds', '?')} rounds "
               f"in {fmt(summary.get('wall_s'), '{:.1f}')} s.")
overview()
st.subheader("Stored runs")
stored_runs()
