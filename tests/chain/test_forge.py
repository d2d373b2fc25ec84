"""The Solidity test suites (fuzz + invariants) pass under forge, offline."""

from __future__ import annotations

import re

import pytest

from ledger.chain.forge import run_forge
from ledger.chain.paths import REPO_ROOT, forge_binary

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.mark.skipif(not forge_binary().exists(), reason="forge not installed (npm install)")
def test_forge_suites_pass_offline() -> None:
    proc = run_forge(["test", "--offline"], timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    summary = re.search(r"(\d+) tests passed, (\d+) failed", out)
    assert summary is not None, out[-2000:]
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert failed == 0 and passed >= 17
    for name in ("invariant_totalSupplyConserved", "invariant_escrowSolvent",
                 "invariant_noRoundSettlesTwice", "invariant_onlyRolesMoveFunds",
                 "invariant_realBatchesSettleInOrderExactlyOnce", "invariant_escrowBooksBalance",
                 "invariant_feesAndRewardsConserved"):  # fmt: skip
        assert f"[PASS] {name}" in out
    assert "testFuzz_" in out


def test_invariants_fail_on_any_handler_revert() -> None:
    # with fail_on_revert = false a real batch that reverts would pass unnoticed
    toml = (REPO_ROOT / "foundry.toml").read_text()
    assert re.search(r"^\[profile\.default\.invariant\][^\[]*^fail_on_revert = true$", toml, re.M | re.S)
