"""Reverts decoded to names: ``ContractRevert("RoundAlreadySettled", (7, 3))``.

Custom errors come back from the node as raw revert data (4-byte selector + ABI-encoded
arguments). :class:`ErrorDecoder` maps selectors to error names from every ABI it is given
(plus Solidity's built-in ``Error(string)`` and ``Panic(uint256)``), so a revert raised by
any contract in a call chain (e.g. the stake registry called by the settlement) is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

from ledger.chain.abi import ContractABI, ErrorABI


class ChainError(RuntimeError):
    """Base of the chain layer's errors."""


class RpcError(ChainError):
    """A JSON-RPC error reply (``code``, ``message`` and the raw ``data`` if any)."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data
        super().__init__(f"{method}: {message} (code {code})")


class ContractRevert(ChainError):
    """A transaction or call reverted; ``name`` is the custom error's name.

    Attributes:
        name: error name (``"UnbalancedBatch"``, ``"AccessControlUnauthorizedAccount"``,
            ``"Error"`` for ``require`` strings, ``"Panic"``, or ``"Revert"`` when the node
            returned no data, ``"Unknown"`` for an unknown selector).
        args: decoded arguments (addresses checksummed), as ``exc.args``.
        arg_names: parameter names of the error, when known.
        data: the raw revert data.
        tx_hash: the reverted transaction, when it was mined.
    """

    def __init__(
        self,
        name: str,
        args: tuple[Any, ...] = (),
        *,
        arg_names: tuple[str, ...] = (),
        data: bytes = b"",
        tx_hash: str | None = None,
    ) -> None:
        self.name = name
        self.arg_names = arg_names
        self.data = data
        self.tx_hash = tx_hash
        super().__init__(*args)  # ``exc.args`` are the decoded error arguments

    def __str__(self) -> str:
        return self._describe()

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (e.g. across Ray workers)
        return (self.__class__, (self.name, tuple(self.args)), dict(self.__dict__))

    @property
    def error_args(self) -> tuple[Any, ...]:
        """The decoded arguments (same as ``args``)."""
        return tuple(self.args)

    def as_dict(self) -> dict[str, Any]:
        """Arguments by parameter name."""
        return dict(zip(self.arg_names, self.args, strict=False))

    def _describe(self) -> str:
        shown = [_show(v) for v in self.args]
        if self.arg_names and len(self.arg_names) == len(shown):
            inner = ", ".join(f"{n}={v}" for n, v in zip(self.arg_names, shown, strict=True))
        else:
            inner = ", ".join(shown)
        return f"{self.name}({inner})"


ROLE_NAMES: dict[bytes, str] = {
    keccak(text=name): name
    for name in (
        "OPERATOR_ROLE",
        "TREASURY_ROLE",
        "PAUSER_ROLE",
        "SETTLEMENT_ROLE",
        "SLASHER_ROLE",
        "REGISTRAR_ROLE",
    )
}
ROLE_NAMES[b"\x00" * 32] = "DEFAULT_ADMIN_ROLE"


def _show(value: Any) -> str:
    """Readable argument: role ids by name, other bytes as hex."""
    if isinstance(value, bytes):
        name = ROLE_NAMES.get(value)
        return name if name else "0x" + value.hex()
    return repr(value)


_ERROR_STRING = keccak(text="Error(string)")[:4]
_PANIC = keccak(text="Panic(uint256)")[:4]


class ErrorDecoder:
    """Selector -> error table built from one or more ABIs."""

    def __init__(self, abis: Iterable[ContractABI] = ()) -> None:
        self.errors: dict[bytes, ErrorABI] = {}
        for abi in abis:
            self.add(abi)

    def add(self, abi: ContractABI) -> None:
        """Learn the errors of another ABI."""
        self.errors.update(abi.errors)

    def decode(self, data: bytes | str | None, *, tx_hash: str | None = None) -> ContractRevert:
        """The :class:`ContractRevert` for raw revert ``data``."""
        if isinstance(data, str):
            data = bytes.fromhex(data[2:] if data.startswith("0x") else data)
        data = data or b""
        if len(data) < 4:
            return ContractRevert("Revert", (), data=data, tx_hash=tx_hash)
        selector, body = data[:4], data[4:]
        try:
            if selector == _ERROR_STRING:
                (msg,) = abi_decode(["string"], body)
                return ContractRevert(
                    "Error", (msg,), arg_names=("message",), data=data, tx_hash=tx_hash
                )
            if selector == _PANIC:
                (code,) = abi_decode(["uint256"], body)
                return ContractRevert(
                    "Panic", (code,), arg_names=("code",), data=data, tx_hash=tx_hash
                )
            err = self.errors.get(selector)
            if err is not None:
                return ContractRevert(
                    err.name, err.decode_args(body), arg_names=err.names, data=data, tx_hash=tx_hash
                )
        except Exception:  # malformed data: still report the selector
            pass
        return ContractRevert("Unknown", ("0x" + selector.hex(),), data=data, tx_hash=tx_hash)

    def from_rpc_error(self, exc: RpcError) -> ContractRevert | None:
        """The revert carried by an ``eth_call``/``eth_estimateGas`` error, if it is one."""
        data = exc.data
        if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return self.decode(data)
        if "revert" in exc.rpc_message.lower():
            return ContractRevert("Revert", (exc.rpc_message,), arg_names=("message",))
        return None
