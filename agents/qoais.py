"""QoAIS, the quality of AI service, measured per served request and aggregated per class.

Source 004 (§5.2, Table 3) names six dimensions and 29 indicators; the measurable
definitions, units and normalizations below are ours (docs/qoais.md lists them with the
simulation state each comes from). Every indicator is normalized to [0, 1] (1 = best), or
NaN where it does not apply (FL-only indicators for inference requests; interpretability,
which is not measured); a dimension is the mean of its applicable indicators; a request's
overall score is the weighted mean of its six dimensions with its class's weights. A
request meets its SLA when its latency is within budget, and its reliability, accuracy and
provider privacy level meet the class requirements; unserved requests never do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from agents.results import ClassQoAIS

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: ms; the latency of a task that can never complete (a stage got no resources).
TIMEOUT_MS = 60_000.0

def _empty() -> FloatArray:
    return np.zeros(0)


DIMENSIONS: tuple[str, ...] = (
    "performance", "connection", "data", "computation", "security", "orchestration",
)

#: The 29 indicators of 004 Table 3: (dimension, indicator, raw unit, normalization to [0, 1]).
#: Rendered in docs/qoais.md with the state each is computed from. "FL" = learning-class
#: requests only (NaN for the others: the inference classes train nothing); "N/A" = not
#: measured (see the docs for the reason).
INDICATORS: tuple[tuple[str, str, str, str], ...] = (
    ("performance", "accuracy bound", "fraction", "min(1, Wilson 95 % lower bound / min_accuracy)"),
    ("performance", "training time", "ms", "FL: clip(1 - FedAvg round time / B)"),
    ("performance", "generalization", "fraction", "FL: 1 - clip(train acc - held-out acc)"),
    ("performance", "reusability", "fraction", "FL: mean accuracy on every client's local held-out data"),
    ("performance", "robustness", "fraction", "FL: noisy-input acc / clean acc; others 1 - PER"),
    ("performance", "interpretability", "-", "N/A"),
    ("performance", "loss/objective consistency", "fraction", "FL: 1 - expected calibration error"),
    ("performance", "fairness", "-", "FL: Jain's index of the clients' accuracies"),
    ("connection", "bandwidth", "Mbps", "min(1, rate / (D / stage budget))"),
    ("connection", "bandwidth jitter", "fraction", "1 - |rate - last rate| / max(rate, last rate)"),
    ("connection", "link delay", "ms", "clip(1 - link_delay / B)"),
    ("connection", "link delay jitter", "ms", "clip(1 - jitter / (0.1 B))"),
    ("connection", "bit error rate", "-", "clip(-log10(BER) / 9)"),
    ("connection", "bit error rate jitter", "decades", "clip(1 - |log10 BER - last log10 BER| / 3)"),
    ("connection", "reliability", "probability", "P(latency <= B) x (1 - residual loss)"),
    ("data", "feature redundancy", "fraction", "FL: 1 - share of constant or duplicate (|r| > 0.95) pixels"),
    ("data", "completeness", "fraction", "(1 - residual loss) x (1 - missing-pixel share)"),
    ("data", "data accuracy", "fraction", "FL: 1 - flipped-label share; others 1 - PER"),
    ("data", "preparation time", "ms", "FL: clip(1 - cleaning time / B); others cache hit/miss"),
    ("data", "sample space balance", "fraction", "FL: label entropy / log 10"),
    ("data", "sample distribution dynamics", "fraction", "FL: 1 - TV(label histogram, last round's)"),
    ("computation", "computing accuracy", "fraction", "FL: 1 / (1 + |partial - full update| / |full update|)"),
    ("computation", "duration", "ms", "clip(1 - compute stage latency / B)"),
    ("computation", "efficiency", "fraction", "min(1, stream work / compute bought)"),
    ("security", "confidentiality", "fraction", "weakest seller's encryption share x (1 - 0.5 broker share)"),
    ("security", "privacy level", "level 0-3", "min(1, (level + 1) / (required + 1)) x weakest privacy protection"),
    ("security", "authenticity", "fraction", "weakest seller's attested-data share"),
    ("security", "traceability", "fraction", "weakest seller's audit-log coverage"),
    ("orchestration", "autonomy", "level 0-2", "1 - max(0, required / 2 - payment-weighted automation)"),
)
INDICATOR_NAMES: tuple[str, ...] = tuple(i[1] for i in INDICATORS)
#: Indicators the model cannot measure (documented in docs/qoais.md).
NOT_MEASURED: tuple[str, ...] = ("interpretability",)


@dataclass
class Measured:
    """Per served request raw measures (all (n,)), as produced by agents.execution.

    The fields after ``handed_over`` are filled by agents.qoais_inputs (FL outcomes, seller
    attributes, round-to-round link changes); left empty they count as not measured (NaN).
    """

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
    # -- optional (NaN = not applicable / not measured) --
    accuracy_trials: FloatArray = field(default_factory=_empty)  # n behind the accuracy
    rate_change: FloatArray = field(default_factory=_empty)  # |Δrate| / max(rate, last)
    log_ber_change: FloatArray = field(default_factory=_empty)  # |Δ log10 BER|
    fl_train_ms: FloatArray = field(default_factory=_empty)
    fl_gen_gap: FloatArray = field(default_factory=_empty)
    fl_reuse: FloatArray = field(default_factory=_empty)
    fl_robust: FloatArray = field(default_factory=_empty)
    fl_ece: FloatArray = field(default_factory=_empty)
    fl_jain: FloatArray = field(default_factory=_empty)
    fl_update_error: FloatArray = field(default_factory=_empty)
    fl_redundancy: FloatArray = field(default_factory=_empty)
    fl_missing: FloatArray = field(default_factory=_empty)
    fl_label_noise: FloatArray = field(default_factory=_empty)
    fl_prep_ms: FloatArray = field(default_factory=_empty)
    fl_balance: FloatArray = field(default_factory=_empty)
    fl_drift: FloatArray = field(default_factory=_empty)
    seller_confidentiality: FloatArray = field(default_factory=_empty)
    seller_privacy: FloatArray = field(default_factory=_empty)
    seller_authenticity: FloatArray = field(default_factory=_empty)
    seller_traceability: FloatArray = field(default_factory=_empty)
    seller_automation: FloatArray = field(default_factory=_empty)
    # 1 − q_i − q_m/2 of the round's tasks (agents.handover); empty without a handover
    # model. Not one of Table 3's indicators: handover enters reliability and link delay.
    continuity: FloatArray = field(default_factory=_empty)


def _clip01(x: FloatArray) -> FloatArray:
    return np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def _opt(x: FloatArray, n: int) -> FloatArray:
    """An optional measure: NaN where absent (an unfilled field is all NaN)."""
    return x if x.size == n else np.full(n, np.nan)


def _clip_keep_nan(x: FloatArray) -> FloatArray:
    """Clip to [0, 1] keeping NaN (not applicable); +inf -> 1, -inf -> 0."""
    return np.where(np.isnan(x), np.nan, np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0))


def wilson_lower(p: FloatArray, n: FloatArray, z: float = 1.96) -> FloatArray:
    """Lower end of the Wilson score interval of a proportion p measured on n trials."""
    n = np.maximum(n, 1.0)
    centre = p + z * z / (2 * n)
    half = z * np.sqrt(np.maximum(p * (1 - p), 0.0) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n)


def indicator_scores(m: Measured) -> FloatArray:
    """(n, 29) indicator scores in [0, 1], columns in INDICATORS order; NaN = not applicable."""
    n = m.cls.size
    budget = m.latency_budget_ms
    o = {name: _opt(getattr(m, name), n) for name in (
        "accuracy_trials", "rate_change", "log_ber_change", "fl_train_ms", "fl_gen_gap",
        "fl_reuse", "fl_robust", "fl_ece", "fl_jain", "fl_update_error", "fl_redundancy",
        "fl_missing", "fl_label_noise", "fl_prep_ms", "fl_balance", "fl_drift",
        "seller_confidentiality", "seller_privacy", "seller_authenticity",
        "seller_traceability", "seller_automation")}
    fl = ~np.isnan(o["fl_train_ms"])
    nan = np.full(n, np.nan)
    ones = np.ones(n)
    c = _clip_keep_nan
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        trials = np.where(np.isnan(o["accuracy_trials"]), 1.0, o["accuracy_trials"])
        lower = wilson_lower(_clip01(m.accuracy), trials)
        need = m.data_mbit / np.maximum(m.stage_budget_s, 1e-9)
        sec = lambda a: np.where(np.isnan(a), 1.0, a)  # noqa: E731 -- no attribute: no discount
        hit = m.cache_hit_ratio
        cache_prep = hit + (1 - hit) * _clip01(1 - m.cache_miss_penalty_ms / budget)
        cols = [
            # performance
            _clip01(np.where(m.min_accuracy > 0, lower / m.min_accuracy, 1.0)),
            c(1 - o["fl_train_ms"] / budget),
            c(1 - np.clip(o["fl_gen_gap"], 0.0, None)),
            c(o["fl_reuse"]),
            np.where(fl, c(o["fl_robust"]), _clip01(1 - m.per)),
            nan,
            c(1 - o["fl_ece"]),
            c(o["fl_jain"]),
            # connection
            _clip01(np.where(need > 0, m.rate_mbps / need, 1.0)),
            c(1 - o["rate_change"]),
            _clip01(1 - m.link_delay_ms / budget),
            _clip01(1 - m.jitter_ms / (0.1 * budget)),
            _clip01(-np.log10(np.maximum(m.ber, 1e-12)) / 9.0),
            c(1 - o["log_ber_change"] / 3.0),
            _clip01(m.reliability),
            # data
            c(1 - o["fl_redundancy"]),
            _clip01((1 - m.residual_loss) * (1 - np.nan_to_num(o["fl_missing"], nan=0.0))),
            np.where(fl, c(1 - o["fl_label_noise"]), _clip01(1 - m.per)),
            np.where(fl, c(1 - o["fl_prep_ms"] / budget), cache_prep),
            c(o["fl_balance"]),
            c(1 - o["fl_drift"]),
            # computation
            c(1 / (1 + o["fl_update_error"])),
            _clip01(1 - m.compute_latency_ms / budget),
            _clip01(m.compute_efficiency),
            # security
            _clip01(sec(o["seller_confidentiality"]) * (1 - 0.5 * m.broker_share)),
            _clip01((m.provider_security + 1) / (m.privacy_level + 1)) * _clip01(sec(o["seller_privacy"])),
            _clip01(sec(o["seller_authenticity"]) * ones),
            _clip01(sec(o["seller_traceability"]) * ones),
            # orchestration
            _clip01(1 - np.maximum(0.0, m.autonomy_required / 2.0 - np.where(
                np.isnan(o["seller_automation"]), m.autonomy_delivered / 2.0, o["seller_automation"]))),
        ]
    return np.column_stack(cols) if n else np.zeros((0, len(INDICATORS)))


def dimension_scores(m: Measured, ind: FloatArray | None = None) -> FloatArray:
    """(n, 6) dimension scores in [0, 1], columns in DIMENSIONS order: the mean of the
    dimension's indicators that apply to the request (NaN ones are left out)."""
    ind = indicator_scores(m) if ind is None else ind
    dim_of = np.array([DIMENSIONS.index(i[0]) for i in INDICATORS])
    out = np.zeros((ind.shape[0], len(DIMENSIONS)))
    for j in range(len(DIMENSIONS)):
        block = ind[:, dim_of == j]
        ok = ~np.isnan(block)
        out[:, j] = np.where(ok.any(axis=1), np.where(ok, block, 0.0).sum(axis=1)
                             / np.maximum(ok.sum(axis=1), 1), 0.0)
    return out


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
