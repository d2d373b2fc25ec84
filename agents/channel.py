"""Radio channel between devices and edge nodes, over arrays for all devices at once.

Per device, the ``candidates`` nearest nodes (a k-d tree over the fixed sites, looked up
again once the device has moved ``Channel.REQUERY_M``) plus the node it is attached to are
examined; that keeps 10,000 devices × 200 nodes at 10,000 × 9 pairs.

- Path loss (dB): free space at 1 m, then log-distance with exponent ``n``:
  ``PL(d) = 20·log10(f_GHz) + 32.45 + 10·n·log10(max(d, 1 m))``.
- Shadowing (dB): log-normal, σ ``shadowing_sigma_db``, kept per (device, node) and
  correlated along the device's path (Gudmundson): ``s ← ρ·s + √(1-ρ²)·σ·z``,
  ``ρ = exp(-moved / decorrelation_m)``.
- SNR (dB) = tx power + antenna gain − PL − shadowing − noise, noise =
  −174 dBm/Hz + 10·log10(B) + noise figure. (One link SNR is used for both directions:
  the uplink is assumed power-controlled to the same per-resource-block SNR.)
- Attachment: strongest node within its coverage radius and above ``min_snr_db``; a device
  hands over only when another node beats its current one by ``handover_hysteresis_db``
  (or the current one is lost). Handovers are counted.
- From the SNR: Shannon rate ``B·log2(1+SNR)`` (Mbps, the whole cell bandwidth); practical
  spectral efficiency ``log2(1 + SNR/Γ)`` (coding gap Γ, capped); post-decoding bit error
  rate with the M-QAM bound ``0.2·exp(-1.5·SNR_rx/(2^se − 1))`` where the modulation is set
  for ``target_ber`` at the mean SNR and ``SNR_rx`` includes a per-round residual fading;
  packet error rate, HARQ retransmissions → link delay and jitter (ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

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
    snr_db: FloatArray
    shannon_mbps: FloatArray  # B·log2(1+SNR) over the whole cell bandwidth
    spectral_eff: FloatArray  # practical bit/s/Hz
    ber: FloatArray
    per: FloatArray  # packet error rate per transmission
    link_delay_ms: FloatArray
    jitter_ms: FloatArray
    residual_loss: FloatArray  # packet lost after all HARQ retransmissions


class Channel:
    """Channel state for n devices and m fixed nodes."""

    #: m a device moves before its nearest-node candidates are looked up again.
    REQUERY_M = 20.0

    def __init__(self, cfg: ChannelConfig, node_xy: FloatArray, tx_power_dbm: FloatArray,
                 antenna_gain_db: float, bandwidth_mhz: FloatArray, coverage_m: float,
                 n_devices: int, rng: np.random.Generator,
                 worlds: tuple[IntArray, int] | None = None) -> None:
        """``worlds``: (world of each device, nodes per world) when the model simulates
        independent copies of a world (node rows of world w: [w·k, (w+1)·k)); shadowing is
        then kept per device for its own world's nodes only."""
        self.cfg = cfg
        self.node_xy = np.asarray(node_xy, dtype=np.float64).reshape(-1, 2)
        self.m = self.node_xy.shape[0]
        self.eirp_dbm = np.asarray(tx_power_dbm, dtype=np.float64) + antenna_gain_db
        self.bandwidth_mhz = np.asarray(bandwidth_mhz, dtype=np.float64)
        self.noise_dbm = -174.0 + 10 * np.log10(self.bandwidth_mhz * 1e6) + cfg.noise_figure_db
        self.coverage_m = coverage_m
        self.k = min(cfg.candidates, self.m)
        self.tree = cKDTree(self.node_xy) if self.m else None
        self.pl0_db = 20 * np.log10(cfg.frequency_ghz) + 32.45
        self.gap = 10 ** (cfg.snr_gap_db / 10)
        # The modulation's SNR margin for the target BER: 0.2·exp(-1.5·g) = target.
        self.ber_margin = -np.log(5 * cfg.target_ber) / 1.5
        self.dev_world, self.per_world = worlds if worlds is not None else (None, self.m)
        # float32 keeps 10,000 × 200 shadowing values at 8 MB.
        self.shadow_db = (rng.standard_normal((n_devices, self.per_world), dtype=np.float32)
                          * np.float32(cfg.shadowing_sigma_db))
        self.attached = np.full(n_devices, NO_NODE, dtype=np.int64)
        self.handovers = np.zeros(n_devices, dtype=np.int64)
        # Nearest-node candidates, refreshed for a device once it has moved REQUERY_M.
        self._cand = np.zeros((n_devices, self.k), dtype=np.int64)
        self._cand_xy = np.full((n_devices, 2), np.inf)

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
        """SNR in dB for the (device, node) pairs given (same-shaped index arrays)."""
        shadow = self.shadow_db[dev, self._own(dev, node)[0]].astype(np.float64)
        return self.eirp_dbm[node] - self.path_loss_db(d_m) - shadow - self.noise_dbm[node]

    def spectral_efficiency(self, snr_db: FloatArray) -> FloatArray:
        """Practical bit/s/Hz: log2(1 + SNR/Γ), capped."""
        snr = 10 ** (snr_db / 10)
        return np.minimum(np.log2(1 + snr / self.gap), self.cfg.max_spectral_efficiency_bps_hz)

    def pair_spectral_efficiency(self, dev: IntArray, node: IntArray,
                                 dev_xy: FloatArray) -> FloatArray:
        """Spectral efficiency for arbitrary (device, node) pairs (0 where out of service)."""
        d = np.hypot(*(dev_xy[dev] - self.node_xy[node]).T)
        snr = self.snr_db(dev, node, d)
        se = self.spectral_efficiency(snr)
        return np.where(snr >= self.cfg.min_snr_db, se, 0.0)

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

    def measure(self, dev_xy: FloatArray, moved_m: FloatArray,
                rng: np.random.Generator) -> LinkState:
        """Update shadowing along the devices' paths, (re)attach them and rate their links."""
        n, cfg = dev_xy.shape[0], self.cfg
        rows = np.arange(n)
        if self.m == 0 or n == 0:
            z = np.zeros(n)
            return LinkState(np.full(n, NO_NODE, np.int64), np.zeros(n, bool), z, z, z, z, z, z,
                             z, z, z)
        assert self.tree is not None
        stale = np.flatnonzero(np.hypot(*(dev_xy - self._cand_xy).T) > self.REQUERY_M)
        if stale.size:
            _, fresh = self.tree.query(dev_xy[stale], k=self.k)
            self._cand[stale] = np.asarray(fresh, dtype=np.int64).reshape(stale.size, self.k)
            self._cand_xy[stale] = dev_xy[stale]
        cand = self._cand
        cur = self.attached
        # Candidates plus the current node (a duplicate column if it is already among them).
        cols = np.column_stack([cand, np.where(cur >= 0, cur, cand[:, 0])])
        self._update_shadowing(rows[:, None].repeat(self.k, 1), cand, moved_m, rng)
        d = np.hypot(dev_xy[:, 0, None] - self.node_xy[cols, 0],
                     dev_xy[:, 1, None] - self.node_xy[cols, 1])
        snr = self.snr_db(rows[:, None], cols, d)
        usable = (d <= self.coverage_m) & (snr >= cfg.min_snr_db)
        score = np.where(usable, snr, -np.inf)
        best_col = np.argmax(score[:, : self.k], axis=1)
        best_snr = score[rows, best_col]
        best = np.where(np.isfinite(best_snr), cand[rows, best_col], NO_NODE)
        cur_snr = np.where(cur >= 0, score[:, self.k], -np.inf)
        keep = np.isfinite(cur_snr) & (best_snr <= cur_snr + cfg.handover_hysteresis_db)
        new = np.where(keep, cur, best)
        handed = (cur >= 0) & (new >= 0) & (new != cur)
        self.handovers += handed
        self.attached = new
        col = np.where(keep, self.k, best_col)
        att = new >= 0
        link_snr = np.where(att, snr[rows, col], 0.0)
        link_d = np.where(att, d[rows, col], 0.0)
        return self._rate(new, handed, link_d, link_snr, rng)

    def _rate(self, node: IntArray, handed: BoolArray, d: FloatArray, snr_db: FloatArray,
              rng: np.random.Generator) -> LinkState:
        cfg = self.cfg
        att = node >= 0
        snr = 10 ** (snr_db / 10)
        bw = np.where(att, self.bandwidth_mhz[np.maximum(node, 0)], 0.0)
        shannon = np.where(att, bw * np.log2(1 + snr), 0.0)
        se = np.where(att, self.spectral_efficiency(snr_db), 0.0)
        # Modulation set for target BER at the mean SNR; this round's SNR varies by fading.
        fading_db = rng.normal(0.0, cfg.fast_fading_sigma_db, node.shape)
        ber = 0.2 * np.exp(-1.5 * self.ber_margin * 10 ** (fading_db / 10))
        ber = np.where(att, np.clip(ber, 0.0, 0.5), 0.0)
        per = -np.expm1(cfg.packet_bits * np.log1p(-ber))
        per = np.clip(per, 0.0, 0.999)
        retx = per / (1 - per)  # expected retransmissions (geometric)
        delay = np.where(att, cfg.air_interface_ms + cfg.harq_rtt_ms * retx, 0.0)
        jitter = np.where(att, cfg.base_jitter_ms + cfg.harq_rtt_ms * np.sqrt(per) / (1 - per), 0.0)
        residual = np.where(att, per ** (cfg.max_retransmissions + 1), 0.0)
        return LinkState(node, handed, d, np.where(att, snr_db, 0.0), shannon, se, ber, per,
                         delay, jitter, residual)
