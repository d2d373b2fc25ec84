"""Radio channel between devices and edge nodes, over arrays for all devices at once.

Per device, the ``candidates`` nearest nodes (a k-d tree over the fixed sites, looked up
again once the device has moved ``Channel.REQUERY_M``) plus the node it is attached to are
examined; that keeps 10,000 devices × 200 nodes at 10,000 × 9 pairs.

- Path loss (dB): free space at 1 m, then log-distance with exponent ``n``:
  ``PL(d) = 20·log10(f_GHz) + 32.45 + 10·n·log10(max(d, 1 m))``.
- Shadowing (dB): log-normal, σ ``shadowing_sigma_db``, kept per (device, node) and
  correlated along the device's path (Gudmundson): ``s ← ρ·s + √(1-ρ²)·σ·z``,
  ``ρ = exp(-moved / decorrelation_m)``. Reciprocal: the same value serves both directions.
- Attachment on the downlink SNR (strongest node within its coverage radius and above
  ``min_snr_db``); a device hands over only when another node has beaten its current one
  by ``handover_hysteresis_db`` for the time-to-trigger ``handover_ttt_ms`` (counted in
  measurements, one per round, at least one), or at once when the current one is lost.
  Handovers are counted; their interruption and state migration are costed in
  agents.handover.
- **Downlink SINR** = S / (N + Σ_j ρ_j·I_j): S and I_j the powers received from the serving
  and from neighbour node j (EIRP − PL − shadowing), ρ_j node j's load (the share of its
  bandwidth transmitting last round, set by the model through ``observe_load``; at least
  ``neighbour_load_floor``), N = −174 dBm/Hz +
  10·log10(B_node) + ``noise_figure_db``. The candidates interfere with their own shadowing;
  every other node of the world with its mean path loss (no shadowing), weighted by the
  world's mean load (this far part is summed once per candidate look-up).
- **Uplink SINR** over the device's allocation ``uplink_bandwidth_mhz``: S = ``ue_tx_power_dbm``
  + device and node antenna gains − PL − shadowing; N = −174 + 10·log10(B_ul) +
  ``node_noise_figure_db``; interference at the serving node from one active device of each
  neighbour cell j (same power, same bandwidth), placed ``ul_interferer_offset`` of the way
  from node j to the serving node, weighted by ρ_j.
- From each SINR, link adaptation (agents.link_adaptation): CQI/MCS for the device class's
  target BLER, this round's BLER with a residual fading (σ ``fast_fading_sigma_db``),
  HARQ with Chase combining, goodput spectral efficiency, PER and BER.
- Link delay per task = uplink + downlink air interface (``air_interface_ms`` each) + one
  ``harq_rtt_ms`` per retransmission in either direction: a distribution (atoms and
  probabilities per device) whose mean is ``link_delay_ms`` and whose standard deviation
  plus ``base_jitter_ms`` is the jitter. Shannon rate ``B·log2(1 + SINR)`` is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from agents.link_adaptation import adapt
from agents.scenario import ChannelConfig

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

NO_NODE = -1


@dataclass
class LinkState:
    """Per device (n,), the link to its attached node (values for unattached rows are 0)."""

    attached: IntArray  # node index, NO_NODE if none in range
    handed_over: BoolArray  # attachment changed this round between two nodes
    distance_m: FloatArray
    snr_db: FloatArray  # downlink SNR (no interference)
    shannon_mbps: FloatArray  # B·log2(1+SINR) over the whole cell bandwidth (downlink)
    spectral_eff: FloatArray  # downlink goodput bit/s/Hz (CQI table / E[transmissions])
    ber: FloatArray  # equivalent bit error rate of a task's packets (both directions)
    per: FloatArray  # packet error rate per transmission (both directions)
    link_delay_ms: FloatArray  # mean
    jitter_ms: FloatArray
    residual_loss: FloatArray  # packet lost after all HARQ retransmissions (either way)
    sinr_db: FloatArray  # downlink SINR
    sinr_ul_db: FloatArray  # uplink SINR over the device's allocation
    spectral_eff_ul: FloatArray  # uplink goodput bit/s/Hz
    cqi: IntArray  # downlink CQI (0 if unattached)
    cqi_ul: IntArray
    delay_ms: FloatArray  # (n, A) link delay atoms: 2·air + HARQ RTT × retransmissions
    delay_prob: FloatArray  # (n, A) their probabilities (rows sum to 1 − residual loss)
    previous: IntArray  # node before a handover this round (NO_NODE if none)


def _mw(dbm: FloatArray) -> FloatArray:
    return np.asarray(10 ** (np.asarray(dbm) / 10), dtype=np.float64)


class Channel:
    """Channel state for n devices and m fixed nodes."""

    #: m a device moves before its nearest-node candidates are looked up again.
    REQUERY_M = 20.0

    def __init__(self, cfg: ChannelConfig, node_xy: FloatArray, tx_power_dbm: FloatArray,
                 antenna_gain_db: float, bandwidth_mhz: FloatArray, coverage_m: float,
                 n_devices: int, rng: np.random.Generator,
                 worlds: tuple[IntArray, int] | None = None, round_s: float = 1.0) -> None:
        """``worlds``: (world of each device, nodes per world) when the model simulates
        independent copies of a world (node rows of world w: [w·k, (w+1)·k)); shadowing is
        then kept per device for its own world's nodes only. ``round_s``: seconds between
        measurements (the time-to-trigger is counted in them)."""
        self.cfg = cfg
        self.node_xy = np.asarray(node_xy, dtype=np.float64).reshape(-1, 2)
        self.m = self.node_xy.shape[0]
        self.eirp_dbm = np.asarray(tx_power_dbm, dtype=np.float64) + antenna_gain_db
        self.antenna_gain_db = antenna_gain_db
        self.bandwidth_mhz = np.asarray(bandwidth_mhz, dtype=np.float64)
        self.noise_dbm = -174.0 + 10 * np.log10(self.bandwidth_mhz * 1e6) + cfg.noise_figure_db
        self.noise_ul_dbm = (-174.0 + 10 * np.log10(cfg.uplink_bandwidth_mhz * 1e6)
                             + cfg.node_noise_figure_db)
        self.ue_eirp_dbm = cfg.ue_tx_power_dbm + cfg.ue_antenna_gain_db + antenna_gain_db
        self.coverage_m = coverage_m
        self.k = min(cfg.candidates, self.m)
        self.tree = cKDTree(self.node_xy) if self.m else None
        self.pl0_db = 20 * np.log10(cfg.frequency_ghz) + 32.45
        # 10^((EIRP − PL(1 m))/10): the far-field kernel's per-node factor (mW at 1 m).
        self._far_amp_mw = _mw(self.eirp_dbm - self.pl0_db)
        self.dev_world, self.per_world = worlds if worlds is not None else (None, self.m)
        self.n_worlds = self.m // self.per_world if self.per_world else 0
        # float32 keeps 10,000 × 200 shadowing values at 8 MB.
        self.shadow_db = (rng.standard_normal((n_devices, self.per_world), dtype=np.float32)
                          * np.float32(cfg.shadowing_sigma_db))
        self.attached = np.full(n_devices, NO_NODE, dtype=np.int64)
        self.handovers = np.zeros(n_devices, dtype=np.int64)
        # Consecutive measurements in which another node beat the current one (TTT).
        self._better_for = np.zeros(n_devices, dtype=np.int64)
        self._ttt_rounds = max(1, int(np.ceil(cfg.handover_ttt_ms / (1000.0 * round_s) - 1e-9)))
        # Nearest-node candidates, refreshed for a device once it has moved REQUERY_M.
        self._cand = np.zeros((n_devices, self.k), dtype=np.int64)
        self._cand_xy = np.full((n_devices, 2), np.inf)
        # Mean power (mW) a device receives from the nodes of its world that are not among
        # its candidates, summed at each look-up (the far part of the interference).
        self._far_mw = np.zeros(n_devices)
        #: Load of each node (share of its bandwidth in use) seen by its neighbours.
        self.load = np.full(self.m, cfg.neighbour_load_floor)
        self._ul_gain = self._uplink_interference_gains()

    # -- pair maths ---------------------------------------------------------------------

    def path_loss_db(self, d_m: FloatArray) -> FloatArray:
        """Log-distance path loss in dB for distances in m."""
        return self.pl0_db + 10 * self.cfg.path_loss_exponent * np.log10(np.maximum(d_m, 1.0))

    def _own(self, dev: IntArray, node: IntArray) -> tuple[IntArray, NDArray[np.bool_] | None]:
        """Shadowing column of each (device, node) pair, and whether the node lies in the
        device's own world (None: a single world). Nodes of other worlds are out of range
        (the worlds lie apart), so their column is a stand-in that is never used."""
        if self.dev_world is None:
            return node, None
        return node % self.per_world, (node // self.per_world) == self.dev_world[dev]

    def snr_db(self, dev: IntArray, node: IntArray, d_m: FloatArray) -> FloatArray:
        """Downlink SNR in dB for the (device, node) pairs given (same-shaped index arrays)."""
        return self.rx_dbm(dev, node, d_m) - self.noise_dbm[node]

    def rx_dbm(self, dev: IntArray, node: IntArray, d_m: FloatArray) -> FloatArray:
        """Downlink power (dBm) a device receives from a node: EIRP − PL − shadowing."""
        shadow = self.shadow_db[dev, self._own(dev, node)[0]].astype(np.float64)
        return self.eirp_dbm[node] - self.path_loss_db(d_m) - shadow

    def _uplink_interference_gains(self) -> FloatArray:
        """(worlds, k, k) mW one active device of cell j (column) puts into node i (row) of the
        same world: ``ue_eirp − PL((1 − offset)·d_ij)``; 0 on the diagonal."""
        k, w = self.per_world, self.n_worlds
        if k == 0 or w == 0:
            return np.zeros((0, 0, 0))
        xy = self.node_xy.reshape(w, k, 2)
        d = np.hypot(xy[:, :, None, 0] - xy[:, None, :, 0], xy[:, :, None, 1] - xy[:, None, :, 1])
        g = _mw(self.ue_eirp_dbm - self.path_loss_db((1 - self.cfg.ul_interferer_offset) * d))
        g[:, np.arange(k), np.arange(k)] = 0.0
        return np.asarray(g, dtype=np.float64)

    def observe_load(self, load: FloatArray) -> None:
        """Set each node's load (share of its bandwidth in use) for the next measurement."""
        self.load = np.clip(np.nan_to_num(np.asarray(load, np.float64), nan=0.0),
                            self.cfg.neighbour_load_floor, 1.0)

    def _world_of(self, dev: IntArray) -> IntArray:
        if self.dev_world is None:
            return np.zeros(dev.size, dtype=np.int64)
        return np.asarray(self.dev_world[dev], dtype=np.int64)

    def _far_power(self, dev: IntArray, dev_xy: FloatArray, cand: IntArray,
                   kernel: bool | None = None) -> FloatArray:
        """Mean power (mW) from the nodes of each device's world other than its candidates.
        A compiled loop by default (agents.channel_kernels, equal to float rounding);
        ``kernel=False`` runs the numpy code below."""
        from market.matching import kernel_input, use_kernels

        if use_kernels(kernel):
            from agents import channel_kernels

            ki = kernel_input
            return channel_kernels.far_power(  # type: ignore[no-any-return]
                ki(np.asarray(dev_xy, np.float64)), ki(self._world_of(dev)),
                ki(np.asarray(cand, np.int64)), ki(self.node_xy), ki(self._far_amp_mw),
                0.5 * float(self.cfg.path_loss_exponent), self.per_world)
        k = self.per_world
        nodes = self._world_of(dev)[:, None] * k + np.arange(k)  # (s, k) node rows
        d = np.hypot(dev_xy[:, 0, None] - self.node_xy[nodes, 0],
                     dev_xy[:, 1, None] - self.node_xy[nodes, 1])
        p = _mw(self.eirp_dbm[nodes] - self.path_loss_db(d))
        far = ~(nodes[:, :, None] == np.asarray(cand)[:, None, :]).any(axis=2)
        return np.asarray((p * far).sum(axis=1), dtype=np.float64)

    # -- one round ----------------------------------------------------------------------

    def _update_shadowing(self, dev: IntArray, node: IntArray, moved_m: FloatArray,
                          rng: np.random.Generator) -> None:
        rho = np.exp(-moved_m / self.cfg.shadowing_decorrelation_m)[:, None]
        rho = np.broadcast_to(rho, node.shape)
        col, own = self._own(dev, node)
        old = self.shadow_db[dev, col].astype(np.float64)
        z = rng.standard_normal(node.shape)
        new = rho * old + np.sqrt(1 - rho**2) * self.cfg.shadowing_sigma_db * z
        if own is None:
            self.shadow_db[dev, col] = new.astype(np.float32)
        else:
            self.shadow_db[dev[own], col[own]] = new[own].astype(np.float32)

    def _shadow_and_rx(self, dev_xy: FloatArray, moved_m: FloatArray, cand: IntArray,
                       cols: IntArray, rng: np.random.Generator,
                       kernel: bool | None = None) -> tuple[FloatArray, FloatArray]:
        """Step the candidates' shadowing, then the distance and received power (dBm) of each
        (device, ``cols``) pair. A compiled loop by default (agents.channel_kernels, the same
        random draws, equal to float rounding); ``kernel=False`` runs the numpy code."""
        from market.matching import kernel_input, use_kernels

        rows = np.arange(dev_xy.shape[0])
        if use_kernels(kernel):
            from agents import channel_kernels

            ki = kernel_input
            rho = np.exp(-moved_m / self.cfg.shadowing_decorrelation_m)
            z = rng.standard_normal(cand.shape)  # the draws _update_shadowing makes
            world = (np.zeros(0, np.int64) if self.dev_world is None
                     else np.asarray(self.dev_world, np.int64))
            return channel_kernels.shadow_and_rx(  # type: ignore[no-any-return]
                ki(np.asarray(dev_xy, np.float64)), ki(np.asarray(rho, np.float64)), ki(z),
                ki(cand), ki(cols), self.shadow_db, ki(world), self.per_world,
                ki(self.node_xy), ki(self.eirp_dbm), float(self.pl0_db),
                float(self.cfg.path_loss_exponent), float(self.cfg.shadowing_sigma_db))
        self._update_shadowing(rows[:, None].repeat(self.k, 1), cand, moved_m, rng)
        d = np.hypot(dev_xy[:, 0, None] - self.node_xy[cols, 0],
                     dev_xy[:, 1, None] - self.node_xy[cols, 1])
        return d, self.rx_dbm(rows[:, None], cols, d)

    def measure(self, dev_xy: FloatArray, moved_m: FloatArray, rng: np.random.Generator,
                target_bler: FloatArray | float = 0.1) -> LinkState:
        """Update shadowing along the devices' paths, (re)attach them and rate their links.

        ``target_bler`` (per device or one value): the BLER link adaptation aims at.
        """
        n, cfg = dev_xy.shape[0], self.cfg
        rows = np.arange(n)
        if self.m == 0 or n == 0:
            return self._empty(n)
        assert self.tree is not None
        stale = np.flatnonzero(np.hypot(*(dev_xy - self._cand_xy).T) > self.REQUERY_M)
        if stale.size:
            _, fresh = self.tree.query(dev_xy[stale], k=self.k)
            self._cand[stale] = np.asarray(fresh, dtype=np.int64).reshape(stale.size, self.k)
            self._cand_xy[stale] = dev_xy[stale]
            if cfg.interference == "load":
                self._far_mw[stale] = self._far_power(stale, dev_xy[stale], self._cand[stale])
        cand = self._cand
        cur = self.attached
        # Candidates plus the current node (a duplicate column if it is already among them).
        cols = np.column_stack([cand, np.where(cur >= 0, cur, cand[:, 0])])
        d, rx = self._shadow_and_rx(dev_xy, moved_m, cand, cols, rng)
        snr = rx - self.noise_dbm[cols]
        usable = (d <= self.coverage_m) & (snr >= cfg.min_snr_db)
        score = np.where(usable, snr, -np.inf)
        best_col = np.argmax(score[:, : self.k], axis=1)
        best_snr = score[rows, best_col]
        best = np.where(np.isfinite(best_snr), cand[rows, best_col], NO_NODE)
        cur_snr = np.where(cur >= 0, score[:, self.k], -np.inf)
        keep = np.isfinite(cur_snr) & (best_snr <= cur_snr + cfg.handover_hysteresis_db)
        # Time-to-trigger: while the current node is still usable, a better one must have
        # been better for ttt_rounds measurements in a row (a lost link hands over at once).
        better = ~keep & np.isfinite(cur_snr) & np.isfinite(best_snr)
        self._better_for = np.where(better, self._better_for + 1, 0)
        keep |= better & (self._better_for < self._ttt_rounds)
        new = np.where(keep, cur, best)
        handed = (cur >= 0) & (new >= 0) & (new != cur)
        self._better_for[handed] = 0
        previous = np.where(handed, cur, NO_NODE)
        self.handovers += handed
        self.attached = new
        col = np.where(keep, self.k, best_col)
        att = new >= 0
        link_rx = np.where(att, rx[rows, col], -np.inf)
        link_d = np.where(att, d[rows, col], 0.0)
        serving = np.maximum(new, 0)
        # Downlink interference: the other candidates (with shadowing), then the far nodes.
        if cfg.interference == "load":
            other = cand != new[:, None]
            i_dl = (self.load[cand] * _mw(rx[:, : self.k]) * other).sum(axis=1)
            i_dl += self._far_mw * self._world_mean_load(rows)
            i_ul = self._uplink_interference(serving)
        else:
            i_dl, i_ul = np.zeros(n), np.zeros(n)
        n_dl = _mw(self.noise_dbm[serving])
        s_dl = _mw(link_rx)
        sinr = 10 * np.log10(np.maximum(s_dl / (n_dl + i_dl), 1e-30))
        # Uplink: the device's EIRP over its allocation; reciprocal path loss and shadowing.
        ul_rx = link_rx - self.eirp_dbm[serving] + self.ue_eirp_dbm
        sinr_ul = 10 * np.log10(np.maximum(_mw(ul_rx) / (_mw(self.noise_ul_dbm) + i_ul), 1e-30))
        link_snr = np.where(att, link_rx - self.noise_dbm[serving], 0.0)
        out = self._rate(new, handed, link_d, link_snr, sinr, sinr_ul, target_bler, rng)
        out.previous = previous
        return out

    def _world_mean_load(self, dev: IntArray) -> FloatArray:
        if self.n_worlds <= 1:
            return np.full(dev.size, self.load.mean())
        return np.asarray(self.load.reshape(self.n_worlds, -1).mean(axis=1)[self._world_of(dev)],
                          dtype=np.float64)

    def _uplink_interference(self, serving: IntArray) -> FloatArray:
        """mW of uplink interference at each device's serving node (load-weighted)."""
        k = self.per_world
        load = self.load.reshape(self.n_worlds, k)
        at_node = np.einsum("wij,wj->wi", self._ul_gain, load).reshape(-1)
        return np.asarray(at_node[serving], dtype=np.float64)

    def _empty(self, n: int) -> LinkState:
        z, zi = np.zeros(n), np.zeros(n, np.int64)
        a = np.zeros((n, 1))
        return LinkState(np.full(n, NO_NODE, np.int64), np.zeros(n, bool), z, z, z, z, z, z, z,
                         z, z, z, z, z, zi, zi, a, a, np.full(n, NO_NODE, np.int64))

    def _adapt(self, sinr_db: FloatArray, sinr_ul_db: FloatArray, target: FloatArray,
               fade: FloatArray, kernel: bool | None = None
               ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
        """Link adaptation of both directions (agents.link_adaptation.adapt; row 0 down,
        row 1 up): CQI, goodput spectral efficiency and first-transmission BLER (2, n), and
        the distribution of the total retransmissions of a task's two transfers (n, 2k + 1):
        retransmissions in either direction add up, so the two are convolved. A compiled
        loop by default (agents.channel_kernels.adapt_links, equal to float rounding);
        ``kernel=False`` runs the numpy code."""
        from market.matching import kernel_input, use_kernels

        k = self.cfg.max_retransmissions
        if use_kernels(kernel):
            from agents import channel_kernels
            from agents.link_adaptation import (
                BLER_SLOPE_PER_DB,
                CQI_SINR_AT_50PCT_DB,
                CQI_SPECTRAL_EFFICIENCY,
            )

            ki = kernel_input
            return channel_kernels.adapt_links(  # type: ignore[no-any-return]
                ki(np.stack([sinr_db, sinr_ul_db]).astype(np.float64)),
                ki(np.asarray(target, np.float64)), ki(np.asarray(fade, np.float64)), k,
                ki(CQI_SINR_AT_50PCT_DB.astype(np.float64)),
                ki(CQI_SPECTRAL_EFFICIENCY.astype(np.float64)), float(BLER_SLOPE_PER_DB))
        dl = adapt(sinr_db, target, k, self.cfg.packet_bits, fade[0])
        ul = adapt(sinr_ul_db, target, k, self.cfg.packet_bits, fade[1])
        prob = np.zeros((sinr_db.size, 2 * k + 1))
        for j in range(k + 1):
            prob[:, j: j + k + 1] += ul.retx_prob[:, j: j + 1] * dl.retx_prob
        return (np.stack([dl.cqi, ul.cqi]), np.stack([dl.spectral_eff, ul.spectral_eff]),
                np.stack([dl.bler, ul.bler]), prob)

    def _rate(self, node: IntArray, handed: BoolArray, d: FloatArray, snr_db: FloatArray,
              sinr_db: FloatArray, sinr_ul_db: FloatArray, target_bler: FloatArray | float,
              rng: np.random.Generator, kernel: bool | None = None) -> LinkState:
        cfg = self.cfg
        att = node >= 0
        n = node.size
        bw = np.where(att, self.bandwidth_mhz[np.maximum(node, 0)], 0.0)
        shannon = np.where(att, bw * np.log2(1 + 10 ** (sinr_db / 10)), 0.0)
        target = np.broadcast_to(np.asarray(target_bler, np.float64), (n,))
        fade = rng.normal(0.0, cfg.fast_fading_sigma_db, (2, n))
        k = cfg.max_retransmissions
        cqi, se, first_bler, prob = self._adapt(sinr_db, sinr_ul_db, target, fade, kernel)
        delay = 2 * cfg.air_interface_ms + cfg.harq_rtt_ms * np.arange(2 * k + 1, dtype=np.float64)
        delay = np.broadcast_to(delay, prob.shape)
        ok = prob.sum(axis=1)  # = (1 − residual_ul)(1 − residual_dl)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(ok > 0, (prob * delay).sum(axis=1) / ok, delay[:, 0])
            var = np.where(ok > 0, (prob * delay**2).sum(axis=1) / ok - mean**2, 0.0)
        jitter = cfg.base_jitter_ms + np.sqrt(np.maximum(var, 0.0))
        per = 1 - (1 - first_bler[1]) * (1 - first_bler[0])
        ber = -np.expm1(np.log1p(-np.minimum(per, 1 - 1e-16)) / cfg.packet_bits)
        z = np.zeros(n)
        return LinkState(
            attached=node, handed_over=handed, distance_m=d, snr_db=np.where(att, snr_db, 0.0),
            shannon_mbps=shannon, spectral_eff=np.where(att, se[0], 0.0),
            ber=np.where(att, ber, 0.0), per=np.where(att, per, 0.0),
            link_delay_ms=np.where(att, mean, 0.0), jitter_ms=np.where(att, jitter, 0.0),
            residual_loss=np.where(att, 1 - ok, 0.0),
            sinr_db=np.where(att, sinr_db, z), sinr_ul_db=np.where(att, sinr_ul_db, z),
            spectral_eff_ul=np.where(att, se[1], 0.0),
            cqi=np.where(att, cqi[0], 0), cqi_ul=np.where(att, cqi[1], 0),
            delay_ms=np.ascontiguousarray(delay),
            delay_prob=np.where(att[:, None], prob, 0.0), previous=np.full(n, NO_NODE, np.int64))
