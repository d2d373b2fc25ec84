"""The fast send path: local signing, preset nonce/gas/fees, pipelined sends.

One operator key signs everything. :class:`Sender` keeps the nonce locally, signs with
eth-account (coincurve-backed when installed: ~1 ms per transaction), pushes many raw
transactions in one JSON-RPC batch and then polls all their receipts in batches, with no
signing middleware and no per-transaction gas estimation. A mined transaction that reverted
is replayed as an ``eth_call`` on its parent block to recover the revert data, which is
decoded to a :class:`~ledger.chain.errors.ContractRevert` with the error's name.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.chain.errors import ChainError, ContractRevert, ErrorDecoder, RpcError
from ledger.chain.rpc import ReplyLost, RpcClient

GWEI = 10**9


@dataclass(frozen=True)
class TxRequest:
    """A transaction to sign: ``to=None`` deploys ``data``."""

    to: str | None
    data: bytes
    gas: int
    value: int = 0


@dataclass(frozen=True)
class SentTx:
    """A signed and sent transaction."""

    tx_hash: str
    nonce: int
    request: TxRequest


class TxTimeout(ChainError):
    """Receipts did not arrive in time."""


@lru_cache(maxsize=4096)
def _checksum(address: str) -> str:
    """eth-account refuses lower-case addresses (as nodes return them): checksum them."""
    return to_checksum_address(address)


def hexint(value: Any) -> int:
    """Parse a JSON-RPC quantity (``"0x1a"``) or pass an int through."""
    return int(value, 16) if isinstance(value, str) else int(value)


class Sender:
    """Signs and sends the operator's transactions.

    Args:
        rpc: JSON-RPC client.
        private_key: the operator's key (hex).
        decoder: error table for reverts (names every known custom error).
        max_fee_per_gas: preset fee cap (wei); default: twice the latest base fee plus the tip.
        priority_fee: preset tip (wei).
        poll_latency: seconds between receipt polls.
    """

    def __init__(
        self,
        rpc: RpcClient,
        private_key: str,
        *,
        decoder: ErrorDecoder | None = None,
        max_fee_per_gas: int | None = None,
        priority_fee: int = 1 * GWEI,
        poll_latency: float = 0.002,
    ) -> None:
        self.rpc = rpc
        self.account: LocalAccount = Account.from_key(private_key)
        self.address: str = self.account.address
        self.decoder = decoder or ErrorDecoder()
        self.poll_latency = poll_latency
        self.priority_fee = priority_fee
        self.chain_id = hexint(rpc.call("eth_chainId"))
        self._fixed_max_fee = max_fee_per_gas
        self.max_fee_per_gas = 0
        self.refresh_fees()
        self.nonce = 0
        self.resync_nonce()

    def refresh_fees(self) -> None:
        """Set the fee cap from the latest base fee (unless preset)."""
        if self._fixed_max_fee is not None:
            self.max_fee_per_gas = self._fixed_max_fee
            return
        block = self.rpc.call("eth_getBlockByNumber", "latest", False)
        base = hexint(block.get("baseFeePerGas", "0x0")) if block else 0
        self.max_fee_per_gas = max(2 * base + self.priority_fee, 2 * GWEI)

    def resync_nonce(self) -> None:
        """Read the next nonce from the node (after a revert to a snapshot, a restart...)."""
        self.nonce = hexint(self.rpc.call("eth_getTransactionCount", self.address, "pending"))

    def sign(self, req: TxRequest, nonce: int) -> tuple[str, str]:
        """(tx hash, raw hex) of ``req`` signed with ``nonce``."""
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": req.gas,
            "maxFeePerGas": self.max_fee_per_gas,
            "maxPriorityFeePerGas": min(self.priority_fee, self.max_fee_per_gas),
            "value": req.value,
            "data": req.data,
        }
        if req.to is not None:
            tx["to"] = _checksum(req.to)
        signed = self.account.sign_transaction(tx)
        return "0x" + signed.hash.hex().removeprefix(
            "0x"
        ), "0x" + signed.raw_transaction.hex().removeprefix("0x")

    def known(self, tx_hashes: Sequence[str]) -> list[bool]:
        """Whether the node knows each transaction (mined or in its pool)."""
        found = self.rpc.batch([("eth_getTransactionByHash", [h]) for h in tx_hashes])
        return [r is not None and not isinstance(r, RpcError) for r in found]

    def _push(self, signed: list[tuple[str, str, int, TxRequest]]) -> list[Any]:
        """Send signed transactions; after a lost reply, ask which landed instead of guessing.

        The ones the node does not know are sent again as the very same signed bytes (same
        nonce, same hash), so nothing can be applied twice.
        """
        try:
            return self.rpc.batch([("eth_sendRawTransaction", [raw]) for _, raw, _, _ in signed])
        except ReplyLost:
            landed = self.known([h for h, _, _, _ in signed])
        missing = [s for s, ok in zip(signed, landed, strict=True) if not ok]
        again = iter(self.rpc.batch([("eth_sendRawTransaction", [raw]) for _, raw, _, _ in missing])
                     if missing else [])
        return [h if ok else next(again) for (h, _, _, _), ok in zip(signed, landed, strict=True)]

    def send(self, requests: Sequence[TxRequest]) -> list[SentTx]:
        """Sign ``requests`` with consecutive nonces and send them in one batch.

        A refused transaction whose hash the node knows anyway (its first send landed, the
        reply was lost) counts as sent. If the node refuses every transaction for a stale
        nonce and knows none of them (another process used the key, or the chain was
        reverted), the nonce is re-read and the batch re-signed once.
        """
        for attempt in range(2):
            signed: list[tuple[str, str, int, TxRequest]] = []
            for req in requests:
                tx_hash, raw = self.sign(req, self.nonce)
                signed.append((tx_hash, raw, self.nonce, req))
                self.nonce += 1
            results = self._push(signed)
            failures = [
                (s, r) for s, r in zip(signed, results, strict=True) if isinstance(r, RpcError)
            ]
            if failures:
                landed = self.known([s[0] for s, _ in failures])
                failures = [f for f, ok in zip(failures, landed, strict=True) if not ok]
            if not failures:
                return [SentTx(h, n, r) for h, _, n, r in signed]
            self.resync_nonce()
            stale = all("nonce" in str(r).lower() for _, r in failures)
            if attempt == 0 and stale and len(failures) == len(signed):
                continue
            (_, _, nonce, _), err = failures[0]
            if isinstance(err, RpcError):
                revert = self.decoder.from_rpc_error(err)
                if revert is not None:
                    raise revert
            raise ChainError(f"sending tx nonce {nonce} failed: {err}")
        raise AssertionError("unreachable")

    def wait(self, sent: Sequence[SentTx | str], timeout: float = 120.0) -> list[dict[str, Any]]:
        """Receipts of ``sent`` (in order), polling them in batches; no revert check."""
        hashes = [s.tx_hash if isinstance(s, SentTx) else s for s in sent]
        receipts: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        pending = list(dict.fromkeys(hashes))
        while pending:
            results = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in pending])
            still = []
            for h, r in zip(pending, results, strict=True):
                if r is None or isinstance(r, RpcError):
                    still.append(h)
                else:
                    receipts[h] = r
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    raise TxTimeout(
                        f"{len(pending)} receipts missing after {timeout} s (first {pending[0]})"
                    )
                time.sleep(self.poll_latency)
        return [receipts[h] for h in hashes]

    def check(self, sent: SentTx, receipt: dict[str, Any]) -> dict[str, Any]:
        """Raise the decoded :class:`ContractRevert` when ``receipt`` failed."""
        if hexint(receipt["status"]) == 1:
            return receipt
        raise self.replay_revert(sent, receipt)

    def replay_revert(self, sent: SentTx, receipt: dict[str, Any]) -> ContractRevert:
        """Re-run a failed transaction on its parent block to get the revert reason."""
        block = hexint(receipt["blockNumber"])
        req = sent.request
        call = {
            "from": self.address,
            "data": "0x" + req.data.hex(),
            "gas": hex(req.gas),
            "value": hex(req.value),
        }
        if req.to is not None:
            call["to"] = req.to
        try:
            self.rpc.call("eth_call", call, hex(max(block - 1, 0)))
        except RpcError as exc:
            revert = self.decoder.from_rpc_error(exc)
            if revert is not None:
                revert.tx_hash = sent.tx_hash
                return revert
            return ContractRevert("Revert", (str(exc),), tx_hash=sent.tx_hash)
        gas_used = hexint(receipt.get("gasUsed", 0))
        name = "OutOfGas" if gas_used >= req.gas else "Revert"
        return ContractRevert(
            name, (gas_used, req.gas), arg_names=("gasUsed", "gasLimit"), tx_hash=sent.tx_hash
        )

    def transact(self, req: TxRequest, timeout: float = 120.0) -> dict[str, Any]:
        """Send one transaction, wait for it, raise :class:`ContractRevert` if it reverted."""
        (sent,) = self.send([req])
        (receipt,) = self.wait([sent], timeout)
        return self.check(sent, receipt)

    def transact_many(
        self, requests: Sequence[TxRequest], timeout: float = 120.0
    ) -> list[dict[str, Any]]:
        """Send many (pipelined), wait for all, raise the first revert."""
        sent = self.send(requests)
        receipts = self.wait(sent, timeout)
        for s, r in zip(sent, receipts, strict=True):
            self.check(s, r)
        return receipts

    def call(
        self, to: str, data: bytes, block: str | int = "latest", sender: str | None = None
    ) -> bytes:
        """``eth_call``; a revert raises the decoded :class:`ContractRevert`."""
        tag = hex(block) if isinstance(block, int) else block
        try:
            out = self.rpc.call(
                "eth_call",
                {"from": sender or self.address, "to": to, "data": "0x" + data.hex()},
                tag,
            )
        except RpcError as exc:
            revert = self.decoder.from_rpc_error(exc)
            if revert is not None:
                raise revert from None
            raise
        return bytes.fromhex(out[2:])

    def estimate_gas(self, req: TxRequest, sender: str | None = None) -> int:
        """``eth_estimateGas`` for ``req``; a revert raises the decoded :class:`ContractRevert`."""
        tx: dict[str, Any] = {
            "from": sender or self.address,
            "data": "0x" + req.data.hex(),
            "value": hex(req.value),
        }
        if req.to is not None:
            tx["to"] = req.to
        try:
            return hexint(self.rpc.call("eth_estimateGas", tx))
        except RpcError as exc:
            revert = self.decoder.from_rpc_error(exc)
            if revert is not None:
                raise revert from None
            raise
