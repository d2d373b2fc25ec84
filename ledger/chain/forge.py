"""Run forge (``node_modules``' binary) offline on the project's contracts.

``foundry.toml`` at the repository root points forge at ``scripts/solc-standard-json.js``
(the npm solcjs behind a native-solc interface), so nothing is downloaded; forge's HOME is
moved under ``data/`` so ``~/.foundry`` stays untouched.

    python -m ledger.chain.forge test -vv
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from ledger.chain.paths import REPO_ROOT, data_dir, forge_binary


def forge_env() -> dict[str, str]:
    """Environment for forge: offline, HOME under data/, no nightly warning."""
    return {
        **os.environ,
        "HOME": str(data_dir("forge", "home")),
        # foundry.toml's out/cache_path are relative to the checkout; follow the data folder.
        "FOUNDRY_OUT": str(data_dir("forge", "out")),
        "FOUNDRY_CACHE_PATH": str(data_dir("forge", "cache")),
        "FOUNDRY_OFFLINE": "true",
        "FOUNDRY_DISABLE_NIGHTLY_WARNING": "1",
        "NO_COLOR": "1",
    }


def run_forge(
    args: Sequence[str] = ("test",), *, capture: bool = True, timeout: float | None = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``forge <args>`` in the repository root; returns the completed process."""
    binary = forge_binary()
    if not binary.exists():
        raise FileNotFoundError(
            f"forge not found at {binary}: run `npm install` in the repository root"
        )
    return subprocess.run(
        [str(binary), *args],
        cwd=REPO_ROOT,
        env=forge_env(),
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ledger.chain.forge [forge args]`` (default: ``test``)."""
    args = list(argv if argv is not None else sys.argv[1:]) or ["test"]
    return run_forge(args, capture=False, timeout=None).returncode


if __name__ == "__main__":
    raise SystemExit(main())
