"""Deploy the four contracts and wire their roles, in one pipelined burst.

Contract addresses are computed from the deployer's nonces before anything is mined, so the
four deployments and every role grant go out as one batch of signed transactions.

Three separate roles (see docs/contracts.md, "Trust model"): the **admin** (``DEFAULT_ADMIN_ROLE``
on all four contracts, which grants and revokes every other role, and ``PAUSER_ROLE``), the
**treasury** (mints credits, funds escrow accounts and the reward reserve, registers and
controls the simulated nodes' stakes) and the **operator** (settles rounds, nothing else).

=======================  =================================  ===========
contract                 role                               holder
=======================  =================================  ===========
all four                 DEFAULT_ADMIN, PAUSER              admin
EdgeCredit               TREASURY (mint)                    treasury
MarketSettlement         TREASURY (depositFor)              treasury
MarketSettlement         OPERATOR (settleRound)             operator
ContributionIncentives   TREASURY (fund, setRewardPerRound) treasury
ContributionIncentives   SETTLEMENT (notifyRound)           settlement
StakeRegistry            REGISTRAR (registerFor)            treasury
StakeRegistry            SLASHER (slash)                    settlement
=======================  =================================  ===========

The deployer is the contracts' first admin only so that it can grant these roles. It grants
itself nothing; when the admin is another address, the deployer starts the two-step
``DEFAULT_ADMIN_ROLE`` hand-over (OpenZeppelin ``AccessControlDefaultAdminRules``) and the
admin completes it with :func:`accept_admin` once ``admin_delay_s`` has passed, which removes
the deployer's admin role. Each role defaults to the deployer (one key holding everything,
the behaviour of earlier versions).
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
DEFAULT_ADMIN_DELAY_S = 2 * 24 * 3600
"""Seconds between ``beginDefaultAdminTransfer`` and the earliest ``acceptDefaultAdminTransfer``."""

CONTRACT_KEYS = (
    ("EdgeCredit", "token"),
    ("ContributionIncentives", "incentives"),
    ("StakeRegistry", "stakes"),
    ("MarketSettlement", "settlement"),
)
"""(contract name, :class:`Deployment` field) of the four contracts, in deployment order."""


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
    admin: str = ""
    treasury: str = ""
    operator: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        """Inverse of :meth:`as_dict` (unknown keys are ignored)."""
        fields = {"token", "settlement", "incentives", "stakes", "chain_id", "block", "admin",
                  "treasury", "operator"}
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
    treasury: str | None = None,
    operator: str | None = None,
    admin_delay_s: int = DEFAULT_ADMIN_DELAY_S,
) -> Deployment:
    """Deploy token, incentives, stakes and settlement; grant every role; return addresses.

    Args:
        sender: the deployer's sender (signs the deployment; holds no role afterwards unless
            it is also one of ``admin``, ``treasury``, ``operator``).
        contracts: compiled ABIs and bytecode.
        exit_delay_s: seconds between a node's exit request and its stake withdrawal.
        min_stake: minimum node stake in base units.
        admin: holder of ``DEFAULT_ADMIN_ROLE`` and ``PAUSER_ROLE`` (default: the deployer).
            Another address gets ``DEFAULT_ADMIN_ROLE`` only after :func:`accept_admin`.
        treasury: holder of the funding roles (default: the deployer).
        operator: holder of ``OPERATOR_ROLE`` (default: the deployer).
        admin_delay_s: delay of every later admin hand-over (uint48 seconds).
    """
    deployer = sender.address
    admin = to_checksum_address(admin or deployer)
    treasury = to_checksum_address(treasury or deployer)
    operator = to_checksum_address(operator or deployer)
    if not 0 <= admin_delay_s < 2**48:
        raise ValueError(f"admin_delay_s: {admin_delay_s} is not a uint48 number of seconds")
    n0 = sender.nonce
    token = create_address(deployer, n0)
    incentives = create_address(deployer, n0 + 1)
    stakes = create_address(deployer, n0 + 2)
    settlement = create_address(deployer, n0 + 3)

    art = contracts.artifacts
    deploys = [
        contracts["EdgeCredit"].encode_constructor(
            art["EdgeCredit"].bytecode, deployer, admin_delay_s
        ),
        contracts["ContributionIncentives"].encode_constructor(
            art["ContributionIncentives"].bytecode, token, deployer, admin_delay_s
        ),
        contracts["StakeRegistry"].encode_constructor(
            art["StakeRegistry"].bytecode, token, deployer, exit_delay_s, min_stake, admin_delay_s
        ),
        contracts["MarketSettlement"].encode_constructor(
            art["MarketSettlement"].bytecode, token, incentives, stakes, deployer, admin_delay_s
        ),
    ]
    requests = [TxRequest(None, data, gas=_deploy_gas(data)) for data in deploys]
    address_of = {
        "EdgeCredit": token,
        "ContributionIncentives": incentives,
        "StakeRegistry": stakes,
        "MarketSettlement": settlement,
    }
    grants: list[tuple[str, str, str]] = [
        ("EdgeCredit", "TREASURY_ROLE", treasury),
        ("EdgeCredit", "PAUSER_ROLE", admin),
        ("MarketSettlement", "OPERATOR_ROLE", operator),
        ("MarketSettlement", "TREASURY_ROLE", treasury),
        ("MarketSettlement", "PAUSER_ROLE", admin),
        ("ContributionIncentives", "SETTLEMENT_ROLE", settlement),
        ("ContributionIncentives", "TREASURY_ROLE", treasury),
        ("ContributionIncentives", "PAUSER_ROLE", admin),
        ("StakeRegistry", "SLASHER_ROLE", settlement),
        ("StakeRegistry", "REGISTRAR_ROLE", treasury),
        ("StakeRegistry", "PAUSER_ROLE", admin),
    ]
    for name, role, holder in grants:
        requests.append(
            TxRequest(
                address_of[name],
                contracts[name].encode("grantRole", role_id(role), holder),
                gas=120_000,
            )
        )
    if admin != deployer:
        # Step one of the hand-over; the deployer's admin role ends when the admin accepts.
        for name, _ in CONTRACT_KEYS:
            requests.append(
                TxRequest(
                    address_of[name],
                    contracts[name].encode("beginDefaultAdminTransfer", admin),
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
        admin=admin,
        treasury=treasury,
        operator=operator,
    )


def accept_admin(admin: Sender, contracts: ContractSet, deployment: Deployment) -> None:
    """Second step of the admin hand-over: ``acceptDefaultAdminTransfer`` on all four contracts.

    Signed by the new admin once the delay has passed (else the contracts revert with
    ``AccessControlEnforcedDefaultAdminDelay``); the previous admin loses the role.
    """
    admin.transact_many(
        [
            TxRequest(
                getattr(deployment, field),
                contracts[name].encode("acceptDefaultAdminTransfer"),
                120_000,
            )
            for name, field in CONTRACT_KEYS
        ]
    )


def _deploy_gas(data: bytes) -> int:
    # 32k create + 200 gas per byte of runtime code + calldata + constructor work, with margin
    return 600_000 + 260 * len(data)
