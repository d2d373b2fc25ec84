"""A send whose HTTP reply is lost is never applied twice.

A small HTTP proxy sits in front of a real Anvil. It forwards every request, but for the
armed one carrying ``eth_sendRawTransaction`` it lets Anvil execute it and then drops the
connection without replying: the client cannot know whether the transactions landed.
The reference is the chain itself: balances and nonces count every application.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledger.chain.accounts import ANVIL_KEYS
from ledger.chain.anvil import AnvilProcess
from ledger.chain.session import ChainSession
from ledger.units import to_base

pytestmark = pytest.mark.chain


class DropReplyProxy:
    """Forwards JSON-RPC to `target`; `drop` sends' replies are swallowed (counted down)."""

    def __init__(self, target_port: int) -> None:
        self.drop = 0
        self.dropped = 0
        self.sends = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
                conn.request("POST", "/", body, {"Content-Type": "application/json"})
                reply = conn.getresponse().read()
                conn.close()
                if b"eth_sendRawTransaction" in body:
                    proxy.sends += 1
                    if proxy.drop > 0:
                        proxy.drop -= 1
                        proxy.dropped += 1
                        self.close_connection = True  # applied by Anvil, reply never sent
                        return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxied() -> Iterator[tuple[ChainSession, DropReplyProxy]]:
    with AnvilProcess() as anvil:
        proxy = DropReplyProxy(anvil.port)
        session = ChainSession(rpc_url=proxy.url, private_key=ANVIL_KEYS[0])
        try:
            session.deploy()
            yield session, proxy
        finally:
            session.close()
            proxy.close()


def test_lost_reply_to_funding_does_not_fund_twice(proxied: tuple[ChainSession, DropReplyProxy]) -> None:
    session, proxy = proxied
    nonce_before = session.sender.nonce
    proxy.drop = 1
    session.register_participants([1, 2, 3], [10.0, 20.0, 30.0], node_ids=[3], stakes=5.0)
    assert proxy.dropped == 1
    assert session.balances([1, 2, 3]) == {1: to_base(10.0), 2: to_base(20.0), 3: to_base(30.0)}
    assert session.call("settlement", "totalBalances") == to_base(60.0)
    assert session.call("token", "totalSupply") == to_base(65.0)  # budgets + one stake, minted once
    assert session.stakes_of([3]) == {3: to_base(5.0)}
    # mint, approve, deposit, approve, register: five transactions, each at one nonce only.
    on_chain = int(session.rpc.call("eth_getTransactionCount", session.operator, "latest"), 16)
    assert on_chain == nonce_before + 5 == session.sender.nonce


def test_lost_reply_to_a_round_settles_it_once(proxied: tuple[ChainSession, DropReplyProxy]) -> None:
    from types import SimpleNamespace

    import numpy as np

    session, proxy = proxied
    session.register_participants([1, 2], [10.0, 0.0])
    trades = SimpleNamespace(buyer=np.array([1]), seller=np.array([2]), resource=np.array([0]),
                             quantity=np.array([2.0]), price=np.array([1.5]))
    proxy.drop = 1
    rec = session.settle_round(7, 1, {1: -3.0, 2: 3.0}, [1.5, np.nan, np.nan, np.nan], trades)
    assert proxy.dropped == 1 and not rec.already_settled
    assert session.balances([1, 2]) == {1: to_base(7.0), 2: to_base(3.0)}
    settled = [e for e in session.events_since(0) if e.name == "RoundSettled"]
    assert len(settled) == 1
