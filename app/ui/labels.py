"""Names, units and recurring texts of the pages (units follow `market.resources`)."""

from __future__ import annotations

from ledger.store.queries import QOAIS_DIMENSIONS, RESOURCES

RESOURCE_UNITS: dict[str, str] = {
    "communication": "Mbps·round", "caching": "GB·round", "computation": "GFLOP", "learning": "LU",
}
RESOURCE_COLORS: dict[str, str] = {
    "communication": "#1f77b4", "caching": "#ff7f0e", "computation": "#2ca02c", "learning": "#9467bd",
}
QOAIS_LABELS: dict[str, str] = {
    **{d: d.capitalize() for d in QOAIS_DIMENSIONS}, "overall": "Overall", "sla_rate": "SLA rate",
}

NO_RUN = (
    "No run selected. Run a scenario on the **Run** page (or `edgemarket run` in a shell), "
    "then pick it in the sidebar."
)
NO_ROUNDS = "This run has no stored rounds yet. Run it on the **Run** page or with `edgemarket run`."
NO_LEARNING = (
    "No training or evaluation data in this store yet. Train pricing policies with "
    "`edgemarket train` (and evaluate them) to fill the Learning page."
)
NO_CHAIN_RUN = (
    "This run was not settled on a chain (chain = none). Run it with the chain on "
    "(Run page toggle, or `edgemarket run --chain anvil`) to see settlements."
)

EFFICIENCY_NOTE = (
    "Efficiency = realised welfare / the optimal welfare of the same round's bids and asks "
    "(each run against its own optimum; compare runs on delivered welfare). 1 = no welfare "
    "lost; 0 = as good as no trade; below 0 = the trades destroyed welfare."
)
NEGATIVE_EFFICIENCY = (
    "below 0: the trades destroyed welfare - units went to buyers who value them less than "
    "their sellers' cost (no trade at all scores 0, the optimum 1)"
)


def price_axis(resource: str) -> str:
    return f"price (credits / {RESOURCE_UNITS.get(resource, 'unit')})"


def quantity_axis(resource: str) -> str:
    return f"quantity ({RESOURCE_UNITS.get(resource, 'units')})"


__all__ = ["QOAIS_DIMENSIONS", "RESOURCES"]
