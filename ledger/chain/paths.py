"""Where things live: the repository, its npm tools, and the git-ignored ``data/`` scratch.

Every path can be overridden with an environment variable, so an installed package or a
user's own project can point at other tools or scratch folders:
``EDGEMARKET_DATA`` (scratch root), ``EDGEMARKET_NODE_MODULES``, ``EDGEMARKET_ANVIL``,
``EDGEMARKET_FORGE``, ``EDGEMARKET_SOLC``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository root (holds contracts/, node_modules/, data/)."""

CONTRACTS_DIR = REPO_ROOT / "contracts"
CONTRACTS_SRC = CONTRACTS_DIR / "src"
CONTRACTS_TEST = CONTRACTS_DIR / "test"


def data_dir(*parts: str) -> Path:
    """A folder under the git-ignored scratch root (``data/`` by default), created on demand."""
    root = Path(os.environ.get("EDGEMARKET_DATA", REPO_ROOT / "data"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def node_modules() -> Path:
    """The npm ``node_modules`` folder holding anvil, forge, solc and OpenZeppelin."""
    return Path(os.environ.get("EDGEMARKET_NODE_MODULES", REPO_ROOT / "node_modules"))


def anvil_binary() -> Path:
    """The Anvil binary shipped by ``@foundry-rs/anvil``."""
    env = os.environ.get("EDGEMARKET_ANVIL")
    return Path(env) if env else node_modules() / "@foundry-rs/anvil-linux-amd64/bin/anvil"


def forge_binary() -> Path:
    """The forge binary shipped by ``@foundry-rs/forge``."""
    env = os.environ.get("EDGEMARKET_FORGE")
    return Path(env) if env else node_modules() / "@foundry-rs/forge-linux-amd64/bin/forge"


def solc_script() -> Path:
    """The node script that behaves like a native ``solc`` (over the npm solcjs)."""
    env = os.environ.get("EDGEMARKET_SOLC")
    return Path(env) if env else REPO_ROOT / "scripts" / "solc-standard-json.js"
