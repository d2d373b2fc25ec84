"""A user strategy, as docs/scenarios.md shows it: ask under last round's price, never below cost."""

import numpy as np

from agents.strategies import NodeObservation, NodeStrategy, register_strategy


@register_strategy("undercut")
class Undercut(NodeStrategy):
    """Ask `discount` under last round's market price, never below cost."""

    def __init__(self, discount: float = 0.05) -> None:
        self.discount = discount

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> np.ndarray:
        last = np.nan_to_num(obs.market_price, nan=np.inf)
        return np.maximum(np.minimum(last * (1 - self.discount), obs.cost * 2), obs.cost)
