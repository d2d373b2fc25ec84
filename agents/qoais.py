"""QoAIS, the quality of AI service, measured per served request and aggregated per class.

Source 004 (§5.2, Table 3) names six dimensions and their indicators; the measurable
definitions, units and normalizations below are ours (docs/qoais.md lists the formulas).
Every indicator is normalized to [0, 1] (1 = best); a dimension is the mean of its
indicators; a request's overall score is the weighted mean of its six dimensions with its
class's weights. A request meets its SLA when its latency is within budget, and its
reliability, accuracy and provider privacy level meet the class requirements; unserved
requests never do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agents.results import ClassQoAIS

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: ms; the latency of a task that can never complete (a stage got no resources).
TIMEOUT_MS = 60_000.0

DIMENSIONS: tuple[str, ...] = (
    "performance", "connection", "data", "computation", "security", "orchestration",
)

#: (dimension, indicator, unit of the raw measure, normalization) -- rendered in docs/qoais.md.
INDICATORS: tuple[tuple[str, str, str, str], ...] = (
    ("performance", "accuracy", "fraction", "accuracy itself"),
    ("performance", "performance bound", "fraction", "min(1, accuracy / min_accuracy)"),
    ("performance", "robustness", "fraction", "1 - packet error rate (tasks on clean input)"),
    ("connection", "bandwidth", "Mbps", "min(1, rate / (D / stage budget))"),
    ("connection", "link delay", "ms", "clip(1 - link_delay / budget, 0, 1)"),
    ("connection", "jitter", "ms", "clip(1 - jitter / (0.1 budget), 0, 1)"),
    ("connection", "bit error rate", "-", "clip(-log10(BER) / 9, 0, 1)"),
    ("connection", "reliability", "probability", "P(latency <= budget) x (1 - residual loss)"),
    ("data", "completeness", "fraction", "1 - residual loss after HARQ"),
    ("data", "availability", "fraction", "min(1, cache bought / cache needed)"),
    ("data", "preparation time", "ms", "h + (1 - h) clip(1 - miss penalty / budget, 0, 1), h = cache hit ratio"),
    ("computation", "duration", "ms", "clip(1 - compute stage latency / budget, 0, 1)"),
    ("computation", "efficiency", "fraction", "min(1, stream work / compute bought)"),
    ("security", "privacy level", "level 0-3", "min(1, (provider level + 1) / (required + 1))"),
    ("security", "confidentiality", "fraction", "1 - 0.5 x share of units from broker devices"),
    ("orchestration", "autonomy", "level 0-2", "1 - (required - delivered) / 2"),
    ("orchestration", "continuity", "-", "1 - interrupted share - detoured share / 2 of the round's tasks (agents.handover); without it, 1 or 0.5 if handed over"),
)


@dataclass
class Measured:
    """Per served request raw measures (all (n,)), as produced by agents.execution."""

    cls: NDArray[np.int64]
    latency_ms: FloatArray
    latency_budget_ms: FloatArray
    stage_budget_s: FloatArray
    link_delay_ms: FloatArray
    jitter_ms: FloatArray
    ber: FloatArray
    per: FloatArray
    residual_loss: FloatArray
    reliability: FloatArray
    accuracy: FloatArray
    min_accuracy: FloatArray
    min_reliability: FloatArray
    rate_mbps: FloatArray
    data_mbit: FloatArray
    cache_share: FloatArray
    cache_hit_ratio: FloatArray
    cache_miss_penalty_ms: FloatArray
    compute_latency_ms: FloatArray
    compute_efficiency: FloatArray
    provider_security: FloatArray
    privacy_level: FloatArray
    broker_share: FloatArray
    autonomy_required: FloatArray
    autonomy_delivered: FloatArray
    handed_over: BoolArray
    continuity: FloatArray | None = None  # 1 − q_i − q_m/2 (agents.handover); None: old rule


def _clip01(x: FloatArray) -> FloatArray:
    return np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def dimension_scores(m: Measured) -> FloatArray:
    """(n, 6) dimension scores in [0, 1], columns in DIMENSIONS order."""
    budget = m.latency_budget_ms
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        perf = np.column_stack([
            _clip01(m.accuracy),
            _clip01(np.where(m.min_accuracy > 0, m.accuracy / m.min_accuracy, 1.0)),
            _clip01(1 - m.per),
        ])
        need = m.data_mbit / np.maximum(m.stage_budget_s, 1e-9)
        conn = np.column_stack([
            _clip01(np.where(need > 0, m.rate_mbps / need, 1.0)),
            _clip01(1 - m.link_delay_ms / budget),
            _clip01(1 - m.jitter_ms / (0.1 * budget)),
            _clip01(-np.log10(np.maximum(m.ber, 1e-12)) / 9.0),
            _clip01(m.reliability),
        ])
        data = np.column_stack([
            _clip01(1 - m.residual_loss),
            _clip01(m.cache_share),
            m.cache_hit_ratio
            + (1 - m.cache_hit_ratio) * _clip01(1 - m.cache_miss_penalty_ms / budget),
        ])
        comp = np.column_stack([
            _clip01(1 - m.compute_latency_ms / budget),
            _clip01(m.compute_efficiency),
        ])
        sec = np.column_stack([
            _clip01((m.provider_security + 1) / (m.privacy_level + 1)),
            _clip01(1 - 0.5 * m.broker_share),
        ])
        orch = np.column_stack([
            _clip01(1 - (m.autonomy_required - m.autonomy_delivered) / 2.0),
            np.where(m.handed_over, 0.5, 1.0) if m.continuity is None else _clip01(m.continuity),
        ])
    return np.column_stack([d.mean(axis=1) for d in (perf, conn, data, comp, sec, orch)])


def sla_met(m: Measured) -> BoolArray:
    """Per served request: every requirement met (latency, reliability, accuracy, privacy)."""
    return ((m.latency_ms <= m.latency_budget_ms)
            & (m.reliability >= m.min_reliability)
            & (m.accuracy >= m.min_accuracy)
            & (m.provider_security >= m.privacy_level))


def aggregate(names: list[str], weights: FloatArray, req_cls: NDArray[np.int64],
              served: BoolArray, sla: BoolArray, m: Measured, dims: FloatArray) -> list[ClassQoAIS]:
    """Per class: counts, SLA rate over all requests, means over served requests.

    ``req_cls``/``served``/``sla`` cover all requests; ``m``/``dims`` the served ones, in the
    same order as ``np.flatnonzero(served)``.
    """
    k = len(names)
    n_req = np.bincount(req_cls, minlength=k)
    n_srv = np.bincount(m.cls, minlength=k)
    n_sla = np.bincount(req_cls[sla], minlength=k)
    denom = np.maximum(n_srv, 1)
    dim_mean = np.column_stack([np.bincount(m.cls, weights=dims[:, j], minlength=k)
                                for j in range(6)]) / denom[:, None]
    overall = (dim_mean * weights).sum(axis=1)
    # Latency statistics over requests whose tasks complete (a stalled bundle is an SLA miss
    # already; its timeout would swamp the mean).
    done = m.latency_ms < TIMEOUT_MS
    n_done = np.bincount(m.cls[done], minlength=k)
    lat_mean = np.bincount(m.cls[done], weights=m.latency_ms[done], minlength=k) / np.maximum(n_done, 1)
    rel_mean = np.bincount(m.cls, weights=m.reliability, minlength=k) / denom
    acc_mean = np.bincount(m.cls, weights=m.accuracy, minlength=k) / denom
    out = []
    for c, name in enumerate(names):
        finite = m.latency_ms[(m.cls == c) & done]
        p95 = float(np.percentile(finite, 95)) if finite.size else 0.0
        out.append(ClassQoAIS(
            service_class=name,
            n_requests=int(n_req[c]),
            n_served=int(n_srv[c]),
            sla_rate=float(n_sla[c] / n_req[c]) if n_req[c] else 0.0,
            performance=float(dim_mean[c, 0]),
            connection=float(dim_mean[c, 1]),
            data=float(dim_mean[c, 2]),
            computation=float(dim_mean[c, 3]),
            security=float(dim_mean[c, 4]),
            orchestration=float(dim_mean[c, 5]),
            overall=float(np.clip(overall[c], 0.0, 1.0)),
            latency_ms_mean=float(lat_mean[c]),
            latency_ms_p95=p95,
            reliability=float(rel_mean[c]),
            accuracy=float(acc_mean[c]),
        ))
    return out
