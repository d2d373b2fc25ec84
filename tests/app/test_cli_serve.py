"""`edgemarket app`: its command line, the db URL it passes on, and a bad URL's error."""

from __future__ import annotations

import subprocess
from typing import ClassVar

import pytest
import typer
from typer.testing import CliRunner

from app.commands import serve
from app.errors import UserError


def make_cli() -> typer.Typer:
    """A CLI group with only `app` (a callback keeps it a group, as in app.cli)."""
    cli = typer.Typer(pretty_exceptions_enable=False)
    cli.callback()(lambda: None)
    serve.register(cli)
    return cli


class FakePopen:
    calls: ClassVar[list[tuple[list[str], dict[str, str]]]] = []

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        FakePopen.calls.append((cmd, env))

    def wait(self) -> int:
        return 0


def test_app_command_launches_streamlit_with_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    FakePopen.calls.clear()
    result = CliRunner().invoke(make_cli(), ["app", "--db", "sqlite:///x.db", "--port", "8600"])
    assert result.exit_code == 0, result.output
    (cmd, env), = FakePopen.calls
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app/streamlit_app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[-3:] == ["--", "--db", "sqlite:///x.db"]
    assert env["EDGEMARKET_DB"] == "sqlite:///x.db"


def test_app_command_defaults_to_the_project_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.store import DEFAULT_DB_URL

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    FakePopen.calls.clear()
    assert CliRunner().invoke(make_cli(), ["app"]).exit_code == 0
    assert FakePopen.calls[0][1]["EDGEMARKET_DB"] == DEFAULT_DB_URL


def test_bad_db_url_is_a_user_error() -> None:
    result = CliRunner().invoke(make_cli(), ["app", "--db", "not a url"])
    assert isinstance(result.exception, UserError)
    assert str(result.exception).startswith("--db: not a database URL")


def test_streamlit_command_is_headless_without_usage_stats() -> None:
    cmd = serve.streamlit_command("sqlite:///y.db", 9000, "0.0.0.0")
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
