"""The cloud agent: a distant provider with ample capacity and a high round-trip time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

from market.resources import RESOURCE_NAMES

if TYPE_CHECKING:
    from agents.model import EdgeMarketModel


class Cloud(mesa.Agent):
    """Sells caching, computation and learning at a fixed markup; the reference alternative."""

    model: EdgeMarketModel

    def __init__(self, model: EdgeMarketModel) -> None:
        super().__init__(model)

    @property
    def ask(self) -> dict[str, float]:
        """Ask price per resource, credits/unit."""
        return dict(zip(RESOURCE_NAMES, map(float, self.model.cloud_ask), strict=True))

    def state(self) -> dict[str, Any]:
        """A JSON-able view."""
        return {"id": self.unique_id, "ask": self.ask,
                "rtt_ms": self.model.scenario.cloud.rtt_ms}
