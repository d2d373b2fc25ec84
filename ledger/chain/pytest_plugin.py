"""pytest plugin: test your own Solidity contracts on a real Anvil.

Active once edgemarket is installed (entry point ``pytest11``), or with
``pytest -p ledger.chain.pytest_plugin``. Loading it costs nothing: Anvil starts only
when a test asks for one of its fixtures, and web3 is imported only then.

==================  =======  ===============================================================
fixture             scope    what it gives
==================  =======  ===============================================================
``chain``           session  :class:`~ledger.chain.contractkit.Chain`: snapshots, time
                             (``sleep``/``mine``/``set_next_timestamp``), ``impersonate``,
                             ``deploy``, ``at``, ``w3``
``accounts``        session  the funded dev accounts, by index or name (``accounts.alice``)
``deploy``          session  ``deploy("Counter", 5, sender=accounts.alice)`` (or a path
                             ``"src/Counter.sol"``/``"src/Counter.sol:Counter"``) -> a web3
                             contract with short forms
``anvil``           session  the :class:`~ledger.chain.anvil.AnvilProcess` (``None`` with
                             ``--chain-rpc-url``), stopped at the end even on failure
``chain_rpc_url``   session  the JSON-RPC URL
``w3``              session  a plain ``web3.Web3`` on the same node
==================  =======  ===============================================================

For edgemarket's own settlement contracts (the project's tests use these; they work for
anyone who wants the four contracts deployed):

=========================  =======  ========================================================
fixture                    scope    what it gives
=========================  =======  ========================================================
``settlement_contracts``   session  the compiled project contracts (a ``ContractSet``)
``settlement_session``     session  a :class:`~ledger.chain.session.ChainSession` with
                                    token, settlement, incentives and stakes deployed
``settlement_chain``       test     that session, isolated like every chain fixture (its
                                    nonces and caches re-read after the previous revert)
``settlement_actors``      test     :class:`~ledger.chain.testing.Actor` wallets for dev
                                    keys 1..9 (``actors[i].fund_credits(x)`` mints credits)
=========================  =======  ========================================================

**Isolation.** Every test that uses any of these fixtures (directly or through your own
fixtures) runs between ``evm_snapshot`` and ``evm_revert``: what it changes is gone for the
next test, while what module- or session-scoped fixtures deployed stays.
``@pytest.mark.no_snapshot`` opts a test out (its changes persist).

**Options.** ``--contracts-dir DIR`` (ini ``contracts_dir``) is where ``deploy("Name")``
finds sources; ``--chain-rpc-url URL`` uses an existing dev node; ``--gas-report`` prints
min/mean/median/max gas per contract method; ``--gas-snapshot`` writes them to
``--gas-snapshot-file`` (ini ``gas_snapshot_file``, default ``.gas-snapshot.json``);
``--gas-check`` fails the run when a method's min, median or max gas grew by more than
``--gas-tolerance`` percent (default 1) against that file.

If a project's own ``conftest.py`` defines a fixture with the same name, the project's wins
in its folder; this plugin's fixtures depend on ``edgemarket_chain``, never on ``chain``,
so they keep working beside a different ``chain``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.chain.gas_report import GasRecorder, compare, load_snapshot, table, write_snapshot

if TYPE_CHECKING:  # heavy imports stay out of every pytest run of the venv
    from ledger.chain.anvil import AnvilProcess
    from ledger.chain.contractkit import Accounts, Chain, Contract
    from ledger.chain.deploy import ContractSet
    from ledger.chain.session import ChainSession
    from ledger.chain.testing import Actor

__all__ = [
    "accounts",
    "anvil",
    "chain",
    "chain_rpc_url",
    "deploy",
    "edgemarket_chain",
    "pytest_addoption",
    "settlement_actors",
    "settlement_chain",
    "settlement_contracts",
    "settlement_session",
    "w3",
]

_RECORDER = pytest.StashKey[GasRecorder]()
_GAS_RESULT = pytest.StashKey[tuple[list[str], list[str], str]]()


def _add(group: Any, *names: str, **kwargs: Any) -> None:
    # The options are registered twice when a conftest also imports this hook while the
    # plugin is active through its entry point: the second time is a no-op.
    with contextlib.suppress(ValueError):
        group.addoption(*names, **kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Chain, contracts and gas options (see the module docstring)."""
    group = parser.getgroup("edgemarket-chain", "contract tests on a local chain (edgemarket)")
    _add(
        group,
        "--chain-rpc-url",
        default=None,
        help="JSON-RPC URL of an existing dev node (must support evm_snapshot/evm_revert)",
    )
    _add(
        group,
        "--contracts-dir",
        default=None,
        help="folder of .sol sources that deploy('Name') compiles (ini: contracts_dir)",
    )
    _add(
        group,
        "--gas-report",
        action="store_true",
        default=False,
        help="print min/mean/median/max gas per contract method",
    )
    _add(
        group,
        "--gas-snapshot",
        action="store_true",
        default=False,
        help="write the gas statistics to the snapshot file",
    )
    _add(
        group,
        "--gas-snapshot-file",
        default=None,
        help="gas snapshot file (default: gas_snapshot_file ini or .gas-snapshot.json)",
    )
    _add(
        group,
        "--gas-check",
        action="store_true",
        default=False,
        help="fail when a method's gas grew beyond --gas-tolerance vs the snapshot file",
    )
    _add(group, "--gas-tolerance", type=float, default=1.0,
         help="allowed gas growth in percent for --gas-check (default 1)")  # fmt: skip
    parser.addini("contracts_dir", "folder of .sol sources for deploy('Name')", default="")
    parser.addini("gas_snapshot_file", "gas snapshot file", default=".gas-snapshot.json")


def pytest_configure(config: pytest.Config) -> None:
    """Register the opt-out marker and the gas recorder."""
    config.addinivalue_line(
        "markers", "no_snapshot: the test's chain changes are not rolled back (edgemarket)"
    )
    enabled = any(
        config.getoption(o, default=False)
        for o in ("--gas-report", "--gas-snapshot", "--gas-check")
    )
    config.stash[_RECORDER] = GasRecorder(enabled=enabled)


def _snapshot_path(config: pytest.Config) -> Path:
    given = config.getoption("--gas-snapshot-file", default=None)
    if given:
        return Path(given)
    return config.rootpath / str(config.getini("gas_snapshot_file") or ".gas-snapshot.json")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """``--gas-check`` (fails the run on a regression), then ``--gas-snapshot``."""
    config = session.config
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None or not recorder.enabled:
        return
    stats = recorder.stats()
    regressions: list[str] = []
    notes: list[str] = []
    path = _snapshot_path(config)
    written = ""
    if config.getoption("--gas-check", default=False):
        if not path.is_file():
            regressions = [f"--gas-check: no snapshot file {path} (write one with --gas-snapshot)"]
        else:
            regressions, notes = compare(
                load_snapshot(path), stats, config.getoption("--gas-tolerance", default=1.0)
            )
        if regressions and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if config.getoption("--gas-snapshot", default=False) and not regressions:
        written = str(write_snapshot(path, stats))
    config.stash[_GAS_RESULT] = (regressions, notes, written)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The gas table and the gas check's verdict."""
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None or not recorder.enabled:
        return
    tr = terminalreporter
    if config.getoption("--gas-report", default=False):
        tr.write_sep("=", "gas report (gas used per call)")
        tr.write_line(table(recorder.stats()))
    regressions, notes, written = config.stash.get(_GAS_RESULT, ([], [], ""))
    if config.getoption("--gas-check", default=False):
        tr.write_sep("=", "gas check", red=bool(regressions), green=not regressions)
        for line in regressions:
            tr.write_line(f"GAS REGRESSION {line}")
        for line in notes:
            tr.write_line(f"note: {line}")
        if not regressions:
            tr.write_line(
                f"gas within {config.getoption('--gas-tolerance')} % of {_snapshot_path(config)}"
            )
    if written:
        tr.write_line(f"gas snapshot written to {written}")


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def anvil(request: pytest.FixtureRequest) -> Iterator[AnvilProcess | None]:
    """A session-wide Anvil, always stopped at the end (``None`` with ``--chain-rpc-url``)."""
    if request.config.getoption("--chain-rpc-url", default=None):
        yield None
        return
    from ledger.chain.anvil import AnvilProcess

    proc = AnvilProcess(gas_limit=60_000_000)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def chain_rpc_url(request: pytest.FixtureRequest, anvil: AnvilProcess | None) -> str:
    """The JSON-RPC URL of the test chain."""
    url = request.config.getoption("--chain-rpc-url", default=None)
    if url:
        return str(url)
    assert anvil is not None
    return anvil.rpc_url


@pytest.fixture(scope="session")
def w3(chain_rpc_url: str) -> Any:
    """A ``web3.Web3`` connected to the test chain (no signing middleware)."""
    from web3 import Web3

    return Web3(Web3.HTTPProvider(chain_rpc_url))


def _contracts_dir(config: pytest.Config) -> Path | None:
    given = config.getoption("--contracts-dir", default=None)
    if given:
        return Path(given).resolve()
    ini = str(config.getini("contracts_dir") or "") if _has_ini(config, "contracts_dir") else ""
    return (config.rootpath / ini).resolve() if ini else None


def _has_ini(config: pytest.Config, name: str) -> bool:
    try:
        config.getini(name)
    except ValueError:  # this plugin's ini names are not registered (fixtures imported only)
        return False
    return True


@pytest.fixture(scope="session")
def edgemarket_chain(request: pytest.FixtureRequest, chain_rpc_url: str) -> Iterator[Chain]:
    """The session's :class:`Chain` (what ``chain``, ``accounts`` and ``deploy`` use)."""
    from ledger.chain import contract_assertions, contractkit

    recorder = request.config.stash.get(_RECORDER, None) or GasRecorder()
    kit = contractkit.Chain(
        chain_rpc_url, gas=recorder, contracts_dir=_contracts_dir(request.config)
    )
    contract_assertions._CURRENT.append(kit)
    try:
        yield kit
    finally:
        contract_assertions._CURRENT.remove(kit)


@pytest.fixture(autouse=True)
def _edgemarket_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Snapshot before and revert after every test that touches the chain fixtures.

    Autouse but free for other tests: it starts nothing unless the test's fixture closure
    already contains ``edgemarket_chain``.
    """
    if "edgemarket_chain" not in request.fixturenames or request.node.get_closest_marker(
        "no_snapshot"
    ):
        yield
        return
    kit: Chain = request.getfixturevalue("edgemarket_chain")
    with kit.isolate():
        yield


@pytest.fixture(scope="session")
def chain(edgemarket_chain: Chain) -> Chain:
    """The test chain: snapshots, time travel, impersonation, deploy (rolled back per test)."""
    return edgemarket_chain


@pytest.fixture(scope="session")
def accounts(edgemarket_chain: Chain) -> Accounts:
    """The funded dev accounts: ``accounts[0]`` / ``accounts.deployer`` deploys by default."""
    return edgemarket_chain.accounts


@pytest.fixture(scope="session")
def deploy(edgemarket_chain: Chain) -> Any:
    """``deploy(path_or_name, *ctor_args, sender=None, value=0)`` -> a web3 contract."""

    def factory(path_or_name: str | Path, *args: Any, **kwargs: Any) -> Contract:
        return edgemarket_chain.deploy(path_or_name, *args, **kwargs)

    return factory


# ------------------------------------------------------ edgemarket's settlement contracts


@pytest.fixture(scope="session")
def settlement_contracts() -> ContractSet:
    """The project's compiled contracts (compiled on first use, cached under data/)."""
    from ledger.chain.deploy import ContractSet

    return ContractSet()


@pytest.fixture(scope="session")
def settlement_session(
    chain_rpc_url: str, settlement_contracts: ContractSet
) -> Iterator[ChainSession]:
    """A session with the four contracts deployed once for the whole test session."""
    from ledger.chain.session import ChainSession

    session = ChainSession(chain_rpc_url, contracts=settlement_contracts)
    try:
        session.deploy()
        yield session
    finally:
        session.close()


@pytest.fixture
def settlement_chain(
    edgemarket_chain: Chain, settlement_session: ChainSession
) -> ChainSession:
    """The deployed session. Depending on ``edgemarket_chain`` puts the test under this
    plugin's snapshot/revert; the revert happens behind the session's back, so its nonces
    and caches are re-read here, before the next test uses it."""
    settlement_session.forget_local_state()
    return settlement_session


@pytest.fixture
def settlement_actors(settlement_chain: ChainSession) -> list[Actor]:
    """Wallets for Anvil's development keys 1..9 (key 0 is the operator)."""
    from ledger.chain.accounts import ANVIL_KEYS
    from ledger.chain.testing import Actor

    return [Actor(settlement_chain, key) for key in ANVIL_KEYS[1:]]
