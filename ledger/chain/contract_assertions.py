"""``expect_revert`` and ``expect_emit`` for contract tests (see :mod:`ledger.chain.contractkit`).

Reverts from either call path (web3's ``ContractLogicError`` family or the short forms'
:class:`~ledger.chain.errors.ContractRevert`) are decoded by name from every ABI the
current chain knows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from web3.exceptions import ContractLogicError

from ledger.chain.contract_events import EventList, _args_match, _same
from ledger.chain.errors import ContractRevert, ErrorDecoder

if TYPE_CHECKING:
    from ledger.chain.contractkit import Chain


class Panic(IntEnum):
    """Solidity ``Panic(uint256)`` codes, for ``expect_revert(Panic.DIVISION_BY_ZERO)``."""

    ASSERT = 0x01
    ARITHMETIC = 0x11
    DIVISION_BY_ZERO = 0x12
    ENUM_CONVERSION = 0x21
    STORAGE_ENCODING = 0x22
    POP_EMPTY_ARRAY = 0x31
    ARRAY_INDEX = 0x32
    OUT_OF_MEMORY = 0x41
    ZERO_FUNCTION = 0x51


_CURRENT: list[Chain] = []


def current_chain() -> Chain | None:
    """The chain the plugin's fixtures are using (for the module-level helpers)."""
    return _CURRENT[-1] if _CURRENT else None


def _decoder() -> ErrorDecoder:
    chain = current_chain()
    return chain.decoder if chain is not None else ErrorDecoder()


def revert_from_web3(
    exc: ContractLogicError, decoder: ErrorDecoder | None = None
) -> ContractRevert:
    """web3's revert exceptions (custom error, panic, require string) as a named revert."""
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return (decoder or _decoder()).decode(data)
    message = str(exc.message or exc)
    return ContractRevert("Revert", (message,), arg_names=("message",))


class ErrorRef:
    """A contract's custom error, for ``expect_revert(counter.ZeroStep)``."""

    def __init__(self, name: str, contract: str) -> None:
        self.name = name
        self.contract = contract

    def __repr__(self) -> str:
        return f"{self.contract}.{self.name}"


@contextlib.contextmanager
def expect_revert(error: Any = None, *args: Any, **kwargs: Any) -> Iterator[list[ContractRevert]]:
    """Assert that the block reverts, and with what.

    ``error`` is a custom error's name (``"ZeroStep"``) or handle (``counter.ZeroStep``),
    ``"Error"`` for ``require`` strings (argument ``message``), ``"Panic"`` or a
    :class:`Panic` code (argument ``code``), or ``None`` for any revert. ``args`` and
    ``kwargs`` (by parameter name) must match the error's arguments (``args``: all of
    them, in order; ``kwargs``: the ones named). Works for both web3's
    exceptions and the short forms' :class:`ContractRevert`; the caught revert is appended
    to the yielded list.

    >>> with expect_revert(counter.Locked, until=unlock_at):
    ...     counter.increment(1, sender=owner)
    """
    if isinstance(error, Panic):
        name: str | None = "Panic"
        args = (int(error), *args)
    else:
        name = error.name if isinstance(error, ErrorRef) else error
    want = f"{name or 'a revert'}{_show_args(args, kwargs)}"
    caught: list[ContractRevert] = []
    try:
        yield caught
    except ContractRevert as exc:
        revert = exc
    except ContractLogicError as exc:
        revert = revert_from_web3(exc)
    else:
        raise AssertionError(f"expected {want}, but nothing reverted")
    caught.append(revert)
    if name is not None and revert.name != name:
        raise AssertionError(f"expected {want}, got {revert}") from revert
    if args:
        got = tuple(revert.args)
        if len(got) != len(args) or not all(_same(g, a) for g, a in zip(got, args, strict=True)):
            raise AssertionError(f"expected {want}, got {revert}") from revert
    if kwargs:
        named = revert.as_dict()
        missing = [k for k in kwargs if k not in named]
        if missing:
            raise AssertionError(
                f"{revert.name} has no argument {missing[0]!r}; it has {list(named)}"
            )
        if not _args_match(named, kwargs):
            raise AssertionError(f"expected {want}, got {revert}") from revert


def _show_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"({', '.join(parts)})" if parts else ""


@contextlib.contextmanager
def expect_emit(source: Any, name: str | None = None, /, **args: Any) -> Iterator[EventList]:
    """Assert that the block emits an event (like Foundry's ``expectEmit``).

    ``expect_emit(counter, "Incremented", step=3)`` wants the event from that contract;
    ``expect_emit("Incremented", step=3)`` from any contract. Arguments not given are not
    checked. The matching events are appended to the yielded list.
    """
    if isinstance(source, str) and name is None:
        source, name = None, source
    is_contract = hasattr(source, "chain") and hasattr(source, "address")
    chain = source.chain if is_contract else current_chain()
    if chain is None:
        raise RuntimeError("expect_emit needs the `chain` fixture (or a contract from `deploy`)")
    start = chain.block_number
    found = EventList()
    yield found
    events = chain.logs_since(start)
    assert name is not None
    matches = events.filter(name, **args)
    if is_contract:
        matches = EventList(
            e for e in matches if str(e["address"]).lower() == source.address.lower()
        )
    if not matches:
        seen = ", ".join(f"{e['event']}{dict(e['args'])}" for e in events) or "no events"
        where = f" from {source!r}" if source is not None else ""
        raise AssertionError(f"expected event {name}{_show_args((), args)}{where}; saw {seen}")
    found.extend(matches)
