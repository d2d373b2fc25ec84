"""The edgemarket market engine: 3C-L resources, orders as arrays, clearing mechanisms.

Pure numpy/scipy. The public entry points are

- :mod:`market.resources` -- the four resource kinds and their units,
- :mod:`market.orders` -- ``Bids``, ``Asks``, ``Market``, ``Trades`` (columnar arrays),
- :mod:`market.pool` -- the virtual resource pool aggregating providers into asks,
- :mod:`market.mechanisms` -- ``get_mechanism(name, **params).clear(market)``,
- :mod:`market.result` -- ``ClearingResult`` (prices, trades, welfare, budget balance),
- :mod:`market.welfare` -- ``optimal_welfare(market)`` and welfare accounting,
- :mod:`market.pricing` -- the tatonnement price-update rule agents reuse.
"""

from market.orders import Asks, Bids, Market, Trades
from market.resources import N_RESOURCES, RESOURCE_NAMES, RESOURCE_UNITS, Resource

__all__ = [
    "N_RESOURCES",
    "RESOURCE_NAMES",
    "RESOURCE_UNITS",
    "Asks",
    "Bids",
    "Market",
    "Resource",
    "Trades",
]
