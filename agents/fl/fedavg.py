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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: float32 (training) or float64 (tests, metrics) arrays.
FloatArray = NDArray[np.floating[Any]]
IntArray = NDArray[np.int64]


def _fast_rows(a: FloatArray) -> bool:
    """Whether the compiled row loops (agents.fl.fedavg_kernels) take ``a``: a non-empty
    float32/float64 array, with the market's kernels on (``EDGEMARKET_KERNELS``)."""
    from market.matching import use_kernels

    return a.size > 0 and a.ndim >= 1 and a.dtype in _KERNEL_DTYPES and use_kernels(None)


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _kernels() -> Any:
    """:mod:`agents.fl.fedavg_kernels`, imported on first use (numba costs ~0.3 s)."""
    from agents.fl import fedavg_kernels

    return fedavg_kernels


#: numpy's pairwise summation adds up to this many items with its 8-accumulator loop
#: (PW_BLOCKSIZE in numpy's loops_utils.h); :func:`row_sum` replays that loop.
_PW_BLOCK = 128


def row_max(z: FloatArray) -> FloatArray:
    """``z.max(axis=-1)``, as elementwise maxima of the columns.

    Bit for bit the same (a maximum does not depend on the order it is taken in), but numpy
    reduces a short last axis (the 10 classes) one row at a time: ~10x slower here.
    """
    c = z.shape[-1]
    if c == 0:
        return z.max(axis=-1)
    out = z[..., 0].copy()
    for i in range(1, c):
        np.maximum(out, z[..., i], out=out)
    return out


def row_argmax(z: FloatArray) -> IntArray:
    """``z.argmax(axis=-1)``: the first maximum of each row (its first NaN, if any).

    numpy reduces the 10 classes row by row; the compiled loop
    (agents.fl.fedavg_kernels.argmax_rows) gives the same indices in one pass.
    """
    c = z.shape[-1]
    if not _fast_rows(z) or c == 0:
        return z.argmax(axis=-1)
    out = np.empty(z.shape[:-1], np.int64)
    _kernels().argmax_rows(np.ascontiguousarray(z).reshape(-1, c), out.reshape(-1))
    return out


def row_sum(e: FloatArray) -> FloatArray:
    """``e.sum(axis=-1)`` for a C-contiguous ``e``, bit for bit, on whole columns.

    numpy sums a contiguous last axis of 8..128 items with 8 running accumulators
    (r_j += e[i + j] in steps of 8), adds them as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) and
    then the rest one by one; this replays that order on whole columns, which is ~5x faster
    for 10 classes than numpy's row-at-a-time reduction. Other lengths, or a
    non-contiguous ``e``, go to numpy itself. ``tests/agents/test_fl_exact.py`` checks the
    equality against ``np.sum``.
    """
    c = e.shape[-1]
    if not 8 <= c <= _PW_BLOCK or not e.flags.c_contiguous:
        return e.sum(axis=-1)
    r = [e[..., j] for j in range(8)]  # views: only the sums allocate
    i = 8
    while i < c - c % 8:
        r = [r[j] + e[..., i + j] for j in range(8)]
        i += 8
    out = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for j in range(i, c):
        out += e[..., j]
    return out


def softmax(z: FloatArray) -> FloatArray:
    """Row softmax over the last axis (shifted by the max: no overflow).

    The same numbers as ``e = exp(z - z.max(-1)); e / e.sum(-1)``: for 8..128 classes the
    shift and the normalization are compiled row loops around numpy's own exp
    (agents.fl.fedavg_kernels), else the two row reductions are :func:`row_max` and
    :func:`row_sum`.
    """
    c = z.shape[-1]
    if _fast_rows(z) and 8 <= c <= _PW_BLOCK:
        k = _kernels()
        out = np.empty(z.shape, z.dtype)
        flat = out.reshape(-1, c)
        k.shift_rows(np.ascontiguousarray(z).reshape(-1, c), flat)
        np.exp(out, out=out)
        k.normalize_rows(flat)
        return out
    e = np.exp(z - row_max(z)[..., None])
    return e / row_sum(e)[..., None]


def one_hot(y: IntArray, c: int, dtype: type = np.float64) -> FloatArray:
    return (y[..., None] == np.arange(c)).astype(dtype)


@dataclass(frozen=True)
class ClientData:
    """Padded client data and what every gradient step reads of it, computed once.

    x (..., n, d), y (..., n), mask (..., n); ``n`` is the clamped sample count, ``onehot``
    the labels one-hot in the training dtype. Training a federation takes hundreds of
    gradient steps on the same data, so none of these is rebuilt per step.
    """

    x: FloatArray
    y: IntArray
    mask: FloatArray
    n: FloatArray
    onehot: FloatArray
    _as: dict[Any, FloatArray] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, x: FloatArray, y: IntArray, mask: FloatArray, classes: int,
           dtype: type) -> ClientData:
        return cls(x=x, y=y, mask=mask, n=np.maximum(mask.sum(axis=-1), 1.0),
                   onehot=one_hot(y, classes, dtype))

    def x_for(self, w: FloatArray) -> FloatArray:
        """x in the dtype ``x @ w`` computes in, cast once and kept.

        A float32 x against float64 weights (FedAvg's average is float64) would otherwise
        be cast to a new float64 copy in every product; the cast is exact, so the products
        are the same numbers.
        """
        return self._cast(w, transpose=False)

    def xt_for(self, w: FloatArray) -> FloatArray:
        """x^T (last two axes swapped) for ``x^T @ r`` against a result of ``w``'s dtype.

        Same dtype: the transposed view. Otherwise the C-contiguous cast copy that numpy's
        matmul would make of the view each call (a differently laid out copy would change
        how BLAS sums, hence the last bits).
        """
        return self._cast(w, transpose=True)

    def _cast(self, w: FloatArray, transpose: bool) -> FloatArray:
        dt = np.result_type(self.x.dtype, w.dtype)
        if dt == self.x.dtype:
            return np.swapaxes(self.x, -1, -2) if transpose else self.x
        out = self._as.get((dt, transpose))
        if out is None:
            x = np.swapaxes(self.x, -1, -2) if transpose else self.x
            out = self._as[(dt, transpose)] = np.ascontiguousarray(x, dtype=dt)
        return out


def loss_of(p: FloatArray, w: FloatArray, data: ClientData, l2: float = 0.0) -> FloatArray:
    """Mean masked cross-entropy (+ l2/2 ||W||^2) from the probabilities ``p = softmax(XW)``."""
    logp = np.log(np.clip(np.take_along_axis(p, data.y[..., None], axis=-1)[..., 0], 1e-300,
                          None))
    return -(logp * data.mask).sum(axis=-1) / data.n + 0.5 * l2 * (w * w).sum(axis=(-2, -1))


def grad_of(p: FloatArray, w: FloatArray, data: ClientData, l2: float = 0.0) -> FloatArray:
    """Gradient of :func:`loss_of` w.r.t. W: X^T ((p - Y) mask) / n + l2 W."""
    r = residual(p, data.onehot, data.mask)
    return data.xt_for(r) @ r / data.n[..., None, None] + l2 * w


def residual(p: FloatArray, onehot: FloatArray, mask: FloatArray) -> FloatArray:
    """``(p - onehot) * mask[..., None]``: the gradient's per-row residual.

    One compiled pass (agents.fl.fedavg_kernels.residual, the same two operations per
    item) when p's last three axes are onehot's and onehot has no other extent (FedAvg's
    (F, K, n, C) against (1, K, n, C)); numpy itself otherwise.
    """
    lead = onehot.shape[:-3]
    if (_fast_rows(p) and onehot.ndim >= 3 and p.ndim >= 3
            and p.shape[-3:] == onehot.shape[-3:] and all(e == 1 for e in lead)
            and mask.shape == onehot.shape[:-1] and onehot.dtype.kind == "f"
            and mask.dtype.kind == "f"):
        rows, c = int(np.prod(onehot.shape[-3:-1])), onehot.shape[-1]
        out = np.empty(p.shape, np.result_type(p, onehot, mask))
        _kernels().residual(np.ascontiguousarray(p).reshape(-1, rows, c),
                            np.ascontiguousarray(onehot).reshape(rows, c),
                            np.ascontiguousarray(mask).reshape(rows), out.reshape(-1, rows, c))
        return out
    return (p - onehot) * mask[..., None]


def loss_and_grad(w: FloatArray, x: FloatArray, y: IntArray, mask: FloatArray,
                  l2: float = 0.0) -> tuple[FloatArray, FloatArray]:
    """Mean masked cross-entropy (+ l2/2 ||W||^2) and its gradient w.r.t. W.

    loss (...,), grad (..., d, C). An empty client (mask all 0) has loss 0 and gradient l2 W.
    """
    data = ClientData.of(x, y, mask, w.shape[-1], w.dtype.type)
    p = softmax(x @ w)
    return loss_of(p, w, data, l2), grad_of(p, w, data, l2)


def descend(w0: FloatArray, data: ClientData, epochs: IntArray | int,
            lr: float | np.floating[Any], l2: float = 0.0) -> FloatArray:
    """:func:`local_train` on prepared :class:`ClientData` (only the gradient is computed)."""
    e = np.asarray(epochs)
    x = data.x_for(w0)
    w = np.array(np.broadcast_to(w0, np.broadcast_shapes(w0.shape, (*x.shape[:-2], *w0.shape[-2:]))))
    for step in range(int(e.max(initial=0))):
        g = grad_of(softmax(x @ w), w, data, l2)
        active = (step < e).astype(w.dtype)
        w -= lr * active[..., None, None] * g
    return w


def descend_configs(g: FloatArray, data: ClientData, epochs: IntArray, lr: float | np.floating[Any],
                    l2: float = 0.0, p0: FloatArray | None = None) -> FloatArray:
    """Every client's local model under each of F configs: (F, K, d, C).

    Config f starts all clients from its own global model ``g[f]`` (d, C) and takes
    ``epochs[f]`` steps: the same numbers as F calls of :func:`descend`, in fewer, larger
    calls. With nondecreasing epochs (the levels' configs) the configs still training at a
    step are a tail ``g[first:]``, so nothing is masked: each product is the same per-client
    matrix product, each step the same arithmetic on the same numbers.

    ``p0``: ``softmax(x @ g[:, None])`` (F, K, n, C) when already computed (FedAvg computed
    it for the clients' losses under the new global models): the first step's
    probabilities, the same per-client products of the same matrices.
    """
    e = np.asarray(epochs, dtype=np.int64)
    if e.size == 0 or bool(np.any(np.diff(e) < 0)):
        return np.concatenate([descend(g[i][None, None], data, int(e[i]), lr, l2)
                               for i in range(e.size)])
    x = data.x_for(g)
    w = np.array(np.broadcast_to(g[:, None], (e.size, x.shape[-3], *g.shape[-2:])))
    # descend's step factor for a client still training: (step < epochs) as w's dtype, 1.
    active = np.asarray(True).astype(w.dtype)
    # The compiled update (agents.fl.fedavg_kernels.descend_step) takes the scalars in the
    # dtypes numpy computes ``l2 * w`` and ``lr * active`` in, and n as one row per client.
    n = data.n.reshape(-1)
    fused = (_fast_rows(w) and data.n.shape == (1, w.shape[1]) and n.dtype.kind == "f"
             and np.result_type(data.xt_for(w).dtype, data.onehot.dtype, data.mask.dtype) == w.dtype)
    l2_w = (l2 * np.ones((), w.dtype)).dtype.type(l2)
    step_w = (lr * active)[()]
    for step in range(int(e.max())):
        first = int(np.searchsorted(e, step, side="right"))  # configs with epochs > step
        sub = w[first:]
        p = p0[first:] if step == 0 and p0 is not None else softmax(x @ sub)
        if fused:
            # grad_of and the update in one pass over the (F, K, d, C) models.
            r = residual(p, data.onehot, data.mask)
            _kernels().descend_step(sub, data.xt_for(r) @ r, n, l2_w, step_w)
            continue
        grad = grad_of(p, sub, data, l2)
        sub -= lr * active[..., None, None] * grad
    return w


def local_train(w0: FloatArray, x: FloatArray, y: IntArray, mask: FloatArray,
                epochs: IntArray | int, lr: float | np.floating[Any], l2: float = 0.0) -> FloatArray:
    """Each client's model after ``epochs`` full-batch GD steps from ``w0`` (broadcast).

    ``epochs`` may differ per client (shape of the leading axes); a client stops updating
    once its own epochs are done.
    """
    # One-hot labels in W's dtype, as the gradient of loss_and_grad(W, ...) builds them.
    return descend(w0, ClientData.of(x, y, mask, w0.shape[-1], w0.dtype.type), epochs, lr, l2)


def aggregate(local: FloatArray, weight: FloatArray) -> FloatArray:
    """FedAvg: sum_k weight_k W_k / sum_k weight_k over the client axis (-3).

    local (..., K, d, C), weight (..., K) (0 for non-participants).
    """
    tot = np.maximum(weight.sum(axis=-1), 1e-300)
    return np.einsum("...k,...kdc->...dc", weight, local) / tot[..., None, None]


def predict(w: FloatArray, x: FloatArray) -> IntArray:
    return np.argmax(x @ w, axis=-1)


def accuracy_of(z: FloatArray, y: IntArray, mask: FloatArray | None = None) -> FloatArray:
    """:func:`accuracy` from the logits ``z = XW`` (when they are at hand already)."""
    hit = (row_argmax(z) == y).astype(np.float64)
    if mask is None:
        return hit.mean(axis=-1)
    return (hit * mask).sum(axis=-1) / np.maximum(mask.sum(axis=-1), 1.0)


def accuracy(w: FloatArray, x: FloatArray, y: IntArray, mask: FloatArray | None = None) -> FloatArray:
    """Share of (masked) rows predicted right; (...,)."""
    return accuracy_of(x @ w, y, mask)


def expected_calibration_error(w: FloatArray, x: FloatArray, y: IntArray, bins: int = 10) -> FloatArray:
    """ECE: sum over confidence bins of |accuracy - mean confidence| x bin share; (...,)."""
    return calibration_error_of(softmax(x @ w), y, bins)


def calibration_error_of(p: FloatArray, y: IntArray, bins: int = 10) -> FloatArray:
    """:func:`expected_calibration_error` from the probabilities ``p = softmax(XW)``."""
    conf = row_max(p)
    hit = (row_argmax(p) == y).astype(np.float64)
    b = np.minimum((conf * bins).astype(np.int64), bins - 1)
    onehot = (b[..., None] == np.arange(bins)).astype(np.float64)  # (..., n, bins)
    n = conf.shape[-1]
    gap = np.einsum("...nb,...n->...b", onehot, hit - conf)
    return np.abs(gap).sum(axis=-1) / n


def jain(values: FloatArray) -> FloatArray:
    """Jain's fairness index (sum x)^2 / (n sum x^2) over the last axis; 1 = all equal."""
    s2 = (values * values).sum(axis=-1)
    return np.where(s2 > 0, values.sum(axis=-1) ** 2 / (values.shape[-1] * np.maximum(s2, 1e-300)), 1.0)
