"""One data folder for everything a run writes: `--data-dir DIR` or `EDGEMARKET_DATA`.

Under it: the run store (`edgemarket.db`), chain state, Anvil logs and caches
(`chain/`), compiled contract artefacts (`artifacts/`), forge output (`forge/`), Ray,
RLlib and torch scratch (`ray/`, `ray_results/`, `torch/`), policies (`policies/`),
exports (`exports/`) and numba's compiled-kernel cache (`numba/`). The default is the
checkout's git-ignored `data/`.

Every module that writes asks `ledger.chain.paths.data_dir()` (or reads EDGEMARKET_DATA)
when it writes, so setting the variable before the work starts is all it takes; child
processes (Anvil, forge, Streamlit, Ray workers) inherit it.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.errors import UserError


def apply_data_dir(path: str | Path | None) -> Path:
    """Point every writer at `path` (None: keep EDGEMARKET_DATA or the default) and return
    the folder in use. Creates it; a path that is a file is a UserError on --data-dir."""
    from ledger.chain.paths import REPO_ROOT

    if path is None:
        path = os.environ.get("EDGEMARKET_DATA") or REPO_ROOT / "data"
    root = Path(path).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} is a file, not a folder", where="--data-dir")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {root}: {exc.strerror or exc}", where="--data-dir") from None
    os.environ["EDGEMARKET_DATA"] = str(root)
    # numba caches compiled kernels next to their source by default (inside the checkout);
    # read when numba is first imported, which the lazy CLI does after this point.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(root / "numba"))
    return root
