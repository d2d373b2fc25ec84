"""The operator key for a chain this program did not start itself.

A local Anvil started for a run is signed for with Anvil's development key #0: that chain
lives and dies with the run. Any other chain (``--chain URL``, ``--rpc-url``) is somebody's
real node, where Anvil's published keys would hand every role to anyone: there the key must
be given explicitly, with ``--key-file PATH`` (a file holding the hex key) or the
environment variable ``EDGEMARKET_OPERATOR_KEY``. There is no fallback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ENV = "EDGEMARKET_OPERATOR_KEY"
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class OperatorKeyError(ValueError):
    """No usable operator key: the message names the field (``--key-file`` or the variable)."""


def is_external(target: str) -> bool:
    """Whether `target` is a chain this program does not start (anything but anvil/none)."""
    return target not in ("anvil", "none")


def check_target(target: str) -> None:
    """`--chain` must be 'anvil', 'none' or an http(s) URL with a host."""
    if not is_external(target):
        return
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise OperatorKeyError(f"--chain: {target!r} is not 'anvil', 'none' or an http(s):// JSON-RPC URL")


def _parse(text: str, where: str) -> str:
    key = text.strip()
    if not _HEX_KEY.match(key):
        raise OperatorKeyError(f"{where}: not a private key (64 hex digits, optionally 0x-prefixed)")
    key = key if key.startswith("0x") else "0x" + key
    if int(key, 16) == 0:
        raise OperatorKeyError(f"{where}: the zero key is not a private key")
    return key


def resolve(target: str, key_file: str | os.PathLike[str] | None = None) -> str | None:
    """The operator key for `target`: None for an own Anvil (its dev key is used), else the
    key from `key_file` or the environment; raises :class:`OperatorKeyError` without one."""
    if not is_external(target):
        return None
    if key_file is not None:
        path = Path(key_file)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise OperatorKeyError(f"--key-file: cannot read {path} ({type(exc).__name__})") from None
        return _parse(text, "--key-file")
    env = os.environ.get(ENV)
    if env:
        return _parse(env, ENV)
    raise OperatorKeyError(
        f"--key-file: settling on {target} needs an operator key (--key-file PATH or {ENV}); "
        "Anvil's public development key is used only on the Anvil a run starts itself")
