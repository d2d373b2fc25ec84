"""FedAvg, the softmax model, the Dirichlet split and client selection, each checked
against an independent reference (hand-written loops, finite differences, closed forms)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.fl import fedavg
from agents.fl.data import digits, dirichlet_shares, make_federation, split_by_shares
from agents.fl.selection import select


def _loss_scalar(w, x, y, l2):
    """Plain-loop mean cross-entropy of one client (the reference)."""
    total = 0.0
    for xi, yi in zip(x, y, strict=True):
        z = [sum(xi[j] * w[j, c] for j in range(len(xi))) for c in range(w.shape[1])]
        m = max(z)
        lse = m + np.log(sum(np.exp(v - m) for v in z))
        total += lse - z[yi]
    return total / len(y) + 0.5 * l2 * float((w * w).sum())


def test_digits_is_sklearn_load_digits():
    from sklearn.datasets import load_digits

    x, y = digits()
    d = load_digits()
    assert np.array_equal(x[:, :64] * 16, d.data) and np.array_equal(y, d.target)
    assert np.all(x[:, 64] == 1.0)


def test_softmax_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 5))
    y = rng.integers(0, 3, 7)
    w = rng.normal(size=(5, 3))
    loss, grad = fedavg.loss_and_grad(w, x, y, np.ones(7), l2=0.1)
    assert loss == pytest.approx(_loss_scalar(w, x, y, 0.1), rel=1e-12)
    eps = 1e-6
    num = np.zeros_like(w)
    for i in range(5):
        for c in range(3):
            d = np.zeros_like(w)
            d[i, c] = eps
            num[i, c] = (_loss_scalar(w + d, x, y, 0.1) - _loss_scalar(w - d, x, y, 0.1)) / (2 * eps)
    assert np.allclose(grad, num, atol=1e-7)


def test_masked_padding_rows_do_not_count():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, 6)
    w = rng.normal(size=(4, 3))
    pad_x = np.vstack([x, rng.normal(size=(3, 4))])
    pad_y = np.r_[y, [0, 1, 2]]
    a = fedavg.loss_and_grad(w, x, y, np.ones(6))
    b = fedavg.loss_and_grad(w, pad_x, pad_y, np.r_[np.ones(6), np.zeros(3)])
    assert np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])


def test_one_client_one_epoch_is_a_centralized_gradient_step():
    """FedAvg with a single client and one local epoch == one full-batch GD step on the
    pooled data, the gradient written out by hand: X^T (softmax(XW) - Y) / n."""
    x, y = digits()
    x, y = x[:200], y[:200]
    w0 = np.random.default_rng(2).normal(scale=0.01, size=(65, 10))
    local = fedavg.local_train(w0[None], x[None], y[None], np.ones((1, 200)), 1, lr=0.5)
    g = fedavg.aggregate(local[None], np.array([[200.0]]))[0]
    z = x @ w0
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(10)[y]
    expected = w0 - 0.5 * x.T @ (p - onehot) / 200
    assert np.allclose(g, expected, atol=1e-12)


def test_fedavg_weights_clients_by_samples():
    """Two clients, one epoch each: the average is (n1 W1 + n2 W2) / (n1 + n2) of the two
    separately trained models (each trained alone by the scalar loop's gradient)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 3))
    y = rng.integers(0, 2, (2, 5))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=float)
    w0 = rng.normal(size=(3, 2))
    local = fedavg.local_train(w0[None], x, y, mask, 1, lr=0.3)
    alone = [fedavg.local_train(w0, x[k][mask[k] > 0], y[k][mask[k] > 0], np.ones(int(mask[k].sum())), 1, lr=0.3)
             for k in range(2)]
    g = fedavg.aggregate(local, mask.sum(axis=1))
    assert np.allclose(g, (5 * alone[0] + 2 * alone[1]) / 7)


def test_dirichlet_shares_have_dirichlet_moments():
    """Mean 1/K and variance (1/K)(1-1/K)/(K alpha + 1) per share (Dirichlet closed form)."""
    rng = np.random.default_rng(4)
    k, alpha = 5, 0.5
    s = np.concatenate([dirichlet_shares(k, alpha, rng) for _ in range(3000)])
    assert np.allclose(s.sum(axis=1), 1.0)
    assert np.allclose(s.mean(axis=0), 1 / k, atol=0.01)
    var = (1 / k) * (1 - 1 / k) / (k * alpha + 1)
    assert np.allclose(s.var(axis=0), var, rtol=0.08)


def test_split_is_a_partition_in_the_drawn_proportions():
    _x, y = digits()
    rng = np.random.default_rng(5)
    shares = dirichlet_shares(4, 0.3, rng)
    parts = split_by_shares(y, shares, rng)
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(y.size))
    for c in range(10):
        got = np.array([(y[p] == c).sum() for p in parts]) / (y == c).sum()
        assert np.allclose(got, shares[c], atol=1.5 / (y == c).sum())


def test_small_alpha_is_less_balanced_than_large_alpha():
    def entropy(fed):
        h = np.stack([np.bincount(fed.y[k][fed.mask[k] > 0], minlength=10) for k in range(fed.k)])
        p = h / h.sum(axis=1, keepdims=True)
        return float(-(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=1).mean())

    assert entropy(make_federation(10, 0.1, 0)) < entropy(make_federation(10, 100.0, 0)) - 0.5


def test_federation_reproducible_by_seed():
    a, b, c = (make_federation(6, 0.5, s, missing_max=0.2, label_noise_max=0.2, speed_sigma=0.5)
               for s in (7, 7, 8))
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(a.speed, b.speed)
    assert not np.array_equal(a.n, c.n)


def test_label_noise_flips_to_wrong_classes():
    fed = make_federation(5, 1.0, 0, label_noise_max=0.4)
    m = fed.mask > 0
    flipped = (fed.y != fed.y_true) & m
    realized = flipped.sum(axis=1) / m.sum(axis=1)
    assert np.allclose(realized, fed.label_noise)
    assert realized.max() > 0.05


def test_selection_strategies():
    rng = np.random.default_rng(6)
    n = np.array([10.0, 20, 30, 40, 50])
    t = np.array([5.0, 1, 4, 2, 3])
    loss = np.ones((2, 5))
    p = np.array([2, 3])
    fast = select("fastest", p, n, loss, t, rng)
    assert fast[0].tolist() == [False, True, False, True, False]
    assert fast[1].sum() == 3 and fast[1, 4]
    for s in ("random", "importance"):
        m = select(s, p, n, loss, t, rng)
        assert m.sum(axis=1).tolist() == [2, 3]
    with pytest.raises(ValueError, match="unknown client selection"):
        select("best", p, n, loss, t, rng)


def test_importance_sampling_inclusion_follows_its_weights():
    """With p = 1, the Gumbel-max draw picks k with probability w_k / sum w (w = n L / t):
    compare the empirical frequencies with that closed form."""
    rng = np.random.default_rng(7)
    n = np.array([10.0, 20, 30, 40])
    loss = np.array([[1.0, 2, 1, 0.5]])
    t = np.array([1.0, 2, 3, 1])
    w = n * loss[0] / t
    draws = np.stack([select("importance", np.array([1]), n, loss, t, rng)[0] for _ in range(6000)])
    assert np.allclose(draws.mean(axis=0), w / w.sum(), atol=0.02)


def test_jain_index_closed_form():
    assert fedavg.jain(np.array([1.0, 1, 1, 1])) == pytest.approx(1.0)
    assert fedavg.jain(np.array([1.0, 0, 0, 0])) == pytest.approx(0.25)
    assert fedavg.jain(np.array([1.0, 2.0])) == pytest.approx(9 / 10)


def test_ece_of_a_hand_built_case():
    """Two samples with confidences 0.9 (right) and 0.6 (wrong): ECE = (0.1 + 0.6) / 2."""
    w = np.eye(2)
    x = np.array([[np.log(9.0), 0.0], [np.log(1.5), 0.0]])
    y = np.array([0, 1])
    assert fedavg.expected_calibration_error(w, x, y) == pytest.approx(0.35)
