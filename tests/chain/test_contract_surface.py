"""The contracts' surface is documented and tested: NatSpec on every external function,
and every function, custom error and event of contracts/src is exercised by these tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.chain.abi import canonical_type
from ledger.chain.compiler import load_artifacts
from ledger.chain.paths import CONTRACTS_SRC

CONTRACTS = ("EdgeCredit", "MarketSettlement", "ContributionIncentives", "StakeRegistry")
HERE = Path(__file__).parent
# Tests call contract functions by name, or through the ChainSession method that wraps them.
TESTS_TEXT = "\n".join(p.read_text() for p in [*HERE.glob("test_*.py"), HERE / "helpers.py"])
WRAPPERS = {
    "accountAt": "accounts_at",
    "balancesOf": "balances",
    "indicesOf": "account_indices",
    "isSettled": "is_settled",
    "nodeInfo": "register_participants",
    "stakeOf": "stakes_of",
    "owed": "rewards_owed",
}


def _declared(kind: str, files: list[Path] | None = None) -> set[str]:
    """Names of functions/errors/events declared in contracts/src (not inherited)."""
    names: set[str] = set()
    pattern = {"function": r"function\s+(\w+)\s*\(([^)]*)\)\s*([^{;]*)", "error": r"error\s+(\w+)\s*\(",
               "event": r"event\s+(\w+)\s*\("}[kind]  # fmt: skip
    for path in files or list(CONTRACTS_SRC.rglob("*.sol")):
        for m in re.finditer(pattern, path.read_text()):
            if kind == "function" and not re.search(r"\b(external|public)\b", m.group(3)):
                continue
            names.add(m.group(1))
    return names


@pytest.mark.parametrize("name", CONTRACTS)
def test_every_external_function_has_natspec(name: str) -> None:
    art = load_artifacts()[name]
    documented = art.userdoc.get("methods", {})
    source = CONTRACTS_SRC / f"{name}.sol"
    declared = _declared("function", [source])
    own_vars = set(re.findall(r"public (?:constant |immutable )?(\w+);", source.read_text()))
    missing = []
    for item in art.abi:
        if item["type"] != "function" or item["name"] not in declared | own_vars:
            continue
        sig = f"{item['name']}({','.join(canonical_type(p) for p in item['inputs'])})"
        if "notice" not in documented.get(sig, {}):
            missing.append(sig)
    assert not missing, f"{name}: no @notice on {missing}"


@pytest.mark.parametrize("kind", ["function", "error", "event"])
def test_every_declared_item_is_exercised_by_a_test(kind: str) -> None:
    declared = _declared(kind)
    if kind == "function":  # views and admin calls are named as strings in session calls / tests
        declared -= {"supportsInterface"}
    def exercised(n: str) -> bool:
        wrapper = WRAPPERS.get(n)
        return bool(re.search(rf"\b{n}\b", TESTS_TEXT)) or (wrapper is not None and f".{wrapper}(" in TESTS_TEXT)

    untested = sorted(n for n in declared if not exercised(n))
    assert not untested, f"{kind}s never exercised by tests/chain: {untested}"
