"""The device agent: a mobile user of AI services that may also broker idle resources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.agent_rows import RowAgent

if TYPE_CHECKING:
    from agents.model import EdgeMarketModel


class Device(RowAgent):
    """A buyer (and, if ``is_broker``, a seller); its state is row ``index`` of ``model.devices``."""

    model: EdgeMarketModel

    @property
    def pos_m(self) -> tuple[float, float]:
        """(x, y) in m."""
        x, y = self.model.devices.xy_m[self.index]
        return float(x), float(y)

    @property
    def service_class(self) -> str:
        """Name of the AI service class it runs."""
        return self.model.classes.names[int(self.model.devices.cls[self.index])]

    @property
    def attached_node(self) -> int | None:
        """unique_id of the node it is attached to, None when out of coverage."""
        i = int(self.model.devices.attached[self.index])
        return int(self.model.nodes.uid[i]) if i >= 0 else None

    @property
    def is_broker(self) -> bool:
        """Whether it sells its idle resources."""
        return bool(self.model.devices.is_broker[self.index])

    @property
    def battery_j(self) -> float:
        """Battery energy left, J."""
        return float(self.model.devices.battery_j[self.index])

    @property
    def budget_credits(self) -> float:
        """Credits left to spend."""
        return float(self.model.devices.budget_credits[self.index])

    @property
    def handovers(self) -> int:
        """Handovers so far."""
        return int(self.model.devices.handovers[self.index])

    def state(self) -> dict[str, Any]:
        """A JSON-able view of the device's row."""
        return {"id": self.unique_id, "service_class": self.service_class, "pos_m": self.pos_m,
                "attached_node": self.attached_node, "is_broker": self.is_broker,
                "battery_j": self.battery_j, "budget_credits": self.budget_credits,
                "handovers": self.handovers}
