"""Experiment: what brokers add. Each ready scenario run with its brokers and with none
(``devices.broker_fraction: 0``), same seed: served requests, delivered welfare (value of
SLA-met requests minus true costs, agents.honest_welfare), and the brokers' share of trades.

Brokers sell idle compute, cache and learning at the asks of their pricing strategy, and
D2D relay radio to devices out of coverage or badly served (agents.brokers,
agents.relay_market). Per arm: ``served`` requests, ``delivered_welfare``, ``trades``,
``broker_trades`` and ``broker_share`` (of trades), ``broker_value_share`` (of credits
paid), ``relay_trades`` (D2D hops sold) and ``relay_sla_met`` (of those, requests that met
every QoAIS requirement); with brokers, ``reference_shift``: per resource, how much the
brokers' asks raise the reference prices by which the per-resource auctions split bundle
bids (market.split.value_shares; ratio with / without their asks, mean over venues and
rounds where brokers offer it).

Prints one JSON line: per scenario and seed ``with`` / ``without`` figures and the ratios
``served_ratio`` and ``delivered_ratio`` (with / without; the named baseline is the run
without brokers), and over the seeds the mean of each ratio and of the broker shares with
a 95 % Student-t half-width (``*_ci95``; null with one seed). ``--quick``: the small
versions (agents.scenario.small) for 6 rounds. ``--node-capacity``: the same with scarcer
edge nodes (both arms), where node prices rise above the brokers' costs.

    .venv/bin/python bench/bench_brokers.py [--quick] [--rounds 20] [--seeds 0,1,2] [--paired 10]
"""

from __future__ import annotations

import copy
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import parser
from scipy import stats

from agents.execution import KIND_DEVICE
from agents.model import EdgeMarketModel
from agents.scenario import load_scenario, small
from market.resources import N_RESOURCES

SCENARIOS = ("smart_city", "factory", "highway", "metro", "codesign_cell")


def run(name: str, brokers: bool, rounds: int, seed: int, quick: bool,
        overrides: dict[str, float] | None = None) -> dict[str, float]:
    extra = dict(overrides or {})
    if not brokers:
        extra["devices.broker_fraction"] = 0.0
    sc = small(name, **{k.replace(".", "__"): v for k, v in extra.items()}) if quick \
        else load_scenario(name, extra or None)
    model = EdgeMarketModel(sc, seed=seed)
    served = requests = trades = broker_trades = relay_trades = relay_met = 0
    delivered = broker_value = trade_value = 0.0
    shifts: list[np.ndarray] = []
    for _ in range(rounds):
        rr = model.step()
        shifts.append(reference_shift(model))
        served += rr.n_served
        requests += rr.n_requests
        trades += len(rr.clearing.trades)
        broker_trades += int(rr.info.get("broker_trades", 0))
        relay_trades += int(rr.info.get("relay_trades", 0))
        relay_met += int(rr.info.get("relay_sla_met", 0))
        broker_value += float(rr.info.get("broker_value", 0.0))
        trade_value += float(rr.info.get("trade_value", 0.0))
        if np.isfinite(rr.delivered_welfare):
            delivered += rr.delivered_welfare
    return {"served": served, "requests": requests, "delivered_welfare": round(delivered, 3),
            "trades": trades, "broker_trades": broker_trades,
            "broker_share": round(broker_trades / trades, 5) if trades else 0.0,
            "broker_value_share": round(broker_value / trade_value, 5) if trade_value else 0.0,
            "relay_trades": relay_trades, "relay_sla_met": relay_met,
            "brokers": int(model.devices.is_broker.sum()),
            "reference_shift": _column_means(np.vstack(shifts) if shifts
                                             else np.full((1, N_RESOURCES), np.nan))}


def _column_means(a: np.ndarray) -> list[float | None]:
    """Mean of each column over its finite values (None where it has none)."""
    return [round(float(c[np.isfinite(c)].mean()), 4) if np.isfinite(c).any() else None
            for c in a.T]


def reference_shift(model: EdgeMarketModel) -> np.ndarray:
    """(4,) this round's mean, over the edge venues where brokers offer a resource, of the
    ratio of the venue's split reference price with and without the brokers' asks (the
    quantity-weighted mean ask that market.split.value_shares weighs bundle parts by);
    NaN where no broker offers it."""
    if not model._round_orders:
        return np.full(N_RESOURCES, np.nan)
    o = model._round_orders[0]
    broker = model.sellers.kind[o.ask_agent] == KIND_DEVICE
    key = o.ask_venue * N_RESOURCES + o.ask_resource.astype(np.int64)
    size = int(key.max(initial=-1)) + 1

    def ref(mask: np.ndarray) -> np.ndarray:
        q = np.bincount(key[mask], weights=o.ask_quantity[mask], minlength=size)
        c = np.bincount(key[mask], weights=(o.ask_quantity * o.ask_price)[mask], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return c / q

    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = ref(np.ones(key.size, bool)) / ref(~broker)
    has = np.bincount(key[broker], minlength=size) > 0
    ratio = np.where(has, ratio, np.nan).reshape(-1, N_RESOURCES)
    return np.asarray([c[np.isfinite(c)].mean() if np.isfinite(c).any() else np.nan
                       for c in ratio.T])


def paired(name: str, rounds: int, seed: int, quick: bool, warm: int = 3) -> dict[str, float]:
    """Per round, the same model state stepped with its brokers and, in a copy, with them
    switched off for that round only: the brokers' effect within a round, free of the
    drift that makes two whole runs part ways. Summed delivered welfare and served
    requests of both, and the per-round difference of delivered welfare (mean, 95 % t
    half-width over the rounds)."""
    sc = small(name) if quick else load_scenario(name)
    model = EdgeMarketModel(sc, seed=seed)
    for _ in range(warm):
        model.step()
    rows = []
    for _ in range(rounds):
        twin = copy.deepcopy(model)
        twin.devices.is_broker[:] = False
        a, b = model.step(), twin.step()
        rows.append((a.delivered_welfare, b.delivered_welfare, a.n_served, b.n_served))
    d = np.array(rows)
    diff = d[:, 0] - d[:, 1]
    mean, half = mean_ci(diff.tolist())
    return {"delivered_with": round(float(d[:, 0].sum()), 3),
            "delivered_without": round(float(d[:, 1].sum()), 3),
            "delivered_ratio": round(float(d[:, 0].sum() / d[:, 1].sum()), 5),
            "served_with": int(d[:, 2].sum()), "served_without": int(d[:, 3].sum()),
            "diff_per_round": mean, "diff_per_round_ci95": half}


def mean_ci(xs: list[float]) -> tuple[float | None, float | None]:
    """Mean and 95 % Student-t half-width (None with fewer than two values)."""
    a = np.array([x for x in xs if x is not None], dtype=float)
    if a.size == 0:
        return None, None
    if a.size < 2:
        return round(float(a.mean()), 4), None
    half = stats.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / np.sqrt(a.size)
    return round(float(a.mean()), 4), round(float(half), 4)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--seeds", default="", help="comma-separated seeds (default: --seed)")
    p.add_argument("--paired", type=int, default=0,
                   help="also N paired rounds per seed (brokers off in a copy, one round at a time)")
    p.add_argument("--node-capacity", default="",
                   help="scarce edge: e.g. computation_gflop=2000,caching_gb=20 (both arms)")
    args = p.parse_args()
    over = {f"nodes.capacity.{k}": float(v) for k, v in
            (kv.split("=") for kv in args.node_capacity.split(",") if kv)}
    rounds = 6 if args.quick else args.rounds
    t0 = time.perf_counter()
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    out: dict[str, dict] = {}
    for name in args.scenarios.split(","):
        per_seed = {}
        for seed in seeds:
            w = run(name, True, rounds, seed, args.quick, over)
            wo = run(name, False, rounds, seed, args.quick, over)
            per_seed[str(seed)] = {
                "with": w, "without": wo,
                "served_ratio": round(w["served"] / wo["served"], 4) if wo["served"] else None,
                "delivered_ratio": round(w["delivered_welfare"] / wo["delivered_welfare"], 4)
                if wo["delivered_welfare"] else None}
        agg: dict[str, float | None] = {}
        for key, get in (("served_ratio", lambda r: r["served_ratio"]),
                         ("delivered_ratio", lambda r: r["delivered_ratio"]),
                         ("broker_share", lambda r: r["with"]["broker_share"]),
                         ("broker_value_share", lambda r: r["with"]["broker_value_share"])):
            agg[key], agg[key + "_ci95"] = mean_ci([get(r) for r in per_seed.values()])
        if args.paired:
            for seed in seeds:
                per_seed[str(seed)]["paired"] = paired(name, args.paired, seed, args.quick)
            agg["paired_ratio"], agg["paired_ratio_ci95"] = mean_ci(
                [r["paired"]["delivered_ratio"] for r in per_seed.values()])
        shift = [r["with"]["reference_shift"] for r in per_seed.values()]
        agg["reference_shift"] = _column_means(np.array(shift, dtype=float))  # type: ignore[assignment]
        out[name] = {"seeds": per_seed, **agg}
    print(json.dumps({"name": "brokers_with_without", "baseline": "same scenario without brokers",
                      "node_capacity": over,
                      "rounds": rounds, "quick": args.quick, "seeds": seeds, "scenarios": out,
                      "seconds": round(time.perf_counter() - t0, 1),
                      "python": platform.python_version()}), flush=True)


if __name__ == "__main__":
    main()
