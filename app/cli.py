"""The `edgemarket` command line: one entry point over the same Python API the app uses.

Each command group lives in its own module under `app.commands`; this module wires them
together and turns user errors into a one-line message with exit status 2.
"""

from __future__ import annotations

import importlib
import sys
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from app.errors import UserError

# name -> (module, group?, one-line help). A group module exposes `app`; a command module
# exposes `register(cli)`. Nothing here is imported until its command runs, so
# `edgemarket --help` starts in a fraction of a second (bench/bench_cli_startup.py).
_COMMANDS: dict[str, tuple[str, bool, str]] = {
    "market": ("app.commands.market", True, "Clear order books from CSV, generate them, compare mechanisms."),
    "scenario": ("app.commands.scenario", True, "Scenario files: list them, show one resolved, validate."),
    "run": ("app.commands.run", False, "Simulate a scenario, settle each round on chain, store it."),
    "runs": ("app.commands.runs", True, "Stored runs: list, show, export, delete or prune them."),
    "ledger": ("app.commands.ledger", True, "Contracts and chain: compile, run a node, deploy, test, analyse."),
    "train": ("app.commands.train", False, "Train pricing policies with RLlib on a scenario."),
    "evaluate": ("app.commands.train", False, "Evaluate pricing policies (trained or fixed) over seeds."),
    "sweep": ("app.commands.sweep", False, "Run a grid of scenario cells over seeds (Ray) and report."),
    "app": ("app.commands.serve", False, "Start the Streamlit front end."),
}


def _load_command(name: str) -> Any:
    """The click command (or group) for `name`, importing its module now."""
    from app.plugins import load_plugins

    load_plugins()  # user strategies/mechanisms, before a scenario names them
    module_name, is_group, short = _COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # group not built yet
            return None
        raise
    if is_group:
        group = typer.main.get_group(module.app)
        group.name = name
        group.help = group.help or (module.__doc__ or short).strip().split("\n")[0]
        return group
    holder = typer.Typer()
    holder.callback()(lambda: None)  # keeps it a group, so every registered command is found
    module.register(holder)
    return typer.main.get_group(holder).commands.get(name)


class _LazyGroup(TyperGroup):
    """The top-level group: lists commands from `_COMMANDS`, imports one when it is run."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(n for n in _COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in _COMMANDS:
            return None
        if self._listing:  # the help page only needs each command's one-line help
            return typer.core.TyperCommand(cmd_name, help=_COMMANDS[cmd_name][2])
        cmd = _load_command(cmd_name)
        if cmd is not None:
            self.add_command(cmd, cmd_name)
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.core._click.exceptions.UsageError as exc:
            close = get_close_matches(args[0], list(_COMMANDS)) if args else []
            if close and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, close))}?"
            raise


cli = typer.Typer(
    name="edgemarket",
    cls=_LazyGroup,
    help="Simulate, clear and settle 6G edge-resource (3C-L) markets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain (click) help at the top level: rendering it with rich costs more than every
    # other part of `edgemarket --help` together; the command groups keep rich help.
    rich_markup_mode=None,
)


@cli.callback()
def _root(
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", envvar="EDGEMARKET_DATA", show_envvar=True,
        help="folder for everything written: store, chain state, logs, artefacts, Ray/torch scratch "
             "(default: the checkout's data/)")] = None,
) -> None:
    """Simulate, clear and settle 6G edge-resource (3C-L) markets."""
    from app.datadir import apply_data_dir

    apply_data_dir(data_dir)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        # Non-standalone mode returns typer.Exit codes instead of exiting: pass them on.
        code = cli(args=argv, prog_name="edgemarket", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as exc:
        from app.suggest import with_suggestion

        typer.secho(f"error: {with_suggestion(str(exc))}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
    except ValueError as exc:
        # Validation errors raised below the CLI (scenario files, store URLs) are user errors.
        from agents.scenario import ScenarioError
        from ledger.store import StoreError

        if not isinstance(exc, ScenarioError | StoreError):
            raise
        from app.suggest import with_suggestion

        typer.secho(f"error: {with_suggestion(str(exc))}", err=True, fg=typer.colors.RED)
        sys.exit(UserError.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # usage errors come through here in non-standalone mode
        if _is_click_exception(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise


def _is_click_exception(exc: BaseException) -> bool:
    """Typer 0.29 vendors click as `typer._click`; older versions raise click's own."""
    classes = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            classes.append(importlib.import_module(module).ClickException)
        except ImportError:
            continue
    return isinstance(exc, tuple(classes))


if __name__ == "__main__":
    main()
