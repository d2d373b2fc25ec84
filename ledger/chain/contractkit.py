"""Testing your own contracts on a local chain: web3.py contracts with short forms on top.

The pytest plugin (:mod:`ledger.chain.pytest_plugin`) hands these objects to tests:

- :class:`Chain` (fixture ``chain``): the node: ``snapshot``/``revert``/``isolate``, time
  (``sleep``, ``mine``, ``set_next_timestamp``), ``impersonate``, ``deploy``, ``at``, and
  ``w3`` (a plain ``web3.Web3``).
- :class:`Accounts` (fixture ``accounts``): the node's funded dev accounts, by index or
  name (``accounts.deployer``, ``accounts.alice``, ...). An :class:`Account` *is* its
  checksummed address (a ``str``), so it goes anywhere web3 takes an address.
- :class:`Contract`: web3.py's contract (``c.functions.increment(3).transact({"from": a})``,
  ``c.events.X().process_receipt(r)``) plus short forms: ``c.increment(3, sender=a)``
  sends and returns a :class:`Receipt`; ``c.count()`` calls a view function.
- :class:`Receipt`: web3's receipt with ``events`` decoded from every contract the chain
  knows (deployed by ``deploy`` or attached by ``at``).
- :func:`expect_revert` and :func:`expect_emit`: context managers.

Reverts from either path (web3's ``ContractLogicError`` family or the short forms'
:class:`~ledger.chain.errors.ContractRevert`) are decoded by name from every known ABI.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from eth_typing import ChecksumAddress
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3.contract import Contract as Web3Contract
from web3.exceptions import ContractLogicError
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint

from ledger.chain.abi import ContractABI
from ledger.chain.compiler import Artifact, load_artifacts
from ledger.chain.contract_accounts import ACCOUNT_NAMES, Account, Accounts
from ledger.chain.contract_assertions import ErrorRef as ErrorRef
from ledger.chain.contract_assertions import (
    Panic,
    current_chain,
    expect_emit,
    expect_revert,
    revert_from_web3,
)
from ledger.chain.contract_events import EventList, Receipt
from ledger.chain.errors import ChainError, ContractRevert, ErrorDecoder
from ledger.chain.gas_report import GasRecorder

__all__ = [
    "ACCOUNT_NAMES",
    "Account",
    "Accounts",
    "Chain",
    "Contract",
    "ErrorRef",
    "EventList",
    "Panic",
    "Receipt",
    "current_chain",
    "expect_emit",
    "expect_revert",
]

# ---------------------------------------------------------------------------- contracts


class ShortFunction:
    """``contract.fn(*args, sender=..., value=..., gas=...)``: calls views, sends the rest.

    The short forms encode with eth-abi and speak JSON-RPC directly (about half the
    requests and a fraction of the CPU of web3's contract-function path, which matters for
    a suite of many small tests). Overloaded functions and arguments only web3 can convert
    (ENS names, hex strings for ``bytesN``) go through web3's path; results are the same.
    """

    def __init__(self, contract: Contract, name: str, view: bool) -> None:
        self.contract = contract
        self.name = name
        self.view = view
        self.fast = (
            contract.fast_abi.functions.get(name) if name not in contract.overloaded else None
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs) if self.view else self.transact(*args, **kwargs)

    def _calldata(self, args: tuple[Any, ...]) -> str | None:
        if self.fast is None:
            return None
        try:
            return (
                "0x"
                + self.fast.encode(*[str(a) if isinstance(a, Account) else a for a in args]).hex()
            )
        except Exception:  # not encodable as given: web3's conversions may still manage
            return None

    def call(self, *args: Any, sender: str | None = None, block: Any = "latest") -> Any:
        """Read the function (``eth_call``); a revert raises a named :class:`ContractRevert`."""
        chain = self.contract.chain
        data = self._calldata(args)
        if data is not None and self.fast is not None:
            tx = {
                "from": str(sender or chain.default_sender),
                "to": self.contract.address,
                "data": data,
            }
            tag = hex(block) if isinstance(block, int) else block
            out = chain.rpc_or_revert("eth_call", tx, tag)
            return self.fast.decode_output(bytes.fromhex(out[2:]))
        fn = getattr(self.contract.functions, self.name)(*args)
        try:
            return fn.call(
                {"from": str(sender)} if sender is not None else {}, block_identifier=block
            )
        except ContractLogicError as exc:
            raise revert_from_web3(exc, chain.decoder) from None

    def transact(
        self, *args: Any, sender: str | None = None, value: int = 0, gas: int | None = None
    ) -> Receipt:
        """Send the function as ``sender`` (default: the deployer account) and wait.

        Without ``gas`` the call is estimated first, so a revert raises before anything is
        mined (as in web3); with ``gas`` it is mined, and a failure is replayed for its name.
        """
        chain = self.contract.chain
        tx: dict[str, Any] = {"from": str(sender) if sender is not None else chain.default_sender}
        if value:
            tx["value"] = value
        if gas is not None:
            tx["gas"] = gas
        data = self._calldata(args)
        if data is None:
            fn = getattr(self.contract.functions, self.name)(*args)
            try:
                tx_hash = fn.transact(tx)  # web3 estimates gas first: a revert raises here
            except ContractLogicError as exc:
                raise revert_from_web3(exc, chain.decoder) from None
            receipt = chain.receipt(tx_hash)
        else:
            raw = {**tx, "to": self.contract.address, "data": data}
            if value:
                raw["value"] = hex(value)
            raw["gas"] = hex(
                gas if gas is not None else int(chain.rpc_or_revert("eth_estimateGas", raw), 16)
            )
            receipt = chain.receipt(chain.rpc("eth_sendTransaction", raw))
        if receipt.status != 1:  # sent with an explicit gas limit: replay for the reason
            raise chain.replay_revert(
                tx, getattr(self.contract.functions, self.name)(*args), receipt
            )
        return receipt

    def estimate_gas(self, *args: Any, sender: str | None = None, value: int = 0) -> int:
        """``eth_estimateGas`` for the call."""
        fn = getattr(self.contract.functions, self.name)(*args)
        tx: dict[str, Any] = {
            "from": str(sender) if sender is not None else self.contract.chain.default_sender
        }
        if value:
            tx["value"] = value
        return int(fn.estimate_gas(tx))


class Contract(Web3Contract):
    """web3.py's contract, plus ``contract.fn(...)`` short forms and ``contract.ErrorName``.

    A Solidity name that collides with a web3 attribute (``address``, ``events``,
    ``functions``, ``abi`` ...) is reached through ``contract.functions.<name>``.
    """

    chain: Chain
    contract_name: str
    fast_abi: ContractABI
    overloaded: frozenset[str]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("chain", "contract_name", "fast_abi", "overloaded"):
            raise AttributeError(name)
        for item in type(self).abi or []:
            if item.get("name") != name:
                continue
            if item.get("type") == "function":
                view = item.get("stateMutability") in ("view", "pure")
                return ShortFunction(self, name, view)
            if item.get("type") == "error":
                return ErrorRef(name, self.contract_name)
        raise AttributeError(f"{self.contract_name} has no function or error {name!r}")

    def __repr__(self) -> str:
        return f"<{self.contract_name} at {self.address}>"


# ---------------------------------------------------------------------------- the chain


class _RecordingProvider(HTTPProvider):
    """web3's HTTP provider that feeds the gas recorder with every mined call.

    The receipt is fetched right after ``eth_sendTransaction`` (Anvil mines on send; its
    receipt can lag the reply by a moment, so it is polled), only while gas is being
    recorded.
    """

    chain: Chain
    _chain_id: Any = None

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_chainId":
            # web3's validation asks for the chain id several times per transaction; a
            # node's chain id never changes, so one answer is kept.
            if self._chain_id is None:
                self._chain_id = super().make_request(method, params)
            return self._chain_id
        response = super().make_request(method, params)
        if (
            method == "eth_sendTransaction"
            and self.chain.gas.enabled
            and isinstance(response, dict)
            and response.get("result")
        ):
            tx = params[0]
            if tx.get("to"):
                raw = self._receipt(response["result"])
                if raw and int(raw["status"], 16) == 1:
                    self.chain.record_gas(tx["to"], tx.get("data") or tx.get("input") or "0x",
                                          int(raw["gasUsed"], 16))  # fmt: skip
        return response

    def _make_request(self, method: Any, request_data: bytes) -> bytes:
        # One keep-alive http.client connection per thread instead of `requests`: each test
        # makes about ten requests, and on a busy machine the lighter client is what counts.
        local = self.__dict__.setdefault("_local", threading.local())
        conn = getattr(local, "conn", None)
        for attempt in range(2):
            if conn is None:
                parts = urlsplit(str(self.endpoint_uri))
                cls = (
                    http.client.HTTPSConnection
                    if parts.scheme == "https"
                    else http.client.HTTPConnection
                )
                conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=60)
                local.conn = conn
            try:
                conn.request("POST", urlsplit(str(self.endpoint_uri)).path or "/", request_data,
                             {"Content-Type": "application/json"})  # fmt: skip
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise ChainError(f"{method}: HTTP {resp.status}: {body[:200]!r}")
                return body
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = local.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def _receipt(self, tx_hash: str, timeout: float = 30.0) -> Any:
        # Anvil answers eth_sendTransaction before the block is indexed: poll briefly.
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            reply = super().make_request(RPCEndpoint("eth_getTransactionReceipt"), [tx_hash])
            raw = reply.get("result") if isinstance(reply, dict) else None
            if raw or time.monotonic() > deadline:
                return raw
            time.sleep(delay)
            delay = min(delay * 2, 0.02)


class Chain:
    """A dev node (Anvil) for tests: accounts, contracts, time, snapshots and decoding.

    Args:
        rpc_url: the node's JSON-RPC URL (it must support ``evm_snapshot``/``evm_revert``,
            ``evm_increaseTime``, ``anvil_impersonateAccount``).
        gas: recorder for the gas report (a disabled one when omitted).
        contracts_dir: where ``deploy("Name")`` looks for ``.sol`` files (``*.t.sol`` and
            ``*.s.sol`` are skipped); a path ``deploy("dir/File.sol")`` works regardless.
    """

    def __init__(
        self,
        rpc_url: str,
        *,
        gas: GasRecorder | None = None,
        contracts_dir: str | Path | None = None,
    ) -> None:
        self.rpc_url = rpc_url
        self.gas = gas or GasRecorder()
        self.contracts_dir = Path(contracts_dir) if contracts_dir else None
        provider = _RecordingProvider(rpc_url, request_kwargs={"timeout": 60})
        provider.chain = self
        self.w3 = Web3(provider)
        self.decoder = ErrorDecoder()
        self._contracts: dict[str, Contract] = {}  # lower-case address -> contract
        self._topics: dict[bytes, list[tuple[type[Contract], str]]] = {}
        self._selectors: dict[str, dict[bytes, str]] = {}  # contract name -> selector -> fn
        self._artifacts: dict[str, dict[str, Artifact]] = {}
        self._learned: set[str] = set()
        self.accounts = Accounts(self)
        self.default_sender: str = self.accounts[0].address if len(self.accounts) else ""
        if self.default_sender:
            # web3's .transact() default sender
            self.w3.eth.default_account = cast(ChecksumAddress, self.default_sender)

    # ------------------------------------------------------------------ raw RPC

    def rpc(self, method: str, *params: Any) -> Any:
        """One JSON-RPC request; an error reply raises :class:`ChainError`."""
        reply = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in reply:
            raise ChainError(f"{method}: {reply['error']}")
        return reply.get("result")

    def rpc_or_revert(self, method: str, *params: Any) -> Any:
        """Like :meth:`rpc`, but a revert raises the named :class:`ContractRevert`."""
        reply = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        error = reply.get("error")
        if error is None:
            return reply.get("result")
        data = error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            raise self.decoder.decode(data)
        if "revert" in str(error.get("message", "")).lower():
            raise ContractRevert("Revert", (error.get("message"),), arg_names=("message",))
        raise ChainError(f"{method}: {error}")

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> str:
        """Take an ``evm_snapshot``; :meth:`revert` goes back to it."""
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """``evm_revert`` to ``snapshot_id`` (a snapshot can be reverted to once)."""
        if not self.rpc("evm_revert", snapshot_id):
            raise ChainError(f"evm_revert({snapshot_id}) failed")

    @contextlib.contextmanager
    def isolate(self) -> Iterator[Chain]:
        """Everything done inside the block is rolled back at its end (even on errors)."""
        snap = self.snapshot()
        try:
            yield self
        finally:
            self.revert(snap)

    # ------------------------------------------------------------------ time and blocks

    @property
    def block_number(self) -> int:
        """The latest block number."""
        return int(self.w3.eth.block_number)

    @property
    def timestamp(self) -> int:
        """The latest block's timestamp (what ``block.timestamp`` was in it)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def sleep(self, seconds: int) -> int:
        """Move time forward by ``seconds`` and mine a block; returns its timestamp."""
        self.rpc("evm_increaseTime", int(seconds))
        self.rpc("evm_mine")
        return self.timestamp

    def mine(self, blocks: int = 1) -> int:
        """Mine ``blocks`` empty blocks; returns the new block number."""
        self.rpc("anvil_mine", hex(int(blocks)))
        return self.block_number

    def set_next_timestamp(self, timestamp: int) -> None:
        """The next block (the next transaction's, or :meth:`mine`'s) gets ``timestamp``."""
        self.rpc("evm_setNextBlockTimestamp", int(timestamp))

    def set_balance(self, address: str, wei: int) -> None:
        """Set an address's ether balance."""
        self.rpc("anvil_setBalance", to_checksum_address(str(address)), hex(int(wei)))

    @contextlib.contextmanager
    def impersonate(self, address: str, *, fund: int = 10**21) -> Iterator[Account]:
        """Send transactions as ``address`` without its key (like Foundry's ``vm.prank``).

        The address is given ``fund`` wei if it has less (to pay gas); impersonation ends
        with the block.
        """
        address = to_checksum_address(str(address))
        self.rpc("anvil_impersonateAccount", address)
        try:
            if int(self.w3.eth.get_balance(address)) < fund:
                self.set_balance(address, fund)
            yield Account(address, name=f"impersonated {address[:10]}", chain=self)
        finally:
            self.rpc("anvil_stopImpersonatingAccount", address)

    # ------------------------------------------------------------------ contracts

    def artifact(self, path_or_name: str | Path) -> Artifact:
        """The compiled contract: ``"dir/File.sol"``, ``"dir/File.sol:Name"`` or ``"Name"``."""
        spec = str(path_or_name)
        path_part, _, name = spec.partition(":") if ".sol" in spec else ("", "", spec)
        if path_part:
            path = Path(path_part)
            if not path.is_file() and self.contracts_dir is not None:
                path = self.contracts_dir / path_part
            if not path.is_file():
                raise FileNotFoundError(f"contract source {path_part} not found")
            arts = self._compiled([path])
            if not name:  # the file's stem, else the file's only contract
                name = path.name.split(".")[0]
                own = [n for n, a in arts.items() if Path(a.source).name == path.name]
                if name not in arts and len(own) == 1:
                    name = own[0]
        else:
            if self.contracts_dir is None:
                raise LookupError(f"deploy({spec!r}) needs --contracts-dir or a .sol path")
            sources = sorted(
                p for p in self.contracts_dir.rglob("*.sol")
                if not p.name.endswith((".t.sol", ".s.sol"))
            )  # fmt: skip
            arts = self._compiled(sources)
        if name not in arts:
            raise LookupError(f"no contract {name!r} in {spec}; compiled: {sorted(arts)}")
        return arts[name]

    def _compiled(self, files: list[Path]) -> dict[str, Artifact]:
        key = "|".join(str(p.resolve()) for p in files)
        if key not in self._artifacts:  # load_artifacts caches on disk by hash; this skips the hash
            self._artifacts[key] = load_artifacts(files, include_project=False)
        return self._artifacts[key]

    def deploy(
        self,
        path_or_name: str | Path,
        *args: Any,
        sender: str | None = None,
        value: int = 0,
        gas: int | None = None,
    ) -> Contract:
        """Compile (cached) and deploy a contract; returns a web3 :class:`Contract`."""
        art = self.artifact(path_or_name)
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        tx: dict[str, Any] = {"from": str(sender) if sender is not None else self.default_sender}
        if value:
            tx["value"] = value
        if gas is not None:
            tx["gas"] = gas
        self._learn(art.name, art.abi)  # errors of the constructor are named too
        try:
            tx_hash = factory.constructor(*args).transact(tx)
        except ContractLogicError as exc:
            raise revert_from_web3(exc, self.decoder) from None
        receipt = self.receipt(tx_hash)
        if receipt.status != 1:
            raise ContractRevert("Revert", ("constructor reverted",), tx_hash=receipt.tx_hash)
        self.gas.record(art.name, "constructor", receipt.gas_used)
        return self.at(receipt.raw["contractAddress"], art.abi, name=art.name)

    def at(
        self, address: str, abi: list[dict[str, Any]] | str, *, name: str | None = None
    ) -> Contract:
        """A contract already on chain; ``abi`` may be a compiled contract's name or path."""
        if isinstance(abi, str):
            art = self.artifact(abi)
            abi, name = art.abi, name or art.name
        contract_name = name or "Contract"
        contract = cast(
            Contract,
            self.w3.eth.contract(
                address=to_checksum_address(str(address)), abi=abi, ContractFactoryClass=Contract
            ),
        )
        contract.chain = self
        contract.contract_name = contract_name
        contract.fast_abi = ContractABI(abi, contract_name)
        names = [i["name"] for i in abi if i.get("type") == "function"]
        contract.overloaded = frozenset(n for n in names if names.count(n) > 1)
        self._learn(contract_name, abi)
        self._contracts[contract.address.lower()] = contract
        return contract

    def _learn(self, name: str, abi: list[dict[str, Any]]) -> None:
        """Register a contract's errors, events and selectors (for decoding and gas)."""
        key = name + ":" + hashlib.sha256(json.dumps(abi, sort_keys=True).encode()).hexdigest()
        if key in self._learned:  # two contracts may share a name with different ABIs
            return
        self._learned.add(key)
        self.decoder.add(ContractABI(abi, name))
        cls = cast(type[Contract], self.w3.eth.contract(abi=abi, ContractFactoryClass=Contract))
        self._selectors.setdefault(name, {}).update(
            {
                function_abi_to_4byte_selector(cast(Any, item)): item["name"]
                for item in abi
                if item.get("type") == "function"
            }
        )
        for item in abi:
            if item.get("type") == "event" and not item.get("anonymous"):
                topic = event_abi_to_log_topic(cast(Any, item))
                self._topics.setdefault(topic, []).append((cls, item["name"]))

    def record_gas(self, to: str, data: str, gas: int) -> None:
        """Account ``gas`` to the known contract at ``to`` and the function ``data`` selects."""
        contract = self._contracts.get(to.lower())
        name = contract.contract_name if contract is not None else to
        raw = bytes.fromhex(data[2:10]) if isinstance(data, str) and len(data) >= 10 else b""
        method = self._selectors.get(name, {}).get(raw, "0x" + raw.hex() if raw else "<receive>")
        self.gas.record(name, method, gas)

    # ------------------------------------------------------------------ receipts and events

    def receipt(self, tx_hash: Any) -> Receipt:
        """The receipt of a sent transaction (Anvil mines on send; waits otherwise)."""
        raw = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.01)
        return Receipt(raw, self)

    def decode_logs(self, logs: Sequence[Any]) -> EventList:
        """Decode logs with the ABI of the contract at their address, else any known ABI."""
        out = EventList()
        for log in logs:
            topics = log["topics"]
            if not topics:
                continue
            topic = (
                bytes(topics[0]) if not isinstance(topics[0], str) else bytes.fromhex(topics[0][2:])
            )
            candidates = self._topics.get(topic, [])
            own = self._contracts.get(str(log["address"]).lower())
            if own is not None:  # the emitter's own ABI first
                candidates = sorted(candidates, key=lambda c: c[0].abi != own.abi)
            for cls, event in candidates:
                try:
                    out.append(getattr(cls.events, event)().process_log(log))
                    break
                except Exception:  # same topic, other indexed layout: try the next ABI
                    continue
        return out

    def logs_since(self, block: int) -> EventList:
        """Decoded events of all blocks after ``block``."""
        latest = self.block_number
        if latest <= block:
            return EventList()
        logs = self.w3.eth.get_logs({"fromBlock": block + 1, "toBlock": latest})
        return self.decode_logs(logs)

    def replay_revert(self, tx: dict[str, Any], fn: Any, receipt: Receipt) -> ContractRevert:
        """Re-run a failed transaction as a call on its parent block to name the error."""
        try:
            fn.call(
                {k: v for k, v in tx.items() if k != "gas"},
                block_identifier=receipt.block_number - 1,
            )
        except ContractLogicError as exc:
            revert = revert_from_web3(exc, self.decoder)
            revert.tx_hash = receipt.tx_hash
            return revert
        return ContractRevert(
            "OutOfGas" if receipt.gas_used >= int(tx.get("gas", 0)) else "Revert",
            (receipt.gas_used,), arg_names=("gasUsed",), tx_hash=receipt.tx_hash,
        )  # fmt: skip
