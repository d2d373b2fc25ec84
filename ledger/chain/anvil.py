"""Start, stop and restart a local Anvil chain from Python.

:class:`AnvilProcess` runs ``node_modules``' anvil on 127.0.0.1 at a free port, with its
state file (``--state``) and scratch folders under ``data/``, waits until it answers
JSON-RPC, and stops it on exit, even on errors:

- as a context manager (``with AnvilProcess() as anvil: ...``),
- at interpreter exit (``atexit``) and on SIGTERM/SIGHUP of the Python process,
- and, on Linux, when the Python process dies without cleaning up (``PR_SET_PDEATHSIG``).

A graceful stop (SIGTERM) makes anvil write its state file; ``state_interval`` also dumps
it every N seconds, so a SIGKILLed chain restarts from its last dump (:meth:`restart`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from ledger.chain.paths import anvil_binary, data_dir

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
"""Anvil's default development mnemonic (its first key is the deployer/operator by default)."""


class AnvilError(RuntimeError):
    """Anvil could not be started or answered unexpectedly."""


_RUNNING: weakref.WeakSet[AnvilProcess] = weakref.WeakSet()
_HOOKS_INSTALLED = False
_HOOK_LOCK = threading.Lock()


def _stop_all() -> None:
    for proc in list(_RUNNING):
        with contextlib.suppress(Exception):
            proc.stop()


def _install_exit_hooks() -> None:
    """atexit + SIGTERM/SIGHUP handlers that stop every running anvil (installed once)."""
    global _HOOKS_INSTALLED
    with _HOOK_LOCK:
        if _HOOKS_INSTALLED:
            return
        _HOOKS_INSTALLED = True
        atexit.register(_stop_all)
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous = signal.getsignal(signum)

            def handler(sig: int, frame: FrameType | None, _prev: Any = previous) -> None:
                _stop_all()
                if callable(_prev):
                    _prev(sig, frame)
                else:
                    sys.exit(128 + sig)

            # Only replace default handlers: never override an application's own.
            if previous in (signal.SIG_DFL, None):
                signal.signal(signum, handler)


def _parent_death_signal(signum: int = signal.SIGTERM) -> None:  # pragma: no cover - child
    """In the child: ask Linux to send ``signum`` to anvil when the parent (thread) dies."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signum)
    os.setpgrp()  # own process group: a Ctrl-C in the terminal does not kill it mid-dump


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def rpc_call(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One raw JSON-RPC call (no web3 import); raises :class:`AnvilError` on an RPC error."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    ).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        raise AnvilError(f"{method}: {reply['error']}")
    return reply.get("result")


class AnvilProcess:
    """A local Anvil node owned by this Python process.

    Args:
        state_path: state file (``--state``): loaded at start when it exists, written on a
            graceful stop and every ``state_interval`` seconds. ``None`` keeps the chain in
            memory only. Relative paths are taken under ``data/chain/``.
        port: TCP port; ``None`` picks a free one.
        state_interval: seconds between periodic state dumps (needs ``state_path``).
        dump_on_parent_death: False: if this Python process dies, anvil is SIGKILLed and
            writes no state, so the file keeps the last dump taken at a quiet moment (by
            :meth:`dump_state` or a graceful :meth:`stop`). Anvil's own dump on SIGTERM can
            race a block being mined and save storage without that block's logs.
        chain_id: chain id of the local chain.
        gas_limit: block gas limit (anvil's default is 30M).
        accounts: number of funded dev accounts (from ``mnemonic``).
        mnemonic: dev accounts' mnemonic (anvil's default one unless given).
        hardfork: EVM hardfork (the contracts need at least ``cancun``).
        extra_args: more anvil command-line arguments.
        startup_timeout: seconds to wait for the node to answer.
    """

    def __init__(
        self,
        *,
        state_path: str | Path | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        state_interval: int | None = None,
        chain_id: int = 31337,
        gas_limit: int | None = None,
        accounts: int = 10,
        mnemonic: str = DEFAULT_MNEMONIC,
        hardfork: str | None = "prague",
        extra_args: tuple[str, ...] | list[str] = (),
        startup_timeout: float = 15.0,
        dump_on_parent_death: bool = True,
    ) -> None:
        if state_path is not None:
            state_path = Path(state_path)
            if not state_path.is_absolute():
                state_path = data_dir("chain") / state_path
            state_path.parent.mkdir(parents=True, exist_ok=True)
        if state_interval is not None and state_path is None:
            raise ValueError("state_interval needs a state_path")
        self.state_path: Path | None = state_path
        self.host = host
        self.port = port
        self.state_interval = state_interval
        self.death_signal = signal.SIGTERM if dump_on_parent_death else signal.SIGKILL
        self.chain_id = chain_id
        self.gas_limit = gas_limit
        self.accounts = accounts
        self.mnemonic = mnemonic
        self.hardfork = hardfork
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def rpc_url(self) -> str:
        """The node's HTTP JSON-RPC URL."""
        if self.port is None:
            raise AnvilError("anvil is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running node, if any."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path | None:
        """Anvil's stdout/stderr log for the current (or last) process."""
        return self._log_path

    def command(self) -> list[str]:
        """The anvil command line for the current settings."""
        cmd = [
            str(anvil_binary()),
            "--host", self.host,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--mnemonic", self.mnemonic,
            "--max-persisted-states", "0",
            "--cache-path", str(data_dir("chain", "anvil-cache")),
        ]  # fmt: skip
        if self.hardfork:
            cmd += ["--hardfork", self.hardfork]
        if self.gas_limit:
            cmd += ["--gas-limit", str(self.gas_limit)]
        if self.state_path is not None:
            cmd += ["--state", str(self.state_path)]
            if self.state_interval:
                cmd += ["--state-interval", str(self.state_interval)]
        return cmd + self.extra_args

    def start(self) -> AnvilProcess:
        """Start anvil and wait until it answers; idempotent while running."""
        if self.running:
            return self
        binary = anvil_binary()
        if not binary.exists():
            raise AnvilError(
                f"anvil not found at {binary}: run `npm install` in the repository root"
            )
        _install_exit_hooks()
        tries = 3 if self.port is None else 1
        last_error = ""
        for _ in range(tries):
            if self.port is None or tries > 1:
                self.port = free_port(self.host)
            self._spawn()
            try:
                self._wait_ready()
                _RUNNING.add(self)
                return self
            except AnvilError as exc:
                last_error = str(exc)
                self._terminate(kill=True)
        raise AnvilError(f"anvil did not start: {last_error}")

    def _spawn(self) -> None:
        home = data_dir("chain", "home")  # keep ~/.foundry untouched
        env = {**os.environ, "HOME": str(home), "FOUNDRY_DISABLE_NIGHTLY_WARNING": "1"}
        self._log_path = data_dir("chain", "logs") / f"anvil-{self.port}.log"
        log = open(self._log_path, "wb")  # handed to the child, closed below
        try:
            self._proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=(functools.partial(_parent_death_signal, self.death_signal)
                            if sys.platform.startswith("linux") else None),
            )
        finally:
            log.close()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise AnvilError(f"anvil exited early: {self._log_tail()}")
            try:
                rpc_call(self.rpc_url, "eth_chainId", timeout=1.0)
                # The answer must come from this anvil: on a busy machine another process can
                # take the free port first, and a fresh foreign chain would answer instead.
                if self._listening():
                    return
                time.sleep(0.02)
            except (OSError, urllib.error.URLError, AnvilError):
                time.sleep(0.02)
        raise AnvilError(
            f"anvil did not answer within {self.startup_timeout} s: {self._log_tail()}"
        )

    def _listening(self) -> bool:
        """Whether this process is alive and its log says it bound our port."""
        if self._proc is None or self._proc.poll() is not None:
            raise AnvilError(f"anvil exited early: {self._log_tail()}")
        try:
            log = self._log_path.read_bytes() if self._log_path else b""
        except OSError:
            return False
        return f"Listening on {self.host}:{self.port}".encode() in log

    def _log_tail(self, n: int = 800) -> str:
        try:
            return (self._log_path.read_text(errors="replace") if self._log_path else "")[
                -n:
            ].strip()
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM: anvil writes its state file), SIGKILL after ``timeout``."""
        self._terminate(kill=False, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the node (no state dump): for crash tests."""
        self._terminate(kill=True)

    def _terminate(self, *, kill: bool, timeout: float = 10.0) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            if kill:
                proc.kill()
            else:
                proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._proc = None
        _RUNNING.discard(self)

    def restart(self, *, kill: bool = False) -> AnvilProcess:
        """Stop (or SIGKILL) and start again on the same port from the same state file."""
        self._terminate(kill=kill)
        return self.start()

    def dump_state(self) -> None:
        """Write the state file now (``anvil_dumpState`` is saved by anvil itself on exit)."""
        if self.state_path is None:
            raise AnvilError("no state_path configured")
        state_hex = rpc_call(self.rpc_url, "anvil_dumpState", timeout=30.0)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_bytes(_decode_dump(state_hex))
        os.replace(tmp, self.state_path)

    # ------------------------------------------------------------------ protocol

    def __enter__(self) -> AnvilProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:  # last resort: never leak a node
        with contextlib.suppress(Exception):
            self._terminate(kill=True)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"AnvilProcess({self.host}:{self.port}, {state}, state_path={self.state_path})"


def _decode_dump(state_hex: str) -> bytes:
    """``anvil_dumpState`` returns gzip-compressed JSON as hex; ``--state`` reads plain JSON."""
    import gzip

    raw = bytes.fromhex(state_hex[2:] if state_hex.startswith("0x") else state_hex)
    try:
        return gzip.decompress(raw)
    except OSError:
        return raw
