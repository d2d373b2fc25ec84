"""Softmax regression trained with FedAvg, vectorized across federations and clients.

Shapes: a model is W (..., d, C) (the bias is the last row, as data carry a column of ones);
a client's data X (..., n, d) with labels y (..., n) and a mask (..., n) marking real rows
(clients are padded to the largest). Leading axes broadcast, so one call trains every
client of every federation at once: W (F, K, d, C) against X (1, K, n, d).

Local training is full-batch gradient descent: one local epoch = one pass over the client's
data = one gradient step on its mean cross-entropy (+ L2). FedAvg (McMahan et al.) then
averages the participants' local models weighted by their sample counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

#: float32 (training) or float64 (tests, metrics) arrays.
FloatArray = NDArray[np.floating[Any]]
IntArray = NDArray[np.int64]


def softmax(z: FloatArray) -> FloatArray:
    """Row softmax over the last axis (shifted by the max: no overflow)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def one_hot(y: IntArray, c: int, dtype: type = np.float64) -> FloatArray:
    return (y[..., None] == np.arange(c)).astype(dtype)


def loss_and_grad(w: FloatArray, x: FloatArray, y: IntArray, mask: FloatArray,
                  l2: float = 0.0) -> tuple[FloatArray, FloatArray]:
    """Mean masked cross-entropy (+ l2/2 ||W||^2) and its gradient w.r.t. W.

    loss (...,), grad (..., d, C). An empty client (mask all 0) has loss 0 and gradient l2 W.
    """
    c = w.shape[-1]
    p = softmax(x @ w)
    n = np.maximum(mask.sum(axis=-1), 1.0)
    yh = one_hot(y, c, w.dtype.type)
    logp = np.log(np.clip(np.take_along_axis(p, y[..., None], axis=-1)[..., 0], 1e-300, None))
    loss = -(logp * mask).sum(axis=-1) / n + 0.5 * l2 * (w * w).sum(axis=(-2, -1))
    grad = np.swapaxes(x, -1, -2) @ ((p - yh) * mask[..., None]) / n[..., None, None] + l2 * w
    return loss, grad


def local_train(w0: FloatArray, x: FloatArray, y: IntArray, mask: FloatArray,
                epochs: IntArray | int, lr: float | np.floating[Any], l2: float = 0.0) -> FloatArray:
    """Each client's model after ``epochs`` full-batch GD steps from ``w0`` (broadcast).

    ``epochs`` may differ per client (shape of the leading axes); a client stops updating
    once its own epochs are done.
    """
    e = np.asarray(epochs)
    w = np.array(np.broadcast_to(w0, np.broadcast_shapes(w0.shape, (*x.shape[:-2], *w0.shape[-2:]))))
    for step in range(int(e.max(initial=0))):
        _, g = loss_and_grad(w, x, y, mask, l2)
        active = (step < e).astype(w.dtype)
        w -= lr * active[..., None, None] * g
    return w


def aggregate(local: FloatArray, weight: FloatArray) -> FloatArray:
    """FedAvg: sum_k weight_k W_k / sum_k weight_k over the client axis (-3).

    local (..., K, d, C), weight (..., K) (0 for non-participants).
    """
    tot = np.maximum(weight.sum(axis=-1), 1e-300)
    return np.einsum("...k,...kdc->...dc", weight, local) / tot[..., None, None]


def predict(w: FloatArray, x: FloatArray) -> IntArray:
    return np.argmax(x @ w, axis=-1)


def accuracy(w: FloatArray, x: FloatArray, y: IntArray, mask: FloatArray | None = None) -> FloatArray:
    """Share of (masked) rows predicted right; (...,)."""
    hit = (predict(w, x) == y).astype(np.float64)
    if mask is None:
        return hit.mean(axis=-1)
    return (hit * mask).sum(axis=-1) / np.maximum(mask.sum(axis=-1), 1.0)


def expected_calibration_error(w: FloatArray, x: FloatArray, y: IntArray, bins: int = 10) -> FloatArray:
    """ECE: sum over confidence bins of |accuracy - mean confidence| x bin share; (...,)."""
    p = softmax(x @ w)
    conf = p.max(axis=-1)
    hit = (p.argmax(axis=-1) == y).astype(np.float64)
    b = np.minimum((conf * bins).astype(np.int64), bins - 1)
    onehot = (b[..., None] == np.arange(bins)).astype(np.float64)  # (..., n, bins)
    n = conf.shape[-1]
    gap = np.einsum("...nb,...n->...b", onehot, hit - conf)
    return np.abs(gap).sum(axis=-1) / n


def jain(values: FloatArray) -> FloatArray:
    """Jain's fairness index (sum x)^2 / (n sum x^2) over the last axis; 1 = all equal."""
    s2 = (values * values).sum(axis=-1)
    return np.where(s2 > 0, values.sum(axis=-1) ** 2 / (values.shape[-1] * np.maximum(s2, 1e-300)), 1.0)
