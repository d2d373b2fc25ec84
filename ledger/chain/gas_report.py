"""Gas per contract method: record, tabulate, snapshot to a file and check against it.

Used by the pytest plugin (``--gas-report``, ``--gas-snapshot``, ``--gas-check``); pure
Python with no chain imports, so loading the plugin stays cheap.

A snapshot is JSON ``{"Contract.method": {"calls", "min", "mean", "median", "max"}}``.
:func:`compare` fails a method when its ``min``, ``median`` or ``max`` grew by more than the
tolerance (percent): a change to the cheap path, the typical path or the worst path of a
method is a regression even when the others did not move.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CHECKED = ("min", "median", "max")
"""The statistics ``--gas-check`` compares."""


def _median(values: list[int]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


@dataclass
class GasRecorder:
    """Gas used by every successful transaction, by (contract name, method name)."""

    enabled: bool = False
    samples: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))

    def record(self, contract: str, method: str, gas: int) -> None:
        """Add one transaction's ``gasUsed`` (ignored unless enabled)."""
        if self.enabled:
            self.samples[(contract, method)].append(int(gas))

    def stats(self) -> dict[str, dict[str, float]]:
        """``{"Contract.method": {calls, min, mean, median, max}}``, sorted by key."""
        out: dict[str, dict[str, float]] = {}
        for (contract, method), gas in sorted(self.samples.items()):
            out[f"{contract}.{method}"] = {
                "calls": len(gas),
                "min": min(gas),
                "mean": round(sum(gas) / len(gas), 1),
                "median": _median(gas),
                "max": max(gas),
            }
        return out


def table(stats: dict[str, dict[str, float]]) -> str:
    """A fixed-width table, one row per contract method."""
    if not stats:
        return "no contract transactions were recorded"
    rows = [("contract.method", "calls", "min", "mean", "median", "max")]
    for key, s in stats.items():
        rows.append(
            (key, f"{s['calls']:.0f}", f"{s['min']:,.0f}", f"{s['mean']:,.0f}",
             f"{s['median']:,.0f}", f"{s['max']:,.0f}")
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_snapshot(path: str | Path, stats: dict[str, dict[str, float]]) -> Path:
    """Write ``stats`` as the gas snapshot file (sorted keys, stable diffs in review)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
    return path


def load_snapshot(path: str | Path) -> dict[str, dict[str, float]]:
    """Read a snapshot file written by :func:`write_snapshot`."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a gas snapshot (expected a JSON object)")
    return data


def compare(
    baseline: dict[str, dict[str, float]],
    current: dict[str, dict[str, float]],
    tolerance_pct: float,
) -> tuple[list[str], list[str]]:
    """(regressions, notes): methods whose gas grew beyond ``tolerance_pct``, and the rest.

    Notes list methods missing from either side (not failures: a test set can change).
    """
    regressions: list[str] = []
    notes: list[str] = []
    for key in sorted(set(baseline) | set(current)):
        if key not in current:
            notes.append(f"{key}: in the snapshot, not called in this run")
            continue
        if key not in baseline:
            notes.append(f"{key}: new (not in the snapshot)")
            continue
        for stat in CHECKED:
            old, new = float(baseline[key][stat]), float(current[key][stat])
            limit = old * (1 + tolerance_pct / 100)
            if new > limit:
                growth = (new / old - 1) * 100 if old else float("inf")
                regressions.append(
                    f"{key}: {stat} gas {old:,.0f} -> {new:,.0f} (+{growth:.2f} %, "
                    f"tolerance {tolerance_pct:g} %)"
                )
    return regressions, notes
