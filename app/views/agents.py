"""Agents page: devices and edge nodes on a map at a chosen snapshot round (attachments,
utilization), an animation over the snapshot rounds, node load and handovers."""

from __future__ import annotations

import streamlit as st

from app.ui import plots
from app.ui.data import run_query
from app.ui.page import entry_guard, fmt, require_run, run_caption
from ledger.store.queries import DEVICE_KINDS

MAP_DEVICES = 5000        # devices drawn on the static map (sampled above that)
ANIMATION_DEVICES = 600   # devices followed in the animation

entry_guard()
st.title("🗺️ Agents")
run, info = require_run()
run_caption(info)
rounds = run_query("snapshot_rounds", run)
if not rounds:
    st.info("This run stored no agent snapshots. Snapshots are taken every few rounds "
            "(the scenario's snapshot interval); run a scenario on the **Run** page or with "
            "`edgemarket run` to get some.")
    st.stop()

rnd = (st.select_slider("Snapshot round", options=rounds, value=rounds[-1], key="agents_round")
       if len(rounds) > 1 else rounds[0])
snap = run_query("snapshot_at", run, rnd, MAP_DEVICES)
load = run_query("node_load", run, rnd)
n_dev, step = snap.attrs.get("n_devices", 0), snap.attrs.get("step", 1)
infra = snap[~snap["kind"].isin(sorted(DEVICE_KINDS))]
sites = infra[infra["x_m"].notna()]          # the cloud has no position: not an edge site
scen = info.get("scenario_json") or {}
n_total = int((scen.get("devices") or {}).get("count") or n_dev)
every = int(scen.get("snapshot_every") or 0)
cols = st.columns(4)
# The run's device count, not the snapshot's sample (snapshots record `snapshot_devices`).
cols[0].metric("Devices", f"{n_total:,}", help=f"{n_dev:,} of them recorded in this snapshot")
cols[1].metric("Edge nodes", f"{len(sites):,}")
cols[2].metric("Mean node utilization", fmt(sites["utilization"].mean() if len(sites) else None, "{:.2f}"),
               help="Share of capacity sold this round, averaged over the nodes (0-1)")
rs = run_query("round_series", run)
cols[3].metric("Handovers (run)", f"{int(rs['handovers'].sum()):,}")

tab_map, tab_anim, tab_load = st.tabs(["Map", "Animation", "Load and handovers"])
with tab_map:
    st.plotly_chart(plots.agent_map(snap, rnd), width="stretch", key="agent_map")
    shown = len(snap) - len(infra)
    st.caption(f"Showing {shown:,} of the run's {n_total:,} devices: snapshots record {n_dev:,} devices "
               f"every {every} rounds ({len(rounds)} snapshot rounds)"
               + (f", and the map draws every {step}th of those" if step > 1 else "")
               + ". Set *Snapshot every* and *Devices per snapshot* on the **Run** page (or "
               "`--set snapshot_every=K --set snapshot_devices=N`) for a denser map.")
    st.caption("Devices are coloured by the node they are attached to (grey lines: attachments); "
               "nodes by utilization (0 = idle, 1 = full).")
with tab_anim:
    frames = run_query("snapshot_frames", run, ANIMATION_DEVICES)
    if len(rounds) < 2:
        st.info("Only one snapshot round is stored: nothing to animate.")
    else:
        st.plotly_chart(plots.agent_animation(frames), width="stretch", key="agent_animation")
        if frames.attrs.get("step", 1) > 1:
            st.caption(f"Following every {frames.attrs['step']}th device across {len(rounds)} snapshot rounds; "
                       "a device changing colour has handed over to another node.")
with tab_load:
    st.plotly_chart(plots.node_load(load), width="stretch", key="node_load")
    st.plotly_chart(plots.handovers(rs), width="stretch", key="handovers")
