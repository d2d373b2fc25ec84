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


@dataclass(frozen=True)
class CompileIssue:
    """One compiler error, located: ``file:line:column`` (1-based) and the offending line."""

    file: str
    line: int
    column: int
    kind: str
    message: str
    source_line: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        head = f"{where}: {self.kind}: {self.message}"
        if not self.source_line:
            return head
        gutter = f"{self.line:>5} | "
        caret = " " * (len(gutter) + max(self.column - 1, 0)) + "^"
        return f"{head}\n{gutter}{self.source_line}\n{caret}"


class CompileError(RuntimeError):
    """The Solidity compiler reported errors.

    The message starts with ``file:line:column: Kind: message`` of the first error (so a
    one-line report still says where), followed by every error with its source line.
    ``issues`` holds them as :class:`CompileIssue`.
    """

    def __init__(self, message: str, issues: list[CompileIssue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


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


def _locate(error: dict[str, Any], std_input: dict[str, Any]) -> CompileIssue:
    """Turn solc's byte-offset ``sourceLocation`` into line, column and the source line."""
    loc = error.get("sourceLocation") or {}
    file = str(loc.get("file", ""))
    kind = str(error.get("type", "Error"))
    message = str(error.get("message", "")).strip()
    content = std_input.get("sources", {}).get(file, {}).get("content")
    if content is None and file:  # an imported file: solc read it from disk
        for candidate in (Path(file), REPO_ROOT / file):
            if candidate.is_file():
                content = candidate.read_text(errors="replace")
                break
    start = loc.get("start", -1)
    if content is None or not isinstance(start, int) or start < 0:
        return CompileIssue(file or "<solc>", 0, 0, kind, message, "")
    # Offsets are in bytes of the UTF-8 source, not characters.
    prefix = content.encode()[:start].decode(errors="replace")
    line = prefix.count("\n") + 1
    column = len(prefix) - (prefix.rfind("\n") + 1) + 1
    source_line = content.splitlines()[line - 1] if content.splitlines() else ""
    return CompileIssue(file, line, column, kind, message, source_line.rstrip())


def _compile_error(errors: list[dict[str, Any]], std_input: dict[str, Any]) -> CompileError:
    issues = [_locate(e, std_input) for e in errors]
    return CompileError("\n".join(str(i) for i in issues), issues)


def _errors_of(stdout: str | None) -> list[dict[str, Any]]:
    try:
        out = json.loads(stdout or "")
    except ValueError:
        return []
    return [e for e in out.get("errors", []) if e.get("severity") == "error"]


def _allow_paths(std_input: dict[str, Any]) -> list[str]:
    """The repository plus the folders of sources outside it (their relative imports)."""
    paths = [str(REPO_ROOT)]
    for key in std_input.get("sources", {}):
        if Path(key).is_absolute() and str(Path(key).parent) not in paths:
            paths.append(str(Path(key).parent))
    return paths


def compile_sources(std_input: dict[str, Any]) -> dict[str, Artifact]:
    """Run py-solc-x ``compile_standard`` with the npm solc script; raise on errors."""
    import solcx  # imported lazily: importing web3/solcx costs ~0.5 s
    from solcx.exceptions import SolcError

    try:
        out = solcx.compile_standard(
            std_input,
            base_path=str(REPO_ROOT),
            allow_paths=_allow_paths(std_input),
            solc_binary=str(solc_script()),
        )
    except SolcError as exc:
        errors = _errors_of(exc.stdout_data)
        if errors:
            raise _compile_error(errors, std_input) from None
        raise CompileError(exc.message) from None
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise _compile_error(errors, std_input)
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
    extra_sources: list[Path] | None = None, *, force: bool = False, include_project: bool = True
) -> dict[str, Artifact]:
    """Compiled artifacts by contract name, compiling on first use (cached under ``data/``).

    Args:
        extra_sources: more ``.sol`` files to compile with the project's (e.g. a user's own
            contracts or test helpers); they may import the project's sources and OpenZeppelin.
        force: recompile even when a cached build exists.
        include_project: also compile the project's own ``contracts/src`` (False compiles
            only ``extra_sources``, which may still import them: faster for user contracts).
    """
    files = (
        source_files(extra_sources)
        if include_project
        else list(dict.fromkeys(Path(p).resolve() for p in extra_sources or []))
    )
    std_input = build_input(files)
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
