"""What a learning request's training produced: trajectories cached per (fl config, seed).

Training every learning request of every round from scratch would dominate a run, so the
training that *can* be shared is done once per (scenario ``fl`` block, seed) and cached:
the learning units a request gets (ratio rho = LU bought / LU needed) are rounded up to one
of ``levels`` configs, level l = 1..L giving ceil(l/L x max_epochs) local epochs and
ceil(l/L x participants) participants per round, and each config's FedAvg job
(``job_rounds`` rounds on the same clients, with the scenario's client selection) is trained
once, really, by :func:`agents.fl.trajectory.train`. A device's job advances
``rounds_per_step`` FedAvg rounds each market round it gets learning units; its model is the
one its current config reached after that many rounds (devices start their jobs staggered;
after ``job_rounds`` a new job starts from scratch). What the market bought for the request
itself (compute, bandwidth) sets the time each participant needs this round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from agents.fl.config import FLConfig
from agents.fl.data import N_CLASSES, Federation, make_federation
from agents.fl.trajectory import Trajectory, train

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Pixels of the 8x8 digits (the bias column is not a feature).
N_FEATURES = 64


def level_configs(cfg: FLConfig) -> tuple[IntArray, IntArray]:
    """(epochs, participants) of each level, both (L,)."""
    frac = np.arange(1, cfg.levels + 1) / cfg.levels
    return (np.maximum(1, np.ceil(frac * cfg.max_epochs - 1e-9)).astype(np.int64),
            np.maximum(1, np.ceil(frac * cfg.participants - 1e-9)).astype(np.int64))


def level_of(rho: FloatArray, levels: int) -> IntArray:
    """Level index 0..L-1 for LU ratios ``rho`` (rounded up; rho <= 0 -> level 0)."""
    return np.clip(np.ceil(np.asarray(rho) * levels - 1e-9).astype(np.int64) - 1, 0, levels - 1)


def redundancy(x: FloatArray) -> float:
    """Share of the pixel features that add nothing: constant in ``x`` or correlated
    |r| > 0.95 with an earlier pixel."""
    px = x[:, :N_FEATURES]
    sd = px.std(axis=0)
    live = np.flatnonzero(sd > 1e-12)
    dup = 0
    if live.size > 1:
        r = np.abs(np.corrcoef(px[:, live], rowvar=False))
        dup = int((np.tril(r, -1) > 0.95).any(axis=1).sum())
    return (N_FEATURES - live.size + dup) / N_FEATURES


#: Pixels are whole 16ths (the digits' 0..16 grey levels over 16; a missing pixel is 0).
_LEVELS = 16.0
#: :func:`redundancy_of_sets` leaves a set to :func:`redundancy` when one of its
#: correlations lies this close to the 0.95 threshold (both are within ~1e-13 of the exact
#: correlation, so no pair this far from it can fall on different sides).
_MARGIN = 1e-9


def redundancy_of_sets(x: FloatArray, mask: FloatArray, sets: NDArray[np.bool_]) -> FloatArray:
    """:func:`redundancy` of the pooled data of each client set: ``sets`` (S, K) selects
    clients of ``x`` (K, n, d) / ``mask`` (K, n); returns (S,), the same numbers.

    The table needs one figure per (level, round), each an np.corrcoef of ~600 pooled rows
    (a sixth of a reset's FL work). Pixels here are whole 16ths, so in units of 1/16 the
    per-client column sums and Gram matrices are integers, and a set's are sums of its
    clients' -- exact in float64 in any order, as is n·G - s s^T, n times the covariance.
    A pixel is constant exactly when its variance is 0 (np.std of a non-constant column of
    16ths is >= 1/(16 n), far above redundancy's 1e-12), and a pair is duplicate when the
    correlation from these exact figures exceeds 0.95. A set with a correlation within
    ``_MARGIN`` of 0.95, or data not on the 1/16 grid, is computed by :func:`redundancy`,
    as is every set with the market's kernels off (``EDGEMARKET_KERNELS=0``).
    """
    from market.matching import use_kernels

    px = x[:, :, :N_FEATURES] * _LEVELS
    out = np.zeros(len(sets))
    if not use_kernels(None) or not np.array_equal(px, np.round(px)):
        for i, s in enumerate(sets):
            out[i] = redundancy(x[s][mask[s] > 0])
        return out
    from agents.fl.table_kernels import duplicate_pixels

    px = np.where((mask > 0)[..., None], px, 0.0)  # padding rows add nothing
    gram = np.swapaxes(px, 1, 2) @ px  # (K, 64, 64) integers: exact in any order
    live, dup, near = duplicate_pixels(np.ascontiguousarray(sets, dtype=np.bool_),
                                       (mask > 0).sum(axis=1).astype(np.float64),
                                       px.sum(axis=1), gram, 0.95, _MARGIN)
    out = (N_FEATURES - live + np.where(live > 1, dup, 0)) / N_FEATURES
    for j in np.flatnonzero(near):
        s = sets[j]
        out[j] = redundancy(x[s][mask[s] > 0])
    return out


@dataclass
class FLTable:
    """Per level f and job round r, everything the QoAIS indicators read."""

    cfg: FLConfig
    fed: Federation
    traj: Trajectory
    redundancy: FloatArray  # (F, R) participants' pooled data
    missing: FloatArray  # (F, R) participants' missing-pixel share (sample-weighted)
    label_noise: FloatArray  # (F, R) participants' flipped-label share
    prep_units: FloatArray  # (F, R) slowest participant's cleaning time, compute units
    balance: FloatArray  # (F, R) normalized entropy of the participants' label histogram
    drift: FloatArray  # (F, R) total variation to the previous round's histogram
    n_samples: FloatArray  # (F, R) participants' train samples
    #: :func:`cell_measures`, once computed.
    cells: dict[str, FloatArray] | None = field(default=None, repr=False, compare=False)


def _build(cfg: FLConfig, seed: int) -> FLTable:
    fed = make_federation(cfg.clients, cfg.alpha, seed, missing_max=cfg.missing_max,
                          label_noise_max=cfg.label_noise_max, speed_sigma=cfg.speed_sigma,
                          link_sigma=cfg.link_sigma)
    epochs, parts = level_configs(cfg)
    tr = train(fed, epochs, parts, cfg.selection, cfg.job_rounds, seed + 1, lr=cfg.lr,
               l2=cfg.l2, beta=cfg.beta, input_noise=cfg.input_noise)
    f, r = tr.test_acc.shape
    sel = tr.selected.astype(np.float64)  # (F, R, K)
    w = sel * fed.n
    nsum = np.maximum(w.sum(axis=2), 1e-300)
    red = redundancy_of_sets(fed.x, fed.mask, tr.selected.reshape(f * r, -1)).reshape(f, r)
    h = tr.label_hist
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(h > 0, h * np.log(h), 0.0).sum(axis=2) / np.log(N_CLASSES)
    whole = (fed.y[fed.mask > 0][:, None] == np.arange(N_CLASSES)).mean(axis=0)
    prev = np.concatenate([np.broadcast_to(whole, (f, 1, N_CLASSES)), h[:, :-1]], axis=1)
    prep = cfg.prep_epochs * fed.n / (fed.n.mean() * fed.speed * cfg.max_epochs)
    return FLTable(
        cfg=cfg, fed=fed, traj=tr, redundancy=red,
        missing=(w * fed.missing).sum(axis=2) / nsum,
        label_noise=(w * fed.label_noise).sum(axis=2) / nsum,
        prep_units=np.where(tr.selected, prep, 0.0).max(axis=2),
        balance=ent, drift=0.5 * np.abs(h - prev).sum(axis=2), n_samples=w.sum(axis=2))


@lru_cache(maxsize=8)
def fl_table(cfg: FLConfig, seed: int) -> FLTable:
    """The cached table of (scenario ``fl`` block, seed): trained on first use.

    Built with single-threaded BLAS: its matrices are small (<= 1,797 × 65 digits, 64 × 64
    correlations), so BLAS threads only add hand-offs, and on a busy machine a spinning
    thread waits for a core (one build of the small scenario's table, 2 shared cores:
    2.06 s with OpenBLAS's 2 threads, 0.68 s with one; np.corrcoef alone 1.47 s -> 0.03 s).
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _build(cfg, seed)


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    """The loaded thread pools, found once: ``threadpool_limits`` scans every loaded
    library anew on each call (~3 ms, at every env reset). The table's products are
    numpy's, whose BLAS is loaded with numpy (before this module)."""
    return ThreadpoolController()


def outcome(t: FLTable, rho: FloatArray, job_round: IntArray, comp_s: FloatArray,
            tx_s: FloatArray) -> dict[str, FloatArray]:
    """Per learning request (all (n,)): the raw FL measures of docs/qoais.md.

    rho: LU bought / needed; job_round: the FedAvg round its job reached (0-based, < R);
    comp_s: s one nominal client epoch takes on the compute bought; tx_s: s to upload the
    model on the bandwidth bought (inf when none was bought).

    The measures that depend on the (level, round) cell alone are read from
    :func:`cell_measures` (computed once per table); the times are computed per request.
    """
    tr = t.traj
    f = level_of(rho, t.cfg.levels)
    r = np.asarray(job_round, dtype=np.int64) % tr.rounds
    sel = tr.selected[f, r]  # (n, K)
    steps = t.cfg.rounds_per_step
    # A request's task is one FedAvg round: its work is the round's local training of a
    # nominal client (mean size, speed 1) at full level (max_epochs epochs), so one nominal
    # epoch takes comp_s / max_epochs; each participant scales that by E n_k / (mean n speed_k).
    with np.errstate(invalid="ignore", over="ignore"):
        per_client = (comp_s[:, None] * tr.compute_units[f] / t.cfg.max_epochs
                      + tx_s[:, None] * tr.comm_units[None, :])
    train_s = steps * np.where(sel, per_client, 0.0).max(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        prep_s = comp_s * t.prep_units[f, r]
    cells = cell_measures(t)
    cell = f * tr.rounds + r
    out = {name: col[cell] for name, col in cells.items()}
    out["fl_train_ms"] = np.nan_to_num(1000 * np.minimum(train_s, 1e12), nan=np.inf)
    out["fl_prep_ms"] = np.nan_to_num(1000 * np.minimum(prep_s, 1e12), nan=np.inf)
    return {name: out[name] for name in _MEASURES}


#: The measures :func:`outcome` returns, in order.
_MEASURES = ("fl_accuracy", "fl_train_ms", "fl_gen_gap", "fl_reuse", "fl_robust", "fl_ece",
             "fl_jain", "fl_update_error", "fl_redundancy", "fl_missing", "fl_label_noise",
             "fl_prep_ms", "fl_balance", "fl_drift")


def cell_measures(t: FLTable) -> dict[str, FloatArray]:
    """The measures of :func:`outcome` that depend on the (level, round) cell alone, for
    every cell (F·R,) (index level·R + round), computed once per table and kept on it.

    Each learning request of a round used to gather its cell's rows and redo these
    formulas (~800 requests a round in a 128-world env); the formulas are the same, row by
    row, so a request's figure is its cell's, bit for bit.
    """
    cached = t.cells
    if cached is not None:
        return cached
    tr = t.traj
    n_f, n_r = tr.test_acc.shape
    f, r = np.divmod(np.arange(n_f * n_r, dtype=np.int64), n_r)
    acc = tr.test_acc[f, r]
    client = tr.client_acc[f, r]  # (cells, K)
    t.cells = {
        "fl_accuracy": acc,
        "fl_gen_gap": tr.train_acc[f, r] - acc,
        "fl_reuse": client.mean(axis=1),
        "fl_robust": np.where(acc > 0, tr.noisy_acc[f, r] / np.maximum(acc, 1e-12), 0.0),
        "fl_ece": tr.ece[f, r],
        "fl_jain": (client.sum(axis=1) ** 2) / (client.shape[1] * np.maximum((client ** 2).sum(axis=1), 1e-300)),
        "fl_update_error": tr.update_error[f, r],
        "fl_redundancy": t.redundancy[f, r],
        "fl_missing": t.missing[f, r],
        "fl_label_noise": t.label_noise[f, r],
        "fl_balance": t.balance[f, r],
        "fl_drift": t.drift[f, r],
    }
    return t.cells
