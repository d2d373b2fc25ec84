"""Get a run out of the store: `load_run` (pandas) and `export_run` (Parquet or CSV files).

    >>> from ledger.store.export import load_run
    >>> run = load_run("sqlite:///data/edgemarket.db", 1)
    >>> run.trades.groupby("resource")["quantity"].sum()

`load_run(db_url, run_id)` returns a `RunTables` whose attributes are DataFrames, one per
table of the run (`RunTables.TABLES` lists them):

- ``rounds``: one row per round (welfare, optimum, efficiency, payments, requests, SLA,
  QoAIS, handovers; per-resource price, equilibrium price, volume and unmet demand);
- ``prices``: long format, one row per (round, resource);
- ``trades``: every trade, with the resource by name and the buyer's and seller's kind;
- ``requests``: one row per request (round, request, device, class, provider, SLA met,
  latency, reliability, value, payment) with every per-request QoAIS score as a column
  ``qoais_<dimension>_<indicator>`` (``agents.request_records`` defines them), from the
  store's ``request_batches``; empty for runs stored before them or with
  ``store.requests: none``, and only the sampled devices' requests with ``sample``;
- ``requests_by_class``: per (round, service class) the request counts, SLA rate and the
  class means of the QoAIS dimensions and indicators, as ``qoais_<dimension>_<indicator>``;
- ``qoais_indicators``: long format, per (round, service class, indicator) the mean
  indicator score over the class's served requests, with the dimension and indicator
  by name and the matching ``requests`` column name;
- ``settlements``: the settlement outbox (amounts in credits, payload as JSON text);
- ``snapshots``: sampled agent states (kind, position in m, attachment, utilization);
- ``order_curves``: the pooled demand and supply curves, resource and side by name;
- ``accounts``: every agent known to the run (id, kind, chain address when settled);
- ``venue_prices``: per round, venue and offered resource, the clearing price beside the LP
  duals (on the orders as submitted and on true costs), units traded and offered.

``manifest`` is a dict: the scenario resolved with every default and its content hash,
seed, mechanism, package versions, the git commit, the chain id and contract addresses.
Units follow the store (credits, credits per unit, metres, ms).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Float, cast, column, inspect, select, table

from agents.qoais import INDICATOR_NAMES
from agents.request_records import indicator_column
from ledger.store.database import open_engine
from ledger.store.models import (
    RESOURCE_SUFFIXES,
    AgentAccount,
    OrderCurveRow,
    QoAISIndicatorRow,
    QoAISRow,
    RoundRow,
    Settlement,
    Snapshot,
    TradeRow,
)
from ledger.store.queries import QOAIS_DIMENSIONS, RESOURCES, _frame, price_series, run_info
from ledger.store.request_batches import read_requests
from ledger.store.venue_rows import venue_price_frame
from ledger.units import BASE_UNITS_PER_CREDIT

FORMATS = ("parquet", "csv")
SIDES = ("demand", "supply")  # OrderCurveRow.side 0 / 1

#: Packages whose versions a manifest records (the ones that shape a run's numbers).
MANIFEST_PACKAGES = (
    "edgemarket", "numpy", "scipy", "numba", "pandas", "mesa", "pydantic", "sqlalchemy",
    "alembic", "web3", "pyarrow", "torch", "ray",
)

#: QoAIS columns of the store that are not named `<dimension>_<indicator>`, and where
#: their indicator belongs (agents/qoais.py: accuracy is a performance indicator,
#: reliability a connection one; end-to-end latency is the performance budget's measure).
_LEGACY_QOAIS = {
    "overall": ("overall", "score"),
    "latency_ms_mean": ("performance", "latency_ms_mean"),
    "latency_ms_p95": ("performance", "latency_ms_p95"),
    "reliability": ("connection", "reliability"),
    "accuracy": ("performance", "accuracy"),
}
_REQUEST_KEYS = ("run_id", "round", "service_class", "n_requests", "n_served", "sla_rate")


class ExportError(ValueError):
    """The run or the output cannot be exported (unknown run, bad format, unusable folder)."""


@dataclass
class RunTables:
    """Every table of one run as a pandas DataFrame, plus its manifest (see the module doc)."""

    TABLES = ("rounds", "prices", "trades", "requests", "settlements", "snapshots",
              "order_curves", "accounts", "requests_by_class", "qoais_indicators", "venue_prices")

    run_id: int
    manifest: dict[str, Any]
    rounds: pd.DataFrame
    prices: pd.DataFrame
    trades: pd.DataFrame
    requests: pd.DataFrame
    settlements: pd.DataFrame
    snapshots: pd.DataFrame
    order_curves: pd.DataFrame
    accounts: pd.DataFrame
    requests_by_class: pd.DataFrame = field(default_factory=pd.DataFrame)
    qoais_indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, Any] = field(default_factory=dict)
    # Per round, venue and resource: clearing price beside the LP duals (ledger/store/venue_rows.py).
    venue_prices: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The DataFrames by table name."""
        return {name: getattr(self, name) for name in self.TABLES}


# ---------------------------------------------------------------------------- manifest
def scenario_hash(scenario_json: dict[str, Any]) -> str:
    """sha256 of the scenario as canonical JSON (sorted keys, no spaces): equal scenarios,
    however they were written (YAML, overrides, defaults left out), hash the same."""
    text = json.dumps(scenario_json, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in MANIFEST_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git_head() -> str | None:
    """The full commit of the checkout this package runs from, or None outside git."""
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parents[2])
    except (OSError, subprocess.SubprocessError):
        return None
    return (res.stdout.strip() or None) if res.returncode == 0 else None


def run_manifest(info: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a run from its `runs` row (`queries.run_info`)."""
    from agents.scenario import Scenario

    # Re-validate so a run stored before a field existed still lists every default now.
    scen = Scenario.model_validate(info["scenario_json"]).model_dump(mode="json")
    chain_info = info.get("chain_info") or {}
    dep = chain_info.get("deployment") or {}
    code = str(info.get("code_version") or "")
    return {
        "run_id": int(info["id"]),
        "scenario_name": info["scenario"],
        "scenario": scen,
        "scenario_hash": scenario_hash(scen),
        "seed": int(info["seed"]),
        "mechanism": info["mechanism"],
        "rounds_planned": int(info["rounds_planned"]),
        "rounds_done": int(info["rounds_done"]),
        "status": info["status"],
        "label": info.get("label") or "",
        "created_at": str(info["created_at"]),
        "code_version": code,  # package version + short commit when the run was made
        "git_commit": code.split("+", 1)[1] if "+" in code else None,
        "export_git_commit": _git_head(),
        "packages": _versions(),
        "chain": {
            "target": info.get("chain"),
            "chain_id": dep.get("chain_id"),
            "deploy_block": dep.get("block"),
            "contracts": {k: dep[k] for k in ("token", "settlement", "incentives", "stakes") if k in dep},
            "state_file": chain_info.get("state_file"),
        },
        "summary": info.get("summary"),
    }


# ------------------------------------------------------------------------------ tables
def _rounds(bind: Engine, run_id: int) -> pd.DataFrame:
    r = RoundRow
    df = _frame(bind, select(*[c for c in r.__table__.c if c.name != "run_id"])
                .where(r.run_id == run_id).order_by(r.round))
    # price_comm -> price_communication: names, not the store's column suffixes
    ren = {f"{p}_{s}": f"{p}_{n}" for s, n in zip(RESOURCE_SUFFIXES, RESOURCES, strict=True)
           for p in ("price", "eq_price", "volume", "unmet")}
    return df.rename(columns=ren)


def _kinds(bind: Engine, run_id: int, info: dict[str, Any]) -> pd.DataFrame:
    """agent_id -> kind (and address): the settled accounts, then snapshot kinds, and for
    agents in neither (a run without chain or snapshots) the scenario's model, rebuilt."""
    a = AgentAccount
    acc = _frame(bind, select(a.agent_id, a.kind, a.address,
                              (cast(a.initial_base, Float) / BASE_UNITS_PER_CREDIT).label("initial_credits"))
                 .where(a.run_id == run_id))
    s = Snapshot
    snap = _frame(bind, select(s.agent_id, s.kind).distinct().where(s.run_id == run_id))
    known = set(acc["agent_id"].tolist())
    snap = snap[~snap["agent_id"].isin(known)]
    df = pd.concat([acc, snap], ignore_index=True) if len(snap) else acc
    t = TradeRow
    traders = _frame(bind, select(t.buyer.label("agent_id")).distinct().where(t.run_id == run_id)
                     .union(select(t.seller).distinct().where(t.run_id == run_id)))
    if not set(traders["agent_id"].tolist()) <= set(df["agent_id"].tolist()):
        from agents.model import EdgeMarketModel
        from agents.scenario import Scenario
        from app.runner import participants

        # Building the model only lays out agents (no round is run); ids are deterministic.
        model = EdgeMarketModel(Scenario.model_validate(info["scenario_json"]), seed=int(info["seed"]))
        p = participants(model, 0)
        built = pd.DataFrame({"agent_id": p["agent_id"], "kind": p["kind"]})
        built = built[~built["agent_id"].isin(set(df["agent_id"].tolist()))]
        df = pd.concat([df, built], ignore_index=True)
    df = df.reindex(columns=["agent_id", "kind", "address", "initial_credits"])
    df["address"] = df["address"].fillna("")
    df["agent_id"] = df["agent_id"].astype("int64")
    return df.sort_values("agent_id", kind="stable").reset_index(drop=True)


def _trades(bind: Engine, run_id: int, kinds: pd.DataFrame) -> pd.DataFrame:
    t = TradeRow
    df = _frame(bind, select(t.round, t.idx, t.buyer, t.seller, t.resource, t.quantity, t.price)
                .where(t.run_id == run_id).order_by(t.round, t.idx))
    df["resource"] = pd.Categorical.from_codes(df["resource"].astype(int), categories=list(RESOURCES)).astype(str)
    kind = dict(zip(kinds["agent_id"], kinds["kind"], strict=True))
    df.insert(df.columns.get_loc("buyer") + 1, "buyer_kind", df["buyer"].map(kind))
    df.insert(df.columns.get_loc("seller") + 1, "seller_kind", df["seller"].map(kind))
    df["value_credits"] = df["quantity"] * df["price"]
    return df


def qoais_column(store_column: str) -> str:
    """The export name `qoais_<dimension>_<indicator>` of a QoAIS column of the store.

    A dimension score is `qoais_<dimension>_score`; a column already named
    `<dimension>_<indicator>` keeps its indicator; the older indicator columns map through
    `_LEGACY_QOAIS`; anything else lands under `qoais_other_<column>` rather than vanish.
    """
    if store_column in QOAIS_DIMENSIONS:
        return f"qoais_{store_column}_score"
    if store_column in _LEGACY_QOAIS:
        dim, ind = _LEGACY_QOAIS[store_column]
        return f"qoais_{dim}_{ind}"
    for dim in QOAIS_DIMENSIONS:
        if store_column.startswith(dim + "_"):
            return f"qoais_{store_column}"
    return f"qoais_other_{store_column}"


def _requests_by_class(bind: Engine, run_id: int) -> pd.DataFrame:
    # Read the table as the database has it (not the ORM class), so an indicator column
    # another migration adds shows up here without a change to this module.
    cols = [c["name"] for c in inspect(bind).get_columns(QoAISRow.__tablename__)]
    t = table(QoAISRow.__tablename__, *(column(c) for c in cols))
    df = _frame(bind, select(*(t.c[c] for c in cols if c != "run_id"))
                .where(t.c.run_id == run_id).order_by(t.c.round, t.c.service_class))
    return df.rename(columns={c: qoais_column(c) for c in cols if c not in _REQUEST_KEYS})


def _qoais_indicators(bind: Engine, run_id: int) -> pd.DataFrame:
    qi = QoAISIndicatorRow
    df = _frame(bind, select(qi.round, qi.service_class, qi.dimension, qi.indicator, qi.value)
                .where(qi.run_id == run_id).order_by(qi.round, qi.service_class))
    order = {name: i for i, name in enumerate(INDICATOR_NAMES)}  # Table 3's order, not A-Z
    df["column"] = [indicator_column(d, i) for d, i in zip(df["dimension"], df["indicator"], strict=True)]
    df["_k"] = df["indicator"].map(order)
    df = df.sort_values(["round", "service_class", "_k"], kind="stable").drop(columns="_k")
    return df.reset_index(drop=True)


def _settlements(bind: Engine, run_id: int) -> pd.DataFrame:
    st = Settlement
    df = _frame(bind, select(
        st.round, st.status, st.n_trades,
        (cast(st.netted_base, Float) / BASE_UNITS_PER_CREDIT).label("netted_credits"),
        st.tx_hash, st.block, st.gas_used, st.created_at, st.confirmed_at, st.payload,
    ).where(st.run_id == run_id).order_by(st.round))
    df["payload"] = [json.dumps(p, sort_keys=True) for p in df["payload"]]
    df = df.rename(columns={"payload": "payload_json"})
    for col in ("block", "gas_used"):
        df[col] = df[col].astype("Int64")
    return df


def _snapshots(bind: Engine, run_id: int) -> pd.DataFrame:
    s = Snapshot
    return _frame(bind, select(s.round, s.agent_id, s.kind, s.x_m, s.y_m, s.attached, s.utilization)
                  .where(s.run_id == run_id).order_by(s.round, s.agent_id))


def _order_curves(bind: Engine, run_id: int) -> pd.DataFrame:
    o = OrderCurveRow
    df = _frame(bind, select(o.round, o.resource, o.side, o.step, o.quantity, o.price)
                .where(o.run_id == run_id).order_by(o.round, o.resource, o.side, o.step))
    df["resource"] = [RESOURCES[int(i)] for i in df["resource"]]
    df["side"] = [SIDES[int(i)] for i in df["side"]]
    return df


def _engine(db: str | Engine | None) -> tuple[Engine, bool]:
    if isinstance(db, Engine):
        return db, False
    return open_engine(db), True


def load_run(db_url: str | Engine | None, run_id: int) -> RunTables:
    """Every table of run `run_id` in the store at `db_url` (a SQLAlchemy URL or Engine;
    None: the default store) as DataFrames; raises ExportError for an unknown run."""
    engine, own = _engine(db_url)
    try:
        info = run_info(engine, run_id)
        if info is None:
            raise ExportError(f"RUN_ID: no run with id {run_id} in {engine.url}")
        kinds = _kinds(engine, run_id, info)
        return RunTables(
            run_id=run_id, manifest=run_manifest(info), rounds=_rounds(engine, run_id),
            prices=price_series(engine, run_id), trades=_trades(engine, run_id, kinds),
            requests=read_requests(engine, run_id), settlements=_settlements(engine, run_id),
            snapshots=_snapshots(engine, run_id), order_curves=_order_curves(engine, run_id),
            accounts=kinds, requests_by_class=_requests_by_class(engine, run_id),
            qoais_indicators=_qoais_indicators(engine, run_id), venue_prices=venue_price_frame(engine, run_id),
        )
    finally:
        if own:
            engine.dispose()


def export_run(db_url: str | Engine | None, run_id: int, out_dir: str | Path,
               fmt: str = "parquet") -> list[Path]:
    """Write every table of a run to `out_dir/<table>.<fmt>` plus `manifest.json`; returns
    the paths written. Parquet goes through pyarrow; CSV is plain (UTF-8, header, no index)."""
    if fmt not in FORMATS:
        raise ExportError(f"--format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out: {out} exists and is not a folder")
    run = load_run(db_url, run_id)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in run.tables().items():
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(path, engine="pyarrow", index=False)
        else:
            df.to_csv(path, index=False)
        paths.append(path)
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps({**run.manifest, "format": fmt,
                                    "files": {n: f"{n}.{fmt}" for n in run.TABLES}},
                                   indent=2, default=str) + "\n")
    paths.append(manifest)
    return paths
