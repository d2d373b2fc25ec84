"""Benchmark: the Streamlit pages' data queries on a large stored run.

Builds (once, cached under data/bench/) a synthetic run store with realistic volumes through
`RunStore`'s batched writes: 10,000 devices and 100 edge nodes, 200 rounds, thousands of
trades per round, QoAIS rows for 5 service classes, snapshots of every agent every 10
rounds, settlements whose payloads have the size of real ones (a netted delta per trading
agent, contributions, violations), accounts, training and evaluations; plus a second,
lighter run for the Market page's comparison.

Then, per page, it times
- ours: the page's calls into `ledger.store.queries` (aggregation in SQL, sampled maps),
- baseline: loading the raw rows of the tables the page reads into pandas and computing
  the same figures there,
each as the best of a few repetitions (no Streamlit cache), and the full AppTest render of
each page with an empty Streamlit cache. It prints a line per page and a final JSON line
{"name", "ours_s", "baseline_s", "ratio", "target", ...} (bench/_common.report).

    .venv/bin/python bench/bench_app_queries.py            # 5,000 trades/round (1M trades)
    .venv/bin/python bench/bench_app_queries.py --quick    # 1,000 trades/round, < 60 s
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import best_time, parser, report  # noqa: E402  (before numpy: BLAS threads)

# isort: split
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import Engine, select  # noqa: E402

from ledger.store import RunStore  # noqa: E402
from ledger.store import queries as q  # noqa: E402
from ledger.store.models import QoAISRow, RoundRow, Settlement, Snapshot, TradeRow  # noqa: E402

TARGET_S = 2.0
CLASSES = ("ar_navigation", "video_analytics", "federated_training", "smart_grid", "vr_streaming")
BASE = 10**6


# ------------------------------------------------------------------------------- build
def _round(rnd: int, rng: np.random.Generator, n_dev: int, n_nodes: int, n_trades: int,
           positions: np.ndarray, attached: np.ndarray, snapshot: bool) -> SimpleNamespace:
    """One round with the fields of agents.results.RoundResult the store reads."""
    price0 = np.array([0.02, 0.5, 0.001, 2.0]) * (1 + 0.15 * np.sin(rnd / 15))
    res = rng.integers(0, 4, n_trades).astype(np.int8)
    qty = rng.gamma(2.0, 4.0, n_trades)
    price = price0[res] * rng.uniform(0.9, 1.1, n_trades)
    trades = SimpleNamespace(buyer=rng.integers(0, n_dev, n_trades), seller=n_dev + rng.integers(0, n_nodes, n_trades),
                             resource=res, quantity=qty, price=price, bid_index=np.arange(n_trades))
    volume = np.bincount(res, weights=qty, minlength=4)
    pay = float((price * qty).sum())
    clearing = SimpleNamespace(prices=price0, volume=volume, unmet_demand=0.15 * volume, welfare=1.5 * pay,
                               buyer_payments=pay, seller_revenue=0.98 * pay, platform_surplus=0.02 * pay, trades=trades)
    qoais = []
    for i, cls in enumerate(CLASSES):
        n = int(rng.integers(200, 800))
        d = np.clip(rng.normal(0.55 + 0.07 * i, 0.05, 7), 0, 1)
        qoais.append(SimpleNamespace(
            service_class=cls, n_requests=n, n_served=int(0.9 * n), sla_rate=float(np.clip(rng.normal(0.8, 0.05), 0, 1)),
            performance=d[0], connection=d[1], data=d[2], computation=d[3], security=d[4], orchestration=d[5],
            overall=d[6], latency_ms_mean=float(rng.uniform(10, 50)), latency_ms_p95=float(rng.uniform(60, 150)),
            reliability=float(rng.uniform(0.9, 1.0)), accuracy=float(rng.uniform(0.7, 0.95))))
    snap = None
    if snapshot:
        n = n_dev + n_nodes
        snap = SimpleNamespace(
            agent_id=np.arange(n), kind=np.array(["device"] * n_dev + ["edge_node"] * n_nodes),
            x_m=positions[:, 0].copy(), y_m=positions[:, 1].copy(),
            attached=np.concatenate([attached, np.full(n_nodes, -1)]), utilization=rng.uniform(0, 1, n))
    eff = float(rng.uniform(0.85, 0.99))
    return SimpleNamespace(round=rnd, clearing=clearing, optimal_welfare=1.5 * pay / eff, efficiency=eff,
                           qoais=qoais, snapshot=snap, handovers=int(rng.integers(0, 200)))


def settle_run(store: RunStore, run_id: int, rounds: int, n_dev: int, n_nodes: int, trades: int,
               rng: np.random.Generator) -> None:
    """Accounts and confirmed settlements whose payloads have the shape and size of
    `ledger.settle.batch_to_payload`: a netted delta for every agent that traded (thousands
    per round), the fee, packed contributions of every node, a few violations."""
    from ledger.chain.accounts import agent_address
    from ledger.chain.encoding import pack_entry

    n = n_dev + n_nodes
    addresses = [agent_address(i) for i in range(n)]
    store.record_accounts(run_id, [(i, "device" if i < n_dev else "node", addresses[i], 1000 * BASE) for i in range(n)])
    for rnd in range(rounds):
        buyers = np.unique(rng.integers(0, n_dev, int(0.8 * trades)))
        paid = rng.integers(1, 5 * BASE, len(buyers))
        sellers = np.arange(n_dev, n)
        got = np.full(n_nodes, int(paid.sum() * 0.98) // n_nodes)
        fee = int(paid.sum()) - int(got.sum())
        deltas = {**{str(b): -int(v) for b, v in zip(buyers, paid, strict=True)},
                  **{str(a): int(v) for a, v in zip(sellers, got, strict=True)}}
        contributions = sorted(pack_entry(addresses[a], int(rng.integers(1, 10**7))) for a in sellers)
        violations = [[addresses[n_dev + int(rng.integers(0, n_nodes))], addresses[int(rng.integers(0, n_dev))],
                       BASE // 2] for _ in range(int(rng.integers(0, 3)))]
        payload = {"run_id": run_id, "round": rnd, "trades_root": "ab" * 32, "trade_count": trades, "fee": fee,
                   "prices": [], "deltas": [], "contributions": contributions, "violations": violations,
                   "deltas_by_agent": deltas}
        store.add_pending_settlement(run_id, rnd, payload, n_trades=trades, netted_base=int(got.sum()))
        store.confirm_settlement(run_id, rnd, tx_hash=f"0x{rnd:064x}", block=100 + rnd, gas_used=200_000 + 6 * trades)


def build_run(store: RunStore, *, mechanism: str, seed: int, rounds: int, n_dev: int, n_nodes: int,
              trades: int, snapshot_every: int, settle: bool) -> int:
    rng = np.random.default_rng(seed)
    run_id = store.create_run("bench_city", {"devices": {"count": n_dev}, "nodes": {"count": n_nodes}}, seed,
                              mechanism=mechanism, rounds_planned=rounds, chain="anvil" if settle else "none",
                              label="bench")
    nodes_xy = rng.uniform(0, 5000, (n_nodes, 2))
    dev_xy = rng.uniform(0, 5000, (n_dev, 2))
    for rnd in range(rounds):
        dev_xy = np.clip(dev_xy + rng.normal(0, 40, dev_xy.shape), 0, 5000)      # random-walk mobility
        snapshot = snapshot_every > 0 and rnd % snapshot_every == 0
        attached = np.argmin(((dev_xy[:, None, :] - nodes_xy[None]) ** 2).sum(-1), axis=1) + n_dev if snapshot \
            else np.zeros(n_dev, dtype=int)
        store.record_round(run_id, _round(rnd, rng, n_dev, n_nodes, trades, np.vstack([dev_xy, nodes_xy]),
                                          attached, snapshot), eq_prices=np.array([0.02, 0.5, 0.001, 2.0]))
    store.flush()
    if settle:
        settle_run(store, run_id, rounds, n_dev, n_nodes, trades, rng)
    store.finish_run(run_id, status="done", summary={"rounds": rounds}, wall_s=0.0)
    return run_id


def build_store(path: Path, *, rounds: int, n_dev: int, n_nodes: int, trades: int, snapshot_every: int) -> None:
    t0 = time.perf_counter()
    store = RunStore(f"sqlite:///{path}", flush_every=20)
    build_run(store, mechanism="uniform", seed=1, rounds=rounds, n_dev=n_dev, n_nodes=n_nodes, trades=trades,
              snapshot_every=snapshot_every, settle=True)
    build_run(store, mechanism="mcafee", seed=2, rounds=rounds, n_dev=n_dev, n_nodes=n_nodes,
              trades=max(50, trades // 20), snapshot_every=0, settle=False)
    store.record_training("bench-ppo", "bench_city", [(i, p, float(np.log1p(i) * k), 4000 * (i + 1), 3.0 * i)
                                                       for p, k in (("node_pricer", 1.0), ("device_bidder", 0.6))
                                                       for i in range(200)])
    store.record_evaluation("bench-eval", [
        {"scenario": "bench_city", "seed": s, "pricing": p, "welfare": 100 * w, "welfare_share": w,
         "provider_profit": 30 * w, "mean_price": {"communication": 0.02, "computation": 0.001}, "qoais": 0.7,
         "sla_rate": 0.8}
        for s in range(5) for p, w in (("learned", 0.93), ("cost_plus", 0.8), ("equilibrium", 1.0))])
    store.engine.dispose()
    print(f"built {path} in {time.perf_counter() - t0:.1f} s", flush=True)


# ------------------------------------------------------------------------ page queries
def ours(e: Engine, run: int, other: int) -> dict[str, Callable[[], Any]]:
    """What each page asks the store for (the same calls the pages make)."""

    def run_page() -> Any:
        return (q.list_runs(e), q.run_info(e, run), q.run_overview(e, run), q.price_series(e, run),
                q.round_series(e, run))

    def market() -> Any:
        _, hi = q.round_range(e, run)
        return (q.run_info(e, run), q.run_overview(e, run), q.price_series(e, run), q.round_market(e, run, hi),
                q.order_curve(e, run, hi, 0), q.trade_steps(e, run, hi, 0), q.round_series(e, run), q.list_runs(e), q.run_overview(e, other),
                q.price_series(e, other), q.round_series(e, other))

    def qoais() -> Any:
        lo, hi = q.round_range(e, run)
        return (q.run_overview(e, run), q.qoais_series(e, run), q.qoais_profile(e, run, lo, hi), q.round_series(e, run))

    def agents() -> Any:
        rounds = q.snapshot_rounds(e, run)
        return (q.snapshot_at(e, run, rounds[-1], 5000), q.node_load(e, run, rounds[-1]), q.round_series(e, run),
                q.snapshot_frames(e, run, 600))

    def ledger() -> Any:
        settled = q.settled_rounds(e, run)
        return (q.settlement_totals(e, run), q.settlements(e, run), q.account_balances(e, run),
                q.incentives_and_slashes(e, run), q.run_overview(e, run), q.trade_count(e, run, settled[-1]),
                q.trade_at(e, run, settled[-1], 0))

    def learning() -> Any:
        return (q.training_sessions(e), q.training_curves(e, "bench-ppo"), q.evaluation_sessions(e),
                q.evaluation_summary(e, None), q.evaluation_prices(e, None))

    return {"run": run_page, "market": market, "qoais": qoais, "agents": agents, "ledger": ledger, "learning": learning}


def _raw(e: Engine, table: Any, run: int) -> pd.DataFrame:
    with e.connect() as c:
        return pd.read_sql(select(table.__table__).where(table.run_id == run), c)


def baseline(e: Engine, run: int, other: int) -> dict[str, Callable[[], Any]]:
    """The same figures computed in pandas from the raw rows of each table a page reads."""

    def rounds_figures(r: pd.DataFrame) -> Any:
        return r.sort_values("round"), r[["welfare", "optimal_welfare", "n_trades"]].sum()

    def run_page() -> Any:
        return rounds_figures(_raw(e, RoundRow, run))

    def market() -> Any:
        t = _raw(e, TradeRow, run)
        last = t["round"].max()
        sel = t[(t["round"] == last) & (t["resource"] == 0)]
        steps = sel.assign(v=sel.price * sel.quantity).groupby("price", as_index=False)[["quantity"]].sum()
        counts = t[t["round"] == last].groupby("resource").size()
        return rounds_figures(_raw(e, RoundRow, run)), steps, counts, rounds_figures(_raw(e, RoundRow, other))

    def qoais() -> Any:
        qq = _raw(e, QoAISRow, run)
        w = qq["n_requests"]
        prof = qq.assign(**{d: qq[d] * w for d in q.QOAIS_DIMENSIONS}).groupby("service_class")[
            list(q.QOAIS_DIMENSIONS)].sum().div(qq.groupby("service_class")["n_requests"].sum(), axis=0)
        return prof, rounds_figures(_raw(e, RoundRow, run))

    def agents() -> Any:
        s = _raw(e, Snapshot, run)
        last = s[s["round"] == s["round"].max()]
        load = last[last["kind"] == "device"].groupby("attached").agg(devices=("agent_id", "size"))
        frames = s[(s["kind"] != "device") | (s["agent_id"] % 17 == 0)]
        return last, load, frames, rounds_figures(_raw(e, RoundRow, run))

    def ledger() -> Any:
        st = _raw(e, Settlement, run)        # every payload, parsed
        deltas = pd.DataFrame([(int(k), v) for p in st["payload"] for k, v in p["deltas_by_agent"].items()],
                              columns=["agent_id", "delta"]).groupby("agent_id")["delta"].sum()
        fees = sum(p["fee"] for p in st["payload"])
        return deltas, fees, _raw(e, TradeRow, run).query("round == round.max()")

    def learning() -> Any:
        with e.connect() as c:
            tr = pd.read_sql("SELECT * FROM training", c)
            ev = pd.read_sql("SELECT * FROM evaluations", c)
        return tr.groupby("session").size(), ev.groupby(["scenario", "pricing"])["welfare_share"].mean()

    return {"run": run_page, "market": market, "qoais": qoais, "agents": agents, "ledger": ledger, "learning": learning}


def render_times(db_url: str, pages: list[str], run_id: int) -> dict[str, float]:
    """Wall time of a cold AppTest run of each page (Streamlit caches cleared first)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["EDGEMARKET_DB"] = db_url
    app = ROOT / "app" / "streamlit_app.py"
    out = {}
    for page in pages:
        at = AppTest.from_file(str(app), default_timeout=120)
        at.session_state["run_id"] = run_id
        at.run()
        st.cache_data.clear()
        t = time.perf_counter()
        if page != "run":
            at.switch_page(f"views/{page}.py")
        at.run()
        out[page] = time.perf_counter() - t
        if at.exception:
            raise RuntimeError(f"page {page} raised: {at.exception[0].value}")
    return out


def main() -> None:
    ap = parser(__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--trades", type=int, default=None, help="trades per round (default 5,000; 1,000 with --quick)")
    ap.add_argument("--snapshot-every", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-render", action="store_true", help="skip the AppTest page renders")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    trades = args.trades or (1000 if args.quick else 5000)
    out_dir = ROOT / "data" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"app_queries_r{args.rounds}_d{args.devices}_n{args.nodes}_t{trades}_s{args.snapshot_every}.db"
    if args.rebuild or not path.exists():
        path.unlink(missing_ok=True)
        tmp = path.with_suffix(".building")
        for f in out_dir.glob(tmp.name + "*"):
            f.unlink()
        build_store(tmp, rounds=args.rounds, n_dev=args.devices, n_nodes=args.nodes, trades=trades,
                    snapshot_every=args.snapshot_every)
        tmp.rename(path)
    url = f"sqlite:///{path}"
    store = RunStore(url)
    e = store.engine
    run_id, other_id = (int(r) for r in q.list_runs(e).sort_values("id")["id"].iloc[:2])
    ov = q.run_overview(e, run_id)
    print(f"store {path.name}: {ov['rounds']} rounds, {ov['trades']:,} trades, {args.devices:,} devices", flush=True)
    ours_fns, base_fns = ours(e, run_id, other_id), baseline(e, run_id, other_id)
    pages: dict[str, dict[str, float]] = {}
    for page in ours_fns:
        o, _ = best_time(ours_fns[page], args.repeat)
        b, _ = best_time(base_fns[page], max(1, args.repeat - 1))
        pages[page] = {"ours_s": round(o, 4), "baseline_s": round(b, 4), "ratio": round(b / o, 2) if o else None}
    renders = {} if args.no_render else render_times(url, list(ours_fns), run_id)
    for page, d in pages.items():
        d["render_s"] = round(renders.get(page, float("nan")), 3)
        print(f"{page:9s} ours {d['ours_s']:7.3f} s   baseline {d['baseline_s']:7.3f} s   x{d['ratio']:<7}"
              f" page render {d['render_s']:.3f} s", flush=True)
    ours_total = sum(d["ours_s"] for d in pages.values())
    base_total = sum(d["baseline_s"] for d in pages.values())
    worst = max((renders or {"-": 0.0}).values())
    report("app_queries", ours_total, base_total,
           f"every page renders < {TARGET_S} s ({args.devices:,} devices x {args.rounds} rounds)",
           worst_render_s=round(worst, 3), target_met=bool(renders) and worst < TARGET_S,
           trades=int(ov["trades"]), devices=args.devices, rounds=args.rounds, quick=args.quick, pages=pages)


if __name__ == "__main__":
    main()
