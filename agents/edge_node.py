"""The edge node agent: a base station with a co-located MEC server at a fixed site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.agent_rows import RowAgent
from market.resources import RESOURCE_NAMES

if TYPE_CHECKING:
    from agents.model import EdgeMarketModel


class EdgeNode(RowAgent):
    """A seller of all four 3C-L resources; its state is row ``index`` of ``model.nodes``."""

    model: EdgeMarketModel

    @property
    def pos_m(self) -> tuple[float, float]:
        """(x, y) in m."""
        x, y = self.model.nodes.xy_m[self.index]
        return float(x), float(y)

    @property
    def ask(self) -> dict[str, float]:
        """This round's ask price per resource, credits/unit."""
        return dict(zip(RESOURCE_NAMES, map(float, self.model.nodes.ask[self.index]), strict=True))

    @property
    def capacity(self) -> dict[str, float]:
        """Units offered per round, per resource."""
        return dict(zip(RESOURCE_NAMES, map(float, self.model.nodes.capacity[self.index]),
                        strict=True))

    @property
    def utilization(self) -> float:
        """Share of capacity sold this round, mean over the resources it offers."""
        t = self.model.nodes
        cap = t.capacity[self.index]
        offered = cap > 0
        return float((t.sold[self.index][offered] / cap[offered]).mean()) if offered.any() else 0.0

    @property
    def energy_j(self) -> float:
        """Energy used so far, J."""
        return float(self.model.nodes.energy_j[self.index])

    def state(self) -> dict[str, Any]:
        """A JSON-able view of the node's row."""
        return {"id": self.unique_id, "pos_m": self.pos_m, "ask": self.ask,
                "capacity": self.capacity, "utilization": self.utilization,
                "energy_j": self.energy_j,
                "profit_credits": float(self.model.nodes.profit_credits[self.index])}
