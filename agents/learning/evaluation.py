"""Evaluation: learned pricing vs rule-based pricing vs the competitive equilibrium.

Every pricing is run on the same scenario and seeds through the same model
(:class:`~agents.model.EdgeMarketModel`); only the edge nodes' pricing (and, for the
equilibrium, the mechanism) changes:

- ``learned``: ``nodes.strategy = rllib(checkpoint)`` (inference, no Ray);
- ``tatonnement``: nodes adjust prices on their own excess demand;
- ``fixed_markup``: ask = marginal cost × (1 + markup) (the scenario's markup, default 0.3);
- ``equilibrium``: nodes ask their marginal cost and the market clears with the bundle LP
  (``market.mechanism: equilibrium``), i.e. the competitive equilibrium: the welfare
  optimum priced at the LP duals.

Social welfare is measured at *true* marginal costs: the market's welfare (value of bundles
served − asks × units sold) plus, for edge nodes, (ask − marginal cost) × units sold, since
a node's markup is a transfer, not a cost. ``welfare_share`` is a pricing's welfare over the
equilibrium's on the same seed. Provider profit is the edge nodes' revenue − marginal cost of
units sold (credits); prices are the mean clearing prices per resource (credits/unit); QoAIS
is the request-weighted mean overall score and ``sla_rate`` the share of requests that met
their SLA.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.learning.core import true_welfare
from agents.scenario import Scenario, scenario_from_dict
from market.resources import RESOURCE_NAMES

#: Reporting-only overrides used for evaluation runs (no per-round optimum LP, no snapshots).
EVAL_OVERRIDES: dict[str, Any] = {"market.optimum_every": 0, "snapshot_every": 0}


@dataclass(frozen=True)
class Pricing:
    """A pricing to evaluate: node strategy (name, params) and optional mechanism."""

    name: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    mechanism: str | None = None
    mechanism_params: dict[str, Any] | None = None

    def overrides(self) -> dict[str, Any]:
        """Dotted scenario overrides that select this pricing."""
        out: dict[str, Any] = {"nodes.strategy": {"name": self.strategy, "params": dict(self.params)}}
        if self.mechanism is not None:
            out["market.mechanism"] = self.mechanism
            out["market.params"] = dict(self.mechanism_params or {})
        return out


def standard_pricings(scenario: Scenario, checkpoint: str | None = None,
                      markup: float | None = None) -> list[Pricing]:
    """learned (if a checkpoint is given), tatonnement, fixed_markup, equilibrium."""
    if markup is None:
        st = scenario.nodes.strategy
        markup = float(st.params.get("markup", 0.3)) if st.name == "fixed_markup" else 0.3
    out = []
    if checkpoint:
        out.append(Pricing("learned", "rllib", {"checkpoint": str(checkpoint)}))
    out += [
        Pricing("tatonnement", "tatonnement"),
        Pricing("fixed_markup", "fixed_markup", {"markup": markup}),
        Pricing("equilibrium", "fixed_markup", {"markup": 0.0}, mechanism="equilibrium"),
    ]
    return out


@dataclass
class PricingOutcome:
    """Totals of one pricing on one seed."""

    pricing: str
    seed: int
    rounds: int
    welfare: float
    market_welfare: float
    provider_profit: float
    mean_price: dict[str, float | None]
    qoais: float
    sla_rate: float
    requests: int
    served: int
    wall_s: float
    welfare_share: float = math.nan

    def to_row(self, scenario: str) -> dict[str, Any]:
        """A row for ``RunStore.record_evaluation``."""
        return {
            "scenario": scenario, "seed": self.seed, "pricing": self.pricing,
            "welfare": float(self.welfare),
            "welfare_share": float(self.welfare_share) if math.isfinite(self.welfare_share) else 0.0,
            "provider_profit": float(self.provider_profit),
            "mean_price": {k: v for k, v in self.mean_price.items() if v is not None},
            "qoais": float(self.qoais), "sla_rate": float(self.sla_rate),
        }


def run_pricing(scenario: Scenario, pricing: Pricing, seed: int, rounds: int) -> PricingOutcome:
    """Run ``rounds`` rounds of the model with ``pricing`` and total the outcomes."""
    from agents.model import EdgeMarketModel

    sc = scenario_from_dict(scenario.to_json_dict(), source=scenario.name,
                            overrides={**EVAL_OVERRIDES, **pricing.overrides()})
    t0 = time.perf_counter()
    model = EdgeMarketModel(sc, seed=seed)
    welfare = market_welfare = profit = 0.0
    pay = np.zeros(len(RESOURCE_NAMES))
    vol = np.zeros(len(RESOURCE_NAMES))
    n_req = n_served = 0
    sla_w = q_w = 0.0
    for _ in range(rounds):
        rr = model.step()
        welfare += true_welfare(model, rr)
        market_welfare += float(rr.clearing.welfare)
        profit += float(model.nodes.profit_credits.sum())
        prices = np.asarray(rr.clearing.prices, dtype=float)
        ok = np.isfinite(prices)
        pay[ok] += prices[ok] * rr.clearing.volume[ok]
        vol[ok] += rr.clearing.volume[ok]
        for q in rr.qoais:
            n_req += q.n_requests
            n_served += q.n_served
            sla_w += q.sla_rate * q.n_requests
            q_w += q.overall * q.n_requests
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(vol > 0, pay / vol, np.nan)
    return PricingOutcome(
        pricing=pricing.name, seed=seed, rounds=rounds, welfare=welfare,
        market_welfare=market_welfare, provider_profit=profit,
        mean_price={n: (None if not math.isfinite(p) else float(p))
                    for n, p in zip(RESOURCE_NAMES, mean, strict=True)},
        qoais=q_w / n_req if n_req else 0.0, sla_rate=sla_w / n_req if n_req else 0.0,
        requests=n_req, served=n_served, wall_s=time.perf_counter() - t0)


@dataclass
class EvaluationReport:
    """All outcomes of an evaluation, with per-pricing means."""

    scenario: str
    seeds: list[int]
    rounds: int
    outcomes: list[PricingOutcome]

    def summary(self) -> list[dict[str, Any]]:
        """Per pricing: means over seeds (welfare, share, profit, QoAIS, SLA, prices)."""
        names = list(dict.fromkeys(o.pricing for o in self.outcomes))
        rows = []
        for name in names:
            part = [o for o in self.outcomes if o.pricing == name]
            prices: dict[str, float | None] = {}
            for r in RESOURCE_NAMES:
                vals = [o.mean_price[r] for o in part if o.mean_price[r] is not None]
                prices[r] = float(np.mean(vals)) if vals else None
            shares = [o.welfare_share for o in part]
            rows.append({
                "pricing": name, "seeds": len(part),
                "welfare": float(np.mean([o.welfare for o in part])),
                "welfare_share": float(np.mean(shares)),
                "welfare_share_min": float(np.min(shares)),
                "provider_profit": float(np.mean([o.provider_profit for o in part])),
                "qoais": float(np.mean([o.qoais for o in part])),
                "sla_rate": float(np.mean([o.sla_rate for o in part])),
                "mean_price": prices,
            })
        return rows

    def rows(self) -> list[dict[str, Any]]:
        """Rows for ``RunStore.record_evaluation`` (one per pricing and seed)."""
        return [o.to_row(self.scenario) for o in self.outcomes]

    def markdown(self) -> str:
        """The summary as a Markdown table (docs/learning.md, README)."""
        head = ("| pricing | social welfare (credits) | share of equilibrium | provider profit "
                "(credits) | price comm / cache / compute / learn (credits/unit) | QoAIS | SLA rate |")
        lines = [head, "|---|---:|---:|---:|---|---:|---:|"]
        for r in self.summary():
            p = " / ".join("–" if r["mean_price"][n] is None else f"{r['mean_price'][n]:.4g}"
                           for n in RESOURCE_NAMES)
            lines.append(f"| {r['pricing']} | {r['welfare']:.1f} | {100 * r['welfare_share']:.1f}% | "
                         f"{r['provider_profit']:.1f} | {p} | {r['qoais']:.3f} | {r['sla_rate']:.3f} |")
        return "\n".join(lines)


def evaluate(scenario: Scenario, pricings: Sequence[Pricing], seeds: Sequence[int], rounds: int,
             on_outcome: Callable[[PricingOutcome], None] | None = None) -> EvaluationReport:
    """Run every pricing on every seed; shares are relative to ``equilibrium`` (if run)."""
    outcomes: list[PricingOutcome] = []
    for seed in seeds:
        part = [run_pricing(scenario, p, int(seed), rounds) for p in pricings]
        ref = next((o.welfare for o in part if o.pricing == "equilibrium"), None)
        for o in part:
            o.welfare_share = o.welfare / ref if ref and ref > 0 else math.nan
            if on_outcome:
                on_outcome(o)
        outcomes += part
    return EvaluationReport(scenario=scenario.name, seeds=[int(s) for s in seeds], rounds=rounds,
                            outcomes=outcomes)
