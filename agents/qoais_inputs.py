"""Inputs of the QoAIS indicators that are not part of service execution.

- per-seller security and orchestration attributes (``seller_qoais:`` scenario block):
  each node, broker device and the cloud gets its own encryption share (confidentiality),
  privacy protection, attested-data share (authenticity), audit-log coverage
  (traceability) and automation share, drawn around its kind's mean; a request sees the
  weakest of its sellers (payment-weighted mean for automation);
- round-to-round link changes per device (bandwidth and BER "jitter" across rounds).

Draws use their own generator seeded from the model seed: the model's random stream is
unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from agents.qoais import Measured
from market.orders import Trades

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

ATTRIBUTES: tuple[str, ...] = ("confidentiality", "privacy", "authenticity", "traceability",
                               "automation")


class KindAttributes(BaseModel):
    """Mean attribute values, in [0, 1], of one kind of seller."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidentiality: float = Field(0.9, ge=0, le=1, description="share of traffic encrypted end to end")
    privacy: float = Field(0.9, ge=0, le=1, description="privacy protection of data and algorithms (TEE/DP share)")
    authenticity: float = Field(0.9, ge=0, le=1, description="share of data attested (signed at source)")
    traceability: float = Field(0.85, ge=0, le=1, description="share of operations in the audit log")
    automation: float = Field(0.8, ge=0, le=1, description="share of workflow stages automated")


class SellerQoAISConfig(BaseModel):
    """Per-kind means and the spread of the per-seller draw (uniform +-spread, clipped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spread: float = Field(0.15, ge=0, le=1)
    nodes: KindAttributes = Field(default_factory=lambda: KindAttributes(
        confidentiality=0.9, privacy=0.9, authenticity=0.9, traceability=0.85, automation=0.8))
    cloud: KindAttributes = Field(default_factory=lambda: KindAttributes(
        confidentiality=0.95, privacy=0.85, authenticity=0.95, traceability=0.95, automation=0.95))
    brokers: KindAttributes = Field(default_factory=lambda: KindAttributes(
        confidentiality=0.6, privacy=0.5, authenticity=0.6, traceability=0.4, automation=1.0))


def seller_attributes(cfg: SellerQoAISConfig, node_uid: IntArray, device_uid: IntArray,
                      cloud_uid: int | None, size: int, seed: int | None) -> FloatArray:
    """(size, 5) attributes indexed by agent id (ATTRIBUTES order); rows of non-sellers 1."""
    rng = np.random.default_rng([0 if seed is None else int(seed), 0x5EC])
    out = np.ones((size, len(ATTRIBUTES)))
    for uid, kind in ((node_uid, cfg.nodes), (device_uid, cfg.brokers),
                      (np.array([] if cloud_uid is None else [cloud_uid], np.int64), cfg.cloud)):
        mean = np.array([getattr(kind, a) for a in ATTRIBUTES])
        out[uid] = np.clip(mean + rng.uniform(-cfg.spread, cfg.spread, (uid.size, mean.size)), 0.0, 1.0)
    return out


def per_request(trades: Trades, n: int, attrs: FloatArray) -> dict[str, FloatArray]:
    """Per request (n,): weakest seller's value of each attribute, payment-weighted mean
    automation (compute and learning sellers); NaN for requests with no trades."""
    out = {}
    req = trades.bid_index
    a = attrs[trades.seller] if len(trades) else np.zeros((0, len(ATTRIBUTES)))
    for j, name in enumerate(ATTRIBUTES[:4]):
        low = np.full(n, np.inf)
        np.minimum.at(low, req, a[:, j])
        out[f"seller_{name}"] = np.where(np.isfinite(low), low, np.nan)
    work = (trades.resource == 2) | (trades.resource == 3)
    pay = trades.quantity * trades.price * work
    w = np.bincount(req, weights=pay, minlength=n)
    s = np.bincount(req, weights=pay * a[:, 4] if len(trades) else pay, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["seller_automation"] = np.where(w > 0, s / w, np.nan)
    return out


class LinkMemory:
    """Each device's rate and BER the last time it was served: changes across rounds."""

    def __init__(self, n_devices: int) -> None:
        self.rate = np.full(n_devices, np.nan)
        self.log_ber = np.full(n_devices, np.nan)

    def update(self, device: IntArray, rate_mbps: FloatArray, ber: FloatArray) -> dict[str, FloatArray]:
        """Changes for these (served) requests' devices, then remember the new values.
        NaN for a device's first service."""
        lb = np.log10(np.maximum(ber, 1e-300))
        prev_r, prev_b = self.rate[device], self.log_ber[device]
        with np.errstate(divide="ignore", invalid="ignore"):
            top = np.maximum(rate_mbps, prev_r)
            change = np.where(top > 0, np.abs(rate_mbps - prev_r) / top, 0.0)
        self.rate[device] = rate_mbps
        self.log_ber[device] = lb
        return {"rate_change": np.where(np.isnan(prev_r), np.nan, change),
                "log_ber_change": np.abs(lb - prev_b)}


def fill_measured(m: Measured, n: int, parts: list[dict[str, FloatArray]],
                  fl_min_accuracy: float) -> None:
    """Copy the optional measures in ``parts`` onto Measured ``m`` (all rows (n,)).

    Learning requests (``is_fl``) take the trained model's held-out accuracy and the FL
    accuracy requirement in place of the class curve's.
    """
    for part in parts:
        for k, v in part.items():
            if hasattr(m, k) and k not in ("is_fl",):
                setattr(m, k, v)
    fl = parts[0].get("is_fl") if parts else None
    if fl is not None and fl.size == n and "fl_accuracy" in parts[0]:
        rows = fl > 0
        acc = m.accuracy.copy()
        acc[rows] = parts[0]["fl_accuracy"][rows]
        m.accuracy = acc
        need = m.min_accuracy.copy()
        need[rows] = fl_min_accuracy
        m.min_accuracy = need


def measure_inputs(m: Measured, req: Any, got: Any, ber: FloatArray, trades: Trades, fl: Any,
                   link_memory: LinkMemory, seller_attrs: FloatArray, round_s: float,
                   fl_min_accuracy: float) -> None:
    """The round's QoAIS stage inputs beyond execution, filled onto ``m``: federated
    training of the learning requests (``fl``: agents.fl's service), the link's change
    since the device's last served round, and the sellers' security/orchestration
    attributes. ``req``: the round's Requests; ``got``: execution's Received; ``ber``: per
    request BER of the link used."""
    n = len(req)
    fl_out = fl.measure(req.cls, req.device, req.learning_lu, got.units, got.rate_mbps,
                        req.data_mbit, req.work_gflop, round_s, req.task_rate_hz)
    link_out = {k: np.full(n, np.nan) for k in ("rate_change", "log_ber_change")}
    srv = np.flatnonzero(got.served)
    for k, v in link_memory.update(req.device[srv], got.rate_mbps[srv], ber[srv]).items():
        link_out[k][srv] = v
    fill_measured(m, n, [fl_out, per_request(trades, n, seller_attrs), link_out],
                  fl_min_accuracy)


def class_means(names: list[str], cls: IntArray, ind: FloatArray) -> dict[str, list[float | None]]:
    """Per class: mean of each indicator over its served requests (None when not measured)."""
    out: dict[str, list[float | None]] = {}
    for c, name in enumerate(names):
        block = ind[cls == c]
        if not block.size:
            continue
        ok = ~np.isnan(block)
        cnt = ok.sum(axis=0)
        mean = np.where(ok, block, 0.0).sum(axis=0) / np.maximum(cnt, 1)
        out[name] = [float(v) if k > 0 else None for v, k in zip(mean, cnt, strict=True)]
    return out
