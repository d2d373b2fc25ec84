"""Deploy the four contracts and wire their roles, in one pipelined burst.

Contract addresses are computed from the operator's nonces before anything is mined, so the
four deployments and every role grant go out as one batch of signed transactions.

Roles after :func:`deploy_contracts` (``ops`` = the operator, the only key that signs):

=======================  ==========================================  ==========
contract                 role                                        holder
=======================  ==========================================  ==========
EdgeCredit               DEFAULT_ADMIN, TREASURY (mint), PAUSER      ops
MarketSettlement         DEFAULT_ADMIN, OPERATOR, TREASURY, PAUSER   ops
ContributionIncentives   DEFAULT_ADMIN, TREASURY, PAUSER             ops
ContributionIncentives   SETTLEMENT (notifyRound)                    settlement
StakeRegistry            DEFAULT_ADMIN, REGISTRAR, PAUSER            ops
StakeRegistry            SLASHER (slash)                             settlement
=======================  ==========================================  ==========
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import rlp
from eth_utils import keccak, to_checksum_address

from ledger.chain.abi import ContractABI
from ledger.chain.compiler import Artifact, load_artifacts
from ledger.chain.errors import ErrorDecoder
from ledger.chain.tx import Sender, TxRequest, hexint

CONTRACTS = ("EdgeCredit", "ContributionIncentives", "StakeRegistry", "MarketSettlement")
"""Deployed contracts, in deployment order."""

DEFAULT_EXIT_DELAY_S = 3600
DEFAULT_MIN_STAKE = 1_000_000  # 1 credit


def role_id(name: str) -> bytes:
    """``keccak256(name)`` as OpenZeppelin roles are defined (``DEFAULT_ADMIN_ROLE`` is 0)."""
    return b"\x00" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from ``sender`` at ``nonce`` deploys to."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


@dataclass(frozen=True)
class Deployment:
    """Addresses of a deployed set of contracts (what :meth:`ChainSession.attach` takes)."""

    token: str
    settlement: str
    incentives: str
    stakes: str
    chain_id: int = 0
    block: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        """Inverse of :meth:`as_dict` (unknown keys are ignored)."""
        fields = {"token", "settlement", "incentives", "stakes", "chain_id", "block"}
        return cls(**{k: v for k, v in data.items() if k in fields})

    def save(self, path: str | Path) -> None:
        """Write as JSON."""
        Path(path).write_text(json.dumps(self.as_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        """Read a JSON file written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))


class ContractSet:
    """ABIs of the project's contracts and an error decoder over all compiled ABIs."""

    def __init__(self, artifacts: dict[str, Artifact] | None = None) -> None:
        self.artifacts = artifacts if artifacts is not None else load_artifacts()
        self.abis = {name: ContractABI(a.abi, name) for name, a in self.artifacts.items() if a.abi}
        self.decoder = ErrorDecoder(self.abis.values())

    def __getitem__(self, name: str) -> ContractABI:
        return self.abis[name]


def deploy_contracts(
    sender: Sender,
    contracts: ContractSet,
    *,
    exit_delay_s: int = DEFAULT_EXIT_DELAY_S,
    min_stake: int = DEFAULT_MIN_STAKE,
    admin: str | None = None,
) -> Deployment:
    """Deploy token, incentives, stakes and settlement; grant every role; return addresses.

    Args:
        sender: the operator's sender (its account gets the operator/treasury/pauser roles).
        contracts: compiled ABIs and bytecode.
        exit_delay_s: seconds between a node's exit request and its stake withdrawal.
        min_stake: minimum node stake in base units.
        admin: holder of ``DEFAULT_ADMIN_ROLE`` (default: the operator).
    """
    ops = sender.address
    admin = admin or ops
    n0 = sender.nonce
    token = create_address(ops, n0)
    incentives = create_address(ops, n0 + 1)
    stakes = create_address(ops, n0 + 2)
    settlement = create_address(ops, n0 + 3)

    art = contracts.artifacts
    deploys = [
        contracts["EdgeCredit"].encode_constructor(art["EdgeCredit"].bytecode, ops),
        contracts["ContributionIncentives"].encode_constructor(
            art["ContributionIncentives"].bytecode, token, ops
        ),
        contracts["StakeRegistry"].encode_constructor(
            art["StakeRegistry"].bytecode, token, ops, exit_delay_s, min_stake
        ),
        contracts["MarketSettlement"].encode_constructor(
            art["MarketSettlement"].bytecode, token, incentives, stakes, ops
        ),
    ]
    requests = [TxRequest(None, data, gas=_deploy_gas(data)) for data in deploys]

    grants: list[tuple[str, str, str, str]] = [
        ("EdgeCredit", token, "TREASURY_ROLE", ops),
        ("EdgeCredit", token, "PAUSER_ROLE", ops),
        ("MarketSettlement", settlement, "OPERATOR_ROLE", ops),
        ("MarketSettlement", settlement, "TREASURY_ROLE", ops),
        ("MarketSettlement", settlement, "PAUSER_ROLE", ops),
        ("ContributionIncentives", incentives, "SETTLEMENT_ROLE", settlement),
        ("ContributionIncentives", incentives, "TREASURY_ROLE", ops),
        ("ContributionIncentives", incentives, "PAUSER_ROLE", ops),
        ("StakeRegistry", stakes, "SLASHER_ROLE", settlement),
        ("StakeRegistry", stakes, "REGISTRAR_ROLE", ops),
        ("StakeRegistry", stakes, "PAUSER_ROLE", ops),
    ]
    for name, address, role, holder in grants:
        requests.append(
            TxRequest(
                address, contracts[name].encode("grantRole", role_id(role), holder), gas=120_000
            )
        )
    if admin != ops:  # hand the admin role over last
        for name, address in (
            ("EdgeCredit", token),
            ("MarketSettlement", settlement),
            ("ContributionIncentives", incentives),
            ("StakeRegistry", stakes),
        ):
            requests.append(
                TxRequest(
                    address,
                    contracts[name].encode("grantRole", role_id("DEFAULT_ADMIN_ROLE"), admin),
                    120_000,
                )
            )
    receipts = sender.transact_many(requests)
    for receipt, expected in zip(
        receipts[:4], (token, incentives, stakes, settlement), strict=True
    ):
        got = receipt.get("contractAddress")
        if got is None or got.lower() != expected.lower():
            raise RuntimeError(f"deployed at {got}, expected {expected}")
    return Deployment(
        token=token,
        settlement=settlement,
        incentives=incentives,
        stakes=stakes,
        chain_id=sender.chain_id,
        block=hexint(receipts[0]["blockNumber"]),
    )


def _deploy_gas(data: bytes) -> int:
    # 32k create + 200 gas per byte of runtime code + calldata + constructor work, with margin
    return 600_000 + 260 * len(data)
