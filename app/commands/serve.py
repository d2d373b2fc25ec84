"""`edgemarket app`: start the Streamlit front end on the run store.

The app reads the store at `--db` (default: the project's SQLite file) and needs nothing
else to start; the chain layer starts a local Anvil only when a Ledger check needs one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.errors import UserError

APP_SCRIPT = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def streamlit_command(db_url: str, port: int, host: str) -> list[str]:
    """The `streamlit run` command line of the app (headless, no usage statistics)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
        "--", "--db", db_url,
    ]


def check_db_url(url: str) -> str:
    """The URL as given, or a UserError naming `--db` when SQLAlchemy cannot parse it."""
    try:
        make_url(url)
    except ArgumentError as exc:
        raise UserError(f"not a database URL ({exc}); e.g. sqlite:///data/edgemarket.db", where="--db") from exc
    return url


#: Signals passed on to Streamlit: `kill`, a service manager's stop, a closed terminal.
FORWARDED = (signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_S = 10.0


def _wait_forwarding(proc: subprocess.Popen) -> int:
    """Wait for Streamlit, passing SIGTERM/SIGHUP on (else killing `edgemarket app` would
    leave the server holding its port) and Ctrl-C as a terminate; returns its exit code."""

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
        try:
            return proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:  # a server that ignores SIGTERM is killed
            proc.kill()
            return proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def register(cli: typer.Typer) -> None:
    """Add the top-level `app` command to the CLI."""

    @cli.command("app")
    def app_command(
        db: str = typer.Option(None, "--db", help="Run store URL (SQLAlchemy). Default: <data dir>/edgemarket.db."),
        port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to serve on."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0 to expose it)."),
    ) -> None:
        """Start the Streamlit front end (Run, Market, QoAIS, Agents, Ledger, Learning pages)."""
        from ledger.store import default_db_url

        url = check_db_url(db or default_db_url())
        typer.echo(f"edgemarket app on http://{host}:{port}  (store: {make_url(url).render_as_string()})")
        env = {**os.environ, "EDGEMARKET_DB": url}
        proc = subprocess.Popen(streamlit_command(url, port, host), env=env)
        code = _wait_forwarding(proc)
        if code not in (0, -2, -15):
            raise typer.Exit(code)
