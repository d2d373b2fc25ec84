"""The fast FedAvg path gives the plain numpy formulas' numbers bit for bit.

Every env reset trains the seed's FL table (agents.fl.table), so its training was made
cheaper: row reductions on whole columns, data prepared once, float64 copies of the
float32 data cast once. None of that may change a single bit of what a seed produces
(an episode must stay the same episode), so each piece is checked against the plain
formula -- numpy's own reductions, and a FedAvg trajectory trained with the textbook
expressions written out below -- by bytes, not by tolerance.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from agents.fl import fedavg
from agents.fl.data import N_CLASSES, make_federation
from agents.fl.selection import select
from agents.fl.trajectory import compute_units, train


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [3, 8, 9, 10, 16, 17, 31, 100, 128, 129, 300])
def test_row_reductions_equal_numpy_bit_for_bit(dtype, c):
    rng = np.random.default_rng(c)
    # Magnitudes over 12 decades: any change in the order of the additions shows.
    e = (rng.random((3, 7, c)) * 10.0 ** rng.uniform(-6, 6, (3, 7, c))).astype(dtype)
    e[0, 0, c // 2] = -e[0, 0, c // 2]
    assert _same(fedavg.row_sum(e), e.sum(axis=-1))
    assert _same(fedavg.row_max(e), e.max(axis=-1))
    strided = e[:, ::2]  # not C-contiguous: numpy's own sum
    assert _same(fedavg.row_sum(strided), strided.sum(axis=-1))


def test_row_max_keeps_nan():
    z = np.array([[1.0, np.nan, 3.0] * 4, [1.0, 2.0, 3.0] * 4])
    assert _same(fedavg.row_max(z), z.max(axis=-1))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_is_the_plain_formula():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        z = (rng.normal(size=(4, 10, 57, 10)) * 30).astype(dtype)
        assert _same(fedavg.softmax(z), _softmax(z))


# --- the reference: FedAvg training with the plain expressions -----------------------------

def _loss_and_grad(w, x, y, mask):
    c = w.shape[-1]
    p = _softmax(x @ w)
    n = np.maximum(mask.sum(axis=-1), 1.0)
    yh = (y[..., None] == np.arange(c)).astype(w.dtype.type)
    logp = np.log(np.clip(np.take_along_axis(p, y[..., None], axis=-1)[..., 0], 1e-300, None))
    loss = -(logp * mask).sum(axis=-1) / n + 0.5 * 0.0 * (w * w).sum(axis=(-2, -1))
    return loss, np.swapaxes(x, -1, -2) @ ((p - yh) * mask[..., None]) / n[..., None, None]


def _local_train(w0, x, y, mask, epochs, lr, l2):
    w = np.array(np.broadcast_to(w0, np.broadcast_shapes(w0.shape, (*x.shape[:-2], *w0.shape[-2:]))))
    c = w.shape[-1]
    n = np.maximum(mask.sum(axis=-1), 1.0)
    yh = (y[..., None] == np.arange(c)).astype(w.dtype.type)
    for step in range(epochs):
        p = _softmax(x @ w)
        g = np.swapaxes(x, -1, -2) @ ((p - yh) * mask[..., None]) / n[..., None, None] + l2 * w
        w -= lr * np.asarray(step < epochs).astype(w.dtype)[..., None, None] * g
    return w


def _accuracy(w, x, y, mask=None):
    hit = (np.argmax(x @ w, axis=-1) == y).astype(np.float64)
    if mask is None:
        return hit.mean(axis=-1)
    return (hit * mask).sum(axis=-1) / np.maximum(mask.sum(axis=-1), 1.0)


def _ece(w, x, y, bins=10):
    p = _softmax(x @ w)
    conf = p.max(axis=-1)
    hit = (p.argmax(axis=-1) == y).astype(np.float64)
    b = np.minimum((conf * bins).astype(np.int64), bins - 1)
    onehot = (b[..., None] == np.arange(bins)).astype(np.float64)
    return np.abs(np.einsum("...nb,...n->...b", onehot, hit - conf)).sum(axis=-1) / conf.shape[-1]


def _reference_train(fed, epochs, participants, strategy, rounds, seed, lr, l2, beta, input_noise):
    rng = np.random.default_rng(seed)
    f, k, d = epochs.size, fed.k, fed.x.shape[-1]
    t_exp = compute_units(fed, epochs) + (1.0 / fed.link)[None, :]
    noise_x = fed.x_test.copy()
    noise_x[:, :-1] += input_noise * rng.standard_normal((noise_x.shape[0], d - 1))
    x, y, mask = fed.x[None].astype(np.float32), fed.y[None], fed.mask[None].astype(np.float32)
    g = np.zeros((f, d, N_CLASSES)).astype(np.float32)
    loss_k, _ = _loss_and_grad(g[:, None], x, y, mask)
    out: dict[str, list] = {n: [] for n in ("selected", "test_acc", "train_acc", "train_loss",
                                            "client_acc", "noisy_acc", "ece", "update_error")}
    for _ in range(rounds):
        sel = select(strategy, participants, fed.n, loss_k, t_exp, rng, beta)
        local = np.concatenate([_local_train(g[i][None, None], x, y, mask, int(epochs[i]),
                                             np.float32(lr), l2) for i in range(f)])
        w_sel = sel * fed.n[None, :]
        g_new = fedavg.aggregate(local, w_sel)
        g_all = fedavg.aggregate(local, np.broadcast_to(fed.n, (f, k)))
        step = np.linalg.norm((g_all - g).reshape(f, -1), axis=1)
        err = np.linalg.norm((g_new - g_all).reshape(f, -1), axis=1)
        g = g_new
        loss_k, _ = _loss_and_grad(g[:, None], x, y, mask)
        wn = np.maximum(w_sel.sum(axis=1), 1e-300)
        out["selected"].append(sel)
        out["test_acc"].append(_accuracy(g, fed.x_test[None], fed.y_test[None]))
        out["train_acc"].append((w_sel * _accuracy(g[:, None], x, y, mask)).sum(axis=1) / wn)
        out["train_loss"].append((w_sel * loss_k).sum(axis=1) / wn)
        out["client_acc"].append(_accuracy(g[:, None], fed.x_test_local[None],
                                           fed.y_test_local[None], fed.mask_test_local[None]))
        out["noisy_acc"].append(_accuracy(g, noise_x[None], fed.y_test[None]))
        out["ece"].append(_ece(g, fed.x_test[None], fed.y_test[None]))
        out["update_error"].append(np.where(step > 0, err / np.maximum(step, 1e-300), 0.0))
    return {n: np.stack(v, axis=1) for n, v in out.items()}


@pytest.mark.parametrize("seed", [0, 41])
def test_trajectory_equals_the_plain_formulas_bit_for_bit(seed):
    """The scenario default's federation (10 clients, 4 levels, importance selection),
    6 rounds: every recorded figure is the reference's, byte for byte."""
    fed = make_federation(10, 0.5, seed, missing_max=0.15, label_noise_max=0.15,
                          speed_sigma=0.6, link_sigma=0.4)
    epochs, parts = np.array([1, 2, 3, 4]), np.array([2, 3, 4, 5])
    args = ("importance", 6, seed + 1)
    kw = {"lr": 1.0, "l2": 1e-4, "beta": 1.0, "input_noise": 0.3}
    fast = train(fed, epochs, parts, *args, **kw)
    ref = _reference_train(fed, epochs, parts, *args, **kw)
    for name, want in ref.items():
        assert _same(getattr(fast, name), want), name
    # The run is long enough for FedAvg to move (and for float64 weights to take over).
    assert fast.test_acc[:, -1].min() > fast.test_acc[:, 0].min()


@pytest.mark.parametrize("epochs", [[1, 2, 3, 4], [0, 2, 2, 3], [3, 1, 2]])
def test_configs_descend_together_as_each_alone(epochs):
    """All configs' local training in one call == each config's plain local training."""
    fed = make_federation(6, 0.5, 3)
    x, y, mask = fed.x[None].astype(np.float32), fed.y[None], fed.mask[None].astype(np.float32)
    g = np.random.default_rng(4).normal(scale=0.1, size=(len(epochs), x.shape[-1], N_CLASSES))
    data = fedavg.ClientData.of(x, y, mask, N_CLASSES, np.float32)
    got = fedavg.descend_configs(g, data, np.array(epochs), np.float32(0.7), 1e-3)
    for i, e in enumerate(epochs):
        assert _same(got[i], _local_train(g[i][None, None], x, y, mask, e, np.float32(0.7), 1e-3)[0])


# --- the compiled row loops (agents.fl.fedavg_kernels) against the numpy expressions -------

@pytest.mark.parametrize("kernels", [True, False])
def test_softmax_kernel_and_numpy_paths_equal_the_plain_formula(monkeypatch, kernels):
    import market.matching

    monkeypatch.setattr(market.matching, "KERNELS", kernels)
    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        for c in (3, 8, 10, 17, 128, 129):
            z = (rng.normal(size=(3, 11, c)) * 10.0 ** rng.uniform(-3, 3, (3, 11, c))).astype(dtype)
            z[0, 0, 1] = np.nan  # a NaN row stays NaN
            z[0, 1] = z[0, 1, 0]  # a constant row: max ties
            assert _same(fedavg.softmax(z), _softmax(z)), (dtype, c)
            t = np.swapaxes(z, 0, 1)  # not C-contiguous
            assert _same(fedavg.softmax(t), _softmax(t)), (dtype, c)


def test_residual_is_the_plain_expression():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 10, (1, 7, 13))
    for pt, dt in ((np.float32, np.float32), (np.float64, np.float32), (np.float64, np.float64)):
        p = rng.random((4, 7, 13, 10)).astype(pt)
        onehot = fedavg.one_hot(y, 10, dt)
        mask = (rng.random((1, 7, 13)) < 0.7).astype(dt)
        assert _same(fedavg.residual(p, onehot, mask), (p - onehot) * mask[..., None])
        # shapes the loop does not take (onehot with a real leading extent) go to numpy
        oh2 = np.broadcast_to(onehot, (4, *onehot.shape[1:]))
        m2 = np.broadcast_to(mask, (4, *mask.shape[1:]))
        assert _same(fedavg.residual(p, oh2, m2), (p - oh2) * m2[..., None])


def test_row_argmax_is_numpy_argmax():
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        z = rng.integers(0, 4, (50, 10)).astype(dtype)  # many ties
        z[3, 5] = np.nan
        z[4, [2, 7]] = np.nan
        z[5] = np.nan
        z[6, 0] = np.nan
        z[7] = -np.inf
        z[8, 4] = np.inf
        z[9, :3] = -0.0
        assert _same(fedavg.row_argmax(z), z.argmax(axis=-1))
        z3 = z.reshape(5, 10, 10).transpose(1, 0, 2)
        assert _same(fedavg.row_argmax(z3), z3.argmax(axis=-1))


# --- the table's redundancy of many client sets at once -------------------------------------

def _redundancy_each(x, mask, sets):
    from agents.fl.table import redundancy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the empty set's std
        return np.array([redundancy(x[s][mask[s] > 0]) for s in sets])


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_redundancy_of_sets_is_redundancy_of_each_pooled_set(seed, monkeypatch):
    from agents.fl import table

    fed = make_federation(10, 0.5, seed, missing_max=0.15, label_noise_max=0.15)
    rng = np.random.default_rng(seed)
    sets = rng.random((60, 10)) < rng.uniform(0.05, 0.9, (60, 1))
    sets[0], sets[1], sets[2] = False, True, np.arange(10) == 4  # none, all, one client
    want = _redundancy_each(fed.x, fed.mask, sets)
    assert _same(table.redundancy_of_sets(fed.x, fed.mask, sets), want)
    # The market's kernels off: np.corrcoef for every set.
    import market.matching

    monkeypatch.setattr(market.matching, "KERNELS", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _same(table.redundancy_of_sets(fed.x, fed.mask, sets), want)
    monkeypatch.setattr(market.matching, "KERNELS", True)
    # Every set near the threshold: all handed to np.corrcoef, the same numbers.
    monkeypatch.setattr(table, "_MARGIN", 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _same(table.redundancy_of_sets(fed.x, fed.mask, sets), want)
    # Data off the 1/16 grid: np.corrcoef for every set.
    monkeypatch.setattr(table, "_MARGIN", 1e-9)
    x = fed.x + 1e-3 * rng.random(fed.x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = table.redundancy_of_sets(x, fed.mask, sets)
    assert _same(got, _redundancy_each(x, fed.mask, sets))


def test_redundancy_of_sets_counts_constant_and_duplicate_pixels():
    from agents.fl import table

    rng = np.random.default_rng(2)
    x = np.zeros((2, 30, 65))
    x[..., :64] = rng.integers(0, 17, (2, 30, 64)) / 16.0
    x[:, :, 5] = 0.25  # constant
    x[:, :, 9] = x[:, :, 3]  # duplicate of an earlier pixel
    x[:, :, 10] = 1.0 - x[:, :, 2]  # |r| = 1
    mask = np.ones((2, 30))
    mask[1, 20:] = 0.0
    x[1, 20:] = 0.0
    sets = np.array([[True, False], [True, True], [False, True]])
    got = table.redundancy_of_sets(x, mask, sets)
    assert _same(got, _redundancy_each(x, mask, sets))
    assert np.all(got >= 3 / 64)


# --- a learning request's measures: its (level, round) cell's, computed once ----------------

def _outcome_reference(t, rho, job_round, comp_s, tx_s):
    """agents.fl.table.outcome as it was: every formula redone on each request's rows."""
    from agents.fl.table import level_of

    tr = t.traj
    f = level_of(rho, t.cfg.levels)
    r = np.asarray(job_round, dtype=np.int64) % tr.rounds
    sel = tr.selected[f, r]
    with np.errstate(invalid="ignore", over="ignore"):
        per_client = (comp_s[:, None] * tr.compute_units[f] / t.cfg.max_epochs
                      + tx_s[:, None] * tr.comm_units[None, :])
    train_s = t.cfg.rounds_per_step * np.where(sel, per_client, 0.0).max(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        prep_s = comp_s * t.prep_units[f, r]
    acc = tr.test_acc[f, r]
    client = tr.client_acc[f, r]
    return {
        "fl_accuracy": acc,
        "fl_train_ms": np.nan_to_num(1000 * np.minimum(train_s, 1e12), nan=np.inf),
        "fl_gen_gap": tr.train_acc[f, r] - acc,
        "fl_reuse": client.mean(axis=1),
        "fl_robust": np.where(acc > 0, tr.noisy_acc[f, r] / np.maximum(acc, 1e-12), 0.0),
        "fl_ece": tr.ece[f, r],
        "fl_jain": (client.sum(axis=1) ** 2) / (client.shape[1] * np.maximum((client ** 2).sum(axis=1), 1e-300)),
        "fl_update_error": tr.update_error[f, r],
        "fl_redundancy": t.redundancy[f, r],
        "fl_missing": t.missing[f, r],
        "fl_label_noise": t.label_noise[f, r],
        "fl_prep_ms": np.nan_to_num(1000 * np.minimum(prep_s, 1e12), nan=np.inf),
        "fl_balance": t.balance[f, r],
        "fl_drift": t.drift[f, r],
    }


@pytest.mark.parametrize("seed", [0, 7])
def test_outcome_is_each_requests_own_formulas(seed):
    from agents.fl.config import FLConfig
    from agents.fl.table import _build, outcome

    t = _build(FLConfig(levels=3, job_rounds=5, rounds_per_step=2), seed)
    rng = np.random.default_rng(seed)
    n = 500
    rho = rng.uniform(-0.2, 1.3, n)
    job_round = rng.integers(0, 12, n)
    comp_s = rng.exponential(1.0, n)
    comp_s[:5] = np.inf
    tx_s = rng.exponential(0.1, n)
    tx_s[5:9] = np.inf
    for _ in range(2):  # the cells computed, then read back
        got = outcome(t, rho, job_round, comp_s, tx_s)
        want = _outcome_reference(t, rho, job_round, comp_s, tx_s)
        assert list(got) == list(want)
        for name in want:
            assert _same(got[name], want[name]), name
    empty = outcome(t, rho[:0], job_round[:0], comp_s[:0], tx_s[:0])
    assert all(v.shape == (0,) for v in empty.values())
