"""A thin, fast ABI layer over ``eth_abi``: encode calls, decode results, events and errors.

web3's contract objects are convenient but slow on a hot path (middleware, validation,
attribute dicts). :class:`ContractABI` precomputes selectors, topics and canonical types
from a compiled ABI once; encoding a call is then one ``eth_abi.encode``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter (tuples expanded: ``(address,uint256)[]``)."""
    typ: str = param["type"]
    if typ.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){typ[len('tuple') :]}"
    return typ


def _normalize(value: Any, typ: str) -> Any:
    """Make decoded values friendly: checksummed addresses, nested tuples kept as tuples."""
    if typ == "address":
        return to_checksum_address(value)
    if typ.endswith("]"):
        base = typ[: typ.rindex("[")]
        return [_normalize(v, base) for v in value]
    if typ.startswith("("):
        return tuple(value)
    return value


@dataclass(frozen=True)
class FunctionABI:
    """One function: selector and canonical input/output types."""

    name: str
    selector: bytes
    inputs: tuple[str, ...]
    input_names: tuple[str, ...]
    outputs: tuple[str, ...]

    def encode(self, *args: Any) -> bytes:
        """Calldata for a call with ``args``."""
        return self.selector + abi_encode(list(self.inputs), list(args))

    def decode_output(self, data: bytes) -> Any:
        """Decoded return value (a single value, or a tuple for several)."""
        values = abi_decode(list(self.outputs), data)
        values = tuple(_normalize(v, t) for v, t in zip(values, self.outputs, strict=True))
        return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class EventABI:
    """One event: topic0 and how to split indexed/non-indexed fields."""

    name: str
    topic: bytes
    names: tuple[str, ...]
    types: tuple[str, ...]
    indexed: tuple[bool, ...]

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        """Field name -> value of one log."""
        data_types = [t for t, ix in zip(self.types, self.indexed, strict=True) if not ix]
        data_values = iter(abi_decode(data_types, data))
        topic_values = iter(topics[1:])
        out: dict[str, Any] = {}
        for name, typ, ix in zip(self.names, self.types, self.indexed, strict=True):
            if ix:
                raw = next(topic_values)
                # dynamic indexed values are stored hashed: keep the topic bytes as they are
                if typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("("):
                    out[name] = raw
                    continue
                value = abi_decode([typ], raw)[0]
            else:
                value = next(data_values)
            out[name] = _normalize(value, typ)
        return out


@dataclass(frozen=True)
class ErrorABI:
    """One custom error: selector and argument types."""

    name: str
    selector: bytes
    names: tuple[str, ...]
    types: tuple[str, ...]

    def decode_args(self, data: bytes) -> tuple[Any, ...]:
        """Decoded arguments of the error (``data`` without the selector)."""
        values = abi_decode(list(self.types), data)
        return tuple(_normalize(v, t) for v, t in zip(values, self.types, strict=True))


def _signature(name: str, inputs: list[dict[str, Any]]) -> str:
    return f"{name}({','.join(canonical_type(p) for p in inputs)})"


class ContractABI:
    """Selectors, topics and errors of one contract ABI."""

    def __init__(self, abi: list[dict[str, Any]], name: str = "") -> None:
        self.abi = abi
        self.name = name
        self.functions: dict[str, FunctionABI] = {}
        self.events: dict[str, EventABI] = {}
        self.events_by_topic: dict[bytes, EventABI] = {}
        self.errors: dict[bytes, ErrorABI] = {}
        for item in abi:
            kind = item.get("type")
            if kind == "function":
                sig = _signature(item["name"], item["inputs"])
                self.functions[item["name"]] = FunctionABI(
                    name=item["name"],
                    selector=keccak(text=sig)[:4],
                    inputs=tuple(canonical_type(p) for p in item["inputs"]),
                    input_names=tuple(p["name"] for p in item["inputs"]),
                    outputs=tuple(canonical_type(p) for p in item.get("outputs", [])),
                )
            elif kind == "event":
                sig = _signature(item["name"], item["inputs"])
                ev = EventABI(
                    name=item["name"],
                    topic=keccak(text=sig),
                    names=tuple(p["name"] for p in item["inputs"]),
                    types=tuple(canonical_type(p) for p in item["inputs"]),
                    indexed=tuple(bool(p.get("indexed")) for p in item["inputs"]),
                )
                self.events[ev.name] = ev
                self.events_by_topic[ev.topic] = ev
            elif kind == "error":
                sig = _signature(item["name"], item["inputs"])
                err = ErrorABI(
                    name=item["name"],
                    selector=keccak(text=sig)[:4],
                    names=tuple(p["name"] for p in item["inputs"]),
                    types=tuple(canonical_type(p) for p in item["inputs"]),
                )
                self.errors[err.selector] = err
        ctor = next((i for i in abi if i.get("type") == "constructor"), None)
        self.constructor_inputs: tuple[str, ...] = tuple(
            canonical_type(p) for p in (ctor or {}).get("inputs", [])
        )

    def fn(self, name: str) -> FunctionABI:
        """The function called ``name`` (KeyError names the contract when missing)."""
        try:
            return self.functions[name]
        except KeyError:
            raise KeyError(f"{self.name or 'contract'} has no function {name!r}") from None

    def encode(self, name: str, *args: Any) -> bytes:
        """Calldata for ``name(args)``."""
        return self.fn(name).encode(*args)

    def encode_constructor(self, bytecode: str, *args: Any) -> bytes:
        """Deployment data: bytecode followed by the encoded constructor arguments."""
        code = bytes.fromhex(bytecode[2:] if bytecode.startswith("0x") else bytecode)
        return code + abi_encode(list(self.constructor_inputs), list(args))
