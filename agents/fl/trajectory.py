"""Run FedAvg for several federations side by side and record what each round produced.

A *federation config* f fixes the local epochs E_f and the participants per round P_f; all
configs share one :class:`~agents.fl.data.Federation` (the same clients). Every round each
client trains locally from its config's global model (so the full-participation update is
known too: the reference for "computing accuracy"), ``select`` picks P_f of them, and their
models are averaged (weights n_k). Round time of client k, in units of the nominal compute
and upload times: E_f n_k / (mean n x speed_k) + 1 / link_k; the round waits for its slowest
participant (stragglers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.fl import fedavg
from agents.fl.data import N_CLASSES, Federation
from agents.fl.selection import select

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass
class Trajectory:
    """Per config f and round r (arrays (F, R, ...)), after that round's aggregation."""

    epochs: IntArray  # (F,)
    participants: IntArray  # (F,)
    selected: BoolArray  # (F, R, K)
    compute_units: FloatArray  # (F, K) E_f n_k / (mean n speed_k)
    comm_units: FloatArray  # (K,) 1 / link_k
    round_time: FloatArray  # (F, R) slowest participant, compute + comm units
    test_acc: FloatArray  # (F, R) global held-out accuracy
    train_acc: FloatArray  # (F, R) on the participants' train data (their labels)
    train_loss: FloatArray  # (F, R) participants' mean cross-entropy (the objective trained)
    client_acc: FloatArray  # (F, R, K) on each client's local held-out data
    noisy_acc: FloatArray  # (F, R) held-out accuracy with Gaussian input noise
    ece: FloatArray  # (F, R) expected calibration error on held-out data
    update_error: FloatArray  # (F, R) ||G_sel - G_all|| / ||G_all - G_prev||
    label_hist: FloatArray  # (F, R, C) participants' label histogram (normalized)

    @property
    def rounds(self) -> int:
        return int(self.test_acc.shape[1])


def compute_units(fed: Federation, epochs: IntArray) -> FloatArray:
    """(F, K) relative compute time of each client under each config."""
    return epochs[:, None] * fed.n[None, :] / (fed.n.mean() * fed.speed[None, :])


def train(fed: Federation, epochs: IntArray, participants: IntArray, strategy: str,
          rounds: int, seed: int, *, lr: float = 1.0, l2: float = 1e-4, beta: float = 1.0,
          input_noise: float = 0.3) -> Trajectory:
    """Run ``rounds`` FedAvg rounds for every config; reproducible by ``seed``."""
    rng = np.random.default_rng(seed)
    epochs = np.asarray(epochs, dtype=np.int64)
    participants = np.asarray(participants, dtype=np.int64)
    f, k, d = epochs.size, fed.k, fed.x.shape[-1]
    g: NDArray[Any] = np.zeros((f, d, N_CLASSES))
    cu = compute_units(fed, epochs)
    mu = 1.0 / fed.link
    t_exp = cu + mu[None, :]
    noise_x = fed.x_test.copy()
    noise_x[:, :-1] += input_noise * rng.standard_normal((noise_x.shape[0], d - 1))
    # float32 for the training itself: half the memory traffic; the metrics do not need more.
    x, y, mask = fed.x[None].astype(np.float32), fed.y[None], fed.mask[None].astype(np.float32)
    g = g.astype(np.float32)
    out: dict[str, list[NDArray[Any]]] = {name: [] for name in ("selected", "round_time", "test_acc", "train_acc", "train_loss",
                                 "client_acc", "noisy_acc", "ece", "update_error", "label_hist")}
    hist_k = np.stack([np.bincount(fed.y[i][fed.mask[i] > 0], minlength=N_CLASSES)
                       for i in range(k)]).astype(np.float64)  # (K, C)
    # The clients' data with its one-hot labels and counts, built once for every step.
    data = fedavg.ClientData.of(x, y, mask, N_CLASSES, np.float32)
    # Each global model's probabilities on the clients' data: its clients' losses, and the
    # first local step of the next round.
    p_k = fedavg.softmax(data.x_for(g) @ g[:, None])  # (F, K, n, C)
    loss_k = fedavg.loss_of(p_k, g[:, None], data)  # (F, K)
    for _ in range(rounds):
        sel = select(strategy, participants, fed.n, loss_k, t_exp, rng, beta)
        # A config with fewer epochs does not pay for the others' steps.
        local = fedavg.descend_configs(g, data, epochs, np.float32(lr), l2, p0=p_k)
        w_sel = sel * fed.n[None, :]
        g_new = fedavg.aggregate(local, w_sel)
        g_all = fedavg.aggregate(local, np.broadcast_to(fed.n, (f, k)))
        step = np.linalg.norm((g_all - g).reshape(f, -1), axis=1)
        err = np.linalg.norm((g_new - g_all).reshape(f, -1), axis=1)
        g = g_new
        # The new global model's logits on the clients' train data give both their losses
        # (the next round selects with them) and its train accuracy.
        z = data.x_for(g) @ g[:, None]
        p_k = fedavg.softmax(z)
        loss_new = fedavg.loss_of(p_k, g[:, None], data)  # (F, K)
        loss_k = loss_new
        acc_k_train = fedavg.accuracy_of(z, y, mask)
        wn = np.maximum(w_sel.sum(axis=1), 1e-300)
        h = sel.astype(np.float64) @ hist_k
        z_test = fed.x_test[None] @ g
        out["selected"].append(sel)
        out["round_time"].append(np.where(sel, t_exp, 0.0).max(axis=1))
        out["test_acc"].append(fedavg.accuracy_of(z_test, fed.y_test[None]))
        out["train_acc"].append((w_sel * acc_k_train).sum(axis=1) / wn)
        out["train_loss"].append((w_sel * loss_new).sum(axis=1) / wn)
        out["client_acc"].append(fedavg.accuracy(g[:, None], fed.x_test_local[None],
                                                 fed.y_test_local[None], fed.mask_test_local[None]))
        out["noisy_acc"].append(fedavg.accuracy(g, noise_x[None], fed.y_test[None]))
        out["ece"].append(fedavg.calibration_error_of(fedavg.softmax(z_test), fed.y_test[None]))
        out["update_error"].append(np.where(step > 0, err / np.maximum(step, 1e-300), 0.0))
        out["label_hist"].append(h / np.maximum(h.sum(axis=1, keepdims=True), 1e-300))
    st = {name: np.stack(v, axis=1) for name, v in out.items()}
    return Trajectory(epochs=epochs, participants=participants, compute_units=cu, comm_units=mu, **st)
