"""Clear markets from CSV files and compare mechanisms (`edgemarket market ...`).

Commands: `clear` (per-resource auction of an orders file), `equilibrium` (bundle market
from buyers and sellers files), `demo` (a generated market cleared by every mechanism).
File formats and limits are those of `market.csvio`; mistakes exit with status 2 and one
line naming the file, row and column.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from app.commands.market_many import uniform_markets_json, uniform_markets_table
from app.errors import UserError
from market.batch import single_resource_optima
from market.csvio import (
    AgentIndex,
    OrderFile,
    OrderFileError,
    read_buyers_csv,
    read_orders_csv,
    read_sellers_csv,
)
from market.generate import random_market
from market.mechanisms import available_mechanisms, get_mechanism
from market.orders import Market
from market.resources import N_RESOURCES, RESOURCE_NAMES, RESOURCE_UNITS
from market.result import ClearingResult

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

AUCTIONS = ("uniform", "mcafee")


def _num(x: float) -> float | None:
    """JSON-safe float (NaN -> null)."""
    return None if math.isnan(x) or math.isinf(x) else float(x)


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, allow_nan=False))


def _summary(res: ClearingResult) -> dict[str, Any]:
    return {
        "welfare": float(res.welfare),
        "optimal_welfare": float(res.optimal_welfare),
        "efficiency": _num(res.efficiency),
        "buyer_payments": float(res.buyer_payments),
        "seller_revenue": float(res.seller_revenue),
        "platform_surplus": float(res.platform_surplus),
    }


def clear_report(
    res: ClearingResult, agents: AgentIndex, resources: list[int], params: dict[str, Any]
) -> dict[str, Any]:
    """The JSON document of `market clear`."""
    t = res.trades
    per = res.per_resource()
    out: dict[str, Any] = {}
    for r in resources:
        name = RESOURCE_NAMES[r]
        sel = np.flatnonzero(t.resource == r)
        p = per[name]
        out[name] = {
            "price": p["price"],
            "seller_price": _num(float(t.seller_price[sel[0]])) if sel.size else None,
            "quantity": p["quantity"],
            "unit": RESOURCE_UNITS[r],
            "trades": [
                {
                    "buyer": agents.label(int(t.buyer[i])),
                    "seller": agents.label(int(t.seller[i])),
                    "quantity": float(t.quantity[i]),
                    "price": float(t.price[i]),
                    "seller_price": float(t.seller_price[i]),
                }
                for i in sel.tolist()
            ],
            "welfare": p["welfare"],
            "buyer_payments": p["buyer_payments"],
            "seller_revenue": p["seller_revenue"],
            "platform_surplus": p["platform_surplus"],
        }
    return {"mechanism": res.mechanism, "params": params, "resources": out, **_summary(res)}


@app.command()
def clear(
    orders: Annotated[Path, typer.Option("--orders", help="CSV: side,resource,agent,quantity,price[,market]")],
    mechanism: Annotated[str, typer.Option(help="uniform (k-double auction) or mcafee")] = "uniform",
    k: Annotated[float, typer.Option(help="uniform: price = k*hi + (1-k)*lo of the Walrasian interval [lo, hi], k in [0, 1]")] = 0.5,
    unit: Annotated[float, typer.Option(help="mcafee: indivisible trading unit")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Clear single-resource bids and asks with a per-resource double auction.

    --json prints {mechanism, params, resources: {<resource>: {price, seller_price, quantity, unit, trades: [{buyer, seller, quantity, price, seller_price}], welfare, buyer_payments, seller_revenue, platform_surplus}}, welfare, optimal_welfare, efficiency, buyer_payments, seller_revenue, platform_surplus}.

    With a `market` column, each market id clears independently (all in one batched call)
    and --json prints {"markets": {"<id>": <the document above for that market>}}.

    Files are limited to 200 MiB and 5,000,000 rows.
    """
    if mechanism not in AUCTIONS:
        raise UserError(f"unknown mechanism {mechanism!r} (expected {' or '.join(AUCTIONS)})",
                        where="--mechanism")
    if not (math.isfinite(k) and 0.0 <= k <= 1.0):
        raise UserError(f"must be in [0, 1], got {k}", where="--k")
    if not (math.isfinite(unit) and unit > 0):
        raise UserError(f"must be > 0, got {unit}", where="--unit")
    try:
        book = read_orders_csv(orders)
    except OrderFileError as exc:
        raise UserError(str(exc)) from None
    params: dict[str, Any] = {"k": k} if mechanism == "uniform" else {"unit": unit}
    if book.market_ids is not None:
        _clear_markets(book, mechanism, params, orders, as_json)
        return
    res = get_mechanism(mechanism, **params).clear(book.market)
    m = book.market
    present = sorted(
        set(m.asks.resource.tolist()) | set(m.bids.resource[m.bids.resource >= 0].tolist())
    )
    report = clear_report(res, book.agents, present, params)
    if as_json:
        _echo_json(report)
        return
    table = Table(title=f"{mechanism} clearing of {orders}")
    for col in ("resource", "price", "quantity", "trades", "welfare", "buyers pay", "sellers get",
                "platform"):
        table.add_column(col, justify="left" if col == "resource" else "right")
    for name, d in report["resources"].items():
        table.add_row(
            name, "—" if d["price"] is None else f"{d['price']:.6g}", f"{d['quantity']:.6g}",
            str(len(d["trades"])), _fmt(d["welfare"]), _fmt(d["buyer_payments"]),
            _fmt(d["seller_revenue"]), _fmt(d["platform_surplus"]),
        )
    console = _console()
    console.print(table)
    console.print(
        f"welfare {res.welfare:.6g} of {res.optimal_welfare:.6g} optimal "
        f"(efficiency {_fmt(res.efficiency)})"
    )


def _present(m: Market) -> list[int]:
    """Resources with an ask or a bid in ``m``, ascending."""
    return sorted(set(m.asks.resource.tolist()) | set(m.bids.resource[m.bids.resource >= 0].tolist()))


def clear_markets_report(book: OrderFile, mechanism: str,
                         params: dict[str, Any]) -> dict[str, Any]:
    """{"markets": {id: clear_report}}: every market id of ``book`` cleared independently
    in one ``clear_many`` call (the batched path). Optima come from the per-resource
    crossings in one pass (market.batch.single_resource_optima), not one LP per market."""
    pairs = book.markets()
    markets = [m for _, m in pairs]
    for m, opt in zip(markets, single_resource_optima(markets).tolist(), strict=True):
        m.cache["optimal_welfare"] = opt
    results = get_mechanism(mechanism, **params).clear_many(markets)
    return {"markets": {mid: clear_report(res, book.agents, _present(m), params)
                        for (mid, m), res in zip(pairs, results, strict=True)}}


def _clear_markets(book: OrderFile, mechanism: str, params: dict[str, Any], path: Path,
                   as_json: bool) -> None:
    if mechanism == "uniform" and as_json:  # the JSON text straight from the flat arrays
        typer.echo(uniform_markets_json(book, float(params["k"])))
        return
    shown = 50  # a table of 100,000 rows helps nobody: the first ones, then the totals
    if mechanism == "uniform":  # flat arrays, no per-market objects (app.commands.market_many)
        rows, n_markets, welfare = uniform_markets_table(book, float(params["k"]), shown)
        optimum = welfare  # the k-DA trades the efficient volume (app.commands.market_many)
    else:
        report = clear_markets_report(book, mechanism, params)
        if as_json:
            # One line: json's indenting encoder is pure Python, ~10x slower on 1M trades.
            typer.echo(json.dumps(report, allow_nan=False))
            return
        docs = report["markets"]
        rows = [(mid, sum(len(r["trades"]) for r in d["resources"].values()), d["welfare"],
                 d["optimal_welfare"], d["efficiency"], d["buyer_payments"], d["seller_revenue"])
                for mid, d in list(docs.items())[:shown]]
        n_markets = len(docs)
        welfare = sum(d["welfare"] for d in docs.values())
        optimum = sum(d["optimal_welfare"] for d in docs.values())
    table = Table(title=f"{mechanism} clearing of {path}: {n_markets:,} markets")
    for col in ("market", "trades", "welfare", "optimal", "efficiency", "buyers pay",
                "sellers get"):
        table.add_column(col, justify="left" if col == "market" else "right")
    for mid, n, *figures in rows:
        table.add_row(mid, str(n), *(_fmt(x) for x in figures))
    console = _console()
    console.print(table)
    if n_markets > shown:
        console.print(f"... {n_markets - shown:,} more markets (--json prints all)")
    console.print(f"total welfare {welfare:.6g} of {optimum:.6g} optimal")


def _console() -> Console:
    """stdout console, at least 110 columns wide so tables are not truncated in pipes."""
    return Console(width=max(Console().width, 110))


def _fmt(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.6g}"


def equilibrium_report(res: ClearingResult, market: Market, agents: AgentIndex) -> dict[str, Any]:
    """The JSON document of `market equilibrium`."""
    bids, asks = market.bids, market.asks
    duals = res.info.get("dual_prices", [math.nan] * N_RESOURCES)
    used = (bids.demand.sum(axis=0) > 0) | (asks.capacity() > 0)
    t = res.trades
    pay = np.bincount(t.bid_index, weights=t.quantity * t.price, minlength=len(bids))
    rev = np.bincount(t.ask_index, weights=t.quantity * t.seller_price, minlength=len(asks))
    return {
        "prices": {
            RESOURCE_NAMES[r]: (_num(float(duals[r])) if used[r] else None)
            for r in range(N_RESOURCES)
        },
        "allocations": {
            "buyers": [
                {
                    "agent": agents.label(int(bids.agent[i])),
                    "bundles": float(res.bundles_served[i]),
                    "max_bundles": float(bids.max_bundles[i]),
                    "value": float(bids.value[i] * res.bundles_served[i]),
                    "payment": float(pay[i]),
                }
                for i in range(len(bids))
            ],
            "sellers": [
                {
                    "agent": agents.label(int(asks.agent[j])),
                    "resource": RESOURCE_NAMES[int(asks.resource[j])],
                    "sold": float(res.sold[j]),
                    "capacity": float(asks.quantity[j]),
                    "revenue": float(rev[j]),
                }
                for j in range(len(asks))
            ],
        },
        **_summary(res),
    }


@app.command()
def equilibrium(
    buyers: Annotated[Path, typer.Option("--buyers", help="CSV: agent,value,max_bundles,<resource>...")],
    sellers: Annotated[Path, typer.Option("--sellers", help="CSV: agent,resource,capacity,cost")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Walrasian equilibrium of a bundle market (welfare LP, prices = duals).

    --json prints {prices: {<resource>: dual price, or null if absent}, allocations: {buyers: [{agent, bundles, max_bundles, value, payment}], sellers: [{agent, resource, sold, capacity, revenue}]}, welfare, optimal_welfare, efficiency, buyer_payments, seller_revenue, platform_surplus}.
    """
    try:
        agents = AgentIndex()
        bids, _ = read_buyers_csv(buyers, agents)
        asks, _ = read_sellers_csv(sellers, agents)
    except OrderFileError as exc:
        raise UserError(str(exc)) from None
    market = Market(bids, asks)
    res = get_mechanism("equilibrium").clear(market)
    report = equilibrium_report(res, market, agents)
    if as_json:
        _echo_json(report)
        return
    console = _console()
    table = Table(title="equilibrium prices")
    table.add_column("resource")
    table.add_column("price", justify="right")
    table.add_column("volume", justify="right")
    for r, (name, p) in enumerate(report["prices"].items()):
        table.add_row(name, _fmt(p), f"{res.volume[r]:.6g} {RESOURCE_UNITS[r]}")
    console.print(table)
    served = sum(1 for b in report["allocations"]["buyers"] if b["bundles"] > 0)
    console.print(
        f"{served} of {len(bids)} buyers served; welfare {res.welfare:.6g} "
        f"(optimal {res.optimal_welfare:.6g}, efficiency {_fmt(res.efficiency)})"
    )


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    buyers: Annotated[int, typer.Option(help="bundle buyers")] = 300,
    sellers: Annotated[int, typer.Option(help="edge providers (4 resources each)")] = 60,
    rounds: Annotated[int, typer.Option(help="tatonnement rounds before the reported one")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Clear one generated bundle market with every mechanism and compare them."""
    for name, v, lo in (("--buyers", buyers, 1), ("--sellers", sellers, 1), ("--rounds", rounds, 0)):
        if v < lo or v > 1_000_000:
            raise UserError(f"must be between {lo} and 1000000, got {v}", where=name)
    market = random_market(buyers, sellers, seed)
    rows: list[dict[str, Any]] = []
    for name in available_mechanisms():
        mech = get_mechanism(name)
        t0 = time.perf_counter()
        if name == "tatonnement":  # let the posted prices settle first
            for _ in range(rounds):
                mech.clear(market)
        res = mech.clear(market)
        ms = (time.perf_counter() - t0) * 1e3
        rows.append({
            "mechanism": name,
            "prices": {n: _num(float(p)) for n, p in zip(RESOURCE_NAMES, res.prices, strict=True)},
            "trades": len(res.trades),
            "bundles_served": float(res.bundles_served.sum()),
            **_summary(res),
            "ms": round(ms, 2),
        })
    if as_json:
        _echo_json({"seed": seed, "buyers": buyers, "sellers": sellers, "results": rows})
        return
    table = Table(title=f"{buyers} bundle buyers, {sellers} providers, seed {seed}")
    for col in ("mechanism", "welfare", "effic.", "bundles", "trades", "platform",
                "prices comm/cache/comp/learn", "ms"):
        table.add_column(col, justify="left" if col == "mechanism" else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            r["mechanism"], f"{r['welfare']:.1f}",
            "—" if r["efficiency"] is None else f"{r['efficiency']:.3f}",
            f"{r['bundles_served']:.1f}", str(r["trades"]), f"{r['platform_surplus']:.2f}",
            " / ".join("—" if p is None else f"{p:.3g}" for p in r["prices"].values()),
            f"{r['ms']:.1f}",
        )
    console = _console()
    console.print(table)
    console.print(
        "welfare = value of complete bundles - cost of units sold; per-resource auctions "
        "(uniform, mcafee) split bundle bids and may sell parts of bundles never completed."
    )
