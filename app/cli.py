"""The `edgemarket` command line: one entry point over the same Python API the app uses.

Each command group lives in its own module under `app.commands`; this module wires them
together and turns user errors into a one-line message with exit status 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from app.errors import UserError

cli = typer.Typer(
    name="edgemarket",
    help="Simulate, clear and settle 6G edge-resource (3C-L) markets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, group name or None for top-level commands). A module exposes `app` (a group)
# or `register(cli)` (top-level commands).
_COMMAND_MODULES: list[tuple[str, str | None]] = [
    ("app.commands.market", "market"),
    ("app.commands.scenario", "scenario"),
    ("app.commands.run", None),
    ("app.commands.runs", "runs"),
    ("app.commands.ledger", "ledger"),
    ("app.commands.train", None),
    ("app.commands.sweep", None),
    ("app.commands.serve", None),
]


def _wire() -> None:
    for module_name, group in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # group not built yet
                continue
            raise
        if group is None:
            module.register(cli)
        else:
            cli.add_typer(module.app, name=group, help=(module.__doc__ or "").strip().split("\n")[0])


_wire()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        from app.plugins import load_plugins

        load_plugins()
        # Non-standalone mode returns typer.Exit codes instead of exiting: pass them on.
        code = cli(args=argv, prog_name="edgemarket", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
    except ValueError as exc:
        # Validation errors raised below the CLI (scenario files, store URLs) are user errors.
        from agents.scenario import ScenarioError
        from ledger.store import StoreError

        if not isinstance(exc, ScenarioError | StoreError):
            raise
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
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
