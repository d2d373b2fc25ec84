"""Client data for federated learning: sklearn's digits split non-IID over clients.

``load_digits`` (1,797 8x8 images, 10 classes) ships with scikit-learn, so nothing is
downloaded. Pixels are scaled to [0, 1] and a constant 1 is appended (the bias column).
The set is split once into train (80 %) and held-out test (20 %), stratified, with a fixed
seed: the held-out part never trains anything.

Non-IID split (the usual label-Dirichlet split): for every class c, its train samples are
shared among the K clients in proportions drawn from Dirichlet(alpha); the test samples of c
go to the clients in the same proportions, so each client has a local test set from its own
distribution. Small alpha -> each client sees few classes.

Per-client defects and speeds are drawn once per federation (same seed):
missing-pixel share mu_k (missing values imputed as 0), label-noise share eta_k (that share
of its train labels replaced by a uniformly drawn wrong class), a compute speed factor and a
link factor (log-normal), which make stragglers.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

N_CLASSES = 10


def digits_path() -> Path:
    """The digits CSV that scikit-learn ships (the file ``load_digits`` reads)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise RuntimeError("federated learning needs scikit-learn (its digits data set)")
    return Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"


@lru_cache(maxsize=1)
def digits() -> tuple[FloatArray, IntArray]:
    """(X (1797, 65) in [0, 1] with a trailing bias column of ones, y (1797,)).

    Read straight from scikit-learn's shipped file: importing sklearn itself costs seconds,
    more than a short run's whole FL work (tests check it equals ``load_digits()``).
    """
    raw = np.loadtxt(digits_path(), delimiter=",")
    x = raw[:, :-1] / 16.0
    return np.column_stack([x, np.ones(len(x))]), raw[:, -1].astype(np.int64)


def train_test_split(y: IntArray, test_share: float, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Stratified split of sample indices: (train, test), each sorted."""
    test = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test.append(idx[: round(test_share * idx.size)])
    te = np.sort(np.concatenate(test))
    tr = np.setdiff1d(np.arange(y.size), te)
    return tr, te


def dirichlet_shares(n_clients: int, alpha: float, rng: np.random.Generator) -> FloatArray:
    """(N_CLASSES, n_clients) share of each class given to each client; rows ~ Dirichlet(alpha)."""
    return rng.dirichlet(np.full(n_clients, alpha), size=N_CLASSES)


def split_by_shares(y: IntArray, shares: FloatArray, rng: np.random.Generator) -> list[IntArray]:
    """Indices (into y) of each client: class c's samples cut in proportions ``shares[c]``."""
    k = shares.shape[1]
    parts: list[list[IntArray]] = [[] for _ in range(k)]
    for c in range(shares.shape[0]):
        idx = rng.permutation(np.flatnonzero(y == c))
        cuts = np.round(np.cumsum(shares[c])[:-1] * idx.size).astype(np.int64)
        for j, piece in enumerate(np.split(idx, cuts)):
            parts[j].append(piece)
    return [np.sort(np.concatenate(p)) for p in parts]


@dataclass
class Federation:
    """K clients' data, padded to (K, n_max, ...) with a validity mask."""

    x: FloatArray  # (K, n_max, 65) train features (missing pixels zeroed)
    y: IntArray  # (K, n_max) train labels as the client holds them (noisy)
    y_true: IntArray  # (K, n_max) clean train labels
    mask: FloatArray  # (K, n_max) 1 for real samples
    n: FloatArray  # (K,) train samples per client
    x_test_local: FloatArray  # (K, m_max, 65) client-local held-out data (clean)
    y_test_local: IntArray  # (K, m_max)
    mask_test_local: FloatArray  # (K, m_max)
    x_test: FloatArray  # (m, 65) the global held-out set
    y_test: IntArray  # (m,)
    missing: FloatArray  # (K,) share of pixels missing
    label_noise: FloatArray  # (K,) share of train labels flipped (realized)
    speed: FloatArray  # (K,) compute speed factor (1 = nominal)
    link: FloatArray  # (K,) link factor (1 = nominal)

    @property
    def k(self) -> int:
        return int(self.n.size)


def _pad(rows: list[FloatArray] | list[IntArray], width: int, fill: float) -> NDArray[np.float64]:
    out = np.full((len(rows), width, *rows[0].shape[1:]), fill, dtype=rows[0].dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def make_federation(n_clients: int, alpha: float, seed: int, *, missing_max: float = 0.0,
                    label_noise_max: float = 0.0, speed_sigma: float = 0.0,
                    link_sigma: float = 0.0, test_share: float = 0.2) -> Federation:
    """Split digits over ``n_clients`` clients (Dirichlet ``alpha``); reproducible by ``seed``."""
    rng = np.random.default_rng(seed)
    x_all, y_all = digits()
    tr, te = train_test_split(y_all, test_share, rng)
    shares = dirichlet_shares(n_clients, alpha, rng)
    parts = split_by_shares(y_all[tr], shares, rng)
    tparts = split_by_shares(y_all[te], shares, rng)
    missing = rng.uniform(0.0, missing_max, n_clients)
    noise = rng.uniform(0.0, label_noise_max, n_clients)
    xs, ys, yt = [], [], []
    realized = np.zeros(n_clients)
    for k, p in enumerate(parts):
        x = x_all[tr][p].copy()
        drop = rng.random((len(p), 64)) < missing[k]
        x[:, :64][drop] = 0.0
        y = y_all[tr][p]
        flip = rng.random(len(p)) < noise[k]
        noisy = y.copy()
        noisy[flip] = (y[flip] + rng.integers(1, N_CLASSES, int(flip.sum()))) % N_CLASSES
        realized[k] = flip.mean() if len(p) else 0.0
        xs.append(x)
        ys.append(noisy)
        yt.append(y)
    n = np.array([len(p) for p in parts], dtype=np.float64)
    width = max(1, int(n.max()))
    m = np.array([len(p) for p in tparts])
    mwidth = max(1, int(m.max()))
    return Federation(
        x=_pad(xs, width, 0.0), y=_pad(ys, width, 0).astype(np.int64),
        y_true=_pad(yt, width, 0).astype(np.int64),
        mask=(np.arange(width)[None, :] < n[:, None]).astype(np.float64), n=n,
        x_test_local=_pad([x_all[te][p] for p in tparts], mwidth, 0.0),
        y_test_local=_pad([y_all[te][p] for p in tparts], mwidth, 0).astype(np.int64),
        mask_test_local=(np.arange(mwidth)[None, :] < m[:, None]).astype(np.float64),
        x_test=x_all[te], y_test=y_all[te], missing=missing, label_noise=realized,
        speed=rng.lognormal(0.0, speed_sigma, n_clients),
        link=rng.lognormal(0.0, link_sigma, n_clients))
