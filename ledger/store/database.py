"""Engines for the run store: SQLite tuned for batched writes, any other SQLAlchemy URL as given.

Opening a store brings its schema to the newest Alembic revision, so a fresh file or an
older store works without a manual migration step.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("EDGEMARKET_DATA", PROJECT_ROOT / "data"))
DEFAULT_DB_URL = f"sqlite:///{DATA_DIR / 'edgemarket.db'}"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def default_db_url() -> str:
    """The default store, read when a store is opened (so `--data-dir` set later counts)."""
    root = Path(os.environ.get("EDGEMARKET_DATA", PROJECT_ROOT / "data"))
    return f"sqlite:///{root / 'edgemarket.db'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the app read while a run writes, and lets sweep workers queue their writes;
    # busy_timeout makes concurrent writers wait instead of failing with "database is locked".
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def alembic_config(url: str) -> Config:
    """An Alembic config for the store at `url`, pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class StoreError(ValueError):
    """The store cannot be opened: a malformed URL, an unknown driver, an unreachable server."""


def open_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """Create an engine for `url` (default: the project's SQLite file) and migrate it to head."""
    url = url or default_db_url()
    try:
        return _open(url, migrate)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"--db {url!r}: not a usable SQLAlchemy URL ({exc})") from None
    except OperationalError as exc:
        raise StoreError(f"--db {url!r}: cannot open the store ({exc.orig})") from None


SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database)
    return None


def _check_sqlite_file(url: str, path: Path) -> None:
    """Refuse, naming --db, a path that cannot be a SQLite store (before anything is written)."""
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise StoreError(f"--db {url!r}: {parent} is a file, not a folder")
    if path.is_dir():
        raise StoreError(f"--db {url!r}: {path} is a folder, not a SQLite file")
    if path.exists() and path.stat().st_size > 0:
        try:
            with path.open("rb") as f:
                head = f.read(16)
        except OSError as exc:
            raise StoreError(f"--db {url!r}: cannot read {path} ({exc.strerror})") from None
        if head != SQLITE_MAGIC:
            raise StoreError(f"--db {url!r}: {path} is not a SQLite file")


def _open(url: str, migrate: bool) -> Engine:
    parsed = make_url(url)
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(url, path)
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        upgrade(engine)
    return engine


def upgrade(engine: Engine) -> None:
    """Apply every pending migration to the database behind `engine`."""
    from ledger.store.locks import migration_lock

    url = engine.url.render_as_string(hide_password=False)
    cfg = alembic_config(url)
    # Two processes opening a fresh store would both create alembic_version: one at a time.
    with migration_lock(url), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def table_names(engine: Engine) -> list[str]:
    """Names of the tables present (used by tests and `runs` commands)."""
    return sorted(inspect(engine).get_table_names())
