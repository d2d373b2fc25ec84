"""A minimal JSON-RPC client: one keep-alive HTTP connection, batch requests.

web3's provider stack costs about a millisecond per request; settling thousands of trades
per second needs less. :class:`RpcClient` speaks JSON-RPC over ``http.client`` directly and
sends many requests in one HTTP round trip (:meth:`RpcClient.batch`), which is how the send
path pushes many raw transactions and polls many receipts at once.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from ledger.chain.errors import ChainError, RpcError

# Requests that change the chain: a lost reply leaves unknown whether they were applied, so
# they are never posted twice here (the sender checks what landed; see ledger.chain.tx).
NOT_RETRIED = frozenset({"eth_sendRawTransaction", "eth_sendTransaction"})


class ReplyLost(ChainError):
    """A request that changes the chain was sent, but its reply never came back."""


class RpcClient:
    """JSON-RPC over HTTP(S) with a persistent connection (one per thread).

    Args:
        url: endpoint, e.g. ``http://127.0.0.1:8545``.
        timeout: socket timeout in seconds.
    """

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ChainError(f"unsupported RPC URL {url!r}: use http:// or https://")
        self.url = url
        self._scheme = parts.scheme
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _post(self, payload: Any, *, retry: bool = True) -> Any:
        """POST once more after a dropped keep-alive connection, unless `retry` is False:
        then a failure after the request went out raises :class:`ReplyLost`."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        for attempt in range(2):
            conn = self._conn()
            sent = False
            try:
                conn.request("POST", self._path, body, headers)
                sent = True
                resp = conn.getresponse()
                raw = resp.read()
                if resp.status != 200:
                    raise ChainError(f"RPC HTTP {resp.status}: {raw[:200]!r}")
                return json.loads(raw)
            except (http.client.HTTPException, ConnectionError, OSError) as exc:
                self.close()
                if sent and not retry:
                    raise ReplyLost(f"no reply from {self.url} to a transaction send: {exc}") from exc
                if attempt == 1:
                    raise ChainError(f"RPC connection to {self.url} failed: {exc}") from exc
        raise AssertionError("unreachable")

    def call(self, method: str, *params: Any) -> Any:
        """One request; raises :class:`RpcError` on an error reply."""
        reply = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)},
            retry=method not in NOT_RETRIED,
        )
        if "error" in reply:
            err = reply["error"]
            raise RpcError(method, err.get("code", 0), err.get("message", ""), err.get("data"))
        return reply.get("result")

    def batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        """Many requests in one HTTP round trip.

        Returns results in request order; an error reply is returned as an :class:`RpcError`
        instance in its slot (not raised), so one failure does not hide the others.
        """
        if not requests:
            return []
        first = next(self._ids)
        ids = [first + i for i in range(len(requests))]
        self._ids = itertools.count(first + len(requests))
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p}
            for i, (m, p) in zip(ids, requests, strict=True)
        ]
        replies = self._post(payload, retry=not any(m in NOT_RETRIED for m, _ in requests))
        if isinstance(replies, dict):  # the whole batch was rejected
            err = replies.get("error", {})
            raise RpcError(
                "batch", err.get("code", 0), err.get("message", str(replies)), err.get("data")
            )
        by_id = {r.get("id"): r for r in replies}
        out: list[Any] = []
        for i, (method, _) in zip(ids, requests, strict=True):
            r = by_id.get(i, {"error": {"code": -1, "message": "missing reply"}})
            if "error" in r:
                e = r["error"]
                out.append(RpcError(method, e.get("code", 0), e.get("message", ""), e.get("data")))
            else:
                out.append(r.get("result"))
        return out

    def close(self) -> None:
        """Close this thread's connection (reopened on the next request)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
