"""Scenario files: list them, show one resolved (defaults filled, overrides applied), validate.

    edgemarket scenario list
    edgemarket scenario show smart_city [--json] [--set devices.count=50 ...]
    edgemarket scenario validate path/to/file.yaml
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from app.errors import UserError
from app.overrides import parse_assignments

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _load(name: str, overrides: dict[str, Any] | None = None) -> Any:
    from agents.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(name, overrides or None)
    except ScenarioError as exc:
        raise UserError(str(exc)) from None


@app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """List the scenarios shipped in scenarios/ with their size and mechanism."""
    from agents.scenario import available_scenarios

    rows = []
    for name in available_scenarios():
        sc = _load(name)
        rows.append({"name": name, "devices": sc.devices.count, "nodes": sc.nodes.count,
                     "classes": sc.class_names, "mechanism": sc.market.mechanism,
                     "description": " ".join(sc.description.split())})
    width = 60
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="scenarios")
    for col in ("name", "devices", "nodes", "classes", "mechanism", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], str(r["devices"]), str(r["nodes"]), ", ".join(r["classes"]),
                      r["mechanism"], r["description"][:width] + ("…" if len(r["description"]) > width else ""))
    Console().print(table)


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="scenario name (scenarios/NAME.yaml) or a path")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML")] = False,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a field: KEY=VALUE with a dotted key, e.g. devices.count=50")] = None,
) -> None:
    """Print the resolved scenario: every field, defaults filled in, overrides applied."""
    data = _load(name, parse_assignments(set_)).to_json_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


@app.command("validate")
def validate_cmd(
    name: Annotated[str, typer.Argument(help="scenario name or path")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE override")] = None,
) -> None:
    """Check a scenario file; exit 2 with the field path and the reason if it is invalid."""
    sc = _load(name, parse_assignments(set_))
    typer.echo(f"ok: {sc.name} ({sc.devices.count} devices, {sc.nodes.count} nodes, "
               f"{len(sc.service_classes)} service classes, mechanism {sc.market.mechanism})")
