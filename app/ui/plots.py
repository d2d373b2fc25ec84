"""Plotly figure builders of the pages. Each takes small frames from `ledger.store.queries`
and returns a `go.Figure` with units on its axes; none queries the store itself."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.ui.labels import (
    QOAIS_DIMENSIONS,
    QOAIS_LABELS,
    RESOURCE_COLORS,
    RESOURCE_UNITS,
    RESOURCES,
    price_axis,
    quantity_axis,
)

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#393b79")
UNATTACHED = "#b0b0b0"
# green (idle) -> yellow -> red (full); explicit, so unvalidated figures need no name lookup
UTILIZATION_SCALE = [[0.0, "#1a9850"], [0.5, "#fee08b"], [1.0, "#d73027"]]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
# No template: Streamlit's chart theme styles the figures.
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "legend": {"orientation": "h", "y": -0.15}}


def _fig(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """Title, height, margins and legend of every figure (dict values: valid unvalidated too).

    Axes grow their margins to fit their titles and tick labels (`automargin`): with the
    tight 10 px margins alone, axis titles of narrow panels were cut ("mean laten...").
    """
    # Title anchored by its top inside the figure: a two-line title (with a <sup> note)
    # otherwise starts above the SVG and its first line is clipped.
    fig.update_layout(title={"text": title, "automargin": True, "yref": "container", "y": 0.965,
                             "yanchor": "top"}, height=height, **_LAYOUT)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def efficiency_range(*values: pd.Series) -> list[float]:
    """A y range in % for efficiency series: at least 0-105, widened to show every value
    (a mechanism can destroy welfare: efficiency below 0) with 5 points of headroom."""
    lo, hi = 0.0, 105.0
    for v in values:
        pcts = 100 * pd.to_numeric(v, errors="coerce").dropna()
        if len(pcts):
            lo, hi = min(lo, float(pcts.min()) - 5), max(hi, float(pcts.max()) + 5)
    return [lo, hi]


#: Efficiency's axis title: it is measured against the run's *own* optimum (the pages put
#: labels.EFFICIENCY_NOTE under the chart; a two-line title would be clipped by the SVG).
EFFICIENCY_AXIS = "efficiency (% of own optimum)"


# ------------------------------------------------------------------------------ market
def price_trajectories(prices: pd.DataFrame, title: str = "Clearing price per resource") -> go.Figure:
    """One panel per resource: clearing price over rounds, equilibrium price dashed."""
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, subplot_titles=[r.capitalize() for r in RESOURCES],
                        vertical_spacing=0.14, horizontal_spacing=0.16)
    for i, res in enumerate(RESOURCES):
        row, col = divmod(i, 2)
        d = prices[prices["resource"] == res]
        fig.add_trace(go.Scatter(x=d["round"], y=d["price"], mode="lines", name="clearing price",
                                 line={"color": RESOURCE_COLORS[res]}, legendgroup="price",
                                 showlegend=i == 0, connectgaps=False),
                      row=row + 1, col=col + 1)
        if d["eq_price"].notna().any():
            fig.add_trace(go.Scatter(x=d["round"], y=d["eq_price"], mode="lines", name="equilibrium price",
                                     line={"color": "black", "dash": "dash", "width": 1.5},
                                     legendgroup="eq", showlegend=i == 0),
                          row=row + 1, col=col + 1)
        fig.update_yaxes(title_text=price_axis(res), row=row + 1, col=col + 1)
        fig.update_xaxes(title_text="round" if row == 1 else None, row=row + 1, col=col + 1)
    return _fig(fig, title, height=560)


def _clearing_marks(fig: go.Figure, market: pd.Series) -> float:
    """The round's clearing point (volume, price) and its equilibrium price line, where
    known; returns the traded volume."""
    price, volume = market.get("price"), float(market.get("volume") or 0.0)
    if price is not None and not (isinstance(price, float) and math.isnan(price)):
        fig.add_trace(go.Scatter(x=[volume], y=[price], mode="markers", name="clearing point",
                                 marker={"size": 14, "color": "black", "symbol": "x"},
                                 hovertemplate="volume %{x:.4g}<br>price %{y:.4g}<extra>clearing</extra>"))
    eq = market.get("eq_price")
    if eq is not None and not (isinstance(eq, float) and math.isnan(eq)):
        fig.add_hline(y=float(eq), line_dash="dash", line_color="gray",
                      annotation_text="equilibrium price", annotation_position="top left")
    return volume


def supply_demand(steps: pd.DataFrame, market: pd.Series, resource: str, rnd: int) -> go.Figure:
    """Realised price-quantity steps of one round and resource, with the clearing point.

    Demand: the served trades sorted by descending price, cumulated; then the unmet demand
    (at or below the clearing price) dotted. Supply: the same trades by ascending price.
    With one uniform price both collapse onto the clearing price up to the traded volume.
    """
    fig = go.Figure()
    price, volume = market.get("price"), float(market.get("volume") or 0.0)
    unmet = float(market.get("unmet") or 0.0)
    if len(steps):
        dem = steps.sort_values("price", ascending=False)
        sup = steps.sort_values("price", ascending=True)
        for d, name, color in ((dem, "served demand (trades, by price ↓)", "#1f77b4"),
                               (sup, "supply sold (trades, by price ↑)", "#d62728")):
            q = np.concatenate([[0.0], d["quantity"].cumsum().to_numpy()])
            p = np.concatenate([d["price"].to_numpy(), d["price"].to_numpy()[-1:]])
            fig.add_trace(go.Scatter(x=q, y=p, mode="lines", line_shape="hv", name=name,
                                     line={"color": color, "width": 2}))
    has_price = price is not None and not (isinstance(price, float) and math.isnan(price))
    if has_price and unmet > 0:
        fig.add_trace(go.Scatter(x=[volume, volume + unmet], y=[price, price], mode="lines",
                                 name="unmet demand (price ≤ clearing)",
                                 line={"color": "#1f77b4", "dash": "dot"}))
    _clearing_marks(fig, market)
    fig.update_xaxes(title_text=quantity_axis(resource), rangemode="tozero")
    fig.update_yaxes(title_text=price_axis(resource))
    return _fig(fig, f"{resource.capitalize()}: realised supply and demand, round {rnd}")


def order_book(curve: pd.DataFrame, market: pd.Series, resource: str, rnd: int) -> go.Figure:
    """The round's pooled demand (bids, highest first) and supply (asks, cheapest first)
    step curves of one resource, with the clearing point and the equilibrium price.

    The quantity axis stops a little beyond the demand: the cloud's ample capacity would
    otherwise squeeze every other step against the price axis.
    """
    fig = go.Figure()
    dem = curve[curve["side"] == "demand"]
    sup = curve[curve["side"] == "supply"]
    for d, name, color in ((dem, "demand (bids, by price ↓)", "#1f77b4"),
                           (sup, "supply (asks, by price ↑)", "#d62728")):
        if len(d):
            q = np.concatenate([[0.0], d["quantity"].to_numpy()])
            p = np.concatenate([d["price"].to_numpy(), d["price"].to_numpy()[-1:]])
            fig.add_trace(go.Scatter(x=q, y=p, mode="lines", line_shape="hv", name=name,
                                     line={"color": color, "width": 2}))
    volume = _clearing_marks(fig, market)
    span = max(float(dem["quantity"].max()) if len(dem) else 0.0, volume)
    if span > 0:
        fig.update_xaxes(range=[0, 1.25 * span])
    fig.update_xaxes(title_text=quantity_axis(resource))
    fig.update_yaxes(title_text=price_axis(resource))
    return _fig(fig, f"{resource.capitalize()}: order book (all venues), round {rnd}")


def efficiency(rounds: pd.DataFrame, title: str = "Welfare against the optimum") -> go.Figure:
    """Welfare and optimal welfare per round (credits) and efficiency (%) on a second axis."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=rounds["round"], y=rounds["optimal_welfare"], name="optimal welfare",
                             line={"color": "gray", "dash": "dash"}), secondary_y=False)
    fig.add_trace(go.Scatter(x=rounds["round"], y=rounds["welfare"], name="realised welfare",
                             line={"color": "#2ca02c"}), secondary_y=False)
    fig.add_trace(go.Scatter(x=rounds["round"], y=100 * rounds["efficiency"], name="efficiency",
                             line={"color": "#d62728", "width": 1.5}), secondary_y=True)
    fig.update_xaxes(title_text="round")
    fig.update_yaxes(title_text="welfare (credits / round)", secondary_y=False)
    lo, hi = efficiency_range(rounds["efficiency"])
    fig.update_yaxes(title_text=EFFICIENCY_AXIS, secondary_y=True, range=[lo, hi],
                     tickmode="linear", tick0=0, dtick=20 if hi - lo <= 150 else 50, showgrid=False)
    return _fig(fig, title)


def compare_prices(a: pd.DataFrame, b: pd.DataFrame, label_a: str, label_b: str) -> go.Figure:
    """Two runs' clearing prices per resource, overlaid (solid: first run, dotted: second)."""
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, subplot_titles=[r.capitalize() for r in RESOURCES],
                        vertical_spacing=0.14, horizontal_spacing=0.16)
    for i, res in enumerate(RESOURCES):
        row, col = divmod(i, 2)
        for df, label, dash, color in ((a, label_a, "solid", "#1f77b4"), (b, label_b, "dot", "#d62728")):
            d = df[df["resource"] == res]
            fig.add_trace(go.Scatter(x=d["round"], y=d["price"], name=label, legendgroup=label,
                                     showlegend=i == 0, line={"dash": dash, "color": color}),
                          row=row + 1, col=col + 1)
        fig.update_yaxes(title_text=price_axis(res), row=row + 1, col=col + 1)
        fig.update_xaxes(title_text="round" if row == 1 else None, row=row + 1, col=col + 1)
    return _fig(fig, "Clearing prices, side by side", height=560)


def compare_efficiency(a: pd.DataFrame, b: pd.DataFrame, label_a: str, label_b: str) -> go.Figure:
    fig = go.Figure()
    for df, label, dash, color in ((a, label_a, "solid", "#1f77b4"), (b, label_b, "dot", "#d62728")):
        fig.add_trace(go.Scatter(x=df["round"], y=100 * df["efficiency"], name=label,
                                 line={"dash": dash, "color": color}))
    fig.update_xaxes(title_text="round")
    fig.update_yaxes(title_text=EFFICIENCY_AXIS, range=efficiency_range(a["efficiency"], b["efficiency"]))
    return _fig(fig, "Efficiency, side by side", height=380)


def welfare_column(*frames: pd.DataFrame) -> str:
    """The welfare to compare runs on: `delivered_welfare` when every frame has it (the
    welfare of the service actually delivered, added to the store by the market layer),
    else the clearing's `welfare`. Both are in credits per round, on one absolute scale,
    unlike efficiency, which divides by each run's own optimum."""
    return "delivered_welfare" if all("delivered_welfare" in f.columns for f in frames) else "welfare"


def compare_welfare(a: pd.DataFrame, b: pd.DataFrame, label_a: str, label_b: str) -> go.Figure:
    """Two runs' welfare per round (credits), on the same axis, plus their cumulative sums."""
    col = welfare_column(a, b)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["per round", "cumulative"], horizontal_spacing=0.12)
    for df, label, dash, color in ((a, label_a, "solid", "#1f77b4"), (b, label_b, "dot", "#d62728")):
        y = pd.to_numeric(df[col], errors="coerce").fillna(0.0)
        fig.add_trace(go.Scatter(x=df["round"], y=y, name=label, legendgroup=label,
                                 line={"dash": dash, "color": color}), row=1, col=1)
        fig.add_trace(go.Scatter(x=df["round"], y=y.cumsum(), name=label, legendgroup=label, showlegend=False,
                                 line={"dash": dash, "color": color}), row=1, col=2)
    what = "delivered welfare" if col == "delivered_welfare" else "welfare"
    fig.update_xaxes(title_text="round")
    fig.update_yaxes(title_text=f"{what} (credits / round)", row=1, col=1)
    fig.update_yaxes(title_text=f"{what} (credits, cumulative)", row=1, col=2)
    return _fig(fig, f"{what.capitalize()} per round, side by side", height=380)


# ------------------------------------------------------------------------------- QoAIS
def qoais_radar(profile: pd.DataFrame) -> go.Figure:
    """One closed polygon per service class over the six QoAIS dimensions (0-1)."""
    fig = go.Figure()
    theta = [QOAIS_LABELS[d] for d in QOAIS_DIMENSIONS]
    for i, row in enumerate(profile.itertuples(index=False)):
        r = [float(getattr(row, d) or 0.0) for d in QOAIS_DIMENSIONS]
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatterpolar(r=[*r, r[0]], theta=[*theta, theta[0]], name=str(row.service_class),
                                      line={"color": color, "width": 2}, fill="toself",
                                      fillcolor=_rgba(color, 0.12)))
    fig.update_layout(polar={"radialaxis": {"range": [0, 1], "tickformat": ".1f", "angle": 90,
                                            "tickfont": {"size": 10}},
                             "domain": {"x": [0.1, 0.9], "y": [0.05, 0.95]}})
    _fig(fig, "QoAIS per service class (1 = best)", height=480)
    fig.update_layout(margin={"l": 70, "r": 70})   # room for the angular labels
    return fig


def sla_over_rounds(series: pd.DataFrame, overall: pd.DataFrame | None = None) -> go.Figure:
    """SLA satisfaction (% of requests) per service class per round, plus the run's overall."""
    fig = go.Figure()
    for i, (cls, d) in enumerate(series.groupby("service_class", sort=True)):
        fig.add_trace(go.Scatter(x=d["round"], y=100 * d["sla_rate"], name=str(cls),
                                 line={"color": PALETTE[i % len(PALETTE)]}))
    if overall is not None and len(overall):
        fig.add_trace(go.Scatter(x=overall["round"], y=100 * overall["sla_rate"], name="all classes",
                                 line={"color": "black", "width": 3}))
    fig.update_xaxes(title_text="round")
    fig.update_yaxes(title_text="SLA satisfied (% of requests)", range=[0, 105])
    return _fig(fig, "SLA satisfaction over rounds")


def qoais_distributions(series: pd.DataFrame) -> go.Figure:
    """Box plots per service class of the per-round latency (mean, ms), reliability and accuracy."""
    panels = (("latency_ms_mean", "mean latency (ms, log)"), ("latency_ms_p95", "p95 latency (ms, log)"),
              ("reliability", "reliability (0-1)"), ("accuracy", "accuracy (0-1)"))
    # 2 x 2, not 1 x 4: a quarter of a page is too narrow for the panel titles and axes.
    fig = make_subplots(rows=2, cols=2, subplot_titles=[p[1] for p in panels], horizontal_spacing=0.12,
                        vertical_spacing=0.16)
    classes = sorted(series["service_class"].unique())
    for j, (col, label) in enumerate(panels):
        row, c = divmod(j, 2)
        for i, cls in enumerate(classes):
            d = series.loc[series["service_class"] == cls, col]
            fig.add_trace(go.Box(y=d, name=str(cls), marker_color=PALETTE[i % len(PALETTE)],
                                 legendgroup=str(cls), showlegend=j == 0, boxmean=True),
                          row=row + 1, col=c + 1)
        # latencies of different classes span decades: log scale
        fig.update_yaxes(title_text=label.split(" (")[1].rstrip(")") if "(" in label else label,
                         type="log" if col.startswith("latency") else "linear", row=row + 1, col=c + 1)
        fig.update_xaxes(showticklabels=False, row=row + 1, col=c + 1)
    return _fig(fig, "Distributions over rounds, per service class", height=640)


# ------------------------------------------------------------------------------ agents
def _is_device(kind: pd.Series) -> pd.Series:
    return kind.str.lower().isin(["device", "devices", "ue", "user"])


def agent_map(snap: pd.DataFrame, rnd: int, max_lines: int = 3000) -> go.Figure:
    """Devices (small, coloured by their attachment) and infrastructure agents (large,
    coloured by utilization) at one round, with device→node attachment lines.

    Traces are plain dicts and the figure skips Plotly's validation: with thousands of
    points, validation would cost more than everything else on the page."""
    data: list[dict] = []
    dev = snap[_is_device(snap["kind"])]
    infra = snap[~_is_device(snap["kind"]) & snap["x_m"].notna()]
    pos = infra.drop_duplicates("agent_id").set_index("agent_id")[["x_m", "y_m"]]
    if len(dev) and len(pos):
        lines = dev[dev["attached"].isin(pos.index)].head(max_lines)
        tgt = pos.loc[lines["attached"]].to_numpy()
        gap = np.full(len(lines), np.nan)
        data.append({"type": "scattergl", "mode": "lines", "name": "attachment", "hoverinfo": "skip",
                     "x": np.column_stack([lines["x_m"].to_numpy(), tgt[:, 0], gap]).ravel(),
                     "y": np.column_stack([lines["y_m"].to_numpy(), tgt[:, 1], gap]).ravel(),
                     "line": {"color": "rgba(120,120,120,0.25)", "width": 1}})
    if len(dev):
        on = dev["attached"].isin(pos.index)
        codes = np.searchsorted(np.sort(pos.index.to_numpy()), dev["attached"].to_numpy())
        colors = np.where(on, np.asarray(PALETTE)[codes % len(PALETTE)], UNATTACHED)
        data.append({
            "type": "scattergl", "mode": "markers", "name": f"devices ({len(dev):,} shown; grey: not attached)",
            "x": dev["x_m"].to_numpy(), "y": dev["y_m"].to_numpy(),
            "marker": {"size": 6, "opacity": 0.85, "color": colors},
            "customdata": np.column_stack([dev["agent_id"], dev["attached"], dev["utilization"]]),
            "hovertemplate": "device %{customdata[0]}<br>attached to %{customdata[1]}"
                             "<br>utilization %{customdata[2]:.2f}<extra></extra>"})
    for kind, d in infra.groupby("kind", sort=True):
        data.append({
            "type": "scatter", "mode": "markers", "name": str(kind), "x": d["x_m"].to_numpy(), "y": d["y_m"].to_numpy(),
            "marker": {"size": 16, "symbol": "diamond", "color": d["utilization"].to_numpy(), "cmin": 0, "cmax": 1,
                       "colorscale": UTILIZATION_SCALE, "line": {"color": "black", "width": 1},
                       "colorbar": {"title": {"text": "utilization"}, "x": 1.02}},
            "customdata": np.column_stack([d["agent_id"], d["utilization"]]),
            "hovertemplate": f"{kind} %{{customdata[0]}}<br>utilization %{{customdata[1]:.2f}}<extra></extra>"})
    layout = {"xaxis": {"title": {"text": "x (m)"}},
              "yaxis": {"title": {"text": "y (m)"}, "scaleanchor": "x", "scaleratio": 1}}
    return _fig(go.Figure({"data": data, "layout": layout}, _validate=False),
                f"Devices and edge nodes at round {rnd}", height=620)


def agent_animation(frames: pd.DataFrame) -> go.Figure:
    """Plotly animation over the snapshot rounds: sampled devices move and change colour
    with their attachment; edge nodes are coloured by utilization. Play / slider controls.
    Built from plain dicts without validation (see `agent_map`)."""
    frames = frames[frames["x_m"].notna()]
    rounds = sorted(frames["round"].unique())
    xr = [frames["x_m"].min(), frames["x_m"].max()]
    yr = [frames["y_m"].min(), frames["y_m"].max()]
    is_dev = _is_device(frames["kind"])
    node_ids = np.sort(frames.loc[~is_dev, "agent_id"].unique())
    palette = np.asarray(PALETTE)

    def traces(rnd: int) -> list[dict]:
        d = frames[frames["round"] == rnd]
        dmask = _is_device(d["kind"])
        dev, infra = d[dmask], d[~dmask]
        slot = np.searchsorted(node_ids, dev["attached"].to_numpy())
        known = (slot < len(node_ids)) & (node_ids[np.minimum(slot, len(node_ids) - 1)] == dev["attached"].to_numpy()) \
            if len(node_ids) else np.zeros(len(dev), bool)
        colors = np.where(known, palette[slot % len(palette)], UNATTACHED)
        return [
            {"type": "scatter", "mode": "markers", "name": "devices (sample)", "x": dev["x_m"].to_numpy(),
             "y": dev["y_m"].to_numpy(), "ids": dev["agent_id"].astype(str).to_numpy(),
             "marker": {"size": 6, "color": colors},
             "customdata": np.column_stack([dev["agent_id"], dev["attached"]]),
             "hovertemplate": "device %{customdata[0]} → %{customdata[1]}<extra></extra>"},
            {"type": "scatter", "mode": "markers", "name": "edge nodes", "x": infra["x_m"].to_numpy(),
             "y": infra["y_m"].to_numpy(), "ids": ("n" + infra["agent_id"].astype(str)).to_numpy(),
             "marker": {"size": 16, "symbol": "diamond", "color": infra["utilization"].to_numpy(),
                        "colorscale": UTILIZATION_SCALE, "cmin": 0, "cmax": 1, "line": {"color": "black", "width": 1}},
             "customdata": np.column_stack([infra["agent_id"], infra["utilization"]]),
             "hovertemplate": "node %{customdata[0]}<br>utilization %{customdata[1]:.2f}<extra></extra>"},
        ]

    steps = [{"label": str(r), "method": "animate",
              "args": [[str(r)], {"mode": "immediate", "frame": {"duration": 400, "redraw": False},
                                  "transition": {"duration": 300}}]} for r in rounds]
    pad_x, pad_y = 0.03 * (xr[1] - xr[0] or 1), 0.03 * (yr[1] - yr[0] or 1)
    layout = {
        "updatemenus": [{"type": "buttons", "showactive": False, "x": 0, "y": -0.08, "xanchor": "left",
                         "buttons": [{"label": "▶ Play", "method": "animate",
                                      "args": [None, {"frame": {"duration": 500, "redraw": False},
                                                      "fromcurrent": True, "transition": {"duration": 300}}]},
                                     {"label": "❚❚ Pause", "method": "animate",
                                      "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]}]}],
        "sliders": [{"steps": steps, "x": 0.15, "len": 0.85, "y": -0.05, "currentvalue": {"prefix": "round "}}],
        "xaxis": {"title": {"text": "x (m)"}, "range": [xr[0] - pad_x, xr[1] + pad_x]},
        "yaxis": {"title": {"text": "y (m)"}, "range": [yr[0] - pad_y, yr[1] + pad_y], "scaleanchor": "x",
                  "scaleratio": 1},
    }
    fig = go.Figure({"data": traces(rounds[0]), "layout": layout,
                     "frames": [{"name": str(r), "data": traces(r)} for r in rounds]}, _validate=False)
    _fig(fig, "Mobility and handovers over the snapshot rounds", height=680)
    # legend on top: the play buttons and the round slider take the space below the plot
    fig.update_layout(legend={"orientation": "h", "y": 1.06, "x": 0}, margin={"b": 90})
    return fig


def handovers(rounds: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(x=rounds["round"], y=rounds["handovers"], marker_color="#8c564b", name="handovers"))
    fig.update_xaxes(title_text="round")
    fig.update_yaxes(title_text="handovers (devices / round)")
    return _fig(fig, "Handovers per round", height=320)


def node_load(load: pd.DataFrame, top: int = 40) -> go.Figure:
    """Devices attached per node (bars coloured by the node's utilization); -1 = none."""
    d = load.head(top)
    x = ["none" if a < 0 else str(a) for a in d["attached"]]
    fig = go.Figure(go.Bar(x=x, y=d["devices"], name="attached devices",
                           marker={"color": d["node_utilization"].fillna(0), "colorscale": UTILIZATION_SCALE,
                                   "cmin": 0, "cmax": 1, "colorbar": {"title": {"text": "utilization"}}}))
    fig.update_xaxes(title_text="edge node (agent id)", type="category")
    fig.update_yaxes(title_text="attached devices")
    return _fig(fig, f"Devices per edge node (top {min(top, len(load))})", height=340)


# ------------------------------------------------------------------------------ ledger
def gas_per_round(settle: pd.DataFrame) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=settle["round"], y=settle["gas_used"], name="gas used", marker_color="#7f7f7f"),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=settle["round"], y=settle["netted_credits"], name="netted volume",
                             line={"color": "#1f77b4"}), secondary_y=True)
    fig.update_xaxes(title_text="round")
    fig.update_yaxes(title_text="gas (units)", secondary_y=False)
    fig.update_yaxes(title_text="netted volume (credits)", secondary_y=True)
    return _fig(fig, "Settlement gas and netted volume per round", height=340)


def balance_histogram(balances: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, (kind, d) in enumerate(balances.groupby("kind", sort=True)):
        fig.add_trace(go.Histogram(x=d["net_credits"], name=str(kind) or "agent", opacity=0.7,
                                   marker_color=PALETTE[i % len(PALETTE)], nbinsx=60))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="net credits over the run (sold − bought)")
    fig.update_yaxes(title_text="agents")
    return _fig(fig, "Net flows per agent", height=340)


# ---------------------------------------------------------------------------- learning
def training_curves(points: pd.DataFrame, x: str = "iteration") -> go.Figure:
    fig = go.Figure()
    for i, (policy, d) in enumerate(points.groupby("policy", sort=True)):
        fig.add_trace(go.Scatter(x=d[x], y=d["reward_mean"], name=str(policy), mode="lines+markers",
                                 line={"color": PALETTE[i % len(PALETTE)]}, marker={"size": 4}))
    fig.update_xaxes(title_text={"iteration": "training iteration", "env_steps": "environment steps",
                                 "time_s": "wall time (s)"}.get(x, x))
    fig.update_yaxes(title_text="mean episode reward (credits)")
    return _fig(fig, "Training curves per policy")


def evaluation_bars(summary: pd.DataFrame) -> go.Figure:
    """Welfare as a share of the equilibrium's (%, min-max over seeds) and QoAIS per pricing
    strategy; the equilibrium reference bar is dark."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["welfare (% of the equilibrium's)", "QoAIS (0-1)"])
    colors = ["#333333" if "equilibrium" in str(p).lower() else "#1f77b4" for p in summary["pricing"]]
    err = [summary["welfare_share_max"] * 100 - summary["welfare_share"] * 100,
           summary["welfare_share"] * 100 - summary["welfare_share_min"] * 100]
    fig.add_trace(go.Bar(x=summary["pricing"], y=100 * summary["welfare_share"], marker_color=colors,
                         error_y={"type": "data", "symmetric": False, "array": err[0], "arrayminus": err[1]},
                         name="welfare share", showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=summary["pricing"], y=summary["qoais"], marker_color=colors, name="QoAIS",
                         showlegend=False), row=1, col=2)
    fig.update_yaxes(title_text="% of equilibrium welfare", row=1, col=1)
    fig.update_yaxes(title_text="QoAIS score", range=[0, 1], row=1, col=2)
    fig.update_xaxes(title_text="pricing strategy")
    return _fig(fig, "Learned pricing vs rule-based strategies vs the equilibrium", height=400)


def resource_unit(resource: str) -> str:
    return RESOURCE_UNITS.get(resource, "unit")


# ----------------------------------------------------------------- QoAIS indicators, FL
def qoais_indicator_bars(ind: pd.DataFrame, dimension: str, order: list[str]) -> go.Figure:
    """Grouped bars: each indicator of one QoAIS dimension (x), one bar per service class."""
    fig = go.Figure()
    d = ind[ind["dimension"] == dimension]
    names = [n for n in order if n in set(d["indicator"])]
    for i, (cls, g) in enumerate(d.groupby("service_class", sort=True)):
        v = g.set_index("indicator")["value"].reindex(names)
        fig.add_trace(go.Bar(x=names, y=v, name=str(cls), marker_color=PALETTE[i % len(PALETTE)]))
    fig.update_yaxes(title_text="score (1 = best)", range=[0, 1.05])
    fig.update_layout(barmode="group")
    return _fig(fig, f"{dimension.capitalize()} indicators per service class", height=360)


def fl_curves(curves: pd.DataFrame) -> go.Figure:
    """Held-out accuracy of the FedAvg model against simulated wall time, one line per
    client-selection strategy (columns strategy, time, accuracy)."""
    fig = go.Figure()
    for i, (s, d) in enumerate(curves.groupby("strategy", sort=True)):
        fig.add_trace(go.Scatter(x=d["time"], y=d["accuracy"], name=str(s), mode="lines",
                                 line={"color": PALETTE[i % len(PALETTE)]}))
    fig.update_xaxes(title_text="wall time (nominal client-round units)")
    fig.update_yaxes(title_text="held-out accuracy", range=[0, 1])
    return _fig(fig, "Federated learning: accuracy against wall time per client selection")
