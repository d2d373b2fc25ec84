"""Compile the Solidity sources with py-solc-x through the npm solc, cached by source hash.

Users never call this: :func:`load_artifacts` compiles on first use and then reads the
cached JSON from ``data/artifacts/<hash>.json``. The hash covers every source's content,
the compiler settings, the solc version and the OpenZeppelin version, so any change
recompiles and nothing stale is ever loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.chain.paths import CONTRACTS_SRC, REPO_ROOT, data_dir, node_modules, solc_script

EVM_VERSION = "cancun"
"""Target EVM: transient storage (EIP-1153) is used by the reentrancy guards."""

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": EVM_VERSION,
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.methodIdentifiers",
                "userdoc",
                "devdoc",
            ]
        }
    },
}


class CompileError(RuntimeError):
    """The Solidity compiler reported errors (message holds them, formatted)."""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    userdoc: dict[str, Any] = field(default_factory=dict)
    devdoc: dict[str, Any] = field(default_factory=dict)


def _package_version(package: str) -> str:
    try:
        meta = json.loads((node_modules() / package / "package.json").read_text())
        return str(meta.get("version", "?"))
    except OSError:
        return "missing"


def source_files(extra: list[Path] | None = None) -> list[Path]:
    """The project's contract sources (``contracts/src/**/*.sol``) plus ``extra`` files."""
    files = sorted(CONTRACTS_SRC.rglob("*.sol"))
    for path in extra or []:
        p = Path(path).resolve()
        if p not in files:
            files.append(p)
    return files


def _source_key(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def build_input(files: list[Path]) -> dict[str, Any]:
    """The solc standard-JSON input for ``files``."""
    return {
        "language": "Solidity",
        "sources": {_source_key(f): {"content": Path(f).read_text()} for f in files},
        "settings": SETTINGS,
    }


def source_hash(std_input: dict[str, Any]) -> str:
    """Hash of the compiler input, solc version and OpenZeppelin version."""
    h = hashlib.sha256()
    h.update(json.dumps(std_input, sort_keys=True).encode())
    h.update(_package_version("solc").encode())
    h.update(_package_version("@openzeppelin/contracts").encode())
    return h.hexdigest()[:24]


def _format_errors(stdout: str | None) -> str:
    try:
        out = json.loads(stdout or "")
    except ValueError:
        return ""
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    return "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors)


def compile_sources(std_input: dict[str, Any]) -> dict[str, Artifact]:
    """Run py-solc-x ``compile_standard`` with the npm solc script; raise on errors."""
    import solcx  # imported lazily: importing web3/solcx costs ~0.5 s
    from solcx.exceptions import SolcError

    try:
        out = solcx.compile_standard(
            std_input,
            base_path=str(REPO_ROOT),
            allow_paths=[str(REPO_ROOT)],
            solc_binary=str(solc_script()),
        )
    except SolcError as exc:
        raise CompileError(_format_errors(exc.stdout_data) or exc.message) from None
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError(
            "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors)
        )
    artifacts: dict[str, Artifact] = {}
    for source, contracts in out.get("contracts", {}).items():
        for name, c in contracts.items():
            artifacts[name] = Artifact(
                name=name,
                source=source,
                abi=c["abi"],
                bytecode="0x" + c["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + c["evm"]["deployedBytecode"]["object"],
                userdoc=c.get("userdoc", {}),
                devdoc=c.get("devdoc", {}),
            )
    return artifacts


def load_artifacts(
    extra_sources: list[Path] | None = None, *, force: bool = False
) -> dict[str, Artifact]:
    """Compiled artifacts by contract name, compiling on first use (cached under ``data/``).

    Args:
        extra_sources: more ``.sol`` files to compile with the project's (e.g. a user's own
            contracts or test helpers); they may import the project's sources and OpenZeppelin.
        force: recompile even when a cached build exists.
    """
    std_input = build_input(source_files(extra_sources))
    digest = source_hash(std_input)
    cache = data_dir("artifacts") / f"{digest}.json"
    if cache.exists() and not force:
        raw = json.loads(cache.read_text())
    else:
        artifacts = compile_sources(std_input)
        raw = {name: a.__dict__ for name, a in artifacts.items()}
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(raw, fh)
        os.replace(tmp, cache)  # atomic: concurrent compilers never read a half file
    return {name: Artifact(**a) for name, a in raw.items()}
