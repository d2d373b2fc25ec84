"""Time base: sessions that outlast a market round hold their resources across rounds.

A class's session lasts ``session_rounds = ceil(max(round, 1/f, budget) / round)`` rounds:
long enough for one task on average (1/f) and for a task to complete within its budget.
For the built-in classes that is one round for xr, robot and driving, and five 1-s rounds
for medicine (f = 0.2 Hz, 4 s budget), where a 1-s session would average 0.2 tasks.

A session bids once, when it starts (its bundle is per round, its value is for the whole
session). What it buys at edge nodes is then held for the session's other rounds: those
units are not offered again (the node's asks shrink), they count as sold (load, energy,
interference), and the buyer pays the same unit price for each held round. The device
starts no new session while one runs. Its QoAIS is measured once, at the start, from the
latency distribution of the whole stream (the bought rates last the session).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from market.orders import Trades
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def session_rounds(task_rate_hz: FloatArray, latency_budget_ms: FloatArray,
                   round_s: float) -> IntArray:
    """Rounds a session of each class lasts (>= 1)."""
    span = np.maximum(np.maximum(1.0 / np.asarray(task_rate_hz, np.float64),
                                 np.asarray(latency_budget_ms, np.float64) / 1000.0), round_s)
    # A hair under an integer number of rounds stays that integer (float noise).
    return np.maximum(np.ceil(span / round_s - 1e-9), 1).astype(np.int64)


class SessionBook:
    """Holds of multi-round sessions: one row per (trade, session), kept until it ends."""

    def __init__(self, n_devices: int, n_nodes: int) -> None:
        self.n, self.m = n_devices, n_nodes
        self.busy_until = np.zeros(n_devices, dtype=np.int64)  # last round a session holds
        self._end = np.zeros(0, np.int64)
        self._device = np.zeros(0, np.int64)
        self._trades = Trades.empty()

    def busy(self, now: int) -> NDArray[np.bool_]:
        """Devices whose session started in an earlier round still runs in round ``now``."""
        return np.asarray(self.busy_until >= now)

    def _active(self, now: int) -> NDArray[np.bool_]:
        return np.asarray(self._end >= now)

    def held_units(self, now: int, node_index: IntArray) -> FloatArray:
        """(m, 4) units held at each node in round ``now``. ``node_index``: agent id -> row."""
        a = self._active(now)
        out = np.zeros((self.m, N_RESOURCES))
        if a.any():
            t = self._trades
            rows = node_index[t.seller[a]]
            np.add.at(out, (rows, t.resource[a].astype(np.int64)), t.quantity[a])
        return out

    def held_trades(self, now: int) -> tuple[Trades, IntArray]:
        """This round's held trades (charged again) and the device row of each."""
        a = self._active(now)
        t = self._trades
        return (Trades(t.buyer[a], t.seller[a], t.resource[a], t.quantity[a], t.price[a],
                       np.full(int(a.sum()), -1, np.int64), np.full(int(a.sum()), -1, np.int64),
                       t.seller_price[a]), self._device[a])

    def start(self, now: int, trades: Trades, device_of_request: IntArray,
              rounds_of_request: IntArray, is_node_seller: NDArray[np.bool_]) -> None:
        """Record the node trades of sessions starting in round ``now`` that last > 1 round,
        and forget holds that ended."""
        keep = self._active(now + 1)
        req = trades.bid_index
        k = rounds_of_request[req] if len(trades) else np.zeros(0, np.int64)
        new = (k > 1) & is_node_seller
        dev = device_of_request[req[new]]
        end = now + k[new] - 1
        t, s = self._trades, np.flatnonzero(new)
        cat = np.concatenate
        self._trades = Trades(
            cat([t.buyer[keep], trades.buyer[s]]), cat([t.seller[keep], trades.seller[s]]),
            cat([t.resource[keep], trades.resource[s]]), cat([t.quantity[keep], trades.quantity[s]]),
            cat([t.price[keep], trades.price[s]]), cat([t.bid_index[keep], trades.bid_index[s]]),
            cat([t.ask_index[keep], trades.ask_index[s]]),
            cat([t.seller_price[keep], trades.seller_price[s]]))
        self._end = cat([self._end[keep], end])
        self._device = cat([self._device[keep], dev])
        # Every multi-round session that got anything keeps its device busy.
        starts = np.unique(req[k > 1]) if len(trades) else np.zeros(0, np.int64)
        if starts.size:
            d = device_of_request[starts]
            self.busy_until[d] = np.maximum(self.busy_until[d], now + rounds_of_request[starts] - 1)

    @staticmethod
    def rounds_for(classes_rounds: IntArray, cls: IntArray) -> IntArray:
        """Session length of each request from its class."""
        return np.asarray(classes_rounds[cls], dtype=np.int64)


def describe(rounds: IntArray, names: list[str]) -> str:
    """'medicine: 5 rounds' for the classes whose sessions outlast a round."""
    return ", ".join(f"{n}: {int(r)} rounds" for n, r in zip(names, rounds, strict=True)
                     if r > 1) or "none"
