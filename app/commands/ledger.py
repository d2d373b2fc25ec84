"""Settle markets on a local chain: compile, run a node, deploy, test and analyze contracts.

Commands: `reconcile RUN_ID` (a stored run against its chain, to the base unit),
`compile` (contracts, cached), `node` (a local Anvil that keeps its state),
`deploy` (the four contracts on a node, addresses to a JSON file), `demo` (settle generated
rounds on a throwaway chain and reconcile), `test` (the Solidity fuzz/invariant suites with
forge, offline; `--root DIR` runs a user's own foundry project the same way) and `analyze` (slither). Chain mistakes exit with status 2 and one line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from app.errors import UserError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command("compile")
def compile_cmd(
    force: Annotated[bool, typer.Option("--force", help="recompile even if cached")] = False,
) -> None:
    """Compile the contracts (cached by source hash under data/artifacts/)."""
    from ledger.chain.compiler import CompileError, load_artifacts

    t0 = time.perf_counter()
    try:
        artifacts = load_artifacts(force=force)
    except CompileError as exc:
        raise UserError(str(exc).splitlines()[0], where="contracts") from None
    for name, art in sorted(artifacts.items()):
        if art.source.startswith("contracts/") and len(art.deployed_bytecode) > 4:
            typer.echo(f"{name:<24} {(len(art.deployed_bytecode) - 2) // 2:>6} bytes  {art.source}")
    typer.echo(f"compiled in {time.perf_counter() - t0:.2f} s")


@app.command()
def node(
    state: Annotated[Path | None, typer.Option(help="state file, kept across restarts (default: <data dir>/chain/node.json)")] = None,
    port: Annotated[int, typer.Option(help="TCP port (0 = any free port)")] = 8545,
    state_interval: Annotated[int, typer.Option(help="seconds between state dumps")] = 5,
) -> None:
    """Run a local Anvil on 127.0.0.1 until Ctrl-C; its state survives restarts."""
    from ledger.chain.anvil import AnvilError, AnvilProcess
    from ledger.chain.paths import data_dir

    state = state if state is not None else data_dir("chain") / "node.json"
    proc = AnvilProcess(state_path=state.resolve(), port=port or None, state_interval=state_interval)
    try:
        proc.start()
    except AnvilError as exc:
        raise UserError(str(exc).splitlines()[0], where="anvil") from None
    typer.echo(f"anvil at {proc.rpc_url} (state {proc.state_path}); Ctrl-C to stop")
    try:
        while proc.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        proc.stop()
    typer.echo("stopped; state saved")


@app.command()
def deploy(
    rpc_url: Annotated[str, typer.Option("--rpc-url", help="JSON-RPC endpoint")] = "http://127.0.0.1:8545",
    out: Annotated[Path | None, typer.Option(help="where to write the addresses (default: <data dir>/chain/deployment.json)")] = None,
    private_key: Annotated[
        str | None, typer.Option(envvar="EDGEMARKET_OPERATOR_KEY", help="operator key (default: Anvil's first)")
    ] = None,
    exit_delay: Annotated[int, typer.Option(help="node exit delay, seconds")] = 3600,
    admin: Annotated[str | None, typer.Option(help="admin address (default: the deploying key)")] = None,
    treasury: Annotated[str | None, typer.Option(help="treasury address (default: the deploying key)")] = None,
    operator: Annotated[str | None, typer.Option(help="operator address (default: the deploying key)")] = None,
) -> None:
    """Deploy token, settlement, incentives and stakes (roles wired) and save their addresses.

    Admin, treasury and operator may be three addresses (docs/contracts.md, trust model); an
    admin other than the deploying key takes over in two steps, after the admin delay.
    """
    from eth_utils import is_address, to_checksum_address

    from ledger.chain.errors import ChainError
    from ledger.chain.session import ChainSession

    roles = {"admin": admin, "treasury": treasury, "operator": operator}
    for name, value in roles.items():
        if value is not None and not is_address(value):
            raise UserError(f"not an address: {value!r}", where=f"--{name}")
    roles = {k: to_checksum_address(v) if v else None for k, v in roles.items()}
    try:
        with ChainSession(rpc_url, private_key=private_key) as session:
            dep = session.deploy(exit_delay_s=exit_delay, **roles)
            deployer = session.admin_sender.address
    except (ChainError, ValueError) as exc:
        raise UserError(str(exc).splitlines()[0], where=rpc_url) from None
    if out is None:
        from ledger.chain.paths import data_dir

        out = data_dir("chain") / "deployment.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    dep.save(out)
    typer.echo(json.dumps(dep.as_dict(), indent=2))
    typer.echo(f"saved to {out}")
    if dep.admin != deployer:
        typer.echo(f"admin hand-over started: {dep.admin} must call acceptDefaultAdminTransfer() on the four "
                   f"contracts after the admin delay; until then {deployer} stays admin")


@app.command()
def demo(
    rounds: Annotated[int, typer.Option(min=1, max=1000, help="rounds to settle")] = 5,
    trades: Annotated[int, typer.Option(min=1, max=20_000, help="trades per round")] = 1000,
    participants: Annotated[int, typer.Option(min=2, max=5000, help="agents (1/5 are edge nodes)")] = 200,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Settle generated rounds on a throwaway Anvil, verify a trade and reconcile."""
    from types import SimpleNamespace

    import numpy as np

    from ledger.chain.encoding import net_trades
    from ledger.chain.reconcile import reconcile
    from ledger.chain.session import ChainSession
    from ledger.units import to_base

    rng = np.random.default_rng(seed)
    n_nodes = max(1, participants // 5)
    devices = np.arange(participants - n_nodes)
    nodes = np.arange(participants - n_nodes, participants)
    with ChainSession() as chain:
        chain.deploy()
        chain.register_participants(range(participants), 10_000.0, node_ids=nodes.tolist(), stakes=100.0)
        expected = dict.fromkeys(range(participants), to_base(10_000.0))
        total_gas, t0 = 0, time.perf_counter()
        for r in range(rounds):
            price = np.round(rng.uniform(0.01, 1.0, trades), 6)
            tr = SimpleNamespace(
                buyer=rng.choice(devices, trades), seller=rng.choice(nodes, trades),
                resource=rng.integers(0, 4, trades), quantity=np.round(rng.uniform(0.1, 5, trades), 3),
                price=price, seller_price=price * 0.98,
            )  # fmt: skip
            net, fee = net_trades(tr)
            prices = [float(np.median(tr.price[tr.resource == k])) if np.any(tr.resource == k) else float("nan")
                      for k in range(4)]  # fmt: skip
            rec = chain.settle_round(seed, r, net, prices, tr, {int(n): 1.0 for n in nodes}, [], fee)
            for aid, d in rec.deltas.items():
                expected[aid] += d
            total_gas += rec.gas_used
            typer.echo(f"round {r}: block {rec.block}, {rec.accounts} accounts, gas {rec.gas_used:,} "
                       f"({rec.gas_per_trade:,.0f}/trade)")  # fmt: skip
        elapsed = time.perf_counter() - t0
        ok = chain.verify_trade(seed, rounds - 1, 0)
        report = reconcile(expected, chain)
    typer.echo(f"{rounds * trades} trades in {elapsed:.2f} s ({rounds * trades / elapsed:,.0f} trades/s), "
               f"{total_gas / (rounds * trades):,.0f} gas/trade")  # fmt: skip
    typer.echo(f"trade 0 of round {rounds - 1} proven on chain: {ok}")
    typer.echo(report.diff())
    if not report.ok:
        raise typer.Exit(1)


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test_cmd(
    ctx: typer.Context,
    root: Annotated[
        Path | None,
        typer.Option("--root", help="your own foundry project (default: edgemarket's contracts)"),
    ] = None,
) -> None:
    """Run Solidity tests with forge, offline, with the project's solc (extra arguments go to `forge test`)."""
    from ledger.chain.forge import check_root, run_forge

    if root is not None:
        try:
            check_root(root)
        except ValueError as exc:
            raise UserError(str(exc), where="--root") from None
    try:
        proc = run_forge(["test", *ctx.args], capture=False, timeout=None, root=root)
    except FileNotFoundError as exc:
        raise UserError(str(exc), where="forge") from None
    raise typer.Exit(proc.returncode)


@app.command()
def analyze(
    as_json: Annotated[bool, typer.Option("--json", help="JSON findings")] = False,
) -> None:
    """Static analysis with slither; exit 1 on any High or Medium finding."""
    from ledger.chain.analysis import main as slither_main

    try:
        code = slither_main(["--json"] if as_json else [])
    except (FileNotFoundError, RuntimeError) as exc:
        raise UserError(str(exc).splitlines()[0], where="slither") from None
    raise typer.Exit(code)


@app.command()
def reconcile(
    run_id: Annotated[int, typer.Argument(help="stored run id (see `edgemarket runs list`)")],
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the run store")] = None,
    rpc_url: Annotated[str | None, typer.Option("--rpc-url", help="the chain's JSON-RPC URL (default: the run's own Anvil state)")] = None,
) -> None:
    """Compare a run's store with its chain's balances and events, to the base unit.

    Balances are recomputed from the stored trades, fees and attested violations; each
    stored round is checked on chain (settled once, trade count, Merkle root, fee).
    Exit status 0 when they agree, 1 with a readable diff naming what doesn't.
    """
    from ledger.settle import RunSettler
    from ledger.store import RunStore

    store = RunStore(db)
    try:
        settler = RunSettler.reopen(store, run_id, rpc_url)
    except LookupError as exc:
        raise UserError(str(exc).strip("'\""), where="RUN_ID") from None
    try:
        pending = store.settlements(run_id, "pending")
        report = settler.reconcile()
        problems = settler.audit_rounds()
    finally:
        settler.close()
    typer.echo(str(report) if report.ok else report.diff())
    for line in problems:
        typer.echo(line)
    if pending:
        typer.echo(f"{len(pending)} round(s) still pending in the outbox: "
                   f"`edgemarket run --resume {run_id} --db {store.url}` settles them")
    raise typer.Exit(0 if report.ok and not pending and not problems else 1)
