"""Per-request records of one round, for the run store's `request_batches` (issue 15 item 1).

The model already computes, per request, who served it, its latency, reliability, SLA
outcome and the 29 QoAIS indicator scores (agents.qoais); the store only kept their
per-class means. `RequestRecords` holds references to those arrays (no copies, nothing
computed in the model's round) and `RequestRecords.columns()` expands them to one flat
column per field when the store's writer encodes the round, off the simulation's path.

Which requests are kept is the scenario's ``store.requests`` (agents.scenario.StoreConfig):
``all``, ``sample`` (the requests of every device whose agent id is a multiple of
``ceil(devices / store.request_devices)``: the same devices every round) or ``none``.

Column names and units (docs/export.md lists them):

- ``request``: the request's row in its round (0-based; with ``sample`` some are absent),
  ``device``: the requesting device's agent id, ``service_class``: its class name;
- ``provider``: agent id of the seller of the largest share of the bundle (-1: unserved),
  ``n_sellers``: distinct sellers in the bundle, ``n_trades``: trades it bought;
- ``served``, ``sla_met`` (booleans), ``latency_ms`` (end to end, ms; NaN unserved),
  ``reliability`` (probability; NaN unserved), ``value_credits`` (the request's true
  value), ``payment_credits`` (what it paid this round);
- ``qoais_overall_score``: the class-weighted mean of the six dimension scores,
  ``qoais_<dimension>_score`` and ``qoais_<dimension>_<indicator>`` for the 29 indicators,
  all in [0, 1] (1 = best), NaN where the indicator does not apply or the request was not
  served.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from agents.qoais import DIMENSIONS, INDICATORS

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

REQUEST_MODES = ("all", "sample", "none")


class StoreConfig(BaseModel):
    """What the run store keeps of each round beyond the per-class aggregates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: Literal["all", "sample", "none"] = Field(
        "all", description="per-request records in request_batches: every request, those of "
                           "a fixed sample of devices (request_devices), or none")
    request_devices: int = Field(
        500, ge=1, description="devices whose requests are kept with requests: sample")


def indicator_column(dimension: str, indicator: str) -> str:
    """`qoais_<dimension>_<indicator>` with the indicator as a snake_case word
    ("loss/objective consistency" -> ``qoais_performance_loss_objective_consistency``)."""
    slug = re.sub(r"[^a-z0-9]+", "_", indicator.lower()).strip("_")
    return f"qoais_{dimension}_{slug}"


#: The QoAIS columns of a request record, in order.
QOAIS_COLUMNS: tuple[str, ...] = (
    "qoais_overall_score",
    *(f"qoais_{d}_score" for d in DIMENSIONS),
    *(indicator_column(d, i) for d, i, _u, _n in INDICATORS),
)


@dataclass
class RequestRecords:
    """One round's requests (rows of the round's request arrays, possibly a sample).

    ``keep`` selects the stored rows among the round's ``n`` requests (None: all); the
    other per-request arrays cover all ``n``. ``served_rows`` are the served requests' rows,
    in the order of the ``indicators`` (29 columns) and ``dimensions`` (6) score rows.
    """

    classes: tuple[str, ...]
    class_weights: FloatArray  # (k, 6) QoAIS dimension weights
    device: IntArray  # agent ids
    cls: IntArray
    provider: IntArray
    served: BoolArray
    sla_met: BoolArray
    latency_ms: FloatArray
    reliability: FloatArray
    value_credits: FloatArray
    payment_credits: FloatArray
    bid_index: IntArray  # of the round's trades: request row of each trade
    seller: IntArray  # of the round's trades
    served_rows: IntArray
    indicators: FloatArray
    dimensions: FloatArray
    keep: IntArray | None = None

    def __len__(self) -> int:
        return int(self.device.size if self.keep is None else self.keep.size)

    def columns(self) -> dict[str, Any]:
        """The stored rows as named columns (numpy arrays; ``service_class`` categorical)."""
        import pandas as pd  # only the store's writer needs it

        n = self.device.size
        rows = np.arange(n) if self.keep is None else self.keep
        kept = np.zeros(n, bool)
        kept[rows] = True
        # Score rows of the kept requests that were served (-1: not served).
        score_row = np.full(n, -1)
        score_row[self.served_rows] = np.arange(self.served_rows.size)
        sel = score_row[rows]
        has = sel >= 0
        # Column-major: each column below is a contiguous view, not a copy.
        scores = np.full((rows.size, len(QOAIS_COLUMNS)), np.nan, order="F")
        if has.any():
            dims = self.dimensions[sel[has]]
            w = self.class_weights[self.cls[rows[has]]]
            scores[has, 0] = np.clip((dims * w).sum(axis=1), 0.0, 1.0)
            scores[has, 1:1 + len(DIMENSIONS)] = dims
            scores[has, 1 + len(DIMENSIONS):] = self.indicators[sel[has]]
        ok = (self.bid_index >= 0) & (self.bid_index < n)
        ok[ok] = kept[self.bid_index[ok]]
        bid, seller = self.bid_index[ok].astype(np.int64), self.seller[ok].astype(np.int64)
        n_trades = np.bincount(bid, minlength=n)
        base = int(seller.max()) + 1 if seller.size else 1
        n_sellers = np.bincount(np.unique(bid * base + seller) // base, minlength=n)
        served = self.served[rows]
        out: dict[str, Any] = {
            "request": rows.astype(np.int64),
            "device": self.device[rows].astype(np.int64),
            "service_class": pd.Categorical.from_codes(self.cls[rows], categories=list(self.classes)),
            "provider": self.provider[rows].astype(np.int64),
            "n_sellers": n_sellers[rows].astype(np.int64),
            "n_trades": n_trades[rows].astype(np.int64),
            "served": served,
            "sla_met": self.sla_met[rows],
            "latency_ms": np.where(served, self.latency_ms[rows], math.nan),
            "reliability": np.where(served, self.reliability[rows], math.nan),
            "value_credits": self.value_credits[rows].astype(np.float64),
            "payment_credits": self.payment_credits[rows].astype(np.float64),
        }
        for j, name in enumerate(QOAIS_COLUMNS):
            out[name] = scores[:, j]
        return out


def sample_rows(device_uid: IntArray, n_devices: int, keep_devices: int) -> IntArray:
    """Rows whose device id is a multiple of ceil(n_devices / keep_devices): about
    ``keep_devices`` devices, the same ones every round."""
    step = max(1, math.ceil(n_devices / max(1, keep_devices)))
    return np.flatnonzero(device_uid % step == 0)


def round_records(mode: str, keep_devices: int, n_devices: int, **arrays: Any) -> RequestRecords | None:
    """The round's `RequestRecords` under the scenario's ``store.requests`` mode (None: none)."""
    if mode == "none":
        return None
    rec = RequestRecords(**arrays)
    if mode == "sample":
        rec.keep = sample_rows(rec.device, n_devices, keep_devices)
    return rec
