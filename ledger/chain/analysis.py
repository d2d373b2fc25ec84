"""Static analysis of the contracts with slither, offline.

slither (PyPI ``slither-analyzer``) compiles through crytic-compile's foundry platform,
i.e. ``forge build`` with the repository's ``foundry.toml`` (the npm solcjs behind
``scripts/solc-standard-json.js``), so no solc download is needed.

    python -m ledger.chain.analysis            # human-readable report
    python -m ledger.chain.analysis --json     # JSON findings on stdout
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.chain.forge import forge_env
from ledger.chain.paths import REPO_ROOT, forge_binary

SLITHER_ARGS = (
    "--compile-force-framework", "foundry",
    "--foundry-out-directory", "data/forge/out",
    "--filter-paths", "node_modules|contracts/test",
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One slither result."""

    check: str
    impact: str
    confidence: str
    description: str


def slither_binary() -> Path | None:
    """The slither executable next to this Python, or on PATH."""
    local = Path(sys.executable).parent / "slither"
    if local.exists():
        return local
    found = shutil.which("slither")
    return Path(found) if found else None


def _env() -> dict[str, str]:
    env = forge_env()
    env["PATH"] = f"{forge_binary().parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_slither(
    extra: Sequence[str] = (), timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run slither on the repository (exit status 0 / 255 when it found results)."""
    binary = slither_binary()
    if binary is None:
        raise FileNotFoundError("slither not installed: pip install slither-analyzer (dev extra)")
    return subprocess.run(
        [str(binary), ".", *SLITHER_ARGS, *extra],
        cwd=REPO_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def findings(timeout: float = 900) -> list[Finding]:
    """Slither's findings on the project's contracts (dependencies and tests filtered out)."""
    proc = run_slither(["--json", "-"], timeout=timeout)
    try:
        out: dict[str, Any] = json.loads(proc.stdout)
    except ValueError as exc:
        raise RuntimeError(f"slither failed: {proc.stderr[-2000:]}") from exc
    if not out.get("success", False):
        raise RuntimeError(f"slither failed: {out.get('error')}")
    return [
        Finding(d["check"], d["impact"], d["confidence"], d["description"].strip())
        for d in out.get("results", {}).get("detectors", [])
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the findings; exit 1 when any is High or Medium."""
    args = list(argv if argv is not None else sys.argv[1:])
    results = findings()
    if "--json" in args:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            print(f"[{r.impact}/{r.confidence}] {r.check}: {r.description.splitlines()[0]}")
        print(f"{len(results)} finding(s)")
    return 1 if any(r.impact in ("High", "Medium") for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
