"""The learned-pricing benchmark: oracle, metrics and baselines (docs/learning.md, "Benchmark").

Every pricing runs through the same model (:class:`~agents.model.EdgeMarketModel`) on the
same seeds; only the edge nodes' pricing changes. Per round:

- **oracle**: the welfare LP on TRUE values and TRUE costs (:func:`agents.honest_welfare.
  pooled_optimum`, the optimum ``agents/honest_welfare`` uses) over all of the round's
  orders (edge, brokers, cloud) *plus* the edge bundles of the buyers who left at the posted
  prices (``dynamics.reservation_min_share``): demand that high prices drove away still
  counts as welfare the round could have had.
- **delivered welfare**: SLA-met value minus the true costs of all units sold
  (``RoundResult.delivered_welfare``).
- **dual-tracking error**: per edge venue v and resource r, |p − λ*| / λ*, with λ* the dual
  price of r in v's own bundle LP on true values (leavers included) and true costs, and p
  the venue's clearing price (the lowest ask in v for r when nothing of r traded: the price
  a buyer faced). Pairs where v's bids want none of r (λ* is then not determined) or λ* = 0
  are left out. Two companions: the same error of the nodes' lowest ask in the venue
  (what a node pricing sets directly), and a bundle-level error, |w·p − w·λ*| / w·λ* with
  w the venue's demand vector, which does not depend on how the LP splits a scarcity rent
  between resources always bought together (there the per-resource λ* is not unique).

Per seed: ``welfare_ratio`` = Σ delivered welfare / Σ oracle over the rounds, and
``dual_error`` = the mean of the relative errors over all (round, venue, resource) pairs.

Baselines (node strategies of agents.strategies): ``tatonnement``, ``zip`` (Cliff 1997),
``constant ×m`` (ask = true marginal cost × m, every node and resource) with m chosen in
hindsight on the training seeds (:func:`grid_search`), and the ``equilibrium`` mechanism
(nodes ask their cost; the market clears with the bundle LP) as a reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from agents.honest_welfare import pooled_optimum, true_unit_cost
from agents.learning.evaluation import Pricing
from agents.marketplace import OrderArrays
from agents.scenario import Scenario, scenario_from_dict
from market.lp import solve_welfare_lp
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]

#: The benchmark's scenario (scenarios/scarce_hotspots.yaml).
BENCH_SCENARIO = "scarce_hotspots"
#: Held-out evaluation seeds start here; training (PPO episodes, the grid search) uses
#: seeds from 0 upwards, far below.
HELDOUT_SEED0 = 10_000
#: The constant multipliers of the hindsight grid search (the learned policy's action range
#: is [1, 3] in the scenario; the grid spans more).
MULTIPLIERS: tuple[float, ...] = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0)
#: Runs here compute their own oracle; the model's per-round optimum and snapshots are off.
BENCH_OVERRIDES: dict[str, Any] = {"market.optimum_every": 0, "snapshot_every": 0,
                                   "curves_every": 0}


# --- per-round figures ---------------------------------------------------------------------


def _ask_costs(model: Any, orders: Sequence[OrderArrays]) -> FloatArray:
    """True unit cost of every ask of ``orders`` (nodes, brokers: cost tables; the cloud:
    its marginal cost before its markup)."""
    if not orders:
        return np.zeros(0)
    s = model.sellers
    cloud = np.asarray(model.scenario.cloud.marginal_cost.as_list(), np.float64)
    return true_unit_cost(np.concatenate([o.ask_agent for o in orders]),
                          np.concatenate([o.ask_resource for o in orders]),
                          s.kind, s.index, model.nodes.cost, model.devices.cost, cloud)


def _orders_with_leavers(model: Any) -> list[OrderArrays]:
    orders = list(model._round_orders)
    left = getattr(getattr(model, "dynamics", None), "left_orders", None)
    if left is not None:
        orders.append(left)
    return orders


def round_oracle(model: Any) -> float:
    """The round's pooled welfare optimum on true values and costs, leavers included."""
    orders = _orders_with_leavers(model)
    if model.worlds != 1:
        raise ValueError("the benchmark oracle assumes one world per model")
    return pooled_optimum(orders, np.asarray(model.dynamics.values, np.float64),
                          _ask_costs(model, orders))


@dataclass(frozen=True)
class VenueDuals:
    """Per edge venue with bids (V rows): id, λ* (V, 4), demand wanted (V, 4), lowest ask (V, 4)."""

    venue: NDArray[np.int64]
    dual: FloatArray
    wanted: FloatArray
    min_ask: FloatArray


def venue_duals(model: Any) -> VenueDuals:
    """Each edge venue's bundle-LP duals on true values (leavers included) and true costs."""
    edge = model._round_orders[0]
    left = model.dynamics.left_orders
    parts = [edge] if left is None else [edge, left]
    cat = np.concatenate
    b_venue = cat([o.bid_venue for o in parts])
    b_row = cat([o.bid_row for o in parts])
    b_agent = cat([o.bid_agent for o in parts])
    b_demand = cat([o.bid_demand for o in parts])
    value = np.asarray(model.dynamics.values, np.float64)[b_row]
    a_cost = _ask_costs(model, [edge])
    venues = np.unique(b_venue)
    dual = np.full((venues.size, N_RESOURCES), np.nan)
    wanted = np.zeros((venues.size, N_RESOURCES))
    min_ask = np.full((venues.size, N_RESOURCES), np.nan)
    for i, v in enumerate(venues.tolist()):
        b = b_venue == v
        a = edge.ask_venue == v
        dual[i] = lp_duals(b_demand[b], value[b], edge.ask_resource[a], edge.ask_quantity[a],
                           a_cost[a], b_agent[b], edge.ask_agent[a])
        wanted[i] = b_demand[b].sum(axis=0)
        for r in range(N_RESOURCES):
            sel = a & (edge.ask_resource == r) & (edge.ask_quantity > 0)
            if sel.any():
                min_ask[i, r] = edge.ask_price[sel].min()
    return VenueDuals(venues.astype(np.int64), dual, wanted, min_ask)


def lp_duals(demand: FloatArray, value: FloatArray, ask_resource: NDArray[np.integer],
             ask_quantity: FloatArray, ask_cost: FloatArray,
             bid_agent: NDArray[np.int64] | None = None,
             ask_agent: NDArray[np.int64] | None = None) -> FloatArray:
    """(4,) dual prices λ* of one venue's bundle welfare LP (bids: one bundle each at
    ``value``; asks at ``ask_cost``), from :func:`market.lp.solve_welfare_lp`."""
    n, m = value.size, ask_cost.size
    bids = Bids(np.arange(n, dtype=np.int64) if bid_agent is None else bid_agent,
                np.asarray(demand, np.float64).reshape(n, N_RESOURCES), value, np.ones(n))
    asks = Asks(np.arange(n, n + m, dtype=np.int64) if ask_agent is None else ask_agent,
                np.asarray(ask_resource, np.int8), ask_quantity, ask_cost)
    return np.asarray(solve_welfare_lp(Market(bids, asks)).prices, np.float64)


def relative_errors(price: FloatArray, dual: FloatArray, wanted: FloatArray,
                    min_ask: FloatArray) -> FloatArray:
    """|p − λ*| / λ* over the (venue, resource) pairs that count (module docstring): p the
    clearing price, or the lowest ask where it is NaN; pairs nobody wants or with λ* = 0
    are left out."""
    p = np.where(np.isfinite(price), price, min_ask)
    ok = (wanted > 0) & (dual > 1e-12) & np.isfinite(p)
    return np.abs(p[ok] - dual[ok]) / dual[ok]


def bundle_errors(price: FloatArray, dual: FloatArray, wanted: FloatArray,
                  min_ask: FloatArray) -> FloatArray:
    """Per venue: |w·p − w·λ*| / w·λ*, w the venue's total demand vector (its mean bundle,
    scaled), p as in :func:`relative_errors`. Unlike the per-resource error it does not
    depend on how the LP splits a rent between resources that are always bought together
    (perfect complements make that split degenerate); venues with a wanted resource
    without any price are left out."""
    p = np.where(np.isfinite(price), price, min_ask)
    need = wanted > 0
    ok = ~np.any(need & ~np.isfinite(p), axis=1)
    num = np.where(need, wanted * np.nan_to_num(p), 0.0).sum(axis=1)
    den = np.where(need, wanted * dual, 0.0).sum(axis=1)
    ok &= den > 1e-12
    return np.abs(num[ok] - den[ok]) / den[ok]


@dataclass(frozen=True)
class DualErrors:
    """One round's tracking errors: per (venue, resource) of the clearing price (the
    benchmark's dual-tracking error), of the nodes' lowest ask, and per venue of the
    clearing price of the venue's mean bundle."""

    clearing: FloatArray
    ask: FloatArray
    bundle: FloatArray


def dual_errors(model: Any, rr: Any) -> DualErrors:
    """The round's tracking errors against λ* (module docstring)."""
    vd = venue_duals(model)
    if vd.venue.size == 0:
        return DualErrors(np.zeros(0), np.zeros(0), np.zeros(0))
    vp = rr.info["venue_prices"]
    price_of = {int(v): row for v, row in zip(vp["venue"], vp["price"], strict=True)}
    p = np.full(vd.dual.shape, np.nan)
    for i, v in enumerate(vd.venue.tolist()):
        row = price_of.get(v)
        if row is not None:
            p[i] = [np.nan if x is None else x for x in row]
    none = np.full(vd.dual.shape, np.nan)
    return DualErrors(relative_errors(p, vd.dual, vd.wanted, vd.min_ask),
                      relative_errors(none, vd.dual, vd.wanted, vd.min_ask),
                      bundle_errors(p, vd.dual, vd.wanted, vd.min_ask))


# --- runs ------------------------------------------------------------------------------------


def constant_markup(multiplier: float) -> Pricing:
    """Every node asks its true marginal cost × ``multiplier`` on every resource."""
    return Pricing(f"constant x{multiplier:g}", "fixed_markup", {"markup": float(multiplier) - 1.0})


def baseline_pricings(best_multiplier: float) -> list[Pricing]:
    """tatonnement, ZIP, the best constant markup, and the equilibrium mechanism."""
    return [Pricing("tatonnement", "tatonnement"), Pricing("zip", "zip"),
            constant_markup(best_multiplier),
            Pricing("equilibrium", "fixed_markup", {"markup": 0.0}, mechanism="equilibrium")]


@dataclass
class SeedResult:
    """One pricing on one seed (credits, except the ratios)."""

    pricing: str
    seed: int
    rounds: int
    delivered: float
    oracle: float
    dual_error: float
    dual_pairs: int
    left_share: float  # share of requests whose buyer left at the posted prices
    sla_rate: float
    mean_multiplier: float  # nodes' mean ask / true cost
    provider_profit: float = 0.0  # edge nodes' revenue − true cost of units sold, credits
    ask_dual_error: float = math.nan  # mean |lowest node ask − λ*| / λ*
    bundle_dual_error: float = math.nan  # mean bundle-level error of the clearing price

    @property
    def welfare_ratio(self) -> float:
        """Σ delivered welfare / Σ oracle."""
        return self.delivered / self.oracle if self.oracle > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with the ratio."""
        return {**asdict(self), "welfare_ratio": self.welfare_ratio}

    def to_row(self, scenario: str) -> dict[str, Any]:
        """A row for ``RunStore.record_evaluation`` (the evaluations table): ``welfare`` is
        the delivered welfare and ``welfare_share`` the delivered-welfare ratio (share of
        the oracle, not of the equilibrium mechanism); ``qoais`` is 0 (not measured here) and
        the dual-tracking error rides in ``mean_price`` under ``dual_error`` (no prices are
        averaged here). The app's Learning page says so for these sessions."""
        return {"scenario": scenario, "seed": self.seed, "pricing": self.pricing,
                "welfare": float(self.delivered),
                "welfare_share": float(self.welfare_ratio) if math.isfinite(self.welfare_ratio) else 0.0,
                "provider_profit": float(self.provider_profit),
                "mean_price": {"dual_error": float(self.dual_error)}
                if math.isfinite(self.dual_error) else {},
                "qoais": 0.0, "sla_rate": float(self.sla_rate)}


def bench_scenario(scenario: Scenario, pricing: Pricing) -> Scenario:
    """``scenario`` with ``pricing`` and the benchmark's reporting switches."""
    return scenario_from_dict(scenario.to_json_dict(), source=scenario.name,
                              overrides={**BENCH_OVERRIDES, **pricing.overrides()})


def run_seed(scenario: Scenario, pricing: Pricing, seed: int, rounds: int) -> SeedResult:
    """Run ``rounds`` rounds and total the benchmark's figures."""
    from agents.model import EdgeMarketModel

    model = EdgeMarketModel(bench_scenario(scenario, pricing), seed=int(seed))
    delivered = oracle = 0.0
    errs: list[DualErrors] = []
    n_req = n_left = 0
    sla = mult = profit = 0.0
    cost = np.where(model.nodes.cost > 0, model.nodes.cost, 1.0)
    for _ in range(rounds):
        rr = model.step()
        delivered += float(rr.delivered_welfare)
        oracle += round_oracle(model)
        errs.append(dual_errors(model, rr))
        n_req += int(rr.n_requests)
        n_left += int(model.dynamics.left.sum())
        sla += float(rr.sla_rate) * int(rr.n_requests)
        mult += float(np.mean(model.nodes.ask / cost))
        profit += float(model.nodes.profit_credits.sum())
    def mean(kind: str) -> tuple[float, int]:
        e = np.concatenate([getattr(x, kind) for x in errs]) if errs else np.zeros(0)
        return (float(e.mean()) if e.size else math.nan), int(e.size)

    (err, pairs), (ask_err, _), (bundle_err, _) = mean("clearing"), mean("ask"), mean("bundle")
    return SeedResult(pricing.name, int(seed), rounds, delivered, oracle, err, pairs,
                      n_left / n_req if n_req else 0.0, sla / n_req if n_req else 0.0,
                      mult / rounds, profit, ask_err, bundle_err)


def grid_search(scenario: Scenario, seeds: Sequence[int], rounds: int,
                multipliers: Sequence[float] = MULTIPLIERS,
                on_result: Callable[[SeedResult], None] | None = None
                ) -> tuple[float, dict[float, float]]:
    """The constant multiplier with the highest mean welfare ratio on ``seeds`` (training
    seeds: chosen in hindsight there, then evaluated elsewhere), and every multiplier's mean."""
    means: dict[float, float] = {}
    for m in multipliers:
        res = [run_seed(scenario, constant_markup(m), s, rounds) for s in seeds]
        if on_result:
            for r in res:
                on_result(r)
        means[float(m)] = float(np.mean([r.welfare_ratio for r in res]))
    best = max(means, key=lambda k: means[k])
    return best, means


# --- statistics ------------------------------------------------------------------------------


def mean_ci(x: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of ``x`` (nan bounds for fewer than 2 values)."""
    a = np.asarray(x, dtype=np.float64)
    m = float(a.mean())
    if a.size < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return m, m - half, m + half


def compare(results: Sequence[SeedResult], ours: str, ref: str) -> dict[str, Any]:
    """Paired comparison on the seeds both ran: welfare gain in percentage points of the
    welfare ratio (mean, 95 % CI over seeds) and the dual-error ratio (mean error of ours /
    mean error of ref, with a 95 % CI of the per-seed ratios)."""
    a = {r.seed: r for r in results if r.pricing == ours}
    b = {r.seed: r for r in results if r.pricing == ref}
    seeds = sorted(set(a) & set(b))
    gain = [100.0 * (a[s].welfare_ratio - b[s].welfare_ratio) for s in seeds]
    g, g_lo, g_hi = mean_ci(gain)
    out: dict[str, Any] = {"welfare_gain_pp": g, "welfare_gain_ci": [g_lo, g_hi]}
    for key in ("dual_error", "ask_dual_error", "bundle_dual_error"):
        ea = float(np.mean([getattr(a[s], key) for s in seeds]))
        eb = float(np.mean([getattr(b[s], key) for s in seeds]))
        _, r_lo, r_hi = mean_ci([getattr(a[s], key) / getattr(b[s], key) for s in seeds])
        out[f"{key}_ratio"] = ea / eb if eb > 0 else math.nan
        out[f"{key}_ratio_ci"] = [r_lo, r_hi]
    out["seeds"] = len(seeds)
    return out


def summary(results: Sequence[SeedResult]) -> list[dict[str, Any]]:
    """Per pricing: mean welfare ratio and dual error with 95 % CIs over seeds."""
    out = []
    for name in dict.fromkeys(r.pricing for r in results):
        part = [r for r in results if r.pricing == name]
        w, w_lo, w_hi = mean_ci([r.welfare_ratio for r in part])
        d, d_lo, d_hi = mean_ci([r.dual_error for r in part])
        out.append({"pricing": name, "seeds": len(part), "welfare_ratio": w,
                    "welfare_ratio_ci": [w_lo, w_hi], "dual_error": d, "dual_error_ci": [d_lo, d_hi],
                    "ask_dual_error": float(np.mean([r.ask_dual_error for r in part])),
                    "bundle_dual_error": float(np.mean([r.bundle_dual_error for r in part])),
                    "left_share": float(np.mean([r.left_share for r in part])),
                    "sla_rate": float(np.mean([r.sla_rate for r in part])),
                    "mean_multiplier": float(np.mean([r.mean_multiplier for r in part]))})
    return out


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The summary as a Markdown table."""
    lines = ["| pricing | seeds | delivered-welfare ratio [95 % CI] | dual-tracking error [95 % CI] "
             "| bundle-price error | ask error | buyers left | SLA rate | mean ask / cost |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        wl, wh = r["welfare_ratio_ci"]
        dl, dh = r["dual_error_ci"]
        lines.append(f"| {r['pricing']} | {r['seeds']} | {r['welfare_ratio']:.3f} [{wl:.3f}, {wh:.3f}] "
                     f"| {r['dual_error']:.3f} [{dl:.3f}, {dh:.3f}] | {r['bundle_dual_error']:.3f} "
                     f"| {r['ask_dual_error']:.3f} | {100 * r['left_share']:.1f}% "
                     f"| {r['sla_rate']:.3f} | {r['mean_multiplier']:.2f} |")
    return "\n".join(lines)
