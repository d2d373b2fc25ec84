"""A sweep's results as one tidy table: cell parameters, then metrics with CIs over seeds.

    from app.sweep_table import sweep_runs, tidy_sweep
    per_run = sweep_runs("sqlite:///data/edgemarket.db", "smart_city")   # one row per run
    cells = tidy_sweep("sqlite:///data/edgemarket.db", "smart_city")     # one row per cell

A sweep's runs are the *done* runs labelled ``sweep:<name>:...`` (app.sweep). A cell's
parameters are the scenario fields that differ between the sweep's runs (read from each
run's stored scenario, so hashed labels of long grids work too). Metrics are every numeric
scalar of the stored run summary (efficiency, welfare, trades, SLA rate, ... and any field
a later summary adds, e.g. delivered welfare) plus the request-weighted mean QoAIS.

Per cell and metric: ``<metric>_mean``, ``<metric>_ci_low``, ``<metric>_ci_high`` (Student-t
interval over the cell's seeds, 95 % by default; equal to the mean for one seed) and
``n_seeds``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from app.errors import UserError

#: Summary fields that are identifiers or timings, not outcomes to average.
_NOT_METRICS = {"run_id", "seed", "rounds"}


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t confidence interval of the mean of `values`.

    half-width = t_{(1+level)/2, n-1} * s / sqrt(n), s the sample standard deviation;
    with one value the interval is that value; NaNs are left out.
    """
    from scipy import stats

    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return math.nan, math.nan, math.nan
    m = sum(xs) / n
    if n == 1:
        return m, m, m
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * s / math.sqrt(n)
    return m, m - half, m + half


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = json.dumps(v, sort_keys=True) if isinstance(v, list) else v
    return out


def _metrics(summary: dict[str, Any]) -> dict[str, float]:
    out = {k: float(v) for k, v in summary.items()
           if k not in _NOT_METRICS and isinstance(v, int | float) and not isinstance(v, bool)}
    classes = summary.get("qoais") or {}
    req = sum(c.get("requests", 0) for c in classes.values())
    if req:
        out["qoais_mean"] = sum(c.get("qoais", 0.0) * c.get("requests", 0) for c in classes.values()) / req
    return out


def sweep_runs(db_url: str | None, name: str) -> pd.DataFrame:
    """One row per done run of sweep `name`: run_id, the varying scenario fields, seed and
    the metrics; UserError when the store holds no such sweep."""
    from sqlalchemy import select

    from ledger.store import Run, RunStore

    store = RunStore(db_url)
    try:
        with store.engine.connect() as c:
            rows = c.execute(select(Run.id, Run.seed, Run.scenario_json, Run.summary, Run.label)
                             .where(Run.label.startswith(f"sweep:{name}:", autoescape=True),
                                    Run.status == "done").order_by(Run.id)).all()
    finally:
        store.close()
    if not rows:
        raise UserError(f"no done runs of sweep {name!r} in the store", where="sweep")
    flat = [_flatten(r.scenario_json) for r in rows]
    keys = sorted({k for f in flat for k in f})
    varying = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]
    records = []
    for r, f in zip(rows, flat, strict=True):
        records.append({"run_id": r.id, **{k: f.get(k) for k in varying}, "seed": int(r.seed),
                        **_metrics(r.summary or {})})
    df = pd.DataFrame.from_records(records)
    df.attrs["parameters"] = varying
    return df


def tidy_sweep(db_url: str | None, name: str, level: float = 0.95) -> pd.DataFrame:
    """One row per cell of sweep `name`: its parameters, n_seeds and, per metric,
    `<metric>_mean`, `<metric>_ci_low`, `<metric>_ci_high` (see `mean_ci`)."""
    runs = sweep_runs(db_url, name)
    params: list[str] = runs.attrs["parameters"]
    metrics = [c for c in runs.columns if c not in (*params, "run_id", "seed")]
    rows = []
    groups = runs.groupby(params, dropna=False, sort=True) if params else [((), runs)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(params, key, strict=True))
        row["n_seeds"] = len(g)
        for m in metrics:
            mean, lo, hi = mean_ci(g[m].tolist(), level)
            row.update({f"{m}_mean": mean, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
        rows.append(row)
    out = pd.DataFrame.from_records(rows)
    out.attrs.update(parameters=params, metrics=metrics, level=level)
    return out


def write_table(db_url: str | None, name: str, path: str | Path, level: float = 0.95) -> Path:
    """`tidy_sweep` written to `path` (.csv, or .parquet through pyarrow)."""
    p = Path(path)
    if p.suffix not in (".csv", ".parquet"):
        raise UserError(f"must end in .csv or .parquet, got {p.name!r}", where="--table")
    df = tidy_sweep(db_url, name, level)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".csv":
        df.to_csv(p, index=False)
    else:
        df.to_parquet(p, engine="pyarrow", index=False)
    return p
