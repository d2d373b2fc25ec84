"""Run forge (``node_modules``' binary) offline on the project's contracts.

``foundry.toml`` at the repository root points forge at ``scripts/solc-standard-json.js``
(the npm solcjs behind a native-solc interface), so nothing is downloaded; forge's HOME is
moved under ``data/`` so ``~/.foundry`` stays untouched.

    python -m ledger.chain.forge test -vv
    python -m ledger.chain.forge --root path/to/your/project test

With a ``root`` (a user's own foundry project), forge runs there with ``--root``, offline,
with the project's solc script (``--use``) and OpenZeppelin from the project's
``node_modules`` (a remapping, unless the user's project maps ``@openzeppelin/`` itself).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ledger.chain.paths import REPO_ROOT, data_dir, forge_binary, node_modules, solc_script


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


def user_project_args(root: Path) -> list[str]:
    """forge arguments that run a user's project offline with edgemarket's solc."""
    args = ["--root", str(root), "--use", str(solc_script().resolve()), "--offline"]
    own = (root / "remappings.txt").read_text() if (root / "remappings.txt").is_file() else ""
    own += (root / "foundry.toml").read_text() if (root / "foundry.toml").is_file() else ""
    if "@openzeppelin/" not in own:
        args += ["--remappings", f"@openzeppelin/={node_modules().resolve() / '@openzeppelin'}/"]
    return args


def check_root(root: str | Path) -> Path:
    """The user's project folder, or ValueError saying why it is not one."""
    path = Path(root).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"{root} is not a folder")
    if not (path / "foundry.toml").is_file() and not (path / "src").is_dir():
        raise ValueError(f"{root} has neither foundry.toml nor src/: not a foundry project")
    return path


def run_forge(
    args: Sequence[str] = ("test",),
    *,
    capture: bool = True,
    timeout: float | None = 900,
    root: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``forge <args>`` in the repository root (or in a user's project ``root``)."""
    binary = forge_binary()
    if not binary.exists():
        raise FileNotFoundError(
            f"forge not found at {binary}: run `npm install` in the repository root"
        )
    cwd = REPO_ROOT
    args = list(args)
    if root is not None:
        cwd = check_root(root)
        # forge options go after the subcommand (`forge test --root ...`)
        args = args[:1] + user_project_args(cwd) + args[1:]
    return subprocess.run(
        [str(binary), *args],
        cwd=cwd,
        env=forge_env(),
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ledger.chain.forge [--root DIR] [forge args]`` (default: ``test``)."""
    args = list(argv if argv is not None else sys.argv[1:])
    root = None
    if args[:1] == ["--root"] and len(args) > 1:
        root, args = args[1], args[2:]
    return run_forge(args or ["test"], capture=False, timeout=None, root=root).returncode


if __name__ == "__main__":
    raise SystemExit(main())
