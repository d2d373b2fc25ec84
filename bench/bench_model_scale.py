"""Benchmark: the Mesa model at scale -- 10,000 devices and 200 edge nodes (scenarios/metro.yaml).

Ours: ``EdgeMarketModel`` on the metro scenario for N rounds (100, or 10 with --quick):
mobility, channel, requests, bundle design, per-zone clearing with the uniform mechanism,
execution, QoAIS and settlement, all on arrays. The welfare-optimum LP is not solved
(``market.optimum_every: 0`` in the scenario). Every round is written to a SQLite run store
under data/bench/ with ``RunStore.record_round`` (batched; the baseline adds one ORM row per
trade and commits each round), per-request records included (the scenario's ``store.requests``,
``--requests`` overrides it); ``--no-store`` times the models alone.
Throughput is agent-steps/s = (devices + nodes) × rounds / seconds of ``step()`` calls
(model construction excluded, reported separately as ``build_s``; it includes loading the
compiled kernels once per process, agents.warmup, which used to land in the first round). Peak memory is the peak
resident set size of this process plus the store's writer process (``resource.getrusage``),
after our run and before the baseline runs.

Baseline: the same round written the obvious way in Mesa -- every device is an Agent whose
``step`` moves it, loops over all nodes in Python to rate each link (same path loss and
correlated shadowing) and attach with hysteresis, draws a request, co-designs its bundle
(same square-root split and bisection), buys it from its node at the posted prices if the
node has the capacity and the request's value and budget cover it (first come, first served
in shuffled order: no auction), executes it and scores its QoAIS, with scalar ``math``. It
runs on 1,000 devices × the same 200 nodes (per-device work grows with the node count, not
the device count) and its time per agent-step is extrapolated to the full model.

On a shared machine wall times vary with the load; the JSON line also reports CPU-time
throughput (``agent_steps_per_cpu_s``, ``cpu_ratio``), which does not. Single-threaded BLAS
is requested (OPENBLAS_NUM_THREADS=1 etc.) so that numpy's dot
products do not spin threads on a shared 2-core machine. Last line: JSON with ``name``,
``ours_s``, ``baseline_s`` (extrapolated to the same agent-steps), ``ratio``, ``target``,
``agent_steps_per_s``, ``peak_mem_mb``.

    .venv/bin/python bench/bench_model_scale.py [--quick] [--seed N] [--rounds N]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import math  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import mesa  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from agents.model import EdgeMarketModel  # noqa: E402
from agents.results import RoundResult  # noqa: E402
from agents.scenario import Scenario, load_scenario  # noqa: E402
from ledger.store import RunStore, TradeRow  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parents[1] / "data" / "bench"


def fresh_store(name: str) -> RunStore:
    """A new SQLite run store under data/bench/ (old files removed)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (BENCH_DIR / f"{name}.db{suffix}").unlink(missing_ok=True)
    return RunStore(f"sqlite:///{BENCH_DIR / name}.db", writer="process")

SCENARIO = "metro"
BASELINE_DEVICES = 1000


def run_ours(sc: Scenario, rounds: int, seed: int,
             on_round: Callable[[RoundResult], Any] | None = None) -> dict[str, float]:
    """Build the model and run ``rounds`` rounds; ``on_round`` is called after each step."""
    t0 = time.perf_counter()
    model = EdgeMarketModel(sc, seed=seed)
    build_s = time.perf_counter() - t0
    step_s = cpu_s = 0.0
    sla = []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        rr = model.step()
        if on_round is not None:
            on_round(rr)
        step_s += time.perf_counter() - t
        cpu_s += time.process_time() - c
        sla.append(rr.sla_rate)
    return {"build_s": build_s, "step_s": step_s, "cpu_s": cpu_s, "sla_rate": float(np.mean(sla))}


# --- the obvious way ----------------------------------------------------------------------


def _stage_latency(t: float, f: float) -> float:
    rho = f * t
    return t * (2 - rho) / (2 * (1 - rho)) if rho < 1 else math.inf


class NaiveNode(mesa.Agent):
    """An edge node holding its capacity and posted prices as Python lists."""

    def __init__(self, model: NaiveModel, x: float, y: float, capacity: list[float],
                 price: list[float]) -> None:
        super().__init__(model)
        self.x, self.y = x, y
        self.capacity, self.price = capacity, price
        self.left = list(capacity)
        self.revenue = 0.0

    def step(self) -> None:
        self.left = list(self.capacity)


class NaiveDevice(mesa.Agent):
    """A device doing the whole round for itself with Python loops and scalar maths: move,
    rate every node (path loss + correlated shadowing), attach with hysteresis, draw a
    request, co-design its bundle, buy it from its node at the posted prices, execute it and
    score its QoAIS -- the same formulas as the array model."""

    def __init__(self, model: NaiveModel, x: float, y: float, cls: Any) -> None:
        super().__init__(model)
        self.x, self.y, self.cls = x, y, cls
        self.tx, self.ty = self._waypoint()
        self.speed = self.model.random.uniform(cls.mobility.speed_min_mps,
                                               cls.mobility.speed_max_mps)
        self.shadow = [self.model.random.gauss(0, model.sigma) for _ in model.node_list]
        self.node: NaiveNode | None = None
        self.handovers = 0
        self.budget = model.scenario.devices.budget_credits

    def _waypoint(self) -> tuple[float, float]:
        r = self.model.random
        return r.uniform(0, self.model.width), r.uniform(0, self.model.height)

    def step(self) -> None:
        m, c, r, ch = self.model, self.cls, self.model.random, self.model.scenario.channel
        dx, dy = self.tx - self.x, self.ty - self.y
        dist = math.hypot(dx, dy)
        moved = min(dist, self.speed)
        if dist <= self.speed:
            self.x, self.y = self.tx, self.ty
            self.tx, self.ty = self._waypoint()
        else:
            self.x += dx / dist * self.speed
            self.y += dy / dist * self.speed
        rho = math.exp(-moved / ch.shadowing_decorrelation_m)
        best, best_snr, cur_snr = None, -math.inf, -math.inf
        for j, node in enumerate(m.node_list):
            self.shadow[j] = rho * self.shadow[j] + math.sqrt(1 - rho * rho) * r.gauss(0, m.sigma)
            d = math.hypot(node.x - self.x, node.y - self.y)
            snr = (m.eirp_dbm - (m.pl0_db + 10 * m.exponent * math.log10(max(d, 1.0)))
                   - self.shadow[j] - m.noise_dbm)
            if d > m.coverage_m or snr < ch.min_snr_db:
                continue
            if node is self.node:
                cur_snr = snr
            if snr > best_snr:
                best, best_snr = node, snr
        if self.node is not None and cur_snr > -math.inf and best_snr <= cur_snr + ch.handover_hysteresis_db:
            best, best_snr = self.node, cur_snr
        if best is not self.node and self.node is not None and best is not None:
            self.handovers += 1
        self.node = best
        if best is None or r.random() >= c.activity_prob:
            return
        # Link figures.
        se = min(math.log2(1 + 10 ** (best_snr / 10) / m.gap), ch.max_spectral_efficiency_bps_hz)
        ber = min(0.2 * math.exp(-1.5 * m.ber_margin * 10 ** (r.gauss(0, ch.fast_fading_sigma_db) / 10)), 0.5)
        per = min(1 - (1 - ber) ** ch.packet_bits, 0.999)
        delay = ch.air_interface_ms + ch.harq_rtt_ms * per / (1 - per)
        jitter = ch.base_jitter_ms + ch.harq_rtt_ms * math.sqrt(per) / (1 - per)
        residual = per ** (ch.max_retransmissions + 1)
        # Request and co-designed bundle (square-root split, then bisection on the scale).
        data = c.data_mbit * (1 + c.size_spread * r.uniform(-1, 1))
        work = c.work_gflop * (1 + c.size_spread * r.uniform(-1, 1))
        value = c.value_credits * (1 + c.value_spread * r.uniform(-1, 1))
        f = c.task_rate_hz
        miss = (1 - c.cache_hit_ratio) * c.cache_miss_penalty_ms
        budget = (c.latency_budget_ms * 0.9 - delay - miss) / 1000.0
        if budget <= 0 or se <= 0:
            return
        a, b = data * m.se_ref / se, work
        wa, wb = math.sqrt(best.price[0] * a), math.sqrt(best.price[2] * b)
        t1, t2 = budget * wa / (wa + wb), budget * wb / (wa + wb)
        lo, hi = 0.0, 1.0
        for _ in range(30):
            mid = (lo + hi) / 2
            if _stage_latency(mid * t1, f) + _stage_latency(mid * t2, f) <= budget:
                lo = mid
            else:
                hi = mid
        t1, t2 = lo * t1, lo * t2
        if lo <= 0:
            return
        demand = [a / t1, c.cache_gb, b / t2, c.learning_lu]
        cost = sum(q * p for q, p in zip(demand, best.price, strict=True))
        if cost > min(value, self.budget) or any(
                q > left for q, left in zip(demand, best.left, strict=True)):
            return
        for k in range(4):
            best.left[k] -= demand[k]
            if m.session is not None and demand[k] > 0:  # the obvious store: one ORM row per trade
                m.session.add(TradeRow(run_id=m.run_id, round=m.round_no, idx=m.n_trades,
                                       buyer=self.unique_id, seller=best.unique_id, resource=k,
                                       quantity=demand[k], price=best.price[k]))
                m.n_trades += 1
        best.revenue += cost
        self.budget -= cost
        # Execute and score.
        rate = demand[0] * se / m.se_ref
        tx = _stage_latency(data / rate, f)
        comp = _stage_latency(work / demand[2], f)
        hit = c.cache_hit_ratio
        lat_hit = delay + 1000 * (tx + comp)
        lat = lat_hit + (1 - hit) * c.cache_miss_penalty_ms
        z1 = (c.latency_budget_ms - lat_hit) / max(jitter, 1e-3)
        z2 = (c.latency_budget_ms - lat_hit - c.cache_miss_penalty_ms) / max(jitter, 1e-3)
        rel = (hit * 0.5 * math.erfc(-z1 / math.sqrt(2))
               + (1 - hit) * 0.5 * math.erfc(-z2 / math.sqrt(2))) * (1 - residual)
        acc = c.accuracy_max * (1 - math.exp(-c.learning_gain))
        clip = lambda v: min(max(v, 0.0), 1.0)  # noqa: E731
        dims = [
            (acc + clip(acc / c.min_accuracy) + (1 - per)) / 3,
            (clip(rate * budget / data) + clip(1 - delay / c.latency_budget_ms)
             + clip(1 - jitter / (0.1 * c.latency_budget_ms)) + clip(-math.log10(max(ber, 1e-12)) / 9)
             + rel) / 5,
            ((1 - residual) + 1.0 + hit + (1 - hit) * clip(1 - c.cache_miss_penalty_ms / c.latency_budget_ms)) / 3,
            (clip(1 - 1000 * comp / c.latency_budget_ms) + clip(f * work / demand[2])) / 2,
            1.0, 1.0,
        ]
        m.qoais_sum += sum(w * d for w, d in zip(c.weights.as_list(), dims, strict=True)) / sum(c.weights.as_list())
        m.sla_met += (lat <= c.latency_budget_ms and rel >= c.min_reliability
                      and acc >= c.min_accuracy)
        m.served += 1


class NaiveModel(mesa.Model):
    """The same round, written with per-agent Python loops."""

    def __init__(self, sc: Scenario, n_devices: int, seed: int, session: Session | None = None,
                 run_id: int = 0) -> None:
        super().__init__(seed=seed)
        self.scenario = sc
        self.session, self.run_id, self.round_no, self.n_trades = session, run_id, 0, 0
        nc, ch = sc.nodes, sc.channel
        self.width, self.height = sc.area.width_m, sc.area.height_m
        self.coverage_m = nc.coverage_radius_m
        self.eirp_dbm = nc.tx_power_dbm + nc.antenna_gain_db
        self.pl0_db = 20 * math.log10(ch.frequency_ghz) + 32.45
        self.exponent = ch.path_loss_exponent
        self.sigma = ch.shadowing_sigma_db
        self.noise_dbm = -174 + 10 * math.log10(nc.bandwidth_mhz * 1e6) + ch.noise_figure_db
        self.gap = 10 ** (ch.snr_gap_db / 10)
        self.ber_margin = -math.log(5 * ch.target_ber) / 1.5
        self.se_ref = nc.capacity.communication_mbps / nc.bandwidth_mhz
        self.served = 0
        self.sla_met = 0
        self.qoais_sum = 0.0
        cols = max(1, math.ceil(math.sqrt(nc.count * self.width / self.height)))
        rows = math.ceil(nc.count / cols)
        price = [p * 1.3 for p in nc.marginal_cost.as_list()]
        self.node_list = [
            NaiveNode(self, (i % cols + 0.5) * self.width / cols,
                      (i // cols + 0.5) * self.height / rows, nc.capacity.as_list(), list(price))
            for i in range(nc.count)]
        classes = [sc.service_classes[n] for n in sc.class_names]
        shares = sc.class_shares()
        for _ in range(n_devices):
            cls = self.random.choices(classes, weights=shares)[0]
            NaiveDevice(self, self.random.uniform(0, self.width),
                        self.random.uniform(0, self.height), cls)

    def step(self) -> None:
        self.round_no += 1
        self.agents_by_type[NaiveNode].do("step")
        self.agents_by_type[NaiveDevice].shuffle_do("step")
        if self.session is not None:
            self.session.commit()


def run_baseline(sc: Scenario, n_devices: int, rounds: int, seed: int,
                 store: bool = True) -> tuple[float, float]:
    """Wall and CPU seconds per agent-step of the naive model (nodes + devices per round)."""
    session = None
    run_id = 0
    if store:
        st = fresh_store("scale_baseline")
        run_id = st.create_run("metro-baseline", {}, seed)
        session = Session(st.engine)
    model = NaiveModel(sc, n_devices, seed, session=session, run_id=run_id)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        model.step()
    steps = (n_devices + sc.nodes.count) * rounds
    out = (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps
    if session is not None:
        session.close()
    return out


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=None, help="rounds of our model")
    p.add_argument("--no-store", action="store_true",
                   help="model only: skip the run-store writes (ours) and ORM inserts (baseline)")
    p.add_argument("--requests", choices=("all", "sample", "none"), default=None,
                   help="override the scenario's store.requests (per-request records stored)")
    args = p.parse_args()
    rounds = args.rounds or (10 if args.quick else 100)
    sc = load_scenario(SCENARIO, {"store.requests": args.requests} if args.requests else None)
    agents_per_round = sc.devices.count + sc.nodes.count
    store = None if args.no_store else fresh_store("scale")
    on_round = None
    if store is not None:
        run_id = store.create_run(SCENARIO, {}, args.seed, rounds_planned=rounds)

        def on_round(rr: RoundResult) -> None:
            store.record_round(run_id, rr)

    ours = run_ours(sc, rounds, args.seed, on_round)
    if store is not None:
        t = time.perf_counter()
        store.close()  # the last batch of rows is part of the run
        ours["step_s"] += time.perf_counter() - t
    # The store's writer process has ended (joined by close()): count its peak too.
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
               + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024.0
    steps_per_s = agents_per_round * rounds / ours["step_s"]
    print(f"ours: {sc.devices.count} devices + {sc.nodes.count} nodes x {rounds} rounds in "
          f"{ours['step_s']:.2f} s ({steps_per_s:,.0f} agent-steps/s; build "
          f"{ours['build_s']:.2f} s; mean SLA rate {ours['sla_rate']:.3f}; peak RSS "
          f"{peak_mb:.0f} MB)", flush=True)
    base_rounds = 2 if args.quick else 3
    per_step, per_step_cpu = run_baseline(sc, BASELINE_DEVICES, base_rounds, args.seed,
                                          store=not args.no_store)
    baseline_s = per_step * agents_per_round * rounds
    print(f"baseline: {BASELINE_DEVICES} devices + {sc.nodes.count} nodes x {base_rounds} rounds "
          f"-> {1 / per_step:,.0f} agent-steps/s; extrapolated to {agents_per_round} agents x "
          f"{rounds} rounds: {baseline_s:.1f} s", flush=True)
    report("model_scale", ours["step_s"], baseline_s,
           ">= 100,000 agent-steps/s and >= 10x the per-agent Python baseline",
           agent_steps_per_s=round(steps_per_s),
           agent_steps_per_cpu_s=round(agents_per_round * rounds / ours["cpu_s"]),
           cpu_ratio=round(per_step_cpu * agents_per_round * rounds / ours["cpu_s"], 2),
           baseline_agent_steps_per_s=round(1 / per_step),
           peak_mem_mb=round(peak_mb, 1), rounds=rounds, devices=sc.devices.count,
           nodes=sc.nodes.count, build_s=round(ours["build_s"], 3),
           baseline_devices=BASELINE_DEVICES, baseline_extrapolated=True,
           sla_rate=round(ours["sla_rate"], 4), store_writes=not args.no_store,
           store_requests=sc.store.requests)


if __name__ == "__main__":
    main()
