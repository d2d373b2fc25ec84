"""Compiled (numba) row loops of the FedAvg training (agents.fl.fedavg), bit for bit numpy's.

Every env reset trains the seed's FL table; its time went to elementwise work on arrays
whose last axis is the 10 classes (softmax, the gradient's residual, argmax), which numpy
does row by row or through stride-0 broadcasts, several times slower than the matrix
products themselves. Each loop here performs the IEEE operations of the numpy expression
it replaces, in the same order, one row at a time:

- :func:`shift_rows`: ``z - z.max(-1)`` with np.maximum's NaN rule;
- :func:`normalize_rows`: ``e / e.sum(-1)`` with numpy's summation order for a contiguous
  row of 8..128 items (:func:`agents.fl.fedavg.row_sum`);
- :func:`residual`: ``(p - onehot) * mask[..., None]``;
- :func:`argmax_rows`: ``z.argmax(-1)`` (the first maximum; the first NaN if any).

The exponential stays numpy's (``np.exp`` in place between the first two): numba's exp is
the C library's, which need not give numpy's SIMD exp bits. ``tests/agents/test_fl_exact.py``
checks every kernel against the numpy expression by bytes. Imported lazily; switched off
with the market's kernels (``EDGEMARKET_KERNELS=0``).
"""

from __future__ import annotations

from typing import Any

from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(cache=True, nogil=True, error_model="numpy")
def shift_rows(z: Array, out: Array) -> None:
    """out[i] = z[i] - max(z[i]) for (rows, c) arrays (c >= 1); NaN rows stay NaN."""
    rows, c = z.shape
    for i in range(rows):
        m = z[i, 0]
        for j in range(1, c):
            v = z[i, j]
            # np.maximum(m, v): m unless v is larger or NaN (a NaN m is kept).
            if not (m >= v or m != m):
                m = v
        for j in range(c):
            out[i, j] = z[i, j] - m


@njit(cache=True, nogil=True, error_model="numpy")
def normalize_rows(e: Array) -> None:
    """e[i] /= sum(e[i]) in place for (rows, c) arrays with 8 <= c <= 128, the sum taken in
    numpy's order: eight running sums over blocks of eight, combined pairwise, then the
    remainder one by one."""
    rows, c = e.shape
    tail = c - c % 8
    for i in range(rows):
        r0, r1, r2, r3 = e[i, 0], e[i, 1], e[i, 2], e[i, 3]
        r4, r5, r6, r7 = e[i, 4], e[i, 5], e[i, 6], e[i, 7]
        j = 8
        while j < tail:
            r0 += e[i, j]
            r1 += e[i, j + 1]
            r2 += e[i, j + 2]
            r3 += e[i, j + 3]
            r4 += e[i, j + 4]
            r5 += e[i, j + 5]
            r6 += e[i, j + 6]
            r7 += e[i, j + 7]
            j += 8
        s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while j < c:
            s += e[i, j]
            j += 1
        for j in range(c):
            e[i, j] = e[i, j] / s


@njit(cache=True, nogil=True, error_model="numpy")
def residual(p: Array, onehot: Array, mask: Array, out: Array) -> None:
    """out[f, i] = (p[f, i] - onehot[i]) * mask[i]: p (F, rows, c), onehot (rows, c),
    mask (rows,), out like p in the result dtype."""
    f, rows, c = p.shape
    for a in range(f):
        for i in range(rows):
            mi = mask[i]
            for j in range(c):
                out[a, i, j] = (p[a, i, j] - onehot[i, j]) * mi


@njit(cache=True, nogil=True, error_model="numpy")
def argmax_rows(z: Array, out: Array) -> None:
    """out[i] = index of the first maximum of z[i] (of its first NaN, if any)."""
    rows, c = z.shape
    for i in range(rows):
        best = z[i, 0]
        k = 0
        if best == best:
            for j in range(1, c):
                v = z[i, j]
                if v != v:
                    k = j
                    break
                if v > best:
                    best = v
                    k = j
        out[i] = k


@njit(cache=True, nogil=True, error_model="numpy")
def descend_step(w: Array, m: Array, n: Array, l2: Any, step: Any) -> None:
    """w -= step * (m / n[k] + l2 * w) in place, item by item: w and m (F, K, d, c), n (K,).

    numpy's ``grad = m / n + l2 * w; w -= step * grad`` with the scalars in the dtypes
    numpy computes them in (the caller passes ``l2`` and ``step`` as such scalars)."""
    f, k, d, c = w.shape
    for a in range(f):
        for b in range(k):
            nb = n[b]
            for i in range(d):
                for j in range(c):
                    g = m[a, b, i, j] / nb + l2 * w[a, b, i, j]
                    w[a, b, i, j] = w[a, b, i, j] - step * g
