"""What one round of the model reports: :class:`RoundResult` and its parts.

Plain dataclasses of numpy arrays and floats (the contract in docs/internals.md), consumed
by the run store, the CLI, the Streamlit pages and the RL envs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.curves import OrderCurves
from market.result import ClearingResult


@dataclass
class ClassQoAIS:
    """QoAIS of one service class in one round (scores in [0, 1]; see docs/qoais.md).

    Dimension scores and the reliability/accuracy figures average over *served* requests
    (0.0 when none was served); latency mean/p95 over served requests whose tasks complete
    (a bundle missing a stage stalls: an SLA miss, left out of the latency figures);
    ``sla_rate`` is over *all* requests, unserved ones counting as misses.
    """

    service_class: str
    n_requests: int
    n_served: int
    sla_rate: float
    performance: float
    connection: float
    data: float
    computation: float
    security: float
    orchestration: float
    overall: float
    latency_ms_mean: float
    latency_ms_p95: float
    reliability: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        return dict(vars(self))


@dataclass
class AgentSnapshot:
    """A sample of agents' state (all arrays (k,)).

    kind: "node", "cloud" or "device". attached: for devices the attached node's agent id
    (-1 if none), for nodes and the cloud their own id. utilization: share of capacity sold
    this round, averaged over the resources the agent offers (0 for non-brokers).
    """

    agent_id: NDArray[np.int64]
    kind: NDArray[np.str_]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    attached: NDArray[np.int64]
    utilization: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.agent_id.size)


@dataclass
class RoundResult:
    """Outcome of ``EdgeMarketModel.step()``.

    clearing: all of the round's markets merged into one ClearingResult (trades from every
    cell market, the cloud market, and in ``comm_only`` mode the direct compute assignments;
    prices are volume-weighted means over the markets). net_credits: agent id -> credits
    received (+) or paid (-); it sums to minus ``clearing.platform_surplus``.
    contributions: provider id -> work units delivered (scenario ``market.work_unit``).
    violations: (provider id, buyer id, credits at stake) for each served request that
    missed its SLA, the provider being the seller of the largest share of its bundle, when
    that provider is an edge node (the staked sellers that settlement can slash).
    """

    round: int
    clearing: ClearingResult
    optimal_welfare: float
    efficiency: float
    qoais: list[ClassQoAIS]
    net_credits: dict[int, float]
    contributions: dict[int, float]
    violations: list[tuple[int, int, float]]
    snapshot: AgentSnapshot | None = None
    curves: OrderCurves | None = None  # the round's pooled supply and demand curves
    # Extras (the layers may add what they need; these are cheap scalars).
    n_requests: int = 0
    n_served: int = 0
    sla_rate: float = 0.0
    deadline_rate: float = 0.0
    handovers: int = 0
    n_markets: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    # Honest welfare (agents.honest_welfare): realised value at true values minus true
    # costs over the pool-wide optimum on true costs; delivered: value of SLA-met requests
    # only. NaN where not computed (the optimum follows market.optimum_every).
    allocative_efficiency: float = math.nan
    allocative_welfare: float = math.nan
    delivered_welfare: float = math.nan
    pool_optimum: float = math.nan

    def summary(self) -> dict[str, Any]:
        """A small JSON-able summary of the round (for logs and the CLI)."""
        return {
            "round": self.round,
            "mechanism": self.clearing.mechanism,
            "n_requests": self.n_requests,
            "n_served": self.n_served,
            "sla_rate": self.sla_rate,
            "deadline_rate": self.deadline_rate,
            "handovers": self.handovers,
            "welfare": float(self.clearing.welfare),
            "optimal_welfare": float(self.optimal_welfare),
            "efficiency": float(self.efficiency),
            "platform_surplus": float(self.clearing.platform_surplus),
            "n_trades": len(self.clearing.trades),
            "n_violations": len(self.violations),
            "qoais_overall": {q.service_class: q.overall for q in self.qoais},
            "allocative_efficiency": _num(self.allocative_efficiency),
            "allocative_welfare": _num(self.allocative_welfare),
            "delivered_welfare": _num(self.delivered_welfare),
            "pool_optimum": _num(self.pool_optimum),
        }


def _num(x: float) -> float | None:
    """JSON has no NaN: null."""
    return None if math.isnan(x) else float(x)
